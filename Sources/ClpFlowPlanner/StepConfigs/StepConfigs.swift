import ClpFlowCore
import ClpFlowWorkflow

// One configuration per step kind (docs/planner.md lists what each holds and why). `fingerprints`
// holds digests of files a step reads (data file, corpus, init checkpoint, reward scripts): they
// only enter the cache key.

/// prepare-data: the data fields it reads.
public struct PrepareDataConfig: StepConfiguration {
    public static let kinds: [StepKind] = [.prepareData]
    public var data: DataSpec
    public var seed: UInt64
    public var fingerprints: JSONValue?

    public init(data: DataSpec, seed: UInt64, fingerprints: JSONValue? = nil) {
        self.data = data; self.seed = seed; self.fingerprints = fingerprints
    }

    public init(config: JSONValue) throws {
        let r = try SectionReader(config, kind: "prepare-data")
        self.init(data: try r.section("data", defaults: DataSpec()), seed: try r.seed(),
                  fingerprints: r.has("fingerprints") ? try r.value("fingerprints") : nil)
    }

    func sections(_ s: SectionCache) throws -> [String: Canon] {
        var o: [String: Canon] = ["data": try s.dataPrepare(data), "seed": s.seed(seed)]
        if let fingerprints { o["fingerprints"] = Canon(fingerprints) }
        return o
    }

    public func encode(to encoder: any Encoder) throws { try SectionWriter.encode(sections(SectionCache()), to: encoder) }
}

/// train-tokenizer: the tokenizer section of `model`.
public struct TrainTokenizerConfig: StepConfiguration {
    public static let kinds: [StepKind] = [.trainTokenizer]
    public var tokenizer: TokenizerSpec

    public init(tokenizer: TokenizerSpec) { self.tokenizer = tokenizer }

    private struct ModelTokenizer: Codable { var tokenizer: TokenizerSpec }

    public init(config: JSONValue) throws {
        let r = try SectionReader(config, kind: "train-tokenizer")
        self.init(tokenizer: try r.section("model", defaults: ModelTokenizer(tokenizer: TokenizerSpec())).tokenizer)
    }

    func sections(_ s: SectionCache) throws -> [String: Canon] {
        ["model": Canon.object(["tokenizer": try s.tokenizer(tokenizer)])]
    }

    public func encode(to encoder: any Encoder) throws { try SectionWriter.encode(sections(SectionCache()), to: encoder) }
}

/// pretrain: causal language modelling before π_ref's fine-tuning.
public struct PretrainConfig: StepConfiguration {
    public static let kinds: [StepKind] = [.pretrain]
    public var data: DataSpec
    public var model: ModelSpec
    public var pretrain: PretrainSpec
    public var seed: UInt64
    public var fingerprints: JSONValue?

    public init(data: DataSpec, model: ModelSpec, pretrain: PretrainSpec, seed: UInt64, fingerprints: JSONValue? = nil) {
        self.data = data; self.model = model; self.pretrain = pretrain; self.seed = seed; self.fingerprints = fingerprints
    }

    public init(config: JSONValue) throws {
        let r = try SectionReader(config, kind: "pretrain")
        self.init(data: try r.section("data", defaults: DataSpec()), model: try r.section("model", defaults: ModelSpec()),
                  pretrain: try r.section("pretrain", defaults: PretrainSpec()), seed: try r.seed(),
                  fingerprints: r.has("fingerprints") ? try r.value("fingerprints") : nil)
    }

    func sections(_ s: SectionCache) throws -> [String: Canon] {
        var o: [String: Canon] = ["data": try s.data(data), "model": try s.model(model), "pretrain": try s.pretrain(pretrain),
                                  "seed": s.seed(seed)]
        if let fingerprints { o["fingerprints"] = Canon(fingerprints) }
        return o
    }

    public func encode(to encoder: any Encoder) throws { try SectionWriter.encode(sections(SectionCache()), to: encoder) }
}

/// train-reference: supervised π_ref.
public struct TrainReferenceConfig: StepConfiguration {
    public static let kinds: [StepKind] = [.trainReference]
    public var data: DataSpec
    public var model: ModelSpec
    public var reference: ReferenceSpec
    public var seed: UInt64
    public var fingerprints: JSONValue?

    public init(data: DataSpec, model: ModelSpec, reference: ReferenceSpec, seed: UInt64, fingerprints: JSONValue? = nil) {
        self.data = data; self.model = model; self.reference = reference; self.seed = seed; self.fingerprints = fingerprints
    }

    public init(config: JSONValue) throws {
        let r = try SectionReader(config, kind: "train-reference")
        self.init(data: try r.section("data", defaults: DataSpec()), model: try r.section("model", defaults: ModelSpec()),
                  reference: try r.section("reference", defaults: ReferenceSpec()), seed: try r.seed(),
                  fingerprints: r.has("fingerprints") ? try r.value("fingerprints") : nil)
    }

    func sections(_ s: SectionCache) throws -> [String: Canon] {
        var o: [String: Canon] = ["data": try s.data(data), "model": try s.model(model), "reference": try s.reference(reference),
                                  "seed": s.seed(seed)]
        if let fingerprints { o["fingerprints"] = Canon(fingerprints) }
        return o
    }

    public func encode(to encoder: any Encoder) throws { try SectionWriter.encode(sections(SectionCache()), to: encoder) }
}

/// train-soft: one stage of the single-objective policy of one reward, at the SOFT α
/// (`KLSpec.softAlpha`) with the SOFT budget (`Planner.softSteps`) already applied to `stage`.
public struct TrainSoftConfig: StepConfiguration {
    public static let kinds: [StepKind] = [.trainSoft]
    public var data: DataSpec
    public var model: ModelSpec
    public var reward: RewardSpec
    /// The fixed KL weight.
    public var alpha: Double
    public var stage: StageSpec
    public var seed: UInt64
    public var fingerprints: JSONValue?

    public init(data: DataSpec, model: ModelSpec, reward: RewardSpec, alpha: Double, stage: StageSpec, seed: UInt64,
                fingerprints: JSONValue? = nil) {
        self.data = data; self.model = model; self.reward = reward; self.alpha = alpha; self.stage = stage
        self.seed = seed; self.fingerprints = fingerprints
    }

    private struct FixedKL: Codable { var alpha: Double }

    public init(config: JSONValue) throws {
        let r = try SectionReader(config, kind: "train-soft")
        let rewards: [RewardSpec] = try r.value("rewards")
        guard rewards.count == 1 else {
            throw StepConfigError(reason: "a train-soft configuration has one reward, not \(rewards.count)")
        }
        self.init(data: try r.section("data", defaults: DataSpec()), model: try r.section("model", defaults: ModelSpec()),
                  reward: rewards[0], alpha: try r.value("kl", as: FixedKL.self).alpha,
                  stage: try r.section("stage", defaults: StageSpec()), seed: try r.seed(),
                  fingerprints: r.has("fingerprints") ? try r.value("fingerprints") : nil)
    }

    /// The KL section as the trainer reads it: α fixed.
    public var kl: KLSpec { var k = KLSpec(); k.alpha = alpha; return k }

    func sections(_ s: SectionCache) throws -> [String: Canon] {
        var o: [String: Canon] = ["data": try s.data(data), "model": try s.model(model), "rewards": try s.rewards([reward]),
                                  "kl": Canon(.object(["alpha": .number(alpha)])), "stage": try s.stage(stage),
                                  "seed": s.seed(seed)]
        if let fingerprints { o["fingerprints"] = Canon(fingerprints) }
        return o
    }

    public func encode(to encoder: any Encoder) throws { try SectionWriter.encode(sections(SectionCache()), to: encoder) }
}

/// train-clp: one stage of a conditioned policy (the workflow's mechanism, or the prompt baseline's).
public struct TrainCLPConfig: StepConfiguration {
    public static let kinds: [StepKind] = [.trainCLP]
    public var data: DataSpec
    public var model: ModelSpec
    public var rewards: [RewardSpec]
    public var kl: KLSpec
    public var conditioning: ConditioningSpec
    /// Read for `train` and `scalarization`; `eval` is not written.
    public var weights: WeightsSpec
    public var stage: StageSpec
    public var seed: UInt64
    public var fingerprints: JSONValue?

    public init(data: DataSpec, model: ModelSpec, rewards: [RewardSpec], kl: KLSpec, conditioning: ConditioningSpec,
                weights: WeightsSpec, stage: StageSpec, seed: UInt64, fingerprints: JSONValue? = nil) {
        self.data = data; self.model = model; self.rewards = rewards; self.kl = kl; self.conditioning = conditioning
        self.weights = weights; self.stage = stage; self.seed = seed; self.fingerprints = fingerprints
    }

    public init(config: JSONValue) throws {
        let r = try SectionReader(config, kind: "train-clp")
        self.init(data: try r.section("data", defaults: DataSpec()), model: try r.section("model", defaults: ModelSpec()),
                  rewards: try r.value("rewards"), kl: try r.section("kl", defaults: KLSpec()),
                  conditioning: try r.section("conditioning", defaults: ConditioningSpec()),
                  weights: try r.section("weights", defaults: WeightsSpec()), stage: try r.section("stage", defaults: StageSpec()),
                  seed: try r.seed(), fingerprints: r.has("fingerprints") ? try r.value("fingerprints") : nil)
    }

    func sections(_ s: SectionCache) throws -> [String: Canon] {
        var o: [String: Canon] = [
            "data": try s.data(data), "model": try s.model(model), "rewards": try s.rewards(rewards), "kl": try s.kl(kl),
            "conditioning": try s.conditioning(conditioning), "weights": try s.weightsTrain(weights),
            "stage": try s.stage(stage), "seed": s.seed(seed),
        ]
        if let fingerprints { o["fingerprints"] = Canon(fingerprints) }
        return o
    }

    public func encode(to encoder: any Encoder) throws { try SectionWriter.encode(sections(SectionCache()), to: encoder) }
}

/// evaluate: one method on the evaluation grid.
public struct EvaluateConfig: StepConfiguration {
    public static let kinds: [StepKind] = [.evaluate]
    public var method: EvaluatedMethod
    /// `seeds`, `metrics` and `sample_prompts` are not written (they take their defaults here).
    public var evaluate: EvaluateSpec
    /// `weights.eval`.
    public var grid: EvalGrid
    public var kl: KLSpec
    public var rewards: [RewardSpec]
    public var data: DataSpec
    /// The conditioning of the evaluated policy (clp, prompt); nil for methods built from SOFT policies.
    public var conditioning: ConditioningSpec?
    public var seed: UInt64
    public var fingerprints: JSONValue?

    public init(method: EvaluatedMethod, evaluate: EvaluateSpec, grid: EvalGrid, kl: KLSpec, rewards: [RewardSpec],
                data: DataSpec, conditioning: ConditioningSpec?, seed: UInt64, fingerprints: JSONValue? = nil) {
        self.method = method; self.evaluate = evaluate; self.grid = grid; self.kl = kl; self.rewards = rewards
        self.data = data; self.conditioning = conditioning; self.seed = seed; self.fingerprints = fingerprints
    }

    private struct EvalWeights: Codable { var eval: EvalGrid }

    public init(config: JSONValue) throws {
        let r = try SectionReader(config, kind: "evaluate")
        let name: String = try r.value("method")
        guard let method = EvaluatedMethod(rawValue: name) else {
            throw StepConfigError(reason: "unknown method \(name); expected one of \(EvaluatedMethod.names.joined(separator: ", "))")
        }
        self.init(method: method, evaluate: try r.section("evaluate", defaults: EvaluateSpec()),
                  grid: try r.section("weights", defaults: EvalWeights(eval: WeightsSpec().eval)).eval,
                  kl: try r.section("kl", defaults: KLSpec()), rewards: try r.value("rewards"),
                  data: try r.section("data", defaults: DataSpec()),
                  conditioning: try r.optionalSection("conditioning", defaults: ConditioningSpec()), seed: try r.seed(),
                  fingerprints: r.has("fingerprints") ? try r.value("fingerprints") : nil)
    }

    func sections(_ s: SectionCache) throws -> [String: Canon] {
        var o: [String: Canon] = [
            "method": Canon(.string(method.rawValue)), "evaluate": try s.evaluate(evaluate), "weights": try s.weightsEval(grid),
            "kl": try s.kl(kl), "rewards": try s.rewards(rewards), "data": try s.data(data), "seed": s.seed(seed),
        ]
        if let conditioning { o["conditioning"] = try s.conditioning(conditioning) }
        if let fingerprints { o["fingerprints"] = Canon(fingerprints) }
        return o
    }

    public func encode(to encoder: any Encoder) throws { try SectionWriter.encode(sections(SectionCache()), to: encoder) }
}
