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
    /// π_ref on the same prompts.
    public var reference: EvaluationPoint
    /// Hypervolume against `hypervolumeReference`: the declared `evaluate.reference_point`, or
    /// under `auto` the rule applied to this evaluation alone (scope `evaluation`; the ablate step
    /// and the report recompute it against the run-wide point).
    public var hypervolume: Double
    /// The point `hypervolume` is measured against (nil in evaluations written before it was recorded).
    public var hypervolumeReference: HypervolumeReference?
    /// Bootstrap interval of `hypervolume` over prompts (`GridBootstrap.hypervolumeInterval`).
    public var hypervolumeInterval: Interval?
    public var steerability: [ParetoMetrics.Steerability]
    /// ρ's bootstrap interval, permutation p-value and noise spread, one per entry of `steerability`.
    public var steerabilityUncertainty: [SteerabilityUncertainty]?
    /// The evaluate step's seed, from which every resampling of this evaluation is drawn (the
    /// ablate step and the report draw the run-wide hypervolume interval from it too).
    public var seed: UInt64?
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
        // Hypervolume: against the declared point, or (auto) against this evaluation's own points
        // only, labelled as such; the ablate step and the report use the run-wide point.
        let multiKL = Objectives.isMultiKL([result.points])
        let hvRef: HypervolumeReference
        do {
            hvRef = try ReferencePointRule.resolve(declared: spec.referencePoint.declared, rewardNames: names, references: [refPoint],
                                                   evaluations: [result.points], multiKL: multiKL, scope: .evaluation)
        } catch let e as ReferencePointError { throw StepError.failed(e.description) }
        let hv = Objectives.hypervolume(result.points, reference: hvRef.point, multiKL: multiKL)
        let hvInterval = GridBootstrap.hypervolumeInterval(result.points, reference: hvRef.point, multiKL: multiKL, seed: cfg.seed)
        let steer = Objectives.steerability(result.points, rewardCount: names.count, multiKL: multiKL)
        let steerUncertainty = GridBootstrap.steerability(result.points, rewardCount: names.count, multiKL: multiKL, seed: cfg.seed)
        ctx.events.metric(hvRef.rule == .declared ? "hypervolume" : "hypervolume/own-points", hv)
        for s in steer { if let rho = s.rho { ctx.events.metric("spearman/\(names[s.rewardIndex])", rho) } }
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
                                               evaluation: result, reference: refPoint, hypervolume: hv, hypervolumeReference: hvRef,
                                               hypervolumeInterval: hvInterval, steerability: steer, steerabilityUncertainty: steerUncertainty,
                                               seed: cfg.seed,
                                               lead: lead, objective: objective.count == result.points.count ? objective : nil,
                                               vertexGains: TrainedObjective.vertexGains(result.points, reference: refPoint, seed: cfg.seed)),
                            to: ctx.workDir.appendingPathComponent(ArtifactFiles.evaluation))
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
