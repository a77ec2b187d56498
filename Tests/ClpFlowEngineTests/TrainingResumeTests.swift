import ClpFlowCore
import Foundation
import Testing
@testable import ClpFlowEngine

/// π_ref's supervised training and RL training stopped at arbitrary steps and continued from their
/// resumable state end with the same parameters, bit for bit, and report the same curve as an
/// uninterrupted run.
@Suite struct TrainingResumeTests {
    struct Killed: Error {}

    static func tempDir(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("clp-\(name)-\(UUID().uuidString)")
    }

    @Test func generatorStateContinuesTheSequence() {
        var a = SeededRandom(seed: 5, stream: "x")
        for _ in 0..<7 { _ = a.next() }
        var b = SeededRandom(state: a.state)!
        #expect((0..<20).map { _ in a.next() } == (0..<20).map { _ in b.next() })
        #expect(SeededRandom(state: [0, 0, 0, 0]) == nil && SeededRandom(state: [1, 2]) == nil)
    }

    @Test func supervisedTrainingResumesBitIdentically() throws {
        let config = GPTConfig(vocabSize: 16, context: 16, layers: 1, heads: 2, dModel: 16)
        var rng = SeededRandom(seed: 2)
        func example() -> SequenceExample {
            let a = Int32(2 + rng.next() % 10), b = Int32(2 + rng.next() % 10)
            return SequenceExample(prompt: [a, b, 15], target: [a, 1])
        }
        // 40 examples in batches of 16: the shuffled order wraps within the run.
        let train = (0..<40).map { _ in example() }, valid = (0..<16).map { _ in example() }
        var spec = SupervisedConfig()
        spec.steps = 30; spec.batch = 16; spec.learningRate = 1e-2; spec.warmup = 3; spec.evalEvery = 7
        let trainer = SupervisedTrainer(config: spec, seed: 3)
        let reference = try GPTModel(config: config, seed: 1)
        var refCurve: [TrainingRecord] = []
        let refSummary = try trainer.train(model: reference, train: train, valid: valid, padToken: 0,
                                           report: { refCurve.append($0) })

        let dir = Self.tempDir("sft-state")
        defer { try? FileManager.default.removeItem(at: dir) }
        var said: [String] = []
        for killAt in [5, 6, 19, nil] as [Int?] {
            let model = try GPTModel(config: config, seed: 1)
            var curve: [TrainingRecord] = []
            do {
                let summary = try trainer.train(model: model, train: train, valid: valid, padToken: 0, stateDir: dir,
                                                checkpoints: CheckpointSchedule(everySteps: 2, everySeconds: 0),
                                                say: { said.append($0) }, report: { r in
                    curve.append(r)
                    if let killAt, r.step == killAt { throw Killed() }
                })
                #expect(summary == refSummary)
            } catch is Killed { continue }
            #expect(model.params.array == reference.params.array)
            #expect(curve.map(\.step) == refCurve.map(\.step))
            #expect(curve.map(\.metrics) == refCurve.map(\.metrics))
        }
        // Killed after 5 (state at 4); after 6 (before the state at 6 is written, so again from 4); after 19 (state at 18).
        #expect(said.count == 3)
        #expect(said.map { $0.contains("step 4 ") } == [true, true, false], "\(said)")
        #expect(said.last?.contains("step 18 ") == true, "\(said)")
    }

    /// The RL state covers every trainable buffer: shared parameters and copies (attn, multi-KL,
    /// adaptive weight sampling, reward balance) or learned prefix vectors (soft-token), the
    /// optimisers, the generator, the weight sampler, the reward balancer and the data order.
    @Test(arguments: [ConditioningKind.attn, .softToken])
    func rlTrainingResumesBitIdentically(mechanism: ConditioningKind) throws {
        let config = GPTConfig(vocabSize: 8, context: 16, layers: 1, heads: 2, dModel: 16)
        let ref = try GPTModel(config: config, seed: 3)
        var spec = ConditioningConfig(); spec.mechanism = mechanism; spec.softTokens = 2
        let multiKL = mechanism == .attn
        func makePolicy() throws -> ConditionedPolicy {
            try ConditionedPolicy(reference: ref, conditioning: spec, rewardNames: ["c", "d"], multiKL: multiKL, seed: 1)
        }
        var rng = SeededRandom(seed: 4)
        let data = (0..<6).map { i in
            RLExample(id: "\(i)", document: "", reference: "", documentTokens: (0..<4).map { _ in Int32(2 + rng.next() % 6) })
        }
        func share(_ s: String, _ ch: Character) -> Double { s.isEmpty ? 0 : Double(s.filter { $0 == ch }.count) / Double(s.count) }
        let score: RewardScorer = { rs in rs.map { [share($0.response, "c"), share($0.response, "d")] } }
        let rl = RLConfig(steps: 12, batch: 4, samples: 3, learningRate: 3e-2, warmup: 2, maxNewTokens: 5,
                          weights: .adaptive(base: .dirichlet(concentration: 0.5), rate: 0.5, bins: 3),
                          kl: KLConfig(alpha: 0.01, range: multiKL ? AlphaRange(min: 0.01, max: 0.5) : nil),
                          balance: multiKL ? .withinPrompt : .none)
        let trainer = RLTrainer(config: rl, rewardNames: ["c", "d"], normalization: .identity(2), seed: 7)
        let uninterrupted = try makePolicy()
        var refRecords: [RLTrainer.CurvePoint] = []
        let refSummary = try trainer.train(policy: uninterrupted, reference: ref, data: data, codec: LetterCodec(),
                                           generate: RLTrainer.cachedGenerator(endOfText: 0), score: score,
                                           report: { refRecords.append($0) })

        // The reward balancer's running variances are part of the state (attn runs with it).
        #expect((refRecords.last?.metrics["balance/c"] != nil) == multiKL)
        let dir = Self.tempDir("rl-state")
        defer { try? FileManager.default.removeItem(at: dir) }
        var said: [String] = []
        for killAt in [4, 8, nil] as [Int?] {
            let policy = try makePolicy()
            var records: [RLTrainer.CurvePoint] = []
            do {
                let summary = try trainer.train(policy: policy, reference: ref, data: data, codec: LetterCodec(),
                                                generate: RLTrainer.cachedGenerator(endOfText: 0), score: score, stateDir: dir,
                                                checkpoints: CheckpointSchedule(everySteps: 3, everySeconds: 0),
                                                say: { said.append($0) }, report: { r in
                    records.append(r)
                    if let killAt, r.step == killAt { throw Killed() }
                })
                #expect(summary == refSummary)
            } catch is Killed { continue }
            #expect(policy.model.params.array == uninterrupted.model.params.array)
            #expect(policy.copies?.copies == uninterrupted.copies?.copies)
            #expect(policy.softTokens == uninterrupted.softTokens)
            #expect(records.map(\.metrics) == refRecords.map(\.metrics))
            #expect(records.map(\.conditioning) == refRecords.map(\.conditioning))
        }
        #expect(said.count == 2 && said[0].contains("step 3 ") && said[1].contains("step 6 "), "\(said)")
    }

    @Test func aStateOfAnotherShapeIsAClearError() throws {
        let dir = Self.tempDir("state-shape")
        defer { try? FileManager.default.removeItem(at: dir) }
        let small = try GPTModel(config: GPTConfig(vocabSize: 16, context: 16, layers: 1, heads: 2, dModel: 16), seed: 1)
        let ex = [SequenceExample(prompt: [2, 15], target: [2, 1])]
        var spec = SupervisedConfig(); spec.steps = 3; spec.batch = 1
        _ = try SupervisedTrainer(config: spec, seed: 1).train(model: small, train: ex, valid: [], padToken: 0, stateDir: dir,
                                                               checkpoints: CheckpointSchedule(everySteps: 1, everySeconds: 0))
        let big = try GPTModel(config: GPTConfig(vocabSize: 16, context: 16, layers: 2, heads: 2, dModel: 16), seed: 1)
        do {
            _ = try SupervisedTrainer(config: spec, seed: 1).train(model: big, train: ex, valid: [], padToken: 0, stateDir: dir,
                                                                   checkpoints: .never)
            Issue.record("a state of another shape was accepted")
        } catch let e as TrainingError {
            #expect(e.description.contains("to start over") && e.description.contains(dir.path), "\(e)")
        }
    }

    @Test func theScheduleNeverSavesAfterTheLastStep() {
        var s = CheckpointSchedule(everySteps: 5, everySeconds: 0)
        #expect((1...10).filter { s.due(done: $0, total: 10) } == [5])
        var t = CheckpointSchedule(everySteps: 0, everySeconds: 1e-9)
        #expect(t.due(done: 1, total: 3) && !t.due(done: 3, total: 3))
        #expect(!CheckpointSchedule.never.enabled)
    }
}
