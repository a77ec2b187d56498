import ClpFlowCore
import Testing
@testable import ClpFlowEngine

/// A grid point whose per-prompt values are given (rows[j][i]: reward i on prompt j).
private func point(_ w: [Double], alpha: Double? = nil, rows: [[Double]], kl: [Double]? = nil) -> EvaluationPoint {
    let m = rows[0].count
    let kls = kl ?? Array(repeating: 0, count: rows.count)
    return EvaluationPoint(weights: w, alpha: alpha, rewards: (0..<m).map { i in Estimate(rows.map { $0[i] }) },
                           kl: Estimate(kls), length: Estimate([1]), perPrompt: .init(rewards: rows, kl: kls))
}

/// A point whose every prompt scores `means` (so the means are exact) with KL `kl`.
private func exact(_ w: [Double], _ means: [Double], alpha: Double? = nil, kl: Double = 0, prompts: Int = 4) -> EvaluationPoint {
    point(w, alpha: alpha, rows: Array(repeating: means, count: prompts), kl: Array(repeating: kl, count: prompts))
}

@Suite struct ReferencePointTests {
    /// Two rewards, three points (0.5, 0.1), (0.3, 0.4), (0.1, 0.6). Against (0, 0) the staircase
    /// is 0.5·0.1 + 0.3·0.3 + 0.1·0.2 = 0.16; against (0.2, 0) the third point adds nothing and
    /// the area is 0.3·0.1 + 0.1·0.3 = 0.06. Against π_ref's own rewards (0.35, 0.35) every
    /// point of this trade-off front crosses π_ref and the hypervolume is 0.
    @Test func hypervolumeOfHandComputedFrontsAgainstADeclaredPoint() throws {
        let pts = [exact([1, 0], [0.5, 0.1]), exact([0.5, 0.5], [0.3, 0.4]), exact([0, 1], [0.1, 0.6])]
        let ref = exact([0.5, 0.5], [0.35, 0.35])
        func hv(_ declared: [Double]) throws -> Double {
            try RunHypervolume.compute([.init(points: pts, reference: ref, seed: nil)], declared: declared,
                                       rewardNames: ["a", "b"]).results[0].hypervolume
        }
        #expect(abs(try hv([0, 0]) - 0.16) < 1e-12)
        #expect(abs(try hv([0.2, 0]) - 0.06) < 1e-12)
        // π_ref's rewards as the point: no point exceeds (0.35, 0.35) on both rewards.
        #expect(try hv([0.35, 0.35]) == 0)
        let r = try RunHypervolume.compute([.init(points: pts, reference: ref, seed: nil)], declared: [0, 0], rewardNames: ["a", "b"])
        #expect(r.reference.rule == .declared && r.reference.point == [0, 0] && r.reference.objectives == ["a", "b"])

        // Multi-KL, one reward: objectives (r, −KL). Points (0.5, KL 2) and (0.3, KL 1) against
        // (0, −4): 0.5·2 + 0.3·1 = 1.3.
        let mk = [exact([1], [0.5], alpha: 0.1, kl: 2), exact([1], [0.3], alpha: 1, kl: 1)]
        let m = try RunHypervolume.compute([.init(points: mk, reference: exact([1], [0.2]), seed: nil)], declared: [0, -4],
                                           rewardNames: ["r"])
        #expect(m.multiKL && m.reference.objectives == ["r", "−KL"])
        #expect(abs(m.results[0].hypervolume - 1.3) < 1e-12)
    }

    /// The auto rule: per objective, the minimum over every π_ref and every evaluated point of
    /// every evaluation; for −KL that is −(largest KL).
    @Test func autoRuleOnAConstructedSet() throws {
        let a = [exact([1, 0], [0.6, 0.2], alpha: 0.1, kl: 3), exact([0, 1], [0.1, 0.7], alpha: 0.5, kl: 1)]
        let b = [exact([1, 0], [0.4, 0.05], alpha: 0.1, kl: 5.5), exact([0, 1], [0.3, 0.5], alpha: 0.5, kl: 0.5)]
        let refA = exact([0.5, 0.5], [0.2, 0.3]), refB = exact([0.5, 0.5], [0.25, 0.1])
        #expect(ReferencePointRule.auto(references: [refA, refB], evaluations: [a, b], multiKL: true) == [0.1, 0.05, -5.5])
        #expect(ReferencePointRule.auto(references: [refA, refB], evaluations: [a, b], multiKL: false) == [0.1, 0.05])
        // π_ref's value wins where it is lowest.
        let low = exact([0.5, 0.5], [-1, 0.3])
        #expect(ReferencePointRule.auto(references: [low], evaluations: [a], multiKL: false) == [-1, 0.2])

        // The run-wide point is shared: each evaluation's hypervolume is against it, not its own.
        let run = try RunHypervolume.compute([.init(points: a, reference: refA, seed: 1), .init(points: b, reference: refB, seed: 2)],
                                             declared: nil, rewardNames: ["x", "y"])
        #expect(run.reference.rule == .auto && run.reference.scope == .run && run.reference.point == [0.1, 0.05, -5.5])
        for (k, pts) in [a, b].enumerated() {
            let want = ParetoMetrics.hypervolume(Objectives.vectors(pts, multiKL: true), reference: [0.1, 0.05, -5.5])
            #expect(abs(run.results[k].hypervolume - want) < 1e-15)
        }
        // b alone has a different auto point, so its own-points figure differs from the run-wide one.
        let own = try ReferencePointRule.resolve(declared: nil, rewardNames: ["x", "y"], references: [refB], evaluations: [b],
                                                 multiKL: true, scope: .evaluation)
        #expect(own.point == [0.25, 0.05, -5.5] && own.scope == .evaluation)
    }

    @Test func aDeclaredPointOfTheWrongLengthIsAClearError() {
        #expect {
            try ReferencePointRule.check([0, 0], rewardNames: ["rouge", "novel"], multiKL: true)
        } throws: { e in
            let text = "\(e)"
            return text.contains("has 2 numbers") && text.contains("3 objectives: rouge, novel, −KL") && text.contains("−KL in nats")
        }
        #expect(throws: ReferencePointError.self) {
            try ReferencePointRule.check([0, .nan], rewardNames: ["rouge", "novel"], multiKL: false)
        }
        #expect(throws: Never.self) { try ReferencePointRule.check([0, 0], rewardNames: ["rouge", "novel"], multiKL: false) }
    }

    /// Resampling prompts jointly: when every prompt scores a point's mean, every resample has
    /// the same grid means, so the hypervolume interval collapses onto the hypervolume.
    @Test func hypervolumeIntervalCollapsesWithoutNoise() throws {
        let pts = [exact([1, 0], [0.5, 0.1], prompts: 6), exact([0, 1], [0.1, 0.6], prompts: 6)]
        let i = try #require(GridBootstrap.hypervolumeInterval(pts, reference: [0, 0], multiKL: false, seed: 3, resamples: 200))
        #expect(abs(i.lower - 0.10) < 1e-12 && abs(i.upper - 0.10) < 1e-12)
        // Differing prompt counts between points: no joint resampling, no interval.
        let odd = [exact([1, 0], [0.5, 0.1], prompts: 6), exact([0, 1], [0.1, 0.6], prompts: 5)]
        #expect(GridBootstrap.hypervolumeInterval(odd, reference: [0, 0], multiKL: false, seed: 3) == nil)
    }

    /// Three well separated points, rewards with per-prompt noise (sd 0.15, 60 prompts): the
    /// 95 % interval of the hypervolume against a fixed point covers the hypervolume of the true
    /// means in at least 90 % of 150 simulated evaluations, and is deterministic per seed.
    @Test func hypervolumeIntervalCoversTheTrueHypervolume() throws {
        let truth = [[0.8, 0.2], [0.5, 0.5], [0.2, 0.8]]
        let reference = [0.0, 0.0]
        let trueHV = ParetoMetrics.hypervolume(truth, reference: reference)
        var rng = SeededRandom(seed: 5)
        var covered = 0
        let cases = 150
        var last: [EvaluationPoint] = []
        for k in 0..<cases {
            // Prompt effects shared across the grid (the same prompt is hard for every weighting).
            let promptEffect = (0..<60).map { _ in 0.1 * rng.normal() }
            last = truth.map { mu in
                point([0.5, 0.5], rows: promptEffect.map { e in mu.map { $0 + e + 0.1 * rng.normal() } })
            }
            let i = try #require(GridBootstrap.hypervolumeInterval(last, reference: reference, multiKL: false, seed: UInt64(k), resamples: 400))
            if i.contains(trueHV) { covered += 1 }
        }
        #expect(Double(covered) / Double(cases) >= 0.90, "coverage \(covered)/\(cases)")
        #expect(GridBootstrap.hypervolumeInterval(last, reference: reference, multiKL: false, seed: 9, resamples: 400)
                == GridBootstrap.hypervolumeInterval(last, reference: reference, multiKL: false, seed: 9, resamples: 400))
    }

    /// A grid that steers reward 0 strongly (mean 0.1 + 0.5·w₀) and leaves reward 1 flat.
    @Test func steerabilityUncertaintyOnAConstructedGrid() throws {
        var rng = SeededRandom(seed: 11)
        let ws = (0...4).map { Double($0) / 4 }
        let pts = ws.map { w in
            point([w, 1 - w], rows: (0..<40).map { _ in [0.1 + 0.5 * w + 0.05 * rng.normal(), 0.3 + 0.05 * rng.normal()] })
        }
        let u = GridBootstrap.steerability(pts, rewardCount: 2, multiKL: false, seed: 4, resamples: 500)
        let steer = Objectives.steerability(pts, rewardCount: 2, multiKL: false)
        #expect(u.map(\.rewardIndex) == [0, 1] && steer.map(\.rewardIndex) == [0, 1])
        // Reward 0: ρ = 1 over 5 points, exact permutation p = 2/120; the interval sits at 1; the
        // spread (≈ 0.5) is far above what noise gives (pooled sd ≈ 0.18, so ≈ 0.1 for 40 prompts).
        #expect(steer[0].rho == 1)
        #expect(abs(u[0].permutationP! - 2.0 / 120) < 1e-12)
        #expect(u[0].rhoInterval!.lower >= 0.99)
        #expect(steer[0].spread > u[0].noiseSpread!)
        // Reward 1: flat; its spread is what noise gives, and the interval of ρ is wide.
        #expect(steer[1].spread < u[1].noiseSpread! * 1.5)
        #expect(u[1].rhoInterval!.upper - u[1].rhoInterval!.lower > 0.5)
        // Deterministic per seed.
        #expect(u == GridBootstrap.steerability(pts, rewardCount: 2, multiKL: false, seed: 4, resamples: 500))
        // One reward, multi-KL: ρ(1/α, r).
        let mk = [0.02, 0.1, 0.5].map { a in point([1], alpha: a, rows: (0..<10).map { _ in [0.6 - a] }, kl: Array(repeating: 1, count: 10)) }
        let mu = GridBootstrap.steerability(mk, rewardCount: 1, multiKL: true, seed: 1, resamples: 100)
        #expect(mu.count == 1 && abs(mu[0].permutationP! - 2.0 / 6) < 1e-12)
    }
}
