/// The engine's plain configuration of conditioned policies and RL training. These are data only:
/// the workflow language has its own types (with YAML shapes, defaults and documentation), and
/// the steps map a workflow's sections onto these (Sources/ClpFlowSteps/EngineConfigs.swift).

/// How a policy is steered by its conditioning input (raw values are written in checkpoints).
public enum ConditioningKind: String, Codable, Sendable, Hashable, CaseIterable {
    /// Every parameter has one copy per objective.
    case full
    /// The chosen attention matrices of every block have copies.
    case attn
    /// The output head has copies.
    case logit
    /// The weighting is written into the prompt.
    case prompt
    /// Learned prefix vectors, one set per objective, mixed by the weighting.
    case softToken = "soft-token"
    /// Not conditioned (SOFT policies).
    case none
}

/// A conditioned policy's mechanism and its options.
public struct ConditioningConfig: Sendable, Hashable {
    public var mechanism: ConditioningKind
    /// `attn` only: which attention matrices are conditioned.
    public var attnMatrices: [AttnMatrix]
    /// `softToken` only: learned prefix vectors per objective.
    public var softTokens: Int

    public init(mechanism: ConditioningKind = .attn, attnMatrices: [AttnMatrix] = [.qkv, .proj], softTokens: Int = 1) {
        self.mechanism = mechanism; self.attnMatrices = attnMatrices; self.softTokens = softTokens
    }
}

/// The KL weight α: fixed, or sampled from a range (multi-KL, where α is a conditioning input).
public struct KLConfig: Sendable, Hashable {
    /// The fixed α (used when `range` is nil).
    public var alpha: Double
    public var range: AlphaRange?

    public init(alpha: Double = 0.05, range: AlphaRange? = nil) { self.alpha = alpha; self.range = range }
}

/// The range α is drawn from in multi-KL training, and the α values evaluated.
public struct AlphaRange: Sendable, Hashable {
    public enum Spacing: Sendable, Hashable { case logUniform, uniform }
    public var min: Double
    public var max: Double
    public var spacing: Spacing
    /// α values of the evaluation grid (nil: 5 log-spaced values spanning the range).
    public var eval: [Double]?

    public init(min: Double, max: Double, spacing: Spacing = .logUniform, eval: [Double]? = nil) {
        self.min = min; self.max = max; self.spacing = spacing; self.eval = eval
    }
}

/// One RL stage: REINFORCE hyperparameters, the weightings drawn, their scalarization and α.
public struct RLConfig: Sendable, Hashable {
    /// Names the stage's random stream (`rl/<name>`).
    public var name: String
    public var steps: Int
    /// Prompts per step; each gets its own sampled weighting.
    public var batch: Int
    /// Samples per (prompt, weighting).
    public var samples: Int
    public var learningRate: Double
    public var warmup: Int
    public var clip: Double
    public var temperature: Double
    public var maxNewTokens: Int
    public var weights: WeightSampler.Distribution
    public var scalarization: Scalarizer.Rule
    public var kl: KLConfig

    public init(name: String = "rl", steps: Int = 200, batch: Int = 8, samples: Int = 4, learningRate: Double = 1e-3,
                warmup: Int = 10, clip: Double = 1.0, temperature: Double = 1.0, maxNewTokens: Int = 24,
                weights: WeightSampler.Distribution = .dirichlet(concentration: 1), scalarization: Scalarizer.Rule = .linear,
                kl: KLConfig = KLConfig()) {
        self.name = name; self.steps = steps; self.batch = batch; self.samples = samples
        self.learningRate = learningRate; self.warmup = warmup; self.clip = clip; self.temperature = temperature
        self.maxNewTokens = maxNewTokens; self.weights = weights; self.scalarization = scalarization; self.kl = kl
    }
}
