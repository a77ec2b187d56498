import ClpFlowCore

// The RL sections of a workflow: rewards, KL, conditioning, weights and stages.

// MARK: rewards

public enum RewardKind: String, Codable, Sendable, CaseIterable {
    case rouge1, rouge2, rougeL = "rougeL", faithfulness, coverage, length, novelty, repetition, command
}

public enum Normalization: String, Codable, Sendable, CaseIterable {
    /// z-score with mean and standard deviation frozen from reference-policy samples before RL.
    case zscore
    case none
}

public struct RewardSpec: Codable, Sendable, Hashable {
    public var name: String
    public var kind: RewardKind
    /// `length`: target length in words and tolerance.
    public var target: Int? = nil
    public var tolerance: Int? = nil
    /// `novelty`, `repetition`: n-gram order.
    public var n: Int? = nil
    /// `command`: argv list (never a shell string), run with batched JSON Lines on stdin.
    public var command: [String]? = nil
    /// `command`: seconds before the reward process is killed (per batch).
    public var timeout: Double? = nil
    /// `command`: keep one process (per worker) alive for the whole step, one batch per line.
    public var persistent: Bool? = nil
    /// `command`: processes scoring parts of each batch at the same time.
    public var workers: Int? = nil
    public var normalize: Normalization = .zscore

    public init(name: String, kind: RewardKind) { self.name = name; self.kind = kind }
}

// MARK: KL

public enum AlphaDistribution: String, Codable, Sendable, CaseIterable { case logUniform = "log-uniform", uniform }

/// Multi-KL: α is sampled from a range during training and is a conditioning input like w.
public struct KLRange: Codable, Sendable, Hashable {
    public var min: Double
    public var max: Double
    public var distribution: AlphaDistribution = .logUniform
    /// Values of α evaluated (the KL axis of the evaluation grid).
    public var eval: [Double]? = nil
    public init(min: Double, max: Double) { self.min = min; self.max = max }
}

/// How a multi-KL policy's copies encode α (docs/rl.md, "Conditioning").
public enum KLEncodingName: String, Codable, Sendable, CaseIterable {
    /// c = (w/(1+α), α/(1+α)): the KL term is an extra objective with a trainable copy.
    case linear
    /// θ(w, α) = λ·Σᵢ wᵢ θᵢ + (1−λ)·θ_ref, λ = α_min/α: the extra copy is π_ref's, frozen.
    case interpolate
}

public struct KLSpec: Codable, Sendable, Hashable {
    /// Fixed KL weight α (used when `range` is nil).
    public var alpha: Double = 0.05
    public var range: KLRange? = nil
    /// Multi-KL only: how the policy's copies encode α.
    public var encoding: KLEncodingName = .linear
    public init() {}

    enum CodingKeys: String, CodingKey { case alpha, range, encoding }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        alpha = try c.decodeIfPresent(Double.self, forKey: .alpha) ?? 0.05
        range = try c.decodeIfPresent(KLRange.self, forKey: .range)
        encoding = try c.decodeIfPresent(KLEncodingName.self, forKey: .encoding) ?? .linear
    }

    /// `encoding` is written only when it is not `linear`, so that workflows without it keep
    /// their cache keys.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(alpha, forKey: .alpha)
        try c.encodeIfPresent(range, forKey: .range)
        if encoding != .linear { try c.encode(encoding, forKey: .encoding) }
    }
}

extension KLSpec {
    /// The KL weight SOFT policies train at: the fixed α, or the smallest α of a multi-KL range
    /// (DeRa realigns that model toward the reference with λ ∈ (0, 1] to reach larger α).
    public var softAlpha: Double { range?.min ?? alpha }
}

// MARK: conditioning

public enum ConditioningMechanism: String, Codable, Sendable, CaseIterable {
    case full, attn, logit, prompt, softToken = "soft-token", none
}

public enum AttentionMatrix: String, Codable, Sendable, CaseIterable {
    /// The fused query/key/value projection (c_attn).
    case qkv
    /// The attention output projection (c_proj).
    case proj
}

public struct ConditioningSpec: Codable, Sendable, Hashable {
    public var mechanism: ConditioningMechanism = .attn
    /// `attn` only: which attention matrices are conditioned (weights and biases).
    public var attnMatrices: [AttentionMatrix] = [.qkv, .proj]
    /// `soft-token` only: learned prefix vectors per reward.
    public var softTokens: Int = 1

    public init() {}
    enum CodingKeys: String, CodingKey {
        case mechanism
        case attnMatrices = "attn_matrices", softTokens = "soft_tokens"
    }
}

// MARK: weights

/// Distribution of reward weightings sampled per example during training.
public indirect enum WeightDistribution: Codable, Sendable, Hashable {
    case dirichlet(concentration: Double)
    case uniform
    case vertices
    case fixed([Double])
    /// Shift sampling mass toward weightings whose scalarized reward lags the current front
    /// (docs/workflow-language.md defines the rule).
    case adaptive(base: WeightDistribution, rate: Double, bins: Int)
    case mixture([MixtureComponent])
}

public struct MixtureComponent: Codable, Sendable, Hashable {
    public var probability: Double
    public var distribution: WeightDistribution
    public init(probability: Double, distribution: WeightDistribution) {
        self.probability = probability; self.distribution = distribution
    }
}

public enum EvalGrid: Codable, Sendable, Hashable {
    /// A simplex lattice with this many points per edge (11 for two rewards: w₁ = 0, 0.1, …, 1).
    case pointsPerEdge(Int)
    case points([[Double]])
}

public enum Scalarization: Codable, Sendable, Hashable {
    /// Σ wᵢ rᵢ (the paper's).
    case linear
    /// Smooth Tchebycheff: −τ log Σ wᵢ exp(−rᵢ/τ); τ → 0 gives minᵢ wᵢ-weighted rewards.
    case tchebycheff(temperature: Double)
}

public struct WeightsSpec: Codable, Sendable, Hashable {
    public var train: WeightDistribution = .dirichlet(concentration: 1.0)
    public var eval: EvalGrid = .pointsPerEdge(11)
    public var scalarization: Scalarization = .linear
    public init() {}
}

// MARK: stages

public enum RLAlgorithm: String, Codable, Sendable, CaseIterable {
    /// REINFORCE with a leave-one-out baseline over the k samples of each (prompt, weighting).
    case reinforce
}

/// How the rewards' scales are balanced during RL (docs/rl.md, "Reward balance").
public enum RewardBalance: String, Codable, Sendable, CaseIterable {
    /// The rewards enter as normalised (`rewards[].normalize`).
    case none
    /// Each normalised reward is rescaled so that its spread within a prompt's samples (what
    /// the leave-one-out advantage sees) matches the others'.
    case withinPrompt = "within-prompt"
}

public struct StageSpec: Codable, Sendable, Hashable {
    public var name: String = "rl"
    public var algorithm: RLAlgorithm = .reinforce
    public var steps: Int = 200
    /// Prompts per step; each gets its own sampled weighting.
    public var batch: Int = 8
    /// Samples per (prompt, weighting): k of the leave-one-out baseline.
    public var samples: Int = 4
    public var learningRate: Double = 1e-3
    public var warmup: Int = 10
    public var clip: Double = 1.0
    public var temperature: Double = 1.0
    public var maxNewTokens: Int = 24
    /// Rescaling of the rewards' spreads within a prompt's samples.
    public var rewardBalance: RewardBalance = .none
    /// Resumable training state written every this many steps (0: only by time).
    public var checkpointEvery: Int = 0

    public init() {}
    enum CodingKeys: String, CodingKey {
        case name, algorithm, steps, batch, samples, warmup, clip, temperature
        case learningRate = "learning_rate", maxNewTokens = "max_new_tokens", checkpointEvery = "checkpoint_every"
        case rewardBalance = "reward_balance"
    }
}
