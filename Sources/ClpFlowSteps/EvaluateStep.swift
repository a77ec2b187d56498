import ClpFlowCore
import ClpFlowEngine
import ClpFlowPlanner
import ClpFlowRunner
import ClpFlowWorkflow
import Foundation

/// What an evaluate step writes (evaluation.json).
public struct EvaluationArtifact: Codable, Sendable {
    /// `clp`, `rewarded-soups`, `logit-mixing`, `dera`, `soft`, `prompt`.
    public var method: String
    /// Display name, e.g. `clp-attn`.
    public var label: String
    public var conditioning: String?
    public var rewardNames: [String]
    public var evaluation: MethodEvaluation
    /// π_ref on the same prompts (its rewards are the hypervolume reference point).
    public var reference: EvaluationPoint
    public var hypervolume: Double
    public var steerability: [ParetoMetrics.Steerability]
    /// Lead-k (the document's first k words) scored with the same rewards on the same prompts.
    public var lead: [LeadBaseline.Point]?
    /// J(w) = Σᵢ wᵢ r̃ᵢ − α·KL relative to π_ref at each evaluated point (`TrainedObjective`), in
    /// the order of `evaluation.points`.
    public var objective: [ObjectiveEstimate]?
    /// Each evaluated vertex eᵢ's gain over π_ref on reward i, paired over prompts.
    public var vertexGains: [VertexGain]?
}

enum EvaluateStep {
    static func run(_ ctx: StepContext) throws {
        let cfg = try EvaluateConfig(step: ctx.step)
        let (method, data, rewards, kl, spec) = (cfg.method, cfg.data, cfg.rewards, cfg.kl, cfg.evaluate)
        let names = rewards.map(\.name)
        let task = try TextTask(ctx: ctx, data: data)
        let reference = try GPTModel.importHuggingFace(from: try ctx.input(of: .trainReference).appendingPathComponent(ArtifactFiles.modelDir))
        let score = TextTask.scorer(try task.rewards(rewards, ctx: ctx))
        let heldOut = spec.split == .valid ? task.splits.valid : task.splits.test
        let examples = task.rlExamples(Array(heldOut.prefix(spec.prompts)))
        guard !examples.isEmpty else { throw StepError.failed("the \(spec.split.rawValue) split is empty") }
        let builder = PromptBuilder(codec: task.codec, context: reference.config.context, maxNewTokens: spec.maxNewTokens,
                                    rewardNames: names)
        let settings = GenerationSettings(temperature: spec.temperature, topP: spec.topP, maxNewTokens: spec.maxNewTokens)
        // The texts of every prompt are kept; the report shows the first `evaluate.sample_prompts`
        // (a display setting, so it is not part of this step's configuration).
        let evaluator = Evaluator(rewardNames: names, settings: settings, seeds: 1, samplePrompts: examples.count, seed: cfg.seed)
        var grid = EvaluationGrid.inputs(weights: .init(cfg.grid), kl: KLConfig(kl), rewardCount: names.count)
        // Without RL stages the policy evaluated is π_ref itself.
        let made: (method: SteerableMethod, conditioning: String?)
        if method == .clp, ctx.inputs(of: .trainCLP).isEmpty {
            made = (FixedModelMethod(name: "reference", model: reference, builder: builder), nil)
        } else {
            made = try MethodFactory.make(method: method, clpDirs: ctx.inputs(of: .trainCLP), softDirs: ctx.inputs(of: .trainSoft),
                                          reference: reference, builder: builder, rewardNames: names, kl: kl)
        }
        let steerable = made.method, label = made.method.name, conditioningName = made.conditioning
        if method == .soft {
            // Each SOFT policy at its vertex, conditioned on the α it trained at in multi-KL workflows.
            grid = (0..<names.count).map { i in
                ConditioningInput(weights: (0..<names.count).map { $0 == i ? 1 : 0 }, alpha: kl.range.map { _ in kl.softAlpha })
            }
        }
        ctx.events.message("evaluating \(label) at \(grid.count) conditionings on \(examples.count) prompts")
        let total = grid.count + 1
        let result = try evaluator.evaluate(steerable, grid: grid, examples: examples, reference: reference, builder: builder,
                                            score: score) { done, _ in ctx.events.progress(step: done, total: total) }
        let refMethod = FixedModelMethod(name: "reference", model: reference, builder: builder)
        let refEval = try evaluator.evaluate(refMethod, grid: [ConditioningInput(weights: Array(repeating: 1.0 / Double(names.count), count: names.count))],
                                             examples: examples, reference: reference, builder: builder, score: score)
        ctx.events.progress(step: total, total: total)
        let refPoint = refEval.points[0]
        let hv = Objectives.hypervolume(result.points, reference: refPoint, multiKL: kl.range != nil,
                                        klBound: Objectives.klBound([result.points]))
        let steer = Objectives.steerability(result.points, rewardCount: names.count, multiKL: kl.range != nil)
        ctx.events.metric("hypervolume", hv)
        for (i, s) in steer.enumerated() { if let rho = s.rho { ctx.events.metric("spearman/\(names[i])", rho) } }
        ctx.events.metric("tokens_per_second", result.tokensPerSecond)
        let lead = try LeadBaseline.evaluate(examples, prompt: {
            task.codec.decodeTokens(builder.tokens($0, conditioning: nil, textual: false))
        }, score: score)
        for p in lead { for (i, r) in p.rewards.enumerated() { ctx.events.metric("lead\(p.k)/\(names[i])", r.mean) } }
        let objective = result.points.enumerated().compactMap { k, p in
            TrainedObjective.estimate(p, reference: refPoint, alpha: p.alpha ?? kl.alpha, seed: cfg.seed &+ UInt64(k))
        }
        for o in objective where o.weights.contains(1) {
            let i = o.weights.firstIndex(of: 1)!
            ctx.events.metric("objective/\(names[i])", o.mean)
        }
        try Files.writeJSON(EvaluationArtifact(method: method.rawValue, label: label, conditioning: conditioningName, rewardNames: names,
                                               evaluation: result, reference: refPoint, hypervolume: hv, steerability: steer,
                                               lead: lead, objective: objective.count == result.points.count ? objective : nil,
                                               vertexGains: TrainedObjective.vertexGains(result.points, reference: refPoint, seed: cfg.seed)),
                            to: ctx.workDir.appendingPathComponent(ArtifactFiles.evaluation))
    }
}

/// The objectives fronts are measured on. With a fixed KL weight: the m rewards, reference point
/// π_ref's rewards. In multi-KL workflows the KL is an objective too: (r₁…r_m, −KL) with reference
/// point (π_ref's rewards, −K), K the largest KL among the compared points (docs/evaluation.md).
public enum Objectives {
    public static func vectors(_ points: [EvaluationPoint], multiKL: Bool) -> [[Double]] {
        points.map { p in p.rewards.map(\.mean) + (multiKL ? [-p.kl.mean] : []) }
    }

    public static func klBound(_ sets: [[EvaluationPoint]]) -> Double {
        max(1e-6, sets.flatMap { $0.map(\.kl.mean) }.filter(\.isFinite).max() ?? 0)
    }

    public static func referenceVector(_ ref: EvaluationPoint, multiKL: Bool, klBound: Double) -> [Double] {
        ref.rewards.map(\.mean) + (multiKL ? [-klBound] : [])
    }

    public static func hypervolume(_ points: [EvaluationPoint], reference: EvaluationPoint, multiKL: Bool, klBound: Double) -> Double {
        ParetoMetrics.hypervolume(vectors(points, multiKL: multiKL),
                                  reference: referenceVector(reference, multiKL: multiKL, klBound: klBound))
    }

    /// ρ(wᵢ, rᵢ) along the grid for m ≥ 2 rewards; for one reward in multi-KL workflows
    /// ρ(1/α, r): a steerable policy gains reward as α falls.
    public static func steerability(_ points: [EvaluationPoint], rewardCount m: Int, multiKL: Bool) -> [ParetoMetrics.Steerability] {
        let rewards = points.map { $0.rewards.map(\.mean) }
        if m > 1 { return ParetoMetrics.steerability(weights: points.map(\.weights), rewards: rewards) }
        guard multiKL, points.allSatisfy({ $0.alpha != nil }) else { return [] }
        return ParetoMetrics.steerability(weights: points.map { [1 / $0.alpha!] }, rewards: rewards)
    }
}

/// Builds the steerable method a step or `clp-flow generate` uses from trained policies.
public enum MethodFactory {
    public static func make(method: EvaluatedMethod, clpDirs: [URL], softDirs: [URL], reference: GPTModel, builder: PromptBuilder,
                            rewardNames names: [String], kl: KLSpec) throws -> (method: SteerableMethod, conditioning: String?) {
        switch method {
        case .clp, .prompt:
            guard let dir = clpDirs.first else { throw StepError.missingInput("\(method.rawValue) needs a trained policy") }
            let policy = try ConditionedPolicy.load(from: dir.appendingPathComponent(ArtifactFiles.policyDir))
            let label = method == .prompt ? "prompt" : "clp-\(policy.mechanism.rawValue)"
            return (PolicyMethod(name: label, policy: policy, builder: builder), policy.mechanism.rawValue)
        case .rewardedSoups, .logitMixing, .soft, .dera:
            let soft = try softDirs.map {
                try ConditionedPolicy.load(from: $0.appendingPathComponent(ArtifactFiles.policyDir)).model
            }
            guard !soft.isEmpty else { throw StepError.missingInput("\(method.rawValue) needs the SOFT policies") }
            switch method {
            case .rewardedSoups:
                guard soft.count == names.count else {
                    throw StepError.missingInput("rewarded soups needs \(names.count) SOFT policies, got \(soft.count)")
                }
                return (PolicyMethod(name: method.rawValue, policy: try ConditionedPolicy(rewardedSoups: soft, rewardNames: names), builder: builder), nil)
            case .logitMixing:
                return (LogitMixingMethod(soft: soft, builder: builder), nil)
            case .dera:
                return (DeRaMethod(aligned: soft[0], reference: reference, alignedAlpha: kl.softAlpha, builder: builder), nil)
            default:
                return (SoftSet(models: soft, builder: builder), nil)
            }
        }
    }
}

/// The SOFT baseline: policy i answers at the vertex eᵢ only (evaluation and serving).
public final class SoftSet: SteerableMethod, @unchecked Sendable {
    let models: [GPTModel]
    public let builder: PromptBuilder
    public var name: String { "soft" }
    public var forwardPassesPerToken: Int { 1 }
    public init(models: [GPTModel], builder: PromptBuilder) { self.models = models; self.builder = builder }
    public func generate(_ examples: [RLExample], conditioning c: ConditioningInput, settings: GenerationSettings,
                  seed: UInt64) throws -> (tokens: [[Int32]], logProbs: [Double]) {
        guard let i = c.weights.firstIndex(of: 1), i < models.count else {
            throw PolicyError.invalid("SOFT policies answer at vertices only (one weight 1, the others 0)")
        }
        return try FixedModelMethod(name: "soft", model: models[i], builder: builder)
            .generate(examples, conditioning: c, settings: settings, seed: seed)
    }
}
