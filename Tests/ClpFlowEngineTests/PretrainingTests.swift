import ClpFlowCore
import ClpFlowKernels
import Foundation
import Testing
@testable import ClpFlowEngine

@Suite struct PretrainingTests {
    /// A tiny corpus with structure (repeating phrases): the loss must fall far below log V.
    static func corpus(seed: UInt64, count: Int) -> [[Int32]] {
        var rng = SeededRandom(seed: seed)
        return (0..<count).map { _ in
            let start = Int32(2 + rng.next() % 6)
            let n = 6 + Int(rng.next() % 10)
            return (0..<n).map { start + Int32($0 % 5) } + [1]
        }
    }

    static func settings(steps: Int, checkpointEvery: Int = 0) -> PretrainSettings {
        PretrainSettings(steps: steps, batch: 8, learningRate: 1e-2, schedule: .cosine, warmup: 5, weightDecay: 0.1,
                         clip: 1, evalEvery: 10, checkpointEvery: checkpointEvery)
    }

    @Test func packingCoversTheStreamAndEpochsReshuffle() throws {
        let texts: [[Int32]] = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [10]]
        let c = try PackedCorpus(texts: texts, T: 2, seed: 5)
        #expect(c.totalTokens == 10)
        #expect(c.windowsPerEpoch == 3)
        #expect(c.stream(epoch: -1) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        let e0 = c.stream(epoch: 0), e1 = c.stream(epoch: 1)
        #expect(e0.sorted() == Array(1...10).map(Int32.init))
        #expect(e0 == c.stream(epoch: 0))
        // Different epochs use different streams of the seed (with 4 texts, 24 orders; these differ).
        #expect(e0 != e1 || c.stream(epoch: 2) != e0)
        #expect(throws: TrainingError.self) { try PackedCorpus(texts: [[1]], T: 4, seed: 0) }
    }

    @Test func lossFallsOnATinyCorpus() throws {
        let config = GPTConfig(vocabSize: 12, context: 16, layers: 1, heads: 2, dModel: 16)
        let model = try GPTModel(config: config, seed: 1)
        let train = try PackedCorpus(texts: Self.corpus(seed: 1, count: 200), T: 16, seed: 2)
        let valid = try PackedCorpus(texts: Self.corpus(seed: 9, count: 40), T: 16, seed: 2)
        let before = try PretrainTrainer.evaluate(model: model, corpus: valid, batch: 8)
        var records: [TrainingRecord] = []
        let summary = try PretrainTrainer(settings: Self.settings(steps: 80)).train(model: model, corpus: train, valid: valid,
                                                                                  report: { records.append($0) })
        #expect(records.count == 80)
        #expect(records.filter { $0.metrics["valid_loss"] != nil }.count == 8)
        #expect(before > 2.0)
        #expect(summary.validLoss < 0.6 * before, "valid loss \(before) → \(summary.validLoss)")
        #expect(summary.tokensSeen == 80 * 8 * 16)
    }

    /// A run killed after its state was written continues from that state and ends with the same
    /// parameters, bit for bit, and the same curve as an uninterrupted run.
    @Test func resumesBitIdentically() throws {
        struct Killed: Error {}
        let config = GPTConfig(vocabSize: 12, context: 16, layers: 1, heads: 2, dModel: 16)
        let train = try PackedCorpus(texts: Self.corpus(seed: 1, count: 60), T: 16, seed: 2)
        let valid = try PackedCorpus(texts: Self.corpus(seed: 9, count: 20), T: 16, seed: 2)
        let settings = Self.settings(steps: 45, checkpointEvery: 10)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-pretrain-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }

        let reference = try GPTModel(config: config, seed: 4)
        var refCurve: [TrainingRecord] = []
        _ = try PretrainTrainer(settings: settings).train(model: reference, corpus: train, valid: valid,
                                                          report: { refCurve.append($0) })

        // Killed twice: after step 17 (state at 10) and after step 33 (state at 30), then finished.
        var resumed: [String] = []
        for killAt in [17, 33, nil] as [Int?] {
            let model = try GPTModel(config: config, seed: 4)
            var curve: [TrainingRecord] = []
            do {
                _ = try PretrainTrainer(settings: settings).train(model: model, corpus: train, valid: valid, stateDir: dir,
                                                                  say: { resumed.append($0) }, report: { r in
                    curve.append(r)
                    if let killAt, r.step == killAt { throw Killed() }
                })
            } catch is Killed { continue }
            #expect(model.params.array == reference.params.array)
            #expect(curve.map(\.step) == refCurve.map(\.step))
            #expect(curve.map(\.metrics) == refCurve.map(\.metrics))
        }
        #expect(resumed.count == 2)
        #expect(resumed.first?.contains("step 10") == true && resumed.last?.contains("step 30") == true, "\(resumed)")
    }

    @Test func aCorruptStateIsAClearError() throws {
        let config = GPTConfig(vocabSize: 12, context: 16, layers: 1, heads: 2, dModel: 16)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-state-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try GPTModel(config: config, seed: 1)
        let opt = AdamW(count: model.parameterCount, lr: 1e-3)
        try PretrainTrainer.saveState(to: dir, model: model, optimizer: opt, position: .init(step: 3, epoch: 0, cursor: 24), curve: [])
        let other = try GPTModel(config: GPTConfig(vocabSize: 12, context: 16, layers: 2, heads: 2, dModel: 16), seed: 1)
        #expect(throws: TrainingError.self) {
            _ = try PretrainTrainer.loadState(from: dir, model: other, optimizer: AdamW(count: other.parameterCount, lr: 1e-3))
        }
        let restored = try PretrainTrainer.loadState(from: dir, model: model, optimizer: opt)
        #expect(restored?.position == .init(step: 3, epoch: 0, cursor: 24))
        #expect(opt.step == 0)
    }
}

@Suite struct LeadBaselineTests {
    @Test func firstWordsAsWritten() {
        #expect(LeadBaseline.text("  JSON  decoder\nand encoder for Lua, fast.", k: 4) == "JSON decoder and encoder")
        #expect(LeadBaseline.text("two words", k: 8) == "two words")
        #expect(LeadBaseline.text("anything", k: 0) == "")
    }

    /// Lead-k scored with the project's own ROUGE-L: hand-computed on two pairs.
    @Test func scoredWithTheWorkflowRewards() throws {
        let rouge = try RewardFactory.make(kind: "rougeL", name: "rougeL", target: nil, tolerance: nil, n: nil, command: nil,
                                           timeout: nil, idfCorpus: [], workingDirectory: nil)
        let score = TextTaskScorer.make([rouge])
        let examples = [
            RLExample(id: "a", document: "JSON decoder and encoder for Lua written in C", reference: "JSON decoder for Lua", documentTokens: []),
            RLExample(id: "b", document: "Tools for the X window system", reference: "window manager", documentTokens: []),
        ]
        let points = try LeadBaseline.evaluate(examples, ks: [2, 4], prompt: { $0.document }, score: score)
        #expect(points.map(\.k) == [2, 4])
        // k = 2: "JSON decoder" vs "JSON decoder for Lua": LCS 2, P 1, R 0.5 → F 2/3;
        //        "Tools for" vs "window manager": 0.
        #expect(abs(points[0].rewards[0].mean - (2.0 / 3.0) / 2) < 1e-9)
        // k = 4: "JSON decoder and encoder" vs reference: LCS 2, P 0.5, R 0.5 → 0.5;
        //        "Tools for the X" vs "window manager": 0.
        #expect(abs(points[1].rewards[0].mean - 0.25) < 1e-9)
    }
}

/// Scores inputs with a list of rewards (rows = inputs, columns = rewards).
enum TextTaskScorer {
    static func make(_ rewards: [any Reward]) -> RewardScorer {
        { inputs in
            let columns = try rewards.map { try $0.score(inputs) }
            return (0..<inputs.count).map { j in columns.map { $0[j] } }
        }
    }
}

@Suite struct ThreadCountIndependenceTests {
    /// Products split into their fixed parts give the same bits with 1, 2 and 3 worker threads,
    /// for every transposition and for shapes split along rows or columns.
    @Test func sgemmIsBitIdenticalAcrossThreadCounts() throws {
        // (7, 5, 3) and (16, 1536, 128) are small-row products when A is not transposed
        for (m, n, k) in [(300, 64, 200), (40, 900, 128), (7, 5, 3), (257, 259, 33), (16, 1536, 128)] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = seededNormals(m * k, seed: 1), b = seededNormals(k * n, seed: 2)
                var results: [[Float]] = []
                for threads in [1, 2, 3] {
                    var c = seededNormals(m * n, seed: 3)
                    BLAS.withThreads(threads) {
                        BLAS.sgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5,
                                   a: a, lda: ta ? m : k, b: b, ldb: tb ? k : n, beta: 1, c: &c, ldc: n)
                    }
                    results.append(c)
                }
                #expect(results[0] == results[1] && results[1] == results[2], "\(m)×\(n)×\(k) transA \(ta) transB \(tb)")
                // and the product is right: compare one element with a double-precision dot product
                let i = m / 2, j = n / 2
                var dot = 0.0
                for p in 0..<k {
                    let av = ta ? a[p * m + i] : a[i * k + p]
                    let bv = tb ? b[j * k + p] : b[p * n + j]
                    dot += Double(av) * Double(bv)
                }
                let expected = 0.5 * dot + Double(seededNormals(m * n, seed: 3)[i * n + j])
                #expect(abs(Double(results[0][i * n + j]) - expected) < 1e-3 * max(1, abs(expected)))
            }
        }
    }

    /// Sampling with the KV cache gives the same tokens and log-probabilities whatever the thread
    /// count: token steps multiply 5 rows through the small-row kernel (in the second model, large
    /// enough that its products with c_fc and the head are cut into column parts), prompts go
    /// through OpenBLAS, and the sequences' attention runs on the workers.
    @Test func generationIsBitIdenticalAcrossThreadCounts() throws {
        for cfg in [GPTConfig(vocabSize: 50, context: 48, layers: 2, heads: 4, dModel: 64),
                    GPTConfig(vocabSize: 700, context: 48, layers: 1, heads: 4, dModel: 128)] {
            #expect(cfg.dModel < 128 || (BLAS.usesSmallRows(transA: false, transB: true, m: 5, n: cfg.vocabSize, k: cfg.dModel)
                                         && BLAS.smallPartition(m: 5, n: cfg.vocabSize, k: cfg.dModel) > 1))
            let model = try GPTModel(config: cfg, seed: 7)
            let prompts: [[Int32]] = (0..<5).map { b in (0..<(6 + b)).map { Int32(($0 * 7 + b) % 48) } }
            func sample(_ threads: Int) throws -> (tokens: [[Int32]], logp: [[Float]]) {
                try BLAS.withThreads(threads) {
                    let out = try Generator.generate(models: [model], prompts: prompts,
                                                     config: SamplingConfig(temperature: 1, maxNewTokens: 12, seed: 11))
                    return (out.tokens, out.policyLogProbs)
                }
            }
            let one = try sample(1), two = try sample(2), three = try sample(3)
            #expect(one.tokens == two.tokens && two.tokens == three.tokens)
            #expect(one.logp == two.logp && two.logp == three.logp)
        }
    }
}
