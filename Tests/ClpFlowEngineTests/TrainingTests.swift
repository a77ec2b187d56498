import ClpFlowCore
import Testing
@testable import ClpFlowEngine

@Suite struct TrainingTests {
    @Test func scheduleShapes() {
        let c = LearningRateSchedule(peak: 1, warmup: 10, total: 110, kind: .cosine)
        #expect(abs(c.rate(at: 0) - 0.1) < 1e-12)
        #expect(abs(c.rate(at: 9) - 1) < 1e-12)
        #expect(abs(c.rate(at: 10) - 1) < 1e-12)
        #expect(abs(c.rate(at: 60) - 0.55) < 1e-9)  // halfway: floor + (1 − floor)/2
        #expect(abs(c.rate(at: 110) - 0.1) < 1e-12)
        #expect(LearningRateSchedule(peak: 2, warmup: 0, total: 10, kind: .constant).rate(at: 7) == 2)
        #expect(abs(LearningRateSchedule(peak: 2, warmup: 0, total: 10, kind: .linear).rate(at: 5) - 1) < 1e-12)
    }

    @Test func batchingMasksPromptAndPadding() {
        let e1 = SequenceExample(prompt: [5, 6, 9], target: [7, 8, 1])
        let e2 = SequenceExample(prompt: [5, 9], target: [7, 1])
        let b = Batching.supervised([e1, e2], context: 16, padToken: 0)
        #expect(b.B == 2 && b.T == 5)
        #expect(Array(b.tokens[0..<5]) == [5, 6, 9, 7, 8])
        #expect(Array(b.targets[0..<5]) == [6, 9, 7, 8, 1])
        // Row 0 predicts 7, 8, 1 at positions 2, 3, 4.
        #expect(Array(b.weights[0..<5]).map { $0 > 0 } == [false, false, true, true, true])
        #expect(Array(b.tokens[5..<10]) == [5, 9, 7, 0, 0])
        #expect(Array(b.weights[5..<10]).map { $0 > 0 } == [false, true, true, false, false])
        #expect(b.predicted == 5)
        // Truncation keeps the whole target and the end of the prompt.
        let long = SequenceExample(prompt: Array(1...20).map(Int32.init), target: [30, 31])
        let t = Batching.supervised([long], context: 8, padToken: 0)
        #expect(t.T == 7)
        #expect(Array(t.tokens) == [15, 16, 17, 18, 19, 20, 30])
    }

    /// A tiny model learns to copy the first prompt token: the summary loss must fall far below
    /// the uniform-guess loss log V.
    @Test func supervisedTrainingLearnsACopyTask() throws {
        let config = GPTConfig(vocabSize: 16, context: 16, layers: 1, heads: 2, dModel: 16)
        let model = try GPTModel(config: config, seed: 1)
        var rng = SeededRandom(seed: 2)
        func example() -> SequenceExample {
            let a = Int32(2 + rng.next() % 10), b = Int32(2 + rng.next() % 10)
            return SequenceExample(prompt: [a, b, 15], target: [a, 1])
        }
        let train = (0..<256).map { _ in example() }, valid = (0..<64).map { _ in example() }
        var spec = SupervisedConfig()
        spec.steps = 150; spec.batch = 16; spec.learningRate = 1e-2; spec.warmup = 10; spec.evalEvery = 50
        var records: [TrainingRecord] = []
        let before = try SupervisedTrainer.evaluate(model: model, examples: valid, batch: 16, padToken: 0)
        let summary = try SupervisedTrainer(config: spec, seed: 3).train(model: model, train: train, valid: valid, padToken: 0, report: {
            records.append($0)
        })
        #expect(records.count == 150)
        #expect(records.filter { $0.metrics["valid_loss"] != nil }.count == 3)
        #expect(before > 2.0)
        #expect(summary.validLoss < 0.5 * before)
        #expect(summary.validLoss < 0.8)
    }

    @Test func nonFiniteLossStopsWithTheStep() throws {
        let config = GPTConfig(vocabSize: 8, context: 8, layers: 1, heads: 1, dModel: 8)
        let model = try GPTModel(config: config, seed: 1)
        model.params.pointer[model.layout.lnfw] = .nan
        var spec = SupervisedConfig()
        spec.steps = 3; spec.batch = 2
        let ex = [SequenceExample(prompt: [1, 2], target: [3, 4])]
        #expect(throws: TrainingError.nonFinite(step: 1, what: "the training loss")) {
            _ = try SupervisedTrainer(config: spec, seed: 1).train(model: model, train: ex, valid: [], padToken: 0)
        }
    }

    @Test func sameSeedSameModel() throws {
        let config = GPTConfig(vocabSize: 12, context: 8, layers: 1, heads: 2, dModel: 8)
        var spec = SupervisedConfig(); spec.steps = 5; spec.batch = 4
        var ex: [SequenceExample] = []
        for i in 0..<20 {
            let a = Int32(i % 10 + 1), b = Int32(i % 7 + 1)
            ex.append(SequenceExample(prompt: [a, 11], target: [b, 0]))
        }
        func run() throws -> [Float] {
            let m = try GPTModel(config: config, seed: 4)
            _ = try SupervisedTrainer(config: spec, seed: 9).train(model: m, train: ex, valid: [], padToken: 0)
            return m.params.array
        }
        #expect(try run() == run())
    }
}
