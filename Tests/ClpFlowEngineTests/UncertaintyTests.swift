import ClpFlowCore
import Testing
@testable import ClpFlowEngine

@Suite struct UncertaintyTests {
    /// Over 300 simulated samples of 50 values from N(1, 0.5²), the 95 % bootstrap interval of
    /// the mean covers the true mean in at least 90 % of cases (and is not trivially wide).
    @Test func bootstrapIntervalsCoverAKnownMean() throws {
        var rng = SeededRandom(seed: 21)
        var covered = 0, widths: [Double] = []
        let cases = 300
        for k in 0..<cases {
            let xs = (0..<50).map { _ in 1 + 0.5 * rng.normal() }
            let i = try #require(Uncertainty.meanInterval(xs, resamples: 1000, seed: UInt64(k)))
            if i.contains(1) { covered += 1 }
            widths.append(i.upper - i.lower)
        }
        #expect(Double(covered) / Double(cases) >= 0.90, "coverage \(covered)/\(cases)")
        // 2 · 1.96 · 0.5 / √50 ≈ 0.277: the interval's width is that of the mean, not of the values.
        let meanWidth = widths.reduce(0, +) / Double(cases)
        #expect(abs(meanWidth - 0.277) < 0.03, "mean width \(meanWidth)")
    }

    @Test func bootstrapIsDeterministicPerSeedAndUndefinedWhenItShouldBe() {
        let xs = [0.1, 0.4, 0.35, 0.8, 0.2, 0.5]
        #expect(Uncertainty.meanInterval(xs, seed: 4) == Uncertainty.meanInterval(xs, seed: 4))
        #expect(Uncertainty.meanInterval(xs, seed: 4) != Uncertainty.meanInterval(xs, seed: 5))
        #expect(Uncertainty.meanInterval([0.3], seed: 1) == nil)
        let constant = Uncertainty.meanInterval([2, 2, 2, 2], seed: 1)
        #expect(constant?.lower == 2 && constant?.upper == 2)
        // A statistic undefined on most resamples has no interval.
        #expect(Uncertainty.bootstrap(units: 5, seed: 1) { _ in nil } == nil)
    }

    @Test func pairedDifferencesUseThePairing() throws {
        // b = a − 0.1 on every unit: the paired difference is exactly 0.1 although a and b vary a lot.
        var rng = SeededRandom(seed: 2)
        let a = (0..<40).map { _ in rng.uniform() }
        let b = a.map { $0 - 0.1 }
        let d = try #require(Uncertainty.pairedDifferenceInterval(a, b, seed: 3))
        #expect(abs(d.lower - 0.1) < 1e-12 && abs(d.upper - 0.1) < 1e-12)
        #expect(d.excludesZeroFromAbove)
    }

    @Test func quantileInterpolatesBetweenOrderStatistics() {
        let s = [1.0, 2, 3, 4]
        #expect(Uncertainty.quantile(s, 0) == 1 && Uncertainty.quantile(s, 1) == 4)
        #expect(abs(Uncertainty.quantile(s, 0.5) - 2.5) < 1e-12)
        #expect(abs(Uncertainty.quantile(s, 0.25) - 1.75) < 1e-12)
    }

    /// A perfectly monotone relation over 5 grid points: of the 120 orders only the observed one and
    /// its reverse reach |ρ| = 1, so the exact two-sided p-value is 2/120.
    @Test func permutationPValueOfAConstructedCase() throws {
        let w = [0, 0.25, 0.5, 0.75, 1]
        let p = try #require(Uncertainty.spearmanPermutationP(w, [0.1, 0.2, 0.3, 0.4, 0.5], seed: 1))
        #expect(abs(p - 2.0 / 120) < 1e-12)
        // No relation at all: p = 1 (every order has |ρ| ≥ 0).
        let none = try #require(Uncertainty.spearmanPermutationP([0, 1, 2, 3], [1, 3, 3, 1], seed: 1))
        #expect(abs(none - 1) < 1e-12)
        #expect(Uncertainty.spearmanPermutationP(w, [1, 1, 1, 1, 1], seed: 1) == nil)
        // 11 points, monotone: Monte-Carlo with the observed order counted once.
        let w11 = (0...10).map { Double($0) / 10 }
        let mc = try #require(Uncertainty.spearmanPermutationP(w11, w11.map { $0 * $0 }, permutations: 2000, seed: 3))
        #expect(mc <= 2.0 / 2001 && mc >= 1.0 / 2001)
    }

    @Test func noiseSpreadShrinksWithMorePromptsAndIsZeroWithoutNoise() throws {
        var rng = SeededRandom(seed: 9)
        let pool = (0..<500).map { _ in rng.normal() }
        let few = try #require(Uncertainty.noiseSpread(pooled: pool, points: 11, perPoint: 16, resamples: 500, seed: 1))
        let many = try #require(Uncertainty.noiseSpread(pooled: pool, points: 11, perPoint: 256, resamples: 500, seed: 1))
        #expect(few > many * 3 && many > 0, "\(few) vs \(many)")  // ≈ 4× for 16× the prompts
        #expect(Uncertainty.noiseSpread(pooled: [0.4, 0.4], points: 5, perPoint: 8, seed: 1) == 0)
        #expect(Uncertainty.noiseSpread(pooled: pool, points: 1, perPoint: 8, seed: 1) == nil)
    }
}

@Suite struct TrainedObjectiveTests {
    static func point(_ w: [Double], rewards: [[Double]], kl: [Double]) -> EvaluationPoint {
        let m = rewards[0].count
        return EvaluationPoint(weights: w, alpha: nil, rewards: (0..<m).map { i in Estimate(rewards.map { $0[i] }) },
                               kl: Estimate(kl), length: Estimate([1]), perPrompt: .init(rewards: rewards, kl: kl))
    }

    /// Hand-computed: π_ref's reward 0 has values 0, 1, 2, 3 (sd √(5/3)), reward 1 is constant
    /// (scale 1). The method gains 1 on reward 0 and 0.5 on reward 1 at every prompt with KL 2.
    @Test func objectiveRelativeToTheReferenceByHand() throws {
        let ref = Self.point([0.5, 0.5], rewards: [[0, 1], [1, 1], [2, 1], [3, 1]], kl: [0, 0, 0, 0])
        let pol = Self.point([0.25, 0.75], rewards: [[1, 1.5], [2, 1.5], [3, 1.5], [4, 1.5]], kl: [2, 2, 2, 2])
        let sd = (5.0 / 3).squareRoot()
        #expect(TrainedObjective.scales(ref)! == [sd, 1])
        let e = try #require(TrainedObjective.estimate(pol, reference: ref, alpha: 0.1, seed: 1))
        let want = 0.25 * 1 / sd + 0.75 * 0.5 - 0.1 * 2
        #expect(abs(e.mean - want) < 1e-12)
        // Every prompt gains the same: the interval collapses onto the mean.
        #expect(abs(e.interval!.lower - want) < 1e-12 && abs(e.interval!.upper - want) < 1e-12)
        // π_ref against itself: J = 0.
        #expect(TrainedObjective.estimate(ref, reference: ref, alpha: 0.1, seed: 1)!.mean == 0)
        // Different prompt counts: undefined.
        let short = Self.point([0.5, 0.5], rewards: [[0, 1]], kl: [0])
        #expect(TrainedObjective.estimate(short, reference: ref, alpha: 0.1, seed: 1) == nil)
    }
}

@Suite struct VertexGainTests {
    /// Reward 0's vertex gains 0.1 on every prompt; reward 1's vertex is not evaluated.
    @Test func gainsArePairedOverPromptsAtEachVertex() throws {
        let ref = TrainedObjectiveTests.point([0.5, 0.5], rewards: [[0.1, 1], [0.5, 1], [0.9, 1]], kl: [0, 0, 0])
        let vertex = TrainedObjectiveTests.point([1, 0], rewards: [[0.2, 0], [0.6, 0], [1.0, 0]], kl: [1, 1, 1])
        let middle = TrainedObjectiveTests.point([0.5, 0.5], rewards: [[0, 0], [0, 0], [0, 0]], kl: [0, 0, 0])
        let gains = TrainedObjective.vertexGains([middle, vertex], reference: ref, seed: 1)
        #expect(gains.count == 1 && gains[0].rewardIndex == 0)
        #expect(abs(gains[0].mean - 0.1) < 1e-12 && gains[0].beatsReference)
        let worse = TrainedObjectiveTests.point([1, 0], rewards: [[0.1, 0], [0.2, 0], [0.9, 0]], kl: [0, 0, 0])
        let g = try #require(TrainedObjective.vertexGains([worse], reference: ref, seed: 1).first)
        #expect(g.mean < 0 && !g.beatsReference)
    }
}
