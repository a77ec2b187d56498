import ClpFlowCore
import Foundation
import Testing
@testable import ClpFlowEngine

/// The `interpolate` KL encoding: θ(w, α) = λ·Σᵢ wᵢ θᵢ + (1−λ)·θ_ref with λ = α_min/α, the π_ref
/// copy and the unconditioned parameters frozen (docs/rl.md, "Conditioning").
@Suite struct KLEncodingTests {
    let config = GPTConfig(vocabSize: 8, context: 16, layers: 1, heads: 2, dModel: 16)
    let alphaMin = 0.05
    let tokens: [Int32] = [2, 3, 4, 5, 6, 7]

    /// A multi-KL policy with the interpolate encoding whose trainable copies differ from π_ref.
    func policy(_ mechanism: ConditioningKind, rewards: [String], ref: GPTModel) throws -> ConditionedPolicy {
        var spec = ConditioningConfig(); spec.mechanism = mechanism
        let p = try ConditionedPolicy(reference: ref, conditioning: spec, rewardNames: rewards, multiKL: true,
                                      klEncoding: .interpolate(alphaMin: alphaMin), seed: 1)
        var c = p.copies!
        var rng = SeededRandom(seed: 11)
        for j in 0..<(c.trainableCount * c.width) { c.copies[j] += Float(0.2 * rng.normal()) }
        p.setCopies(c)
        return p
    }

    func logits(_ model: GPTModel) throws -> [Float] { Array(try model.forward(tokens: tokens, B: 1, T: tokens.count)) }

    func maxDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }

    static let cases: [(ConditioningKind, Int)] = [(.full, 1), (.attn, 1), (.logit, 1), (.full, 2), (.attn, 2), (.logit, 3)]

    @Test(arguments: cases)
    func mixingSpansTheTrainedMixAndReference(mechanism: ConditioningKind, m: Int) throws {
        let ref = try GPTModel(config: config, seed: 5)
        let names = (0..<m).map { "r\($0)" }
        let p = try policy(mechanism, rewards: names, ref: ref)
        #expect(p.copyCount == m + 1 && p.copies!.frozen == 1 && p.copies!.trainableCount == m)
        let w: [Double] = m == 1 ? [1] : (m == 2 ? [0.3, 0.7] : [0.2, 0.5, 0.3])

        // α = α_min: exactly the trained copies' mix Σᵢ wᵢ θᵢ (the π_ref copy has coefficient 0).
        #expect(try p.coefficients(ConditioningInput(weights: w, alpha: alphaMin)) == w + [0])
        let mixOnly = try GPTModel(config: p.model.config, parameters: p.model.params.array)
        p.copies!.materialize(weights: (w + [0]).map(Float.init), into: mixOnly.params.pointer)
        try p.activate(ConditioningInput(weights: w, alpha: alphaMin))
        #expect(maxDiff(try logits(p.model), try logits(mixOnly)) < 1e-6)
        #expect(maxDiff(try logits(p.model), try logits(ref)) > 1e-3, "the trained mix must differ from π_ref for this test to mean anything")

        // The last copy is π_ref's values of the conditioned parameters (same layout: a policy
        // without multi-KL starts every copy from π_ref).
        var spec = ConditioningConfig(); spec.mechanism = mechanism
        let fresh = try ConditionedPolicy(reference: ref, conditioning: spec, rewardNames: names, multiKL: false, seed: 1)
        let c = p.copies!
        let anchorIsReference = c.copy(m) == fresh.copies!.copy(0)
        #expect(anchorIsReference)

        // In between: the conditioned parameters are λ·Σᵢ wᵢ θᵢ + (1−λ)·θ_ref, λ = α_min/α.
        let alpha = 0.2, lambda = alphaMin / alpha
        try p.activate(ConditioningInput(weights: w, alpha: alpha))
        let params = p.model.params.array
        var o = 0, worst: Float = 0
        for s in c.slices {
            for j in 0..<s.count {
                var mix: Float = 0
                for i in 0..<m { mix += Float(w[i]) * c.copies[i * c.width + o + j] }
                let expected = Float(lambda) * mix + Float(1 - lambda) * c.copies[m * c.width + o + j]
                worst = max(worst, abs(params[s.offset + j] - expected))
            }
            o += s.count
        }
        #expect(worst < 1e-5, "worst parameter error \(worst)")

        // α → ∞: π_ref itself (the π_ref copy and the frozen unconditioned parameters).
        var previous = Float.infinity
        for a in [1.0, 10.0, 1e3, 1e6] {
            try p.activate(ConditioningInput(weights: w, alpha: a))
            let d = maxDiff(try logits(p.model), try logits(ref))
            #expect(d < previous, "KL weight \(a): distance to π_ref \(d) did not shrink")
            previous = d
        }
        #expect(previous < 1e-4)
    }

    @Test(arguments: [ConditioningKind.full, .attn, .logit])
    func gradientsReachOnlyTheTrainableCopies(mechanism: ConditioningKind) throws {
        let ref = try GPTModel(config: config, seed: 5)
        let p = try policy(mechanism, rewards: ["a", "b"], ref: ref)
        let cond = ConditioningInput(weights: [0.4, 0.6], alpha: 0.125)   // λ = 0.4
        let targets: [Int32] = [3, 4, 5, 6, 7, 2, 4, 5, 6, 7, 2, 0]
        let batch: [Int32] = tokens + [3, 4, 5, 6, 7, 2]
        let weights: [Float] = [0.5, -0.3, 0.2, 0.1, 0.4, -0.2, 0.3, 0.1, -0.1, 0.2, 0.3, 0.1]
        func loss() throws -> Double {
            try p.activate(cond)
            try p.model.forward(tokens: batch, B: 2, T: 6)
            return Double(try p.model.loss(targets: targets, weights: weights))
        }
        p.zeroGrads()
        try p.activate(cond)
        try p.model.forward(tokens: batch, B: 2, T: 6)
        try p.model.lossAndBackward(targets: targets, weights: weights)
        try p.routeGradients(cond)
        let c = p.copies!
        // The π_ref copy gets no gradient, the unconditioned parameters neither.
        #expect(c.grads[(2 * c.width)...].allSatisfy { $0 == 0 })
        #expect(p.model.grads.array.allSatisfy { $0 == 0 })
        #expect(c.grads[..<(2 * c.width)].contains { $0 != 0 })
        // The trainable copies' gradients are λ·wᵢ times the gradient at θ(w, α): finite differences.
        var rng = SeededRandom(seed: 3)
        var worst = 0.0
        let eps: Float = 1e-2
        for _ in 0..<12 {
            let j = Int(rng.next() % UInt64(2 * c.width))
            var d = p.copies!
            let orig = d.copies[j]
            d.copies[j] = orig + eps; p.setCopies(d); let lp = try loss()
            d.copies[j] = orig - eps; p.setCopies(d); let lm = try loss()
            d.copies[j] = orig; p.setCopies(d)
            let fd = (lp - lm) / (2 * Double(eps)), g = Double(c.grads[j])
            worst = max(worst, abs(fd - g) / max(1e-3, abs(fd) + abs(g)))
        }
        #expect(worst < 0.02, "worst relative error \(worst)")

        // An optimiser step moves the trainable copies only.
        try p.activate(cond)
        let before = p.copies!.copies, shared = p.model.params.array
        let opt = ConditionedPolicy.Optimizer(policy: p, lr: 0.01)
        p.zeroGrads()
        try p.activate(cond)
        try p.model.forward(tokens: batch, B: 2, T: 6)
        try p.model.lossAndBackward(targets: targets, weights: weights)
        try p.routeGradients(cond)
        opt.step(p, lr: 0.01)
        let after = p.copies!.copies
        let anchorKept = after[(2 * c.width)...] == before[(2 * c.width)...]
        let copiesMoved = after[..<(2 * c.width)] != before[..<(2 * c.width)]
        let sharedKept = p.model.params.array == shared
        #expect(anchorKept && copiesMoved && sharedKept)
    }

    @Test func badInputsAreRejected() throws {
        let ref = try GPTModel(config: config, seed: 5)
        let p = try policy(.attn, rewards: ["a", "b"], ref: ref)
        #expect(throws: PolicyError.self) { try p.activate(ConditioningInput(weights: [0.5, 0.5], alpha: alphaMin / 2)) }
        #expect(throws: PolicyError.self) { try p.activate(ConditioningInput(weights: [0.5, 0.5])) }
        #expect(throws: PolicyError.self) { try p.standalone(ConditioningInput(weights: [0.5, 0.5], alpha: 0.01)) }
        do {
            try p.activate(ConditioningInput(weights: [0.5, 0.5], alpha: 0.01))
            Issue.record("α below α_min was accepted")
        } catch let e as PolicyError {
            #expect(e.description.contains("below the smallest KL weight") && e.description.contains("0.05"), "\(e)")
        }
        for mechanism in [ConditioningKind.prompt, .softToken, .none] {
            var spec = ConditioningConfig(); spec.mechanism = mechanism
            #expect(throws: PolicyError.self) {
                try ConditionedPolicy(reference: ref, conditioning: spec, rewardNames: ["a"], multiKL: true,
                                      klEncoding: .interpolate(alphaMin: 0.1), seed: 1)
            }
        }
        #expect(throws: PolicyError.self) {
            try ConditionedPolicy(reference: ref, conditioning: ConditioningConfig(), rewardNames: ["a"], multiKL: false,
                                  klEncoding: .interpolate(alphaMin: 0.1), seed: 1)
        }
        #expect(throws: PolicyError.self) {
            try ConditionedPolicy(reference: ref, conditioning: ConditioningConfig(), rewardNames: ["a"], multiKL: true,
                                  klEncoding: .interpolate(alphaMin: 0), seed: 1)
        }
        // The workflow's kind maps onto the encoding with the range's minimum.
        let kl = KLConfig(alpha: 0.3, range: AlphaRange(min: 0.02, max: 0.5), encoding: .interpolate)
        #expect(kl.policyEncoding == .interpolate(alphaMin: 0.02))
        #expect(KLConfig(alpha: 0.3, encoding: .interpolate).policyEncoding == .linear)
    }

    static func tempDir(_ name: String) -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("clp-\(name)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    @Test(arguments: [ConditioningKind.attn, .logit])
    func checkpointRoundTrip(mechanism: ConditioningKind) throws {
        let ref = try GPTModel(config: config, seed: 5)
        let p = try policy(mechanism, rewards: ["a", "b"], ref: ref)
        let dir = Self.tempDir("kl-encoding")
        defer { try? FileManager.default.removeItem(at: dir) }
        try p.save(to: dir)
        let q = try ConditionedPolicy.load(from: dir)
        #expect(q.klEncoding == .interpolate(alphaMin: alphaMin) && q.copies!.frozen == 1 && !q.trainsSharedParameters)
        #expect(q.metadata.klEncoding == .interpolate && q.metadata.alphaMin == alphaMin)
        for a in [alphaMin, 0.3] {
            let c = ConditioningInput(weights: [0.25, 0.75], alpha: a)
            try p.activate(c); try q.activate(c)
            let same = try logits(p.model) == logits(q.model)
            let standaloneSame = try logits(q.standalone(c).model) == logits(q.model)
            #expect(same && standaloneSame)
        }
        #expect(throws: PolicyError.self) { try q.activate(ConditioningInput(weights: [0.25, 0.75], alpha: 0.01)) }

        // A linear policy's checkpoint does not mention an encoding, and reads back as linear.
        var spec = ConditioningConfig(); spec.mechanism = mechanism
        let lin = try ConditionedPolicy(reference: ref, conditioning: spec, rewardNames: ["a", "b"], multiKL: true, seed: 1)
        let linDir = dir.appendingPathComponent("linear")
        try lin.save(to: linDir)
        let meta = try #require(try SafeTensors.read(linDir.appendingPathComponent(ConditionedPolicy.fileName)).metadata["clp_policy"])
        #expect(!meta.contains("kl_encoding") && !meta.contains("alpha_min"))
        let back = try ConditionedPolicy.load(from: linDir)
        #expect(back.klEncoding == .linear && back.copies!.frozen == 0)
        #expect(try back.coefficients(ConditioningInput(weights: [0.5, 0.5], alpha: 0.25)) == [0.4, 0.4, 0.2])
        // Metadata written before the field existed decodes as linear; an interpolate without
        // α_min is refused.
        let old = #"{"mechanism":"attn","reward_names":["a"],"multi_kl":true,"attn_matrices":["qkv"],"soft_tokens":0,"slices":[],"copies":2}"#
        let decoded = try JSONDecoder().decode(PolicyMetadata.self, from: Data(old.utf8))
        #expect(try decoded.encoding(source: "x") == .linear)
        var broken = decoded; broken.klEncoding = .interpolate
        #expect(throws: PolicyError.self) { try broken.encoding(source: "x") }
    }

    /// A short REINFORCE run: the π_ref copy and the unconditioned parameters stay bit-identical,
    /// the trainable copies move, and training resumes bit-identically from its saved state.
    @Test func trainingKeepsTheAnchorAndResumes() throws {
        let ref = try GPTModel(config: config, seed: 3)
        var spec = ConditioningConfig(); spec.mechanism = .attn
        func make() throws -> ConditionedPolicy {
            try ConditionedPolicy(reference: ref, conditioning: spec, rewardNames: ["c", "d"], multiKL: true,
                                  klEncoding: .interpolate(alphaMin: 0.01), seed: 1)
        }
        var rng = SeededRandom(seed: 4)
        let data = (0..<6).map { i in
            RLExample(id: "\(i)", document: "", reference: "", documentTokens: (0..<4).map { _ in Int32(2 + rng.next() % 6) })
        }
        func share(_ s: String, _ ch: Character) -> Double { s.isEmpty ? 0 : Double(s.filter { $0 == ch }.count) / Double(s.count) }
        let score: RewardScorer = { rs in rs.map { [share($0.response, "c"), share($0.response, "d")] } }
        let rl = RLConfig(steps: 8, batch: 4, samples: 3, learningRate: 3e-2, warmup: 2, maxNewTokens: 5,
                          weights: .dirichlet(concentration: 0.5),
                          kl: KLConfig(alpha: 0.01, range: AlphaRange(min: 0.01, max: 0.5), encoding: .interpolate))
        let trainer = RLTrainer(config: rl, rewardNames: ["c", "d"], normalization: .identity(2), seed: 7)
        let p = try make()
        let start = p.copies!.copies, w = p.copies!.width
        let sharedStart = ref.params.array
        var alphas: [Double] = []
        _ = try trainer.train(policy: p, reference: ref, data: data, codec: LetterCodec(),
                              generate: RLTrainer.cachedGenerator(endOfText: 0), score: score,
                              report: { alphas += $0.conditioning.compactMap(\.alpha) })
        let anchorKept = p.copies!.copies[(2 * w)...] == start[(2 * w)...]
        let copiesMoved = p.copies!.copies[..<(2 * w)] != start[..<(2 * w)]
        #expect(anchorKept && copiesMoved)
        // Outside the conditioned slices the network is still π_ref's.
        let slices = p.copies!.slices
        let params = p.model.params.array
        var outside = true
        var inSlice = [Bool](repeating: false, count: params.count)
        for s in slices { for j in 0..<s.count { inSlice[s.offset + j] = true } }
        for j in 0..<params.count where !inSlice[j] && params[j] != sharedStart[j] { outside = false }
        #expect(outside)
        #expect(alphas.count == 32 && alphas.allSatisfy { $0 >= 0.01 && $0 <= 0.5 })

        struct Killed: Error {}
        let dir = Self.tempDir("kl-encoding-resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        for killAt in [5, nil] as [Int?] {
            let q = try make()
            do {
                _ = try trainer.train(policy: q, reference: ref, data: data, codec: LetterCodec(),
                                      generate: RLTrainer.cachedGenerator(endOfText: 0), score: score, stateDir: dir,
                                      checkpoints: CheckpointSchedule(everySteps: 2, everySeconds: 0), report: { r in
                    if let killAt, r.step == killAt { throw Killed() }
                })
            } catch is Killed { continue }
            let identical = q.copies!.copies == p.copies!.copies
            #expect(identical)
        }
    }
}
