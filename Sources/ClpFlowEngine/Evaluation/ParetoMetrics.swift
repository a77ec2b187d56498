// Multi-objective evaluation metrics: Pareto dominance, hypervolume, Spearman rank correlation,
// steerability along a weight grid, cross-method dominance, summary statistics and simplex grids.
//
// Conventions (see docs/evaluation.md):
// - Every objective is MAXIMISED. A point a dominates b when a_i >= b_i for every objective and
//   a_i > b_i for at least one. Equal points therefore do not dominate each other.
// - Points are `[Double]` vectors of equal length m (the number of rewards). Passing vectors of
//   different lengths is a programming error and stops with a precondition failure that names
//   both lengths.
// - Non-finite coordinates (NaN, ±inf) never dominate anything and never add hypervolume.
//
// This file is pure math and depends on nothing else in the engine. Dominance itself is
// ClpFlowCore's `ParetoFront`, shared with the report.

import ClpFlowCore

/// Pareto, hypervolume and steerability metrics for maximisation problems.
public enum ParetoMetrics {

    // MARK: - Dominance

    /// True when `a` Pareto-dominates `b` (maximisation): a_i >= b_i for all i and a_i > b_i for
    /// at least one i. Equal points do not dominate each other; a point with a NaN coordinate
    /// neither dominates nor (unless the other point is also incomparable) is dominated.
    public static func dominates(_ a: [Double], _ b: [Double]) -> Bool { ParetoFront.dominates(a, b) }

    /// Indices (in input order) of the points that no other point dominates. Duplicated points
    /// are all kept, since equal points do not dominate each other. Points with a non-finite
    /// coordinate are dropped.
    public static func nonDominatedIndices(_ points: [[Double]]) -> [Int] { ParetoFront.nonDominatedIndices(points) }

    /// The non-dominated points, in input order (see `nonDominatedIndices`).
    public static func nonDominated(_ points: [[Double]]) -> [[Double]] {
        nonDominatedIndices(points).map { points[$0] }
    }

    /// Share (0...1) of `points` that are dominated by at least one point of `others`.
    /// Returns nil when `points` is empty. Points with a non-finite coordinate count as dominated
    /// only if some point of `others` dominates them, which NaN coordinates prevent.
    public static func dominatedShare(_ points: [[Double]], by others: [[Double]]) -> Double? {
        if points.isEmpty { return nil }
        checkSameDimension(points + others, "dominatedShare")
        let finiteOthers = others.filter { $0.allSatisfy { $0.isFinite } }
        var count = 0
        for p in points where finiteOthers.contains(where: { dominates($0, p) }) { count += 1 }
        return Double(count) / Double(points.count)
    }

    // MARK: - Hypervolume

    /// Exact hypervolume (Lebesgue measure) of the region dominated by `points` and bounded below
    /// by `reference`, for maximisation: the union over points p of the boxes [r_1, p_1] × … ×
    /// [r_m, p_m]. Points that do not strictly exceed the reference in every coordinate add
    /// nothing (their box is empty); non-finite points are ignored.
    ///
    /// m = 1 is the best margin, m = 2 an O(n log n) sweep, m >= 3 exact slicing along the last
    /// objective down to the 2-D sweep (O(n^(m-1) log n)); intended for m <= 4 and the few hundred
    /// points an evaluation grid produces.
    public static func hypervolume(_ points: [[Double]], reference: [Double]) -> Double {
        let m = reference.count
        precondition(m >= 1, "ParetoMetrics.hypervolume: the reference point has no objectives")
        for p in points {
            precondition(p.count == m,
                         "ParetoMetrics.hypervolume: a point has \(p.count) objectives, the reference has \(m)")
        }
        precondition(reference.allSatisfy { $0.isFinite },
                     "ParetoMetrics.hypervolume: the reference point \(reference) is not finite")
        let useful = points.filter { p in
            p.allSatisfy { $0.isFinite } && zip(p, reference).allSatisfy { $0 > $1 }
        }
        if useful.isEmpty { return 0 }
        return sliced(useful, reference: reference)
    }

    /// Exact 2-D hypervolume by a sweep over the first objective (descending).
    public static func hypervolume2D(_ points: [[Double]], reference: [Double]) -> Double {
        precondition(reference.count == 2, "ParetoMetrics.hypervolume2D needs a 2-D reference point")
        return hypervolume(points, reference: reference)
    }

    /// Exact 3-D hypervolume by slicing along the third objective.
    public static func hypervolume3D(_ points: [[Double]], reference: [Double]) -> Double {
        precondition(reference.count == 3, "ParetoMetrics.hypervolume3D needs a 3-D reference point")
        return hypervolume(points, reference: reference)
    }

    /// Points here all strictly dominate the reference and are finite.
    private static func sliced(_ points: [[Double]], reference: [Double]) -> Double {
        let m = reference.count
        switch m {
        case 1:
            return points.map { $0[0] }.max()! - reference[0]
        case 2:
            return sweep2D(points.map { ($0[0], $0[1]) }, rx: reference[0], ry: reference[1])
        default:
            // Sort by the last objective, descending. Between consecutive distinct levels
            // z_k > z_{k+1}, the slice is dominated by exactly the first k points (those whose last
            // coordinate is >= z_k), projected onto the first m-1 objectives.
            let sorted = points.sorted { $0[m - 1] > $1[m - 1] }
            let subRef = Array(reference.dropLast())
            var total = 0.0
            var k = 0
            while k < sorted.count {
                var end = k + 1
                while end < sorted.count && sorted[end][m - 1] == sorted[k][m - 1] { end += 1 }
                let top = sorted[k][m - 1]
                let bottom = end < sorted.count ? sorted[end][m - 1] : reference[m - 1]
                let projected = sorted[0..<end].map { Array($0.dropLast()) }
                total += (top - bottom) * sliced(nonDominated(projected), reference: subRef)
                k = end
            }
            return total
        }
    }

    private static func sweep2D(_ pts: [(Double, Double)], rx: Double, ry: Double) -> Double {
        // Descending x; for equal x the larger y first, so the dominated twin adds nothing.
        let sorted = pts.sorted { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 > $1.1 }
        var area = 0.0
        var bestY = ry
        for (x, y) in sorted where y > bestY {
            area += (x - rx) * (y - bestY)
            bestY = y
        }
        return area
    }

    // MARK: - Rank correlation

    /// Ranks 1...n with ties given the average of the ranks they span (fractional ranking).
    /// Example: [10, 20, 20, 30] → [1, 2.5, 2.5, 4]. NaN values are not allowed.
    public static func averageRanks(_ values: [Double]) -> [Double] {
        precondition(!values.contains { $0.isNaN }, "ParetoMetrics.averageRanks: NaN cannot be ranked")
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var i = 0
        while i < order.count {
            var j = i + 1
            while j < order.count && values[order[j]] == values[order[i]] { j += 1 }
            // Positions i..<j (0-based) share ranks i+1 ... j; their average is (i + 1 + j) / 2.
            let r = Double(i + 1 + j) / 2
            for t in i..<j { ranks[order[t]] = r }
            i = j
        }
        return ranks
    }

    /// Spearman's rank correlation ρ: the Pearson correlation of the average ranks of x and y.
    ///
    /// Returns nil when it is undefined: fewer than two pairs, a NaN value, or a constant vector
    /// (all values of x, or all values of y, equal — its ranks have zero variance). Callers
    /// should display nil as "undefined", never as 0.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double? {
        precondition(x.count == y.count, "ParetoMetrics.spearman: \(x.count) x values but \(y.count) y values")
        if x.count < 2 || x.contains(where: { $0.isNaN }) || y.contains(where: { $0.isNaN }) { return nil }
        return pearson(averageRanks(x), averageRanks(y))
    }

    /// Pearson correlation; nil when either vector has zero variance or fewer than two values.
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double? {
        precondition(x.count == y.count, "ParetoMetrics.pearson: \(x.count) x values but \(y.count) y values")
        let n = x.count
        if n < 2 { return nil }
        let mx = x.reduce(0, +) / Double(n), my = y.reduce(0, +) / Double(n)
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in 0..<n {
            let dx = x[i] - mx, dy = y[i] - my
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy
        }
        if sxx == 0 || syy == 0 { return nil }
        return max(-1, min(1, sxy / (sxx * syy).squareRoot()))
    }

    // MARK: - Steerability

    /// Steerability of one reward along a weight grid.
    public struct Steerability: Sendable, Equatable, Codable {
        /// Index of the reward (and of its weight).
        public var rewardIndex: Int
        /// Spearman ρ between the weight w_i and the mean reward r_i over the grid; nil when
        /// undefined (w_i or r_i constant over the grid, or fewer than two grid points).
        public var rho: Double?
        /// max − min of r_i over the grid (0 for a single point).
        public var spread: Double

        public init(rewardIndex: Int, rho: Double?, spread: Double) {
            self.rewardIndex = rewardIndex
            self.rho = rho
            self.spread = spread
        }
    }

    /// Steerability per reward: for each i, ρ(w_i, r_i) and the spread of r_i, where
    /// `weights[k]` is the k-th weighting of the grid and `rewards[k]` the method's mean reward
    /// vector at that weighting. Both must have the same number of rows and m columns.
    public static func steerability(weights: [[Double]], rewards: [[Double]]) -> [Steerability] {
        precondition(weights.count == rewards.count,
                     "ParetoMetrics.steerability: \(weights.count) weightings but \(rewards.count) reward vectors")
        guard let m = rewards.first?.count else { return [] }
        checkSameDimension(weights + rewards, "steerability")
        return (0..<m).map { i in
            let w = weights.map { $0[i] }, r = rewards.map { $0[i] }
            let finite = r.filter { $0.isFinite }
            let spread = finite.isEmpty ? 0 : finite.max()! - finite.min()!
            return Steerability(rewardIndex: i, rho: spearman(w, r), spread: spread)
        }
    }

    // MARK: - Summary statistics

    /// Arithmetic mean; nil for an empty sample.
    public static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    /// Sample standard deviation (n − 1 denominator); nil for fewer than two values.
    public static func standardDeviation(_ values: [Double]) -> Double? {
        guard values.count >= 2, let mu = mean(values) else { return nil }
        let ss = values.reduce(0) { $0 + ($1 - mu) * ($1 - mu) }
        return (ss / Double(values.count - 1)).squareRoot()
    }

    /// Standard error of the mean, s / √n with the sample standard deviation s; nil for fewer
    /// than two values.
    public static func standardError(_ values: [Double]) -> Double? {
        guard let s = standardDeviation(values) else { return nil }
        return s / Double(values.count).squareRoot()
    }

    // MARK: - Weight grids

    /// The simplex lattice for `rewards` objectives with `pointsPerEdge` points along each edge:
    /// every vector (k_1, …, k_m) / h with non-negative integers summing to h = pointsPerEdge − 1.
    /// It has C(h + m − 1, m − 1) points; m = 2 with 11 points per edge gives w_1 ∈ {0, 0.1, …, 1}.
    /// Order: lexicographic in (k_1, …, k_{m−1}) ascending, so for m = 2 w_1 increases.
    /// The last coordinate is computed from the integer remainder, so no rounding drift
    /// accumulates; each vector sums to 1 up to one rounding of each coordinate.
    public static func simplexLattice(rewards m: Int, pointsPerEdge: Int) -> [[Double]] {
        precondition(m >= 1, "ParetoMetrics.simplexLattice: needs at least one reward, got \(m)")
        if m == 1 { return [[1]] }
        precondition(pointsPerEdge >= 2,
                     "ParetoMetrics.simplexLattice: needs at least 2 points per edge, got \(pointsPerEdge)")
        let h = pointsPerEdge - 1
        var out: [[Double]] = []
        var parts = [Int](repeating: 0, count: m)
        func fill(_ position: Int, _ remaining: Int) {
            if position == m - 1 {
                parts[position] = remaining
                out.append(parts.map { Double($0) / Double(h) })
                return
            }
            for k in 0...remaining {
                parts[position] = k
                fill(position + 1, remaining - k)
            }
        }
        fill(0, h)
        return out
    }

    /// Number of points of `simplexLattice(rewards:pointsPerEdge:)`: C(h + m − 1, m − 1).
    public static func simplexLatticeCount(rewards m: Int, pointsPerEdge: Int) -> Int {
        if m == 1 { return 1 }
        let h = pointsPerEdge - 1
        var c = 1
        for i in 1..<m { c = c * (h + i) / i }
        return c
    }

    // MARK: - Per-method summary

    /// One method's evaluation grid: `weights[k]` and the mean reward vector `rewards[k]` there.
    public struct MethodPoints: Sendable, Equatable {
        public var name: String
        public var weights: [[Double]]
        public var rewards: [[Double]]

        public init(name: String, weights: [[Double]], rewards: [[Double]]) {
            self.name = name
            self.weights = weights
            self.rewards = rewards
        }
    }

    /// The headline metrics of one method (the report's hypervolume and steerability tables).
    public struct MethodMetrics: Sendable, Equatable {
        public var name: String
        /// Hypervolume of all the method's points w.r.t. the reference point.
        public var hypervolume: Double
        /// Share of its points dominated by a point of another method; nil without points.
        public var dominatedShare: Double?
        /// Number of its non-dominated points (among its own points).
        public var frontSize: Int
        public var steerability: [Steerability]
    }

    /// Hypervolume, cross-method dominated share, front size and steerability for each method,
    /// in input order.
    public static func summarize(_ methods: [MethodPoints], reference: [Double]) -> [MethodMetrics] {
        methods.enumerated().map { k, method in
            let others = methods.enumerated().filter { $0.offset != k }.flatMap { $0.element.rewards }
            return MethodMetrics(
                name: method.name,
                hypervolume: hypervolume(method.rewards, reference: reference),
                dominatedShare: dominatedShare(method.rewards, by: others),
                frontSize: nonDominatedIndices(method.rewards).count,
                steerability: steerability(weights: method.weights, rewards: method.rewards))
        }
    }

    // MARK: - Helpers

    private static func checkSameDimension(_ points: [[Double]], _ function: String) {
        guard let m = points.first?.count else { return }
        for p in points {
            precondition(p.count == m,
                         "ParetoMetrics.\(function): points have \(m) and \(p.count) objectives")
        }
    }
}
