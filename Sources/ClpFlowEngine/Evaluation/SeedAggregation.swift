import ClpFlowCore

/// One metric of one method measured in one replica (`evaluate.seeds`): the value, and, for the
/// one-seed case, what is known about its uncertainty over prompts.
public struct SeedValue: Sendable, Hashable {
    /// The replica's seed label (`seed=k` of the evaluate step; "" in a run with one seed). Values
    /// of two methods with the same label were measured on the same prompts with the same
    /// sampling seed, so they can be paired.
    public var seed: String
    public var value: Double
    /// Per-prompt values whose mean is `value` (every method of a replica is evaluated on the same
    /// prompts in the same order), when the evaluation recorded them.
    public var perPrompt: [Double]?
    /// An interval over prompts the evaluation already computed for `value` (used as is with one
    /// seed, so the report repeats the evaluation's own interval).
    public var promptInterval: Interval?

    public init(seed: String, value: Double, perPrompt: [Double]? = nil, promptInterval: Interval? = nil) {
        self.seed = seed; self.value = value; self.perPrompt = perPrompt; self.promptInterval = promptInterval
    }
}

/// A mean with its bootstrap interval and what the interval resamples.
public struct SeedEstimate: Sendable, Hashable, Codable {
    public enum Resampling: String, Sendable, Codable {
        /// Seeds (replicas) were resampled: the interval covers training and evaluation noise.
        case seeds
        /// One seed: prompts were resampled; the interval says nothing about seed-to-seed variation.
        case prompts
        /// No interval (one seed and no per-prompt values).
        case none
    }
    public var mean: Double
    public var interval: Interval?
    public var over: Resampling
    /// Number of seeds behind `mean` (pairs of seeds for a difference).
    public var seeds: Int
}

/// Aggregation over seeds (`evaluate.seeds > 1`): the mean over replicas with a percentile
/// bootstrap interval that resamples seeds, and paired differences between methods, paired by
/// seed label (never by position). With one seed the interval falls back to prompts and says so.
/// Every interval is seeded from `seed` and a key naming what is estimated, so the same run gives
/// the same intervals whatever the order of the computations.
public enum SeedAggregation {
    /// A seed for the interval of `key` (e.g. "hypervolume|clp-attn"), derived from `base`.
    public static func seed(_ base: UInt64, _ key: String) -> UInt64 {
        var rng = SeededRandom(seed: base, stream: "seed-aggregation|" + key)
        return rng.next()
    }

    /// Mean over seeds of the finite values. Two or more seeds: interval over seeds. One seed:
    /// its `promptInterval`, else the bootstrap over its per-prompt values. nil without a value.
    public static func aggregate(_ values: [SeedValue], resamples: Int = Uncertainty.defaultResamples,
                                 level: Double = Uncertainty.defaultLevel, seed: UInt64) -> SeedEstimate? {
        let finite = unique(values.filter { $0.value.isFinite })
        guard let first = finite.first else { return nil }
        if finite.count >= 2 {
            let xs = finite.map(\.value)
            return SeedEstimate(mean: xs.reduce(0, +) / Double(xs.count),
                                interval: Uncertainty.meanInterval(xs, resamples: resamples, level: level, seed: seed),
                                over: .seeds, seeds: xs.count)
        }
        let interval = first.promptInterval
            ?? first.perPrompt.flatMap { Uncertainty.meanInterval($0, resamples: resamples, level: level, seed: seed) }
        return SeedEstimate(mean: first.value, interval: interval, over: interval == nil ? .none : .prompts, seeds: 1)
    }

    /// Mean of a − b over the seeds both were measured in, paired by seed label. Two or more
    /// shared seeds: interval over seeds of the per-seed differences. One shared seed: the
    /// bootstrap over the per-prompt differences when both recorded the same number of prompts.
    /// nil when no seed is shared.
    public static func pairedDifference(_ a: [SeedValue], _ b: [SeedValue], resamples: Int = Uncertainty.defaultResamples,
                                        level: Double = Uncertainty.defaultLevel, seed: UInt64) -> SeedEstimate? {
        let bySeed = Dictionary(unique(b.filter { $0.value.isFinite }).map { ($0.seed, $0) }, uniquingKeysWith: { x, _ in x })
        let pairs = unique(a.filter { $0.value.isFinite }).compactMap { x in bySeed[x.seed].map { (x, $0) } }
        guard let only = pairs.first else { return nil }
        if pairs.count >= 2 {
            let d = pairs.map { $0.0.value - $0.1.value }
            return SeedEstimate(mean: d.reduce(0, +) / Double(d.count),
                                interval: Uncertainty.meanInterval(d, resamples: resamples, level: level, seed: seed),
                                over: .seeds, seeds: d.count)
        }
        var interval: Interval? = nil
        if let p = only.0.perPrompt, let q = only.1.perPrompt, p.count == q.count {
            interval = Uncertainty.pairedDifferenceInterval(p, q, resamples: resamples, level: level, seed: seed)
        }
        return SeedEstimate(mean: only.0.value - only.1.value, interval: interval, over: interval == nil ? .none : .prompts, seeds: 1)
    }

    /// The first value of each seed label (a method has one evaluation per seed).
    static func unique(_ values: [SeedValue]) -> [SeedValue] {
        var seen = Set<String>()
        return values.filter { seen.insert($0.seed).inserted }
    }
}

/// The per-prompt values behind the evaluation's grid-level figures, for paired intervals over
/// prompts within one seed.
public enum PerPromptValues {
    /// Reward i averaged over the grid, per prompt; nil unless every point recorded the same
    /// number of prompts.
    public static func gridRewardMean(_ points: [EvaluationPoint], reward i: Int) -> [Double]? {
        guard let rows = sameLength(points.map { $0.perPrompt?.rewards }) else { return nil }
        guard rows.allSatisfy({ $0.allSatisfy { i < $0.count } }) else { return nil }
        return (0..<rows[0].count).map { j in rows.reduce(0) { $0 + $1[j][i] } / Double(rows.count) }
    }

    /// J(w) − J_ref(w) averaged over the grid, per prompt (`TrainedObjective.perPromptGain` at each
    /// point with the α its `objective` entry used).
    public static func gridObjective(_ points: [EvaluationPoint], objective: [ObjectiveEstimate],
                                     reference: EvaluationPoint) -> [Double]? {
        guard objective.count == points.count, !points.isEmpty else { return nil }
        let gains = zip(points, objective).map { TrainedObjective.perPromptGain($0.0, reference: reference, alpha: $0.1.alpha) }
        guard let rows = sameLength(gains) else { return nil }
        return (0..<rows[0].count).map { j in rows.reduce(0) { $0 + $1[j] } / Double(rows.count) }
    }

    /// r_i − r_ref,i per prompt at the vertex eᵢ, the point `TrainedObjective.vertexGains` uses
    /// (the smallest α among the vertex's points).
    public static func vertexGain(_ points: [EvaluationPoint], reference: EvaluationPoint, reward i: Int) -> [Double]? {
        guard let ref = reference.perPrompt else { return nil }
        let atVertex = points.filter { i < $0.weights.count && $0.weights[i] == 1 && $0.perPrompt?.rewards.count == ref.rewards.count }
        guard let p = atVertex.min(by: { ($0.alpha ?? 0) < ($1.alpha ?? 0) }), let rows = p.perPrompt?.rewards,
              zip(rows, ref.rewards).allSatisfy({ i < $0.0.count && i < $0.1.count }) else { return nil }
        return zip(rows, ref.rewards).map { $0.0[i] - $0.1[i] }
    }

    static func sameLength<T>(_ xs: [[T]?]) -> [[T]]? {
        let all = xs.compactMap { $0 }
        guard all.count == xs.count, let n = all.first?.count, n > 0, all.allSatisfy({ $0.count == n }) else { return nil }
        return all
    }
}
