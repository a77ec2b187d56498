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
    /// How a multi-KL policy's copies encode α (ignored without `range`).
    public var encoding: KLEncoding.Kind

    public init(alpha: Double = 0.05, range: AlphaRange? = nil, encoding: KLEncoding.Kind = .linear) {
        self.alpha = alpha; self.range = range; self.encoding = encoding
    }

    /// The encoding a multi-KL policy is built with (`linear` without a range).
    public var policyEncoding: KLEncoding {
        guard let range else { return .linear }
        switch encoding {
        case .linear: return .linear
        case .interpolate: return .interpolate(alphaMin: range.min)
        }
    }
}

/// How a multi-KL policy's copies encode the KL weight α (docs/rl.md, "Conditioning").
public enum KLEncoding: Sendable, Hashable {
    /// The KL term is an extra objective with a trainable copy of its own: coefficients
    /// c = (w/(1+α), α/(1+α)).
    case linear
    /// DeRa-shaped: θ(w, α) = λ·Σᵢ wᵢ θᵢ + (1−λ)·θ_ref with λ = α_min/α. The extra copy holds
    /// π_ref's values of the conditioned parameters and is frozen, and so are the unconditioned
    /// parameters, so that λ → 0 (α → ∞) gives π_ref exactly and λ = 1 (α = α_min) the trained
    /// copies' mix. Defined for α ≥ α_min.
    case interpolate(alphaMin: Double)

    /// The workflow's names (`kl.encoding`), as written in checkpoints.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable { case linear, interpolate }

    public var kind: Kind {
        switch self {
        case .linear: return .linear
        case .interpolate: return .interpolate
        }
    }

    /// The smallest α of an `interpolate` encoding (nil for `linear`).
    public var alphaMin: Double? {
        if case .interpolate(let a) = self { return a }
        return nil
    }

    /// Copies that receive no gradient and no update (the π_ref anchor of `interpolate`).
    public var frozenCopies: Int { kind == .interpolate ? 1 : 0 }

    /// λ = α_min/α of the `interpolate` encoding, validated: α must be finite and at least
    /// α_min (λ ≤ 1; λ > 1 would extrapolate beyond the trained copies).
    public static func lambda(alpha a: Double, alphaMin: Double) throws -> Double {
        guard a.isFinite, a > 0 else { throw PolicyError.invalid("this policy is conditioned on the KL weight: give α > 0") }
        guard a >= alphaMin * (1 - 1e-9) else {
            throw PolicyError.invalid("α = \(a) is below the smallest KL weight this policy was trained for (α_min = \(alphaMin)); its interpolate encoding θ = λ·Σᵢ wᵢ θᵢ + (1−λ)·θ_ref with λ = α_min/α covers α ≥ α_min only")
        }
        return Swift.min(1, alphaMin / a)
    }
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
    /// Rescaling of the normalised rewards' within-prompt spreads (docs/rl.md, "Reward balance").
    public var balance: RewardBalancer.Kind

    public init(name: String = "rl", steps: Int = 200, batch: Int = 8, samples: Int = 4, learningRate: Double = 1e-3,
                warmup: Int = 10, clip: Double = 1.0, temperature: Double = 1.0, maxNewTokens: Int = 24,
                weights: WeightSampler.Distribution = .dirichlet(concentration: 1), scalarization: Scalarizer.Rule = .linear,
                kl: KLConfig = KLConfig(), balance: RewardBalancer.Kind = .none) {
        self.name = name; self.steps = steps; self.batch = batch; self.samples = samples
        self.learningRate = learningRate; self.warmup = warmup; self.clip = clip; self.temperature = temperature
        self.maxNewTokens = maxNewTokens; self.weights = weights; self.scalarization = scalarization; self.kl = kl
        self.balance = balance
    }
}
