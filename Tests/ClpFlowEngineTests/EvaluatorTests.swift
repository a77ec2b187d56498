import ClpFlowCore
import Testing
@testable import ClpFlowEngine

@Suite struct EvaluatorTests {
    let config = GPTConfig(vocabSize: 8, context: 24, layers: 1, heads: 2, dModel: 16)
    let codec = LetterCodec()

    func examples(_ n: Int) -> [RLExample] {
        var rng = SeededRandom(seed: 4)
        return (0..<n).map { i in
            RLExample(id: "ex\(i)", document: "doc\(i)", reference: "ref", documentTokens: (0..<3).map { _ in Int32(2 + rng.next() % 6) })
        }
    }

    func share(_ s: String, _ ch: Character) -> Double { s.isEmpty ? 0 : Double(s.filter { $0 == ch }.count) / Double(s.count) }

    @Test func gridShapes() {
        let w = EvaluationGrid.Weights.pointsPerEdge(11)
        #expect(EvaluationGrid.inputs(weights: w, kl: KLConfig(), rewardCount: 2).count == 11)
        let kl = KLConfig(range: AlphaRange(min: 0.01, max: 1))
        let g = EvaluationGrid.inputs(weights: w, kl: kl, rewardCount: 1)
        #expect(g.count == 5 && g.allSatisfy { $0.weights == [1] })
        #expect(abs(g[2].alpha! - 0.1) < 1e-12)
    }

    @Test func baselinesReduceToTheirComponents() throws {
        let ref = try GPTModel(config: config, seed: 1)
        let s1 = try GPTModel(config: config, seed: 2), s2 = try GPTModel(config: config, seed: 3)
        let builder = PromptBuilder(codec: codec, context: 24, maxNewTokens: 6, rewardNames: ["c", "d"])
        let ex = examples(6)
        let greedy = GenerationSettings(temperature: 0, maxNewTokens: 6)
        let rs = PolicyMethod(name: "rewarded-soups", policy: try ConditionedPolicy(rewardedSoups: [s1, s2], rewardNames: ["c", "d"]), builder: builder)
        let mix = LogitMixingMethod(soft: [s1, s2], builder: builder)
        let soft2 = FixedModelMethod(name: "soft-d", model: s2, builder: builder)
        let atVertex = ConditioningInput(weights: [0, 1])
        let a = try rs.generate(ex, conditioning: atVertex, settings: greedy, seed: 1).tokens
        let b = try mix.generate(ex, conditioning: atVertex, settings: greedy, seed: 1).tokens
        let c = try soft2.generate(ex, conditioning: atVertex, settings: greedy, seed: 1).tokens
        #expect(a == c)
        #expect(b == c)
        #expect(mix.forwardPassesPerToken == 2 && rs.forwardPassesPerToken == 1)
        // DeRa at λ = 1 (α = α_aligned) is the aligned model; at large α it approaches π_ref.
        let dera = DeRaMethod(aligned: s1, reference: ref, alignedAlpha: 0.1, builder: builder)
        let d1 = try dera.generate(ex, conditioning: ConditioningInput(weights: [1], alpha: 0.1), settings: greedy, seed: 1).tokens
        let s1out = try FixedModelMethod(name: "s1", model: s1, builder: builder).generate(ex, conditioning: atVertex, settings: greedy, seed: 1).tokens
        #expect(d1 == s1out)
        #expect(dera.forwardPassesPerToken == 2)
        #expect(throws: PolicyError.self) { try dera.generate(ex, conditioning: ConditioningInput(weights: [1]), settings: greedy, seed: 1) }
    }

    @Test func evaluationReportsEveryPointAndIsDeterministic() throws {
        let ref = try GPTModel(config: config, seed: 1)
        let builder = PromptBuilder(codec: codec, context: 24, maxNewTokens: 6, rewardNames: ["c", "d"])
        let policy = try ConditionedPolicy(reference: ref, conditioning: ConditioningConfig(), rewardNames: ["c", "d"], multiKL: false, seed: 1)
        let method = PolicyMethod(name: "clp-attn", policy: policy, builder: builder)
        let score: RewardScorer = { rs in rs.map { [self.share($0.response, "c"), self.share($0.response, "d")] } }
        let ev = Evaluator(rewardNames: ["c", "d"], settings: GenerationSettings(temperature: 1, maxNewTokens: 6), seeds: 2,
                           samplePrompts: 2, seed: 5)
        let grid = EvaluationGrid.inputs(weights: .pointsPerEdge(3), kl: KLConfig(), rewardCount: 2)
        let r1 = try ev.evaluate(method, grid: grid, examples: examples(8), reference: ref, builder: builder, score: score)
        let r2 = try ev.evaluate(method, grid: grid, examples: examples(8), reference: ref, builder: builder, score: score)
        #expect(r1.points.count == 3 && r1.samples.count == 6)
        #expect(r1.points == r2.points)
        // Copies start at π_ref: the KL estimate is exactly 0 (same model scores its own samples).
        for p in r1.points { #expect(abs(p.kl.mean) < 1e-3) }
        #expect(r1.points.allSatisfy { $0.rewards.count == 2 && $0.length.mean > 0 })
    }

    /// The KL axis is the KL of the policy itself: its samples are drawn at temperature 1 whatever
    /// the evaluation temperature, so evaluations at 0.3 and 0.8 (and greedy) report the same KL
    /// per prompt while their rewards come from their own temperature. Per-prompt values back the
    /// estimates.
    @Test func theKLIsThePolicysWhateverTheEvaluationTemperature() throws {
        let ref = try GPTModel(config: config, seed: 1)
        let other = try GPTModel(config: config, seed: 9)
        let builder = PromptBuilder(codec: codec, context: 24, maxNewTokens: 6, rewardNames: ["c", "d"])
        let method = FixedModelMethod(name: "other", model: other, builder: builder)
        let score: RewardScorer = { rs in rs.map { [self.share($0.response, "c"), self.share($0.response, "d")] } }
        func run(_ t: Double) throws -> EvaluationPoint {
            let ev = Evaluator(rewardNames: ["c", "d"], settings: GenerationSettings(temperature: t, maxNewTokens: 6), seeds: 1,
                               samplePrompts: 0, seed: 5)
            return try ev.evaluate(method, grid: [ConditioningInput(weights: [0.5, 0.5])], examples: examples(24), reference: ref,
                                   builder: builder, score: score).points[0]
        }
        let cold = try run(0.3), warm = try run(0.8), greedy = try run(0)
        #expect(cold.perPrompt!.kl == warm.perPrompt!.kl && cold.perPrompt!.kl == greedy.perPrompt!.kl)
        #expect(cold.perPrompt!.rewards != warm.perPrompt!.rewards)
        #expect(cold.perPrompt!.rewards.count == 24 && cold.kl.mean > 0)
        #expect(abs(cold.kl.mean - cold.perPrompt!.kl.reduce(0, +) / 24) < 1e-12)
    }
}
