import ClpFlowCore

/// A two-sided confidence interval.
public struct Interval: Sendable, Hashable, Codable {
    public var lower: Double
    public var upper: Double
    /// Coverage it was built for, e.g. 0.95.
    public var level: Double
    public init(lower: Double, upper: Double, level: Double) { self.lower = lower; self.upper = upper; self.level = level }
    public func contains(_ x: Double) -> Bool { lower <= x && x <= upper }
    /// Both ends above zero: the difference it bounds is positive at this level.
    public var excludesZeroFromAbove: Bool { lower > 0 }
}

/// Uncertainty of evaluation figures: percentile bootstrap intervals over resampled units
/// (prompts, or seeds), permutation tests for steerability, and the spread noise alone gives.
/// Every resampling draws from a generator seeded by the caller, so the same inputs and seed give
/// the same interval.
public enum Uncertainty {
    public static let defaultResamples = 2000
    public static let defaultLevel = 0.95

    /// Percentile bootstrap: `statistic` is evaluated on `resamples` resamples of the unit indices
    /// 0..<units drawn with replacement; the interval is the (1 − level)/2 and (1 + level)/2
    /// empirical quantiles. Resamples where the statistic is undefined (nil or not finite) are
    /// skipped; nil when fewer than half are defined or `units` < 2.
    public static func bootstrap(units: Int, resamples: Int = defaultResamples, level: Double = defaultLevel,
                                 seed: UInt64, statistic: ([Int]) -> Double?) -> Interval? {
        guard units >= 2, resamples >= 10 else { return nil }
        var rng = SeededRandom(seed: seed, stream: "bootstrap")
        var values: [Double] = []
        values.reserveCapacity(resamples)
        var idx = [Int](repeating: 0, count: units)
        for _ in 0..<resamples {
            for i in 0..<units { idx[i] = Int(rng.next() % UInt64(units)) }
            if let v = statistic(idx), v.isFinite { values.append(v) }
        }
        guard values.count * 2 >= resamples else { return nil }
        values.sort()
        let a = (1 - level) / 2
        return Interval(lower: quantile(values, a), upper: quantile(values, 1 - a), level: level)
    }

    /// Bootstrap interval of the mean of `xs`.
    public static func meanInterval(_ xs: [Double], resamples: Int = defaultResamples, level: Double = defaultLevel,
                                    seed: UInt64) -> Interval? {
        bootstrap(units: xs.count, resamples: resamples, level: level, seed: seed) { idx in
            idx.reduce(0.0) { $0 + xs[$1] } / Double(idx.count)
        }
    }

    /// Bootstrap interval of the mean paired difference a − b (the same units, e.g. the same
    /// prompts or seeds, measured under two methods).
    public static func pairedDifferenceInterval(_ a: [Double], _ b: [Double], resamples: Int = defaultResamples,
                                                level: Double = defaultLevel, seed: UInt64) -> Interval? {
        precondition(a.count == b.count, "paired samples of \(a.count) and \(b.count) values")
        return meanInterval(zip(a, b).map { $0 - $1 }, resamples: resamples, level: level, seed: seed)
    }

    /// Linear interpolation between order statistics (the "type 7" sample quantile) of a sorted
    /// sample.
    public static func quantile(_ sorted: [Double], _ p: Double) -> Double {
        precondition(!sorted.isEmpty)
        let h = Double(sorted.count - 1) * min(1, max(0, p))
        let lo = Int(h.rounded(.down)), hi = min(sorted.count - 1, lo + 1)
        return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
    }

    /// Two-sided permutation test of Spearman's ρ between `x` and `y` (e.g. a weight and the
    /// mean reward over the grid): the share of relabellings of y whose |ρ| is at least the
    /// observed |ρ| (up to 1e-12). Exact over all n! orders for n ≤ 8, else `permutations` random
    /// ones (the observed order counts as one of them). nil when ρ is undefined.
    public static func spearmanPermutationP(_ x: [Double], _ y: [Double], permutations: Int = 10_000,
                                            seed: UInt64) -> Double? {
        guard let observed = ParetoMetrics.spearman(x, y) else { return nil }
        let target = abs(observed) - 1e-12
        let n = y.count
        if n <= 8 {
            var order = Array(0..<n), hits = 0, total = 0
            func visit(_ k: Int) {
                if k == n {
                    total += 1
                    if let r = ParetoMetrics.spearman(x, order.map { y[$0] }), abs(r) >= target { hits += 1 }
                    return
                }
                for i in k..<n {
                    order.swapAt(k, i); visit(k + 1); order.swapAt(k, i)
                }
            }
            visit(0)
            return Double(hits) / Double(total)
        }
        var rng = SeededRandom(seed: seed, stream: "permutation")
        var hits = 1
        var shuffled = y
        for _ in 0..<permutations {
            shuffled.shuffle(using: &rng)
            if let r = ParetoMetrics.spearman(x, shuffled), abs(r) >= target { hits += 1 }
        }
        return Double(hits) / Double(permutations + 1)
    }

    /// The spread (max − min of the grid means) that noise alone gives: under "the weighting
    /// changes nothing", every grid point's per-prompt values come from one pool. Each resample
    /// draws `perPoint` values from the pooled `values` of all points for each of the
    /// `points` grid points and takes the spread of the means; returns the `level` quantile of
    /// those spreads (a method's spread above it is more than noise at that level).
    public static func noiseSpread(pooled values: [Double], points: Int, perPoint: Int, resamples: Int = defaultResamples,
                                   level: Double = defaultLevel, seed: UInt64) -> Double? {
        guard !values.isEmpty, points >= 2, perPoint >= 1 else { return nil }
        var rng = SeededRandom(seed: seed, stream: "noise-spread")
        var spreads: [Double] = []
        spreads.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var lo = Double.infinity, hi = -Double.infinity
            for _ in 0..<points {
                var s = 0.0
                for _ in 0..<perPoint { s += values[Int(rng.next() % UInt64(values.count))] }
                let m = s / Double(perPoint)
                lo = min(lo, m); hi = max(hi, m)
            }
            spreads.append(hi - lo)
        }
        spreads.sort()
        return quantile(spreads, level)
    }
}
