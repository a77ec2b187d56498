import ClpFlowCore

// Baselines, evaluation and ablation sections of a workflow.

// MARK: baselines and evaluation

public enum Baseline: String, Codable, Sendable, CaseIterable {
    /// One single-objective policy per reward (vertex weighting).
    case soft
    /// θ_RS(w) = Σ wᵢ θ_SOFTᵢ.
    case rewardedSoups = "rewarded-soups"
    /// Decoding-time realignment: λ·h_aligned + (1−λ)·h_ref per token (multi-KL).
    case dera
    /// Σ wᵢ log πᵢ per token over the SOFT policies.
    case logitMixing = "logit-mixing"
    /// Weights written into the prompt, one multi-task model.
    case prompt
}

/// How many RL steps each of the m SOFT policies trains per stage.
public enum SoftBudget: String, Codable, Sendable, CaseIterable {
    /// ⌈steps / m⌉: the m SOFT policies together draw as many RL samples as one CLP policy
    /// (equal total budget, the paper's comparison).
    case split
    /// The stage's full `steps` each: every SOFT policy gets one CLP policy's budget (m times the
    /// total), so a baseline cannot lose for want of training.
    case full
}

public enum EvalMetric: String, Codable, Sendable, CaseIterable { case hypervolume, steerability, dominated }

/// Which held-out split evaluation reads.
public enum EvalSplit: String, Codable, Sendable, CaseIterable {
    /// For choosing settings (with seeds that are not reported).
    case valid
    /// For the numbers that are reported.
    case test
}

public struct EvaluateSpec: Codable, Sendable, Hashable {
    /// Held-out prompts per weighting.
    public var prompts: Int = 256
    /// The split the prompts come from.
    public var split: EvalSplit = .test
    public var temperature: Double = 0.7
    public var topP: Double = 1.0
    public var maxNewTokens: Int = 24
    public var metrics: [EvalMetric] = EvalMetric.allCases
    /// Number of evaluation (and training) seeds; results report mean ± standard error.
    public var seeds: Int = 1
    /// Sample generations shown in the report.
    public var samplePrompts: Int = 3
    /// The hypervolume reference point (docs/evaluation.md).
    public var referencePoint: ReferencePointSpec = .auto

    public init() {}
    enum CodingKeys: String, CodingKey {
        case prompts, split, temperature, metrics, seeds
        case topP = "top_p", maxNewTokens = "max_new_tokens", samplePrompts = "sample_prompts", referencePoint = "reference_point"
    }
}

/// `evaluate.reference_point`: the point hypervolume is measured against, shared by every method
/// and seed of a run. Written `auto` or as a list of numbers, one per objective: the m rewards in
/// workflow order, then in multi-KL workflows −KL (the negated KL to π_ref in nats, so −20 counts
/// the volume of points with KL below 20).
public enum ReferencePointSpec: Codable, Sendable, Hashable {
    /// The per-objective minimum over π_ref and every evaluated point of every method and seed.
    case auto
    case declared([Double])

    /// The declared point; nil for `auto`.
    public var declared: [Double]? { if case .declared(let p) = self { return p }; return nil }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            guard s == "auto" else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "reference_point must be `auto` or a list of numbers, found '\(s)'")
            }
            self = .auto
        } else {
            self = .declared(try c.decode([Double].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .auto: try c.encode("auto")
        case .declared(let p): try c.encode(p)
        }
    }
}

// MARK: ablation

/// A matrix over key paths; each cell is the workflow with those values substituted.
public struct AblateSpec: Codable, Sendable, Hashable {
    /// Key path (e.g. `conditioning.mechanism`, `model.size`) → values, in declaration order.
    public var matrix: [MatrixAxis]
    public var include: [[String: YAMLScalarValue]] = []
    public var exclude: [[String: YAMLScalarValue]] = []
    /// Cell name template, e.g. `{conditioning.mechanism}-{model.size}`; default joins key=value.
    public var name: String? = nil

    public init(matrix: [MatrixAxis]) { self.matrix = matrix }
}

public struct MatrixAxis: Codable, Sendable, Hashable {
    public var path: String
    public var values: [YAMLScalarValue]
    public init(path: String, values: [YAMLScalarValue]) { self.path = path; self.values = values }
}

/// A scalar from the document, kept with its type (for ablation values and template parameters).
public enum YAMLScalarValue: Codable, Sendable, Hashable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
}
