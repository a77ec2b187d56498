// The evaluated results a report shows: methods and their points, reference points, hypervolume
// and steerability tables, training curves.

/// A method's evaluation over a weight grid.
public struct MethodResult: Codable, Sendable, Equatable {
    public var name: String
    /// What kind of method it is, e.g. "clp", "rewarded-soup", "prompting", "multi-kl".
    public var kind: String
    public var points: [WeightingPoint]
    /// Each evaluated vertex eᵢ's gain over π_ref on reward i, with its 95 % interval (nil in
    /// reports built from evaluations that did not record it).
    public var vertexGains: [VertexGainRow]?

    public init(name: String, kind: String, points: [WeightingPoint], vertexGains: [VertexGainRow]? = nil) {
        self.name = name
        self.kind = kind
        self.points = points
        self.vertexGains = vertexGains
    }

    /// SOFT policies and Rewarded Soups' endpoints are the baselines' single-reward policies: one
    /// that does not beat π_ref on its own reward is a failed run, not a fair baseline.
    public var isSingleRewardBaseline: Bool { kind == "soft" || kind == "rewarded-soups" || name.hasPrefix("rewarded-soups") || name.hasPrefix("soft") }

    /// The vertices whose gain interval does not lie above 0.
    public var verticesNotBeatingReference: [VertexGainRow] { (vertexGains ?? []).filter { !$0.beatsReference } }
}

/// A method's gain over π_ref on reward `reward` at the vertex that asks for it alone.
public struct VertexGainRow: Codable, Sendable, Equatable {
    public var reward: String
    public var mean: Double
    public var lower: Double?
    public var upper: Double?
    public init(reward: String, mean: Double, lower: Double?, upper: Double?) {
        self.reward = reward; self.mean = mean; self.lower = lower; self.upper = upper
    }
    public var beatsReference: Bool { (lower ?? -.infinity) > 0 }
    /// "+0.031 [0.000, 0.063]".
    public var text: String {
        func f(_ x: Double) -> String { String(format: "%+.3f", x) }
        guard let lower, let upper else { return f(mean) }
        return "\(f(mean)) [\(String(format: "%.3f", lower)), \(String(format: "%.3f", upper))]"
    }
}

/// A method evaluated at one weighting (and, for multi-KL methods, one α).
public struct WeightingPoint: Codable, Sendable, Equatable {
    /// The reward weighting w (one entry per reward).
    public var weights: [Double]
    /// The KL weight α for multi-KL conditioning; nil otherwise.
    public var alpha: Double?
    /// Mean reward per reward over the evaluation prompts.
    public var rewardMeans: [Double]
    /// Standard error of each mean, if known (same length as `rewardMeans`).
    public var rewardStandardErrors: [Double]?
    /// Mean KL divergence to the reference policy (nats per sequence).
    public var kl: Double?
    public var klStandardError: Double?
    /// Mean generated length in tokens.
    public var length: Double?

    public init(weights: [Double], alpha: Double? = nil, rewardMeans: [Double],
                rewardStandardErrors: [Double]? = nil, kl: Double? = nil,
                klStandardError: Double? = nil, length: Double? = nil) {
        self.weights = weights
        self.alpha = alpha
        self.rewardMeans = rewardMeans
        self.rewardStandardErrors = rewardStandardErrors
        self.kl = kl
        self.klStandardError = klStandardError
        self.length = length
    }
}

/// The reference policy's evaluation (no weighting).
public struct ReferencePoint: Codable, Sendable, Equatable {
    /// Display name, e.g. "SFT".
    public var label: String
    public var rewardMeans: [Double]
    public var rewardStandardErrors: [Double]?
    public var length: Double?

    public init(label: String, rewardMeans: [Double], rewardStandardErrors: [Double]? = nil,
                length: Double? = nil) {
        self.label = label
        self.rewardMeans = rewardMeans
        self.rewardStandardErrors = rewardStandardErrors
        self.length = length
    }
}

/// Hypervolume of each method's points with respect to one reference point.
public struct HypervolumeTable: Codable, Sendable, Equatable {
    /// The reference point (one entry per objective).
    public var referencePoint: [Double]
    /// Where the reference point comes from (the rule, in words).
    public var referenceLabel: String?
    public var rows: [HypervolumeRow]
    /// `declared` (evaluate.reference_point in the workflow) or `auto` (the per-objective minimum
    /// over π_ref and every evaluated point); nil in reports that did not record it.
    public var rule: String?
    /// The objectives' names in the order of `referencePoint` (the rewards, then −KL in
    /// multi-KL workflows).
    public var objectives: [String]?

    public init(referencePoint: [Double], referenceLabel: String? = nil, rows: [HypervolumeRow], rule: String? = nil,
                objectives: [String]? = nil) {
        self.referencePoint = referencePoint
        self.referenceLabel = referenceLabel
        self.rows = rows
        self.rule = rule
        self.objectives = objectives
    }

    /// "(rouge 0.1, novelty 0.2, −KL −8)" when the objectives are known, else the bare vector.
    public var pointText: String {
        guard let objectives, objectives.count == referencePoint.count else { return ReportText.vector(referencePoint) }
        return "(" + zip(objectives, referencePoint).map { "\($0) \(ReportText.number($1, significant: 4))" }.joined(separator: ", ") + ")"
    }
}

public struct HypervolumeRow: Codable, Sendable, Equatable {
    public var method: String
    public var hypervolume: Double
    /// Share (0…1) of this method's points dominated by some point of another method.
    public var dominatedShare: Double?
    /// Number of non-dominated points of this method.
    public var frontSize: Int?
    /// 95 % bootstrap interval over prompts, against the same fixed reference point.
    public var lower: Double?
    public var upper: Double?

    public init(method: String, hypervolume: Double, dominatedShare: Double? = nil, frontSize: Int? = nil,
                lower: Double? = nil, upper: Double? = nil) {
        self.method = method
        self.hypervolume = hypervolume
        self.dominatedShare = dominatedShare
        self.frontSize = frontSize
        self.lower = lower
        self.upper = upper
    }

    /// "[0.012, 0.034]", or "–" without an interval.
    public var intervalText: String { ReportText.interval(lower, upper) }
}

/// Steerability of one method: one entry per reward.
public struct SteerabilityRow: Codable, Sendable, Equatable {
    public var method: String
    public var rewards: [SteerabilityEntry]

    public init(method: String, rewards: [SteerabilityEntry]) {
        self.method = method
        self.rewards = rewards
    }

    /// Mean of the defined ρ values; nil when none is defined.
    public var meanRho: Double? {
        let defined = rewards.compactMap { $0.rho }.filter { $0.isFinite }
        return defined.isEmpty ? nil : defined.reduce(0, +) / Double(defined.count)
    }
}

public struct SteerabilityEntry: Codable, Sendable, Equatable {
    /// Spearman ρ(w_i, r_i) along the grid; nil when undefined (constant weight or reward).
    public var rho: Double?
    /// max − min of r_i over the grid.
    public var spread: Double
    /// 95 % bootstrap interval of ρ over prompts.
    public var rhoLower: Double?
    public var rhoUpper: Double?
    /// Two-sided permutation p-value of ρ (is ρ distinguishable from 0?).
    public var permutationP: Double?
    /// The 95th percentile of the spread noise alone gives (every grid point drawn from the
    /// pooled per-prompt values); a spread above it is more than noise.
    public var noiseSpread: Double?

    public init(rho: Double?, spread: Double, rhoLower: Double? = nil, rhoUpper: Double? = nil, permutationP: Double? = nil,
                noiseSpread: Double? = nil) {
        self.rho = rho
        self.spread = spread
        self.rhoLower = rhoLower
        self.rhoUpper = rhoUpper
        self.permutationP = permutationP
        self.noiseSpread = noiseSpread
    }

    /// Whether the spread exceeds the noise spread (nil when that is unknown).
    public var spreadAboveNoise: Bool? { noiseSpread.map { spread > $0 } }
}

/// Logged training metrics of one method.
public struct TrainingCurve: Codable, Sendable, Equatable {
    public var method: String
    /// (step, metric name, value) triples; one chart is drawn per metric name.
    public var points: [CurvePoint]

    public init(method: String, points: [CurvePoint]) {
        self.method = method
        self.points = points
    }
}

public struct CurvePoint: Codable, Sendable, Equatable {
    public var step: Int
    public var name: String
    public var value: Double

    public init(step: Int, name: String, value: Double) {
        self.step = step
        self.name = name
        self.value = value
    }
}

extension ReportText {
    /// A bootstrap interval "[lower, upper]" (4 significant digits), or "–" when unknown.
    public static func interval(_ lower: Double?, _ upper: Double?) -> String {
        guard let lower, let upper, lower.isFinite, upper.isFinite else { return "–" }
        return "[" + number(lower) + ", " + number(upper) + "]"
    }

    /// A p-value: "p < 0.001" below 0.001, else "p = 0.034"; "–" when unknown.
    public static func pValue(_ p: Double?) -> String {
        guard let p, p.isFinite else { return "–" }
        return p < 0.001 ? "p < 0.001" : "p = " + String(format: "%.3f", p)
    }
}
