import Foundation

// Results aggregated over seeds (`evaluate.seeds`) and the trained objective J(w) per weighting,
// as the report shows them. Computed by the steps (SeedReport, from the engine's SeedAggregation)
// and passed in; the renderer only formats them.

/// A mean with an optional interval and what the interval resamples.
public struct EstimateCell: Codable, Sendable, Equatable {
    public var mean: Double
    public var lower: Double?
    public var upper: Double?
    /// "seeds", "prompts" or nil (no interval).
    public var over: String?
    /// Seeds behind the mean (pairs of seeds for a difference).
    public var seeds: Int?

    public init(mean: Double, lower: Double? = nil, upper: Double? = nil, over: String? = nil, seeds: Int? = nil) {
        self.mean = mean; self.lower = lower; self.upper = upper; self.over = over; self.seeds = seeds
    }

    /// "0.123 [0.100, 0.150]": one number of decimals for the mean and both ends, enough for
    /// three significant digits of the largest (at least 3, at most 6; magnitudes below 1e-6 are
    /// rounding noise and read 0.000).
    public var text: String {
        let ends = [lower, upper].compactMap { $0 }.filter(\.isFinite)
        let d = EstimateCell.decimals(([mean] + ends).filter(\.isFinite).map(abs).max() ?? 0)
        let f = { (v: Double) in ReportText.fixed(v, decimals: d) }
        guard let lower, let upper, lower.isFinite, upper.isFinite else { return f(mean) }
        return "\(f(mean)) [\(f(lower)), \(f(upper))]"
    }

    static func decimals(_ magnitude: Double) -> Int {
        guard magnitude >= 1e-6, magnitude < 0.1 else { return 3 }
        return max(3, min(6, 2 - Int(log10(magnitude).rounded(.down))))
    }

    /// The interval lies above 0.
    public var aboveZero: Bool { (lower ?? -.infinity) > 0 }
    /// The interval lies below 0.
    public var belowZero: Bool { (upper ?? .infinity) < 0 }
}

/// Every method's headline metrics aggregated over seeds, the paired differences CLP − baseline,
/// and the per-seed values behind them.
public struct SeedSummary: Codable, Sendable, Equatable {
    /// Distinct seeds among the evaluations (1 in a run without `evaluate.seeds`).
    public var seedCount: Int
    /// The columns, in order.
    public var metrics: [SeedMetric]
    /// One row per method (its evaluations over every seed).
    public var rows: [SeedSummaryRow]
    /// CLP variant minus baseline, paired by seed.
    public var differences: [SeedDifferenceRow]
    /// One row per evaluation: the values the rows aggregate.
    public var perSeed: [PerSeedRow]
    /// How the intervals were computed (resampling unit, level, seeding).
    public var note: String

    public init(seedCount: Int, metrics: [SeedMetric], rows: [SeedSummaryRow], differences: [SeedDifferenceRow],
                perSeed: [PerSeedRow], note: String) {
        self.seedCount = seedCount; self.metrics = metrics; self.rows = rows
        self.differences = differences; self.perSeed = perSeed; self.note = note
    }
}

public struct SeedMetric: Codable, Sendable, Equatable {
    /// Column label, e.g. "hypervolume", "mean ρ", "rouge (grid mean)", "J(w) (grid mean)",
    /// "rouge vertex gain".
    public var name: String
    /// "hypervolume", "steerability", "reward", "objective" or "vertex-gain" (what
    /// `evaluate.metrics` decides on: hypervolume and steerability columns follow it).
    public var kind: String
    public init(name: String, kind: String) { self.name = name; self.kind = kind }
}

public struct SeedSummaryRow: Codable, Sendable, Equatable {
    public var method: String
    /// The method kind (`clp`, `rewarded-soups`, …).
    public var kind: String
    /// The seed labels of its evaluations.
    public var seeds: [String]
    /// One entry per metric (nil: not measured).
    public var values: [EstimateCell?]
    /// Forward passes per generated token (the same in every seed).
    public var forwardPassesPerToken: Int?
    public init(method: String, kind: String, seeds: [String], values: [EstimateCell?], forwardPassesPerToken: Int? = nil) {
        self.method = method; self.kind = kind; self.seeds = seeds; self.values = values
        self.forwardPassesPerToken = forwardPassesPerToken
    }
}

public struct SeedDifferenceRow: Codable, Sendable, Equatable {
    /// The CLP variant.
    public var method: String
    /// The baseline subtracted.
    public var baseline: String
    /// One entry per metric: mean of method − baseline over the shared seeds.
    public var values: [EstimateCell?]
    public init(method: String, baseline: String, values: [EstimateCell?]) {
        self.method = method; self.baseline = baseline; self.values = values
    }
}

public struct PerSeedRow: Codable, Sendable, Equatable {
    public var method: String
    /// Seed label ("" in a run with one seed).
    public var seed: String
    /// The evaluate step.
    public var stepId: String
    public var values: [Double?]
    public init(method: String, seed: String, stepId: String, values: [Double?]) {
        self.method = method; self.seed = seed; self.stepId = stepId; self.values = values
    }
}

/// J(w) of every method at every evaluated weighting, with the regret to the best method there.
public struct ObjectiveTable: Codable, Sendable, Equatable {
    /// Column order.
    public var methods: [String]
    public var rows: [ObjectiveRow]
    /// What J is and what the intervals resample; when `rows` is empty, why J(w) is not shown.
    public var note: String

    public init(methods: [String], rows: [ObjectiveRow], note: String) {
        self.methods = methods; self.rows = rows; self.note = note
    }
}

public struct ObjectiveRow: Codable, Sendable, Equatable {
    public var weights: [Double]
    /// α of the weighting (multi-KL); nil: the workflow's `kl.alpha`.
    public var alpha: Double?
    /// One entry per method (nil: the method was not evaluated at this weighting).
    public var entries: [ObjectiveEntry?]
    public init(weights: [Double], alpha: Double?, entries: [ObjectiveEntry?]) {
        self.weights = weights; self.alpha = alpha; self.entries = entries
    }
}

public struct ObjectiveEntry: Codable, Sendable, Equatable {
    /// J(w) relative to π_ref.
    public var objective: EstimateCell
    /// best − this method's J (0 for the best); its interval is paired (same seeds, same prompts)
    /// where the two were measured on the same prompts.
    public var regret: EstimateCell
    /// Highest mean J at this weighting.
    public var best: Bool
    public init(objective: EstimateCell, regret: EstimateCell, best: Bool) {
        self.objective = objective; self.regret = regret; self.best = best
    }
}

/// Generation speed of a method during evaluation (Markdown tables only: a clock measurement is
/// not part of report.json).
public struct SpeedRow: Sendable, Equatable {
    public var method: String
    public var forwardPassesPerToken: Int
    /// Generated tokens per second, mean over seeds.
    public var tokensPerSecond: EstimateCell?
    public init(method: String, forwardPassesPerToken: Int, tokensPerSecond: EstimateCell?) {
        self.method = method; self.forwardPassesPerToken = forwardPassesPerToken; self.tokensPerSecond = tokensPerSecond
    }
}
