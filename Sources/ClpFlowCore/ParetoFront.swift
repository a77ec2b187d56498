/// Pareto dominance for maximisation: the one definition behind the evaluation metrics and the
/// report's front polylines.
///
/// A point a dominates b when a_i >= b_i for every objective and a_i > b_i for at least one, so
/// equal points do not dominate each other. A point with a non-finite coordinate (NaN, ±inf) is
/// never on a front.
public enum ParetoFront {
    /// True when `a` Pareto-dominates `b` (maximisation). False whenever a coordinate of `a` is
    /// NaN. The points must have the same number of objectives.
    public static func dominates(_ a: [Double], _ b: [Double]) -> Bool {
        precondition(a.count == b.count, "ParetoFront.dominates: points have \(a.count) and \(b.count) objectives")
        var strictlyBetter = false
        for i in 0..<a.count {
            if !(a[i] >= b[i]) { return false }  // also false for NaN
            if a[i] > b[i] { strictlyBetter = true }
        }
        return strictlyBetter
    }

    /// Indices (in input order) of the finite points that no other finite point dominates.
    /// Duplicated points are all kept. All points must have the same number of objectives.
    public static func nonDominatedIndices(_ points: [[Double]]) -> [Int] {
        if let m = points.first?.count {
            for p in points {
                precondition(p.count == m, "ParetoFront.nonDominatedIndices: points have \(m) and \(p.count) objectives")
            }
        }
        let finite = points.indices.filter { points[$0].allSatisfy { $0.isFinite } }
        var result: [Int] = []
        for i in finite where !finite.contains(where: { $0 != i && dominates(points[$0], points[i]) }) {
            result.append(i)
        }
        return result
    }

    /// The 2-D front as a polyline: the non-dominated points, sorted by x ascending (then y),
    /// each distinct point once.
    public static func polyline2D(_ points: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] {
        let kept = nonDominatedIndices(points.map { [$0.x, $0.y] }).map { points[$0] }
        var out: [(x: Double, y: Double)] = []
        for p in kept.sorted(by: { $0.x != $1.x ? $0.x < $1.x : $0.y < $1.y })
        where !out.contains(where: { $0.x == p.x && $0.y == p.y }) {
            out.append(p)
        }
        return out
    }
}
