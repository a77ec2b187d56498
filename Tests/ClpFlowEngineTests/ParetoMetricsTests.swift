import ClpFlowCore
import Foundation
import Testing
@testable import ClpFlowEngine

private typealias PM = ParetoMetrics

/// Counts, on a regular grid of cell centres, the share of the box [ref, upper] dominated by some
/// point, times the box volume. Independent of the sweep and slicing code under test.
private func gridHypervolume(_ points: [[Double]], reference: [Double], upper: [Double], cells: Int) -> Double {
    let m = reference.count
    var index = [Int](repeating: 0, count: m)
    var hits = 0, total = 0
    var z = [Double](repeating: 0, count: m)
    while true {
        for d in 0..<m {
            z[d] = reference[d] + (Double(index[d]) + 0.5) / Double(cells) * (upper[d] - reference[d])
        }
        total += 1
        if points.contains(where: { p in (0..<m).allSatisfy { p[$0] >= z[$0] } }) { hits += 1 }
        var d = 0
        while d < m { index[d] += 1; if index[d] < cells { break }; index[d] = 0; d += 1 }
        if d == m { break }
    }
    var volume = 1.0
    for d in 0..<m { volume *= upper[d] - reference[d] }
    return volume * Double(hits) / Double(total)
}

@Test func dominanceIsStrictAndTiesDoNotDominate() {
    #expect(PM.dominates([2, 2], [1, 2]))
    #expect(!PM.dominates([1, 2], [2, 2]))
    #expect(!PM.dominates([1, 2], [1, 2]), "equal points do not dominate each other")
    #expect(!PM.dominates([3, 0], [0, 3]))
    #expect(!PM.dominates([.nan, 5], [0, 0]))
    #expect(PM.dominates([1, 1, 2], [1, 1, 1]))
}

@Test func nonDominatedFilterKeepsTiesAndDropsDominated() {
    let pts: [[Double]] = [[1, 5], [2, 4], [2, 4], [1.5, 3.9], [3, 1], [0, 0], [3, 0.5], [.nan, 9]]
    #expect(PM.nonDominatedIndices(pts) == [0, 1, 2, 4])
    #expect(PM.nonDominated(pts) == [[1, 5], [2, 4], [2, 4], [3, 1]])
    // Three objectives: (1,1,1) is dominated by (1,1,2); (2,0,0) and (0,0,3) are not.
    let p3: [[Double]] = [[1, 1, 1], [1, 1, 2], [2, 0, 0], [0, 0, 3]]
    #expect(PM.nonDominatedIndices(p3) == [1, 2, 3])
    #expect(PM.nonDominated([]) == [])
}

@Test func hypervolume2DStaircaseByHand() {
    // Staircase (1,3), (2,2), (3,1) over reference (0,0): 3 + 2 + 1 = 6 unit squares.
    let stairs: [[Double]] = [[1, 3], [2, 2], [3, 1]]
    #expect(PM.hypervolume(stairs, reference: [0, 0]) == 6)
    #expect(PM.hypervolume2D(stairs + [[1, 1], [2, 2]], reference: [0, 0]) == 6,
            "dominated and duplicated points add nothing")
    // Shifted reference (0.5, 1): [0.5,1]×[1,3] plus (1,2]×[1,2] = 1 + 1; (3,1) lies on the
    // reference's y and adds nothing.
    #expect(abs(PM.hypervolume(stairs, reference: [0.5, 1]) - 2) < 1e-12)
    // Points not dominating the reference contribute nothing.
    #expect(PM.hypervolume([[-1, 5], [5, -1], [0, 0]], reference: [0, 0]) == 0)
    #expect(PM.hypervolume([], reference: [0, 0]) == 0)
    #expect(PM.hypervolume([[4, 2], [.nan, 100]], reference: [1, 1]) == 3)
    // One objective: the best margin over the reference.
    #expect(PM.hypervolume([[2], [5], [-1]], reference: [1]) == 4)
}

@Test func hypervolume3DStaircaseByHand() {
    // Unit cubes: (1,1,3) ∪ (2,2,1) ∪ (3,1,1) over the origin:
    // vol = 3 (first) + 4 (second) + 3 (third) − overlaps. Union by layers along z:
    // z in (0,1]: 2-D union of (1,1),(2,2),(3,1) = 4 + 1 = 5; z in (1,3]: (1,1) → 1 each → 2.
    // Total 5 + 2 = 7.
    let pts: [[Double]] = [[1, 1, 3], [2, 2, 1], [3, 1, 1]]
    #expect(PM.hypervolume(pts, reference: [0, 0, 0]) == 7)
    #expect(PM.hypervolume3D([[2, 3, 4]], reference: [1, 1, 1]) == 1 * 2 * 3)
    #expect(PM.hypervolume3D([[1, 1, 1], [1, 1, 1]], reference: [0, 0, 0]) == 1)
    #expect(PM.hypervolume([[1, 1, 1]], reference: [0, 1, 0]) == 0)
}

@Test func hypervolumeMatchesGridCountOnRandomFronts() {
    var rng = SeededRandom(seed: 7, stream: "hypervolume")
    for m in 2...4 {
        for _ in 0..<3 {
            let n = 6 + Int(rng.next() % 6)
            // Coordinates on a 1/8 grid so that a grid count with 8k cells per axis is exact.
            let pts: [[Double]] = (0..<n).map { _ in (0..<m).map { _ in Double(rng.next() % 9) / 8 } }
            let ref = [Double](repeating: 0, count: m)
            let upper = [Double](repeating: 1, count: m)
            let cells = m == 4 ? 8 : 16
            let exact = PM.hypervolume(pts, reference: ref)
            let counted = gridHypervolume(pts, reference: ref, upper: upper, cells: cells)
            #expect(abs(exact - counted) < 1e-12, "m=\(m) exact \(exact) grid \(counted) for \(pts)")
        }
    }
}

@Test func hypervolumeMatchesMonteCarloOnContinuousFront() {
    // A concave 2-D front and a 3-D front on the sphere, against seeded Monte-Carlo estimates.
    var rng = SeededRandom(seed: 11)
    let front2: [[Double]] = (0...20).map { k in
        let t = Double(k) / 20 * Double.pi / 2
        return [cos(t), sin(t)]
    }
    var front3: [[Double]] = []
    for _ in 0..<40 {
        let a = rng.normal(), b = rng.normal(), c = rng.normal()
        let norm = (a * a + b * b + c * c).squareRoot()
        front3.append([abs(a) / norm, abs(b) / norm, abs(c) / norm])
    }
    for (pts, m) in [(front2, 2), (front3, 3)] {
        let ref = [Double](repeating: 0, count: m)
        let exact = PM.hypervolume(pts, reference: ref)
        let samples = 50_000
        var hits = 0
        for _ in 0..<samples {
            let z = (0..<m).map { _ in rng.uniform() }
            if pts.contains(where: { p in (0..<m).allSatisfy { p[$0] >= z[$0] } }) { hits += 1 }
        }
        let p = Double(hits) / Double(samples)
        let se = (p * (1 - p) / Double(samples)).squareRoot()
        #expect(abs(exact - p) < 5 * se, "m=\(m): exact \(exact), Monte-Carlo \(p) ± \(se)")
    }
}

@Test func averageRanksAndSpearmanByHand() {
    #expect(PM.averageRanks([10, 20, 20, 30]) == [1, 2.5, 2.5, 4])
    #expect(PM.averageRanks([3, 1, 2]) == [3, 1, 2])
    #expect(PM.averageRanks([5, 5, 5]) == [2, 2, 2])
    // Monotone but non-linear: ρ = 1; reversed: ρ = −1.
    #expect(PM.spearman([0, 0.1, 0.2, 0.3], [1, 4, 9, 100]) == 1)
    #expect(PM.spearman([0, 0.1, 0.2, 0.3], [5, 3, 2, -7]) == -1)
    // d = rank differences (0, 0, 1, -1, 0) with no ties: ρ = 1 − 6·Σd²/(n(n²−1)) = 1 − 12/120 = 0.9.
    let rho = PM.spearman([1, 2, 3, 4, 5], [10, 20, 40, 30, 50])!
    #expect(abs(rho - 0.9) < 1e-12)
    // With ties: x ranks (1,2,3,4), y = (1,2,2,3) → ranks (1, 2.5, 2.5, 4).
    // Pearson of (1,2,3,4) and (1,2.5,2.5,4): cov 4.5, var x 5, var y 4.5 → 4.5/√(22.5) = 0.948683…
    let tied = PM.spearman([1, 2, 3, 4], [1, 2, 2, 3])!
    #expect(abs(tied - 4.5 / 22.5.squareRoot()) < 1e-12)
    // Undefined cases return nil.
    #expect(PM.spearman([1, 1, 1], [1, 2, 3]) == nil)
    #expect(PM.spearman([1, 2, 3], [4, 4, 4]) == nil)
    #expect(PM.spearman([1], [2]) == nil)
    #expect(PM.spearman([1, .nan], [2, 3]) == nil)
}

@Test func steerabilityAlongTwoRewardGrid() {
    let grid = PM.simplexLattice(rewards: 2, pointsPerEdge: 5)  // w1 = 0, .25, .5, .75, 1
    // Reward 1 rises with w1 (one tie), reward 2 is flat.
    let rewards: [[Double]] = [[0.1, 2], [0.3, 2], [0.3, 2], [0.6, 2], [0.9, 2]]
    let s = PM.steerability(weights: grid, rewards: rewards)
    #expect(s.count == 2)
    #expect(s[0].rewardIndex == 0 && s[1].rewardIndex == 1)
    // ranks of w: 1..5; of r1: 1, 2.5, 2.5, 4, 5 → ρ = cov/√(var·var) = 9.5/√(10·9.5)
    #expect(abs(s[0].rho! - 9.5 / (10 * 9.5).squareRoot()) < 1e-12)
    #expect(abs(s[0].spread - 0.8) < 1e-12)
    #expect(s[1].rho == nil, "a constant reward has an undefined rank correlation")
    #expect(s[1].spread == 0)
}

@Test func dominatedShareAcrossMethods() {
    let clp: [[Double]] = [[1, 3], [2, 2], [3, 1]]
    let soup: [[Double]] = [[0.5, 2.5], [2, 2], [1, 1], [3.5, 0]]
    // Of soup's 4 points: (0.5,2.5) dominated by (1,3); (2,2) ties → not; (1,1) dominated; (3.5,0) not.
    #expect(PM.dominatedShare(soup, by: clp) == 0.5)
    #expect(PM.dominatedShare(clp, by: soup) == 0)
    #expect(PM.dominatedShare([], by: clp) == nil)
    #expect(PM.dominatedShare(clp, by: []) == 0)
}

@Test func meanAndStandardError() {
    #expect(PM.mean([1, 2, 3, 4]) == 2.5)
    #expect(PM.mean([]) == nil)
    // Sample variance of (1,2,3,4) = 5/3; SE = √(5/3)/2.
    #expect(abs(PM.standardDeviation([1, 2, 3, 4])! - (5.0 / 3).squareRoot()) < 1e-12)
    #expect(abs(PM.standardError([1, 2, 3, 4])! - (5.0 / 3).squareRoot() / 2) < 1e-12)
    #expect(PM.standardError([7]) == nil)
    #expect(PM.standardError([2, 2, 2]) == 0)
}

@Test func simplexLatticeSizesAndValues() {
    let two = PM.simplexLattice(rewards: 2, pointsPerEdge: 11)
    #expect(two.count == 11)
    #expect(two.map { $0[0] } == (0...10).map { Double($0) / 10 })
    #expect(two[1] == [0.1, 0.9])
    let three = PM.simplexLattice(rewards: 3, pointsPerEdge: 6)
    #expect(three.count == 21)
    #expect(PM.simplexLatticeCount(rewards: 3, pointsPerEdge: 6) == 21)
    #expect(Set(three).count == 21)
    for w in three {
        #expect(abs(w.reduce(0, +) - 1) < 1e-12)
        #expect(w.allSatisfy { $0 >= 0 && $0 <= 1 })
    }
    #expect(three.contains([1, 0, 0]) && three.contains([0, 1, 0]) && three.contains([0, 0, 1]))
    #expect(three.contains([0.2, 0.4, 0.4]))
    let four = PM.simplexLattice(rewards: 4, pointsPerEdge: 5)
    #expect(four.count == 35 && PM.simplexLatticeCount(rewards: 4, pointsPerEdge: 5) == 35)
    #expect(PM.simplexLattice(rewards: 1, pointsPerEdge: 11) == [[1]])
}

@Test func summarizeCombinesTheMetricsPerMethod() {
    let grid = PM.simplexLattice(rewards: 2, pointsPerEdge: 3)  // (0,1), (0.5,0.5), (1,0)
    let clp = PM.MethodPoints(name: "clp", weights: grid, rewards: [[1, 3], [2, 2], [3, 1]])
    let soup = PM.MethodPoints(name: "soup", weights: grid, rewards: [[0.5, 2.5], [1.5, 1.5], [2.5, 0.5]])
    let s = PM.summarize([clp, soup], reference: [0, 0])
    #expect(s.map(\.name) == ["clp", "soup"])
    #expect(s[0].hypervolume == 6)
    // soup: 2.5·0.5 + 1.5·1 + 0.5·1 = 1.25 + 1.5 + 0.5 = 3.25
    #expect(abs(s[1].hypervolume - 3.25) < 1e-12)
    #expect(s[0].dominatedShare == 0 && s[1].dominatedShare == 1)
    #expect(s[0].frontSize == 3 && s[1].frontSize == 3)
    #expect(s[0].steerability.map(\.rho) == [1, 1])
    #expect(s[1].steerability.map(\.spread) == [2, 2])
}
