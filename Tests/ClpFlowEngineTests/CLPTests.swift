import Foundation
import ClpFlowCore
import Testing
@testable import ClpFlowEngine

/// Letters a, b, c, … as tokens 0, 1, 2, …; token 0 is end-of-text, 1 the separator.
struct LetterCodec: TextCodec {
    func encodeText(_ text: String) -> [Int32] { text.unicodeScalars.map { Int32($0.value) - 97 } }
    func decodeTokens(_ tokens: [Int32]) -> String {
        String(String.UnicodeScalarView(tokens.compactMap { Unicode.Scalar(UInt32(97 + $0)) }))
    }
    var endOfText: Int32 { 0 }
    var separator: Int32 { 1 }
}

/// Full-forward sampling without a cache (test reference).
func naiveGenerate(_ model: GPTModel, _ prompt: [Int32], _ count: Int, _ prefix: PrefixEmbeddings?,
                   _ s: GenerationSettings, _ rng: inout SeededRandom) throws -> [[Int32]] {
    var out: [[Int32]] = []
    let V = model.config.vocabSize
    for _ in 0..<count {
        var seq = prompt
        var resp: [Int32] = []
        for _ in 0..<s.maxNewTokens {
            let logits = try model.forward(tokens: seq, B: 1, T: seq.count, prefix: prefix)
            let row = Array(logits[((seq.count - 1) * V)..<(seq.count * V)]).map { Double($0) / s.temperature }
            let mx = row.max()!
            let p = row.map { ($0 - mx).exponential }
            var u = rng.uniform() * p.reduce(0, +)
            var tok = V - 1
            for (i, x) in p.enumerated() { u -= x; if u < 0 { tok = i; break } }
            resp.append(Int32(tok)); seq.append(Int32(tok))
            if tok == 0 { break }
        }
        out.append(resp)
    }
    return out
}

@Suite struct CLPTests {
    let config = GPTConfig(vocabSize: 8, context: 16, layers: 1, heads: 2, dModel: 16)

    @Test(arguments: [ConditioningKind.full, .attn, .logit, .softToken])
    func copyGradientsMatchFiniteDifferences(mechanism: ConditioningKind) throws {
        let ref = try GPTModel(config: config, seed: 5)
        var spec = ConditioningConfig(); spec.mechanism = mechanism
        let policy = try ConditionedPolicy(reference: ref, conditioning: spec, rewardNames: ["a", "b"], multiKL: true, seed: 1)
        #expect(policy.copyCount == 3)
        // Make the copies (soft tokens) differ.
        var rng = SeededRandom(seed: 8)
        if policy.copies != nil {
            var c = policy.copies!
            for j in 0..<c.copies.count { c.copies[j] += Float(0.05 * rng.normal()) }
            policy.setCopies(c)
        }
        for j in 0..<policy.softTokens.count { policy.softTokens[j] += Float(0.05 * rng.normal()) }
        let cond = ConditioningInput(weights: [0.3, 0.7], alpha: 0.5)
        let tokens: [Int32] = [2, 3, 4, 5, 6, 7, 2, 3, 5, 5, 6, 1]
        let targets: [Int32] = [3, 4, 5, 6, 7, 2, 3, 5, 5, 6, 1, 0]
        let weights: [Float] = [0.5, -0.3, 0.2, 0.1, 0.4, -0.2, 0.3, 0.1, -0.1, 0.2, 0.3, 0.0]
        func loss() throws -> Double {
            let prefix = try policy.activate(cond)
            try policy.model.forward(tokens: tokens, B: 2, T: 6, prefix: prefix)
            return Double(try policy.model.loss(targets: targets, weights: weights))
        }
        policy.zeroGrads()
        let prefix = try policy.activate(cond)
        try policy.model.forward(tokens: tokens, B: 2, T: 6, prefix: prefix)
        try policy.model.lossAndBackward(targets: targets, weights: weights)
        try policy.routeGradients(cond)
        var checked = 0, worst = 0.0
        let eps: Float = 1e-2
        if let copies = policy.copies {
            for _ in 0..<12 {
                let j = Int(rng.next() % UInt64(copies.copies.count))
                var c = policy.copies!
                let orig = c.copies[j]
                c.copies[j] = orig + eps; policy.setCopies(c); let lp = try loss()
                c.copies[j] = orig - eps; policy.setCopies(c); let lm = try loss()
                c.copies[j] = orig; policy.setCopies(c)
                let fd = (lp - lm) / (2 * Double(eps))
                let g = Double(copies.grads[j])
                worst = max(worst, abs(fd - g) / max(1e-3, abs(fd) + abs(g)))
                checked += 1
            }
        }
        for _ in 0..<(policy.softTokens.isEmpty ? 0 : 12) {
            let j = Int(rng.next() % UInt64(policy.softTokens.count))
            let orig = policy.softTokens[j]
            policy.softTokens[j] = orig + eps; let lp = try loss()
            policy.softTokens[j] = orig - eps; let lm = try loss()
            policy.softTokens[j] = orig
            let fd = (lp - lm) / (2 * Double(eps))
            let g = Double(policy.softTokenGrads[j])
            worst = max(worst, abs(fd - g) / max(1e-3, abs(fd) + abs(g)))
            checked += 1
        }
        #expect(checked == 12)
        #expect(worst < 0.02, "worst relative error \(worst)")
    }

    @Test func logitConditioningUntiesTheHead() throws {
        let ref = try GPTModel(config: config, seed: 5)
        var spec = ConditioningConfig(); spec.mechanism = .logit
        let policy = try ConditionedPolicy(reference: ref, conditioning: spec, rewardNames: ["a", "b"], multiKL: false, seed: 1)
        #expect(policy.model.config.tiedHead == false)
        #expect(policy.copies!.width == config.vocabSize * config.dModel)
        // Untied but initialised from wte: the same logits as the reference at any weighting.
        try policy.activate(ConditioningInput(weights: [0.4, 0.6]))
        let a = Array(try policy.model.forward(tokens: [2, 3, 4], B: 1, T: 3))
        let b = Array(try ref.forward(tokens: [2, 3, 4], B: 1, T: 3))
        #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test func badConditioningIsRejected() throws {
        let ref = try GPTModel(config: config, seed: 5)
        let policy = try ConditionedPolicy(reference: ref, conditioning: ConditioningConfig(), rewardNames: ["a", "b"], multiKL: false, seed: 1)
        #expect(throws: PolicyError.self) { try policy.activate(ConditioningInput(weights: [1])) }
        #expect(throws: PolicyError.self) { try policy.activate(ConditioningInput(weights: [0.5, 0.6])) }
        #expect(throws: PolicyError.self) { try policy.activate(ConditioningInput(weights: [-0.5, 1.5])) }
    }

    @Test func rewardedSoupAtAVertexIsThatSoftModel() throws {
        let s1 = try GPTModel(config: config, seed: 1), s2 = try GPTModel(config: config, seed: 2)
        let rs = try ConditionedPolicy(rewardedSoups: [s1, s2], rewardNames: ["a", "b"])
        try rs.activate(ConditioningInput(weights: [0, 1]))
        #expect(rs.model.params.array == s2.params.array)
        try rs.activate(ConditioningInput(weights: [1, 0]))
        #expect(rs.model.params.array == s1.params.array)
        try rs.activate(ConditioningInput(weights: [0.5, 0.5]))
        let mid = zip(s1.params.array, s2.params.array).map { 0.5 * $0 + 0.5 * $1 }
        #expect(zip(rs.model.params.array, mid).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    /// Two conflicting rewards (share of letter c vs share of letter d in the response). After RL
    /// with Dirichlet-sampled weightings, the conditioned policy must be steerable: more c at
    /// w = (1, 0) than at w = (0, 1), and the reverse for d.
    @Test(arguments: [ConditioningKind.attn, .full, .logit])
    func reinforceMakesThePolicySteerable(mechanism: ConditioningKind) throws {
        let ref = try GPTModel(config: config, seed: 3)
        var spec = ConditioningConfig(); spec.mechanism = mechanism
        let policy = try ConditionedPolicy(reference: ref, conditioning: spec, rewardNames: ["c", "d"], multiKL: false, seed: 1)
        let codec = LetterCodec()
        var rng = SeededRandom(seed: 4)
        let data = (0..<16).map { i in
            RLExample(id: "\(i)", document: "", reference: "", documentTokens: (0..<4).map { _ in Int32(2 + rng.next() % 6) })
        }
        func share(_ s: String, _ ch: Character) -> Double { s.isEmpty ? 0 : Double(s.filter { $0 == ch }.count) / Double(s.count) }
        let score: RewardScorer = { rs in rs.map { [share($0.response, "c"), share($0.response, "d")] } }
        let rl = RLConfig(steps: 40, batch: 8, samples: 4, learningRate: 3e-2, warmup: 2, maxNewTokens: 6,
                          weights: .dirichlet(concentration: 0.5), kl: KLConfig(alpha: 0.001))
        var records: [RLTrainer.CurvePoint] = []
        let trainer = RLTrainer(config: rl, rewardNames: ["c", "d"],
                                normalization: .identity(2), seed: 7)
        let summary = try trainer.train(policy: policy, reference: ref, data: data, codec: codec,
                                        generate: RLTrainer.cachedGenerator(endOfText: 0),
                                        score: score, report: { records.append($0) })
        #expect(summary.samples == 40 * 8 * 4)
        #expect(records.count == 40 && records[0].conditioning.count == 8)
        func evaluate(_ w: [Double]) throws -> [Double] {
            try policy.activate(ConditioningInput(weights: w))
            var g = SeededRandom(seed: 99)
            var tot = [0.0, 0.0]
            for ex in data {
                let prompt = ex.documentTokens + [1]
                for r in try naiveGenerate(policy.model, prompt, 4, nil, GenerationSettings(maxNewTokens: 6), &g) {
                    let s = codec.decodeTokens(r.filter { $0 != 0 })
                    tot[0] += share(s, "c"); tot[1] += share(s, "d")
                }
            }
            return tot.map { $0 / Double(data.count * 4) }
        }
        let atC = try evaluate([1, 0]), atD = try evaluate([0, 1])
        #expect(atC[0] > atD[0] + 0.15, "c share at (1,0) \(atC[0]) vs at (0,1) \(atD[0])")
        #expect(atD[1] > atC[1] + 0.15, "d share at (0,1) \(atD[1]) vs at (1,0) \(atC[1])")
    }
}

@Suite struct PolicyCheckpointTests {
    @Test(arguments: [ConditioningKind.attn, .logit, .softToken, .prompt])
    func roundTrip(mechanism: ConditioningKind) throws {
        let config = GPTConfig(vocabSize: 8, context: 16, layers: 1, heads: 2, dModel: 16)
        let ref = try GPTModel(config: config, seed: 5)
        var spec = ConditioningConfig(); spec.mechanism = mechanism; spec.softTokens = 2
        let p = try ConditionedPolicy(reference: ref, conditioning: spec, rewardNames: ["a", "b"], multiKL: false, seed: 1)
        if p.copies != nil {
            var c = p.copies!
            for j in 0..<c.copies.count { c.copies[j] += Float(j % 7) * 0.01 }
            p.setCopies(c)
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-policy-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try p.save(to: dir)
        let q = try ConditionedPolicy.load(from: dir)
        #expect(q.metadata == p.metadata)
        let c = ConditioningInput(weights: [0.3, 0.7])
        let pp = try p.activate(c), qp = try q.activate(c)
        let a = Array(try p.model.forward(tokens: [2, 3, 4], B: 1, T: 3, prefix: pp))
        let b = Array(try q.model.forward(tokens: [2, 3, 4], B: 1, T: 3, prefix: qp))
        #expect(a == b)
    }
}
