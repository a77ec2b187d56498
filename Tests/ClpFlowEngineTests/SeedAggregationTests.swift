import ClpFlowCore
import Foundation
import Testing
@testable import ClpFlowEngine

@Suite struct SeedAggregationTests {
    static func values(_ xs: [(String, Double)]) -> [SeedValue] { xs.map { SeedValue(seed: $0.0, value: $0.1) } }

    /// Five seeds with a known mean (0.3): the mean is exact, the interval resamples seeds and
    /// contains it, and the same inputs and seed give the same interval.
    @Test func theMeanOverSeedsHasAnIntervalOverSeeds() throws {
        let v = Self.values([("0", 0.13), ("1", 0.52), ("2", 0.31), ("3", 0.17), ("4", 0.37)])
        let a = try #require(SeedAggregation.aggregate(v, seed: 7))
        #expect(abs(a.mean - 0.3) < 1e-12)
        #expect(a.over == .seeds && a.seeds == 5)
        let i = try #require(a.interval)
        #expect(i.contains(0.3) && i.lower >= 0.13 && i.upper <= 0.52 && i.upper - i.lower > 0.05, "\(i)")
        #expect(SeedAggregation.aggregate(v, seed: 7) == a)
        // The seed feeds the resampling: another seed, another interval (with enough seeds for the
        // resampled means to take many values).
        let twelve = Self.values((0..<12).map { (String($0), sin(Double($0) * 1.7)) })
        #expect(SeedAggregation.aggregate(twelve, seed: 7)?.interval != SeedAggregation.aggregate(twelve, seed: 8)?.interval)
        // The per-key seeds are distinct and stable.
        #expect(SeedAggregation.seed(3, "hypervolume|clp") == SeedAggregation.seed(3, "hypervolume|clp"))
        #expect(SeedAggregation.seed(3, "hypervolume|clp") != SeedAggregation.seed(3, "hypervolume|soup"))
    }

    /// Coverage of the known mean of N(1, 0.5²) over 300 simulated experiments: at least 90 % with
    /// 40 seeds; with 5 seeds the percentile bootstrap is too narrow (it cannot reach beyond the
    /// seeds' range), about 83 % — what docs/report.md tells the reader.
    @Test func intervalsOverSeedsCoverAKnownMean() throws {
        func coverage(seeds n: Int) throws -> Double {
            var rng = SeededRandom(seed: 5)
            var covered = 0
            for k in 0..<300 {
                let v = (0..<n).map { s in SeedValue(seed: String(s), value: 1 + 0.5 * rng.normal()) }
                let i = try #require(SeedAggregation.aggregate(v, resamples: 1000, seed: UInt64(k)).flatMap(\.interval))
                if i.contains(1) { covered += 1 }
            }
            return Double(covered) / 300
        }
        let many = try coverage(seeds: 40), few = try coverage(seeds: 5)
        #expect(many >= 0.90, "coverage with 40 seeds \(many)")
        #expect(few > 0.75 && few < 0.90, "coverage with 5 seeds \(few)")
    }

    /// Differences pair by seed label, not by position: b lists its seeds in another order and
    /// misses one; every shared seed differs by exactly 0.5.
    @Test func pairedDifferencesPairBySeedNotByOrder() throws {
        let a = Self.values([("0", 1), ("1", 5), ("2", 9), ("3", 2)])
        let b = Self.values([("2", 8.5), ("0", 0.5), ("1", 4.5)])
        let d = try #require(SeedAggregation.pairedDifference(a, b, seed: 1))
        #expect(d.mean == 0.5 && d.seeds == 3 && d.over == .seeds)
        #expect(d.interval?.lower == 0.5 && d.interval?.upper == 0.5)
        // Pairing by position would mix seeds: 1 − 8.5, 5 − 0.5, 9 − 4.5.
        let byOrder = Self.values([("a", 1), ("b", 5), ("c", 9)])
        let other = Self.values([("a", 8.5), ("b", 0.5), ("c", 4.5)])
        #expect(SeedAggregation.pairedDifference(byOrder, other, seed: 1)?.interval?.lower ?? 0 < 0)
        // No shared seed: no difference.
        #expect(SeedAggregation.pairedDifference(Self.values([("0", 1)]), Self.values([("1", 1)]), seed: 1) == nil)
        // Non-finite values are not paired.
        let nan = Self.values([("0", .nan), ("1", 2), ("2", 3)])
        #expect(SeedAggregation.pairedDifference(nan, Self.values([("0", 0), ("1", 1), ("2", 1)]), seed: 1)?.seeds == 2)
    }

    /// One seed: the interval falls back to prompts (the evaluation's own interval when given,
    /// else the bootstrap of the per-prompt values), and differences pair the prompts.
    @Test func oneSeedFallsBackToPrompts() throws {
        var rng = SeededRandom(seed: 9)
        let p = (0..<40).map { _ in rng.uniform() }
        let mean = p.reduce(0, +) / 40
        let single = try #require(SeedAggregation.aggregate([SeedValue(seed: "", value: mean, perPrompt: p)], seed: 2))
        #expect(single.over == .prompts && single.seeds == 1 && single.mean == mean)
        #expect(single.interval == Uncertainty.meanInterval(p, seed: 2))
        let given = Interval(lower: -1, upper: 1, level: 0.95)
        #expect(SeedAggregation.aggregate([SeedValue(seed: "", value: 0, perPrompt: p, promptInterval: given)], seed: 2)?.interval == given)
        let bare = try #require(SeedAggregation.aggregate([SeedValue(seed: "", value: 0.2)], seed: 2))
        #expect(bare.over == .none && bare.interval == nil)
        #expect(SeedAggregation.aggregate([], seed: 2) == nil)

        // b = a − 0.1 on every prompt: the paired difference is exactly 0.1, although the prompts vary a lot.
        let q = p.map { $0 - 0.1 }
        let d = try #require(SeedAggregation.pairedDifference([SeedValue(seed: "", value: mean, perPrompt: p)],
                                                              [SeedValue(seed: "", value: mean - 0.1, perPrompt: q)], seed: 3))
        #expect(d.over == .prompts && abs(d.mean - 0.1) < 1e-12)
        #expect(abs(d.interval!.lower - 0.1) < 1e-12 && abs(d.interval!.upper - 0.1) < 1e-12)
        // Per-prompt values of different lengths are not paired.
        let short = SeedValue(seed: "", value: 0, perPrompt: [0, 1])
        #expect(SeedAggregation.pairedDifference([SeedValue(seed: "", value: 1, perPrompt: p)], [short], seed: 3)?.interval == nil)
    }

    static func point(_ w: [Double], alpha: Double? = nil, rewards: [[Double]], kl: [Double]) -> EvaluationPoint {
        let m = rewards[0].count
        func est(_ xs: [Double]) -> Estimate { Estimate(mean: xs.reduce(0, +) / Double(xs.count), se: 0) }
        return EvaluationPoint(weights: w, alpha: alpha, rewards: (0..<m).map { i in est(rewards.map { $0[i] }) },
                               kl: est(kl), length: Estimate(mean: 5, se: 0), perPrompt: .init(rewards: rewards, kl: kl))
    }

    /// The per-prompt values behind the grid figures average to the figures themselves.
    @Test func perPromptValuesAverageToTheGridFigures() throws {
        let ref = Self.point([0.5, 0.5], rewards: [[0.1, 0.9], [0.3, 0.7], [0.2, 0.4]], kl: [0, 0, 0])
        let pts = [
            Self.point([1, 0], rewards: [[0.5, 0.2], [0.6, 0.1], [0.4, 0.3]], kl: [1, 2, 3]),
            Self.point([0.5, 0.5], rewards: [[0.3, 0.5], [0.2, 0.6], [0.1, 0.8]], kl: [0.5, 0.5, 0.5]),
            Self.point([0, 1], rewards: [[0.0, 0.9], [0.1, 1.0], [0.2, 0.7]], kl: [2, 1, 0]),
        ]
        for i in 0..<2 {
            let perPrompt = try #require(PerPromptValues.gridRewardMean(pts, reward: i))
            let grid: Double = pts.map { $0.rewards[i].mean }.reduce(0, +) / 3
            let perPromptMean: Double = perPrompt.reduce(0, +) / 3
            #expect(abs(perPromptMean - grid) < 1e-12)
        }
        let objective = pts.compactMap { TrainedObjective.estimate($0, reference: ref, alpha: 0.1, seed: 1) }
        let j = try #require(PerPromptValues.gridObjective(pts, objective: objective, reference: ref))
        let jMean: Double = j.reduce(0, +) / 3
        let objectiveMean: Double = objective.map(\.mean).reduce(0, +) / 3
        #expect(objective.count == 3)
        #expect(abs(jMean - objectiveMean) < 1e-12)
        let gains = TrainedObjective.vertexGains(pts, reference: ref, seed: 1)
        for g in gains {
            let v = try #require(PerPromptValues.vertexGain(pts, reference: ref, reward: g.rewardIndex))
            let vMean: Double = v.reduce(0, +) / Double(v.count)
            #expect(abs(vMean - g.mean) < 1e-12)
        }
        #expect(gains.count == 2)
        // A point without per-prompt values: no per-prompt grid mean.
        var missing = pts
        missing[1].perPrompt = nil
        #expect(PerPromptValues.gridRewardMean(missing, reward: 0) == nil)
    }
}
