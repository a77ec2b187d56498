import ClpFlowCore
import Testing
@testable import ClpFlowEngine

@Suite struct WeightSamplingTests {
    func moments(_ d: WeightSampler.Distribution, m: Int, n: Int = 20000, seed: UInt64 = 3) -> (mean: [Double], variance: [Double], draws: [[Double]]) {
        let s = WeightSampler(distribution: d, rewardCount: m)
        var rng = SeededRandom(seed: seed)
        var draws: [[Double]] = []
        for _ in 0..<n { draws.append(s.sample(&rng)) }
        var mean = [Double](repeating: 0, count: m), sq = [Double](repeating: 0, count: m)
        for w in draws { for i in 0..<m { mean[i] += w[i]; sq[i] += w[i] * w[i] } }
        mean = mean.map { $0 / Double(n) }
        let variance = (0..<m).map { sq[$0] / Double(n) - mean[$0] * mean[$0] }
        return (mean, variance, draws)
    }

    @Test(arguments: [0.3, 1.0, 3.0])
    func dirichletMoments(concentration c: Double) {
        let m = 3
        let r = moments(.dirichlet(concentration: c), m: m)
        // Symmetric Dirichlet: E[wᵢ] = 1/m, Var[wᵢ] = (1/m)(1 − 1/m) / (m·c + 1).
        let expectedVar = (1.0 / 3) * (2.0 / 3) / (Double(m) * c + 1)
        for i in 0..<m {
            #expect(abs(r.mean[i] - 1.0 / 3) < 0.01)
            #expect(abs(r.variance[i] - expectedVar) < 0.08 * expectedVar + 0.002)
        }
        for w in r.draws { #expect(abs(w.reduce(0, +) - 1) < 1e-9); #expect(w.allSatisfy { $0 >= 0 }) }
    }

    @Test func uniformIsDirichletOne() {
        let r = moments(.uniform, m: 2)
        // Dirichlet(1,1): w₁ ~ U(0,1): variance 1/12.
        #expect(abs(r.variance[0] - 1.0 / 12) < 0.003)
    }

    @Test func verticesAndFixedAndMixture() {
        let v = moments(.vertices, m: 4)
        for w in v.draws { #expect(w.filter { $0 == 1 }.count == 1) }
        for i in 0..<4 { #expect(abs(v.mean[i] - 0.25) < 0.015) }

        let f = moments(.fixed([0.2, 0.8]), m: 2, n: 10)
        for w in f.draws { #expect(w == [0.2, 0.8]) }

        let mix = moments(.mixture([WeightSampler.Component(probability: 0.75, distribution: .fixed([1, 0])),
                                    WeightSampler.Component(probability: 0.25, distribution: .fixed([0, 1]))]), m: 2)
        #expect(abs(mix.mean[0] - 0.75) < 0.01)
    }

    @Test func sameSeedSameDraws() {
        let a = moments(.dirichlet(concentration: 0.5), m: 3, n: 50, seed: 9).draws
        let b = moments(.dirichlet(concentration: 0.5), m: 3, n: 50, seed: 9).draws
        let c = moments(.dirichlet(concentration: 0.5), m: 3, n: 50, seed: 10).draws
        #expect(a == b)
        #expect(a != c)
    }

    @Test func adaptiveShiftsMassToLaggingWeightings() {
        var s = WeightSampler(distribution: .adaptive(base: .vertices, rate: 1.0, bins: 3), rewardCount: 2)
        // Lattice for 3 points per edge: (0,1), (0.5,0.5), (1,0).
        // The vertices reach rewards (1,0) and (0,1); the middle weighting only reaches (0.1,0.1)
        // although the front offers 0.5 there: it lags by 0.4, the vertices by 0.
        s.observe(weights: [1, 0], rewards: [1, 0])
        s.observe(weights: [0, 1], rewards: [0, 1])
        s.observe(weights: [0.5, 0.5], rewards: [0.1, 0.1])
        let lags = s.adaptive[""]!.lags()
        #expect(lags.count == 3)
        #expect(abs(lags[0]) < 1e-12 && abs(lags[2]) < 1e-12)
        #expect(abs(lags[1] - 0.4) < 1e-12)
        var rng = SeededRandom(seed: 1)
        for _ in 0..<100 { #expect(s.sample(&rng) == [0.5, 0.5]) }
    }

    @Test func adaptiveUnseenPointsGetLargestLag() {
        var a = AdaptiveWeighting(rewardCount: 2, pointsPerEdge: 3, rate: 0.5, scalarization: .linear)
        #expect(a.lags() == [1, 1, 1])
        a.observe(weights: [1, 0], rewards: [1, 0])
        a.observe(weights: [0.4, 0.6], rewards: [0.2, 0.2])  // nearest point: (0.5, 0.5)
        let l = a.lags()
        // middle: front {(1,0),(0.2,0.2)} → best 0.5 at (0.5,0.5) vs 0.2 achieved: lag 0.3.
        #expect(abs(l[1] - 0.3) < 1e-12)
        #expect(abs(l[0] - 0.3) < 1e-12)  // (0,1) is unseen: it gets the largest lag seen
        #expect(abs(l[2]) < 1e-12)        // (1,0) reached the front
    }

    @Test func alphaLogUniform() {
        let s = AlphaSampler(AlphaRange(min: 0.01, max: 1))
        var rng = SeededRandom(seed: 5)
        var sumLog = 0.0
        let n = 20000
        for _ in 0..<n {
            let a = s.sample(&rng)
            #expect(a >= 0.01 && a <= 1)
            sumLog += a.logarithm
        }
        #expect(abs(sumLog / Double(n) - (0.01.logarithm + 0.0) / 2) < 0.03)
    }

    @Test func adaptiveLatticeIsTheEvaluationLattice() {
        let a = AdaptiveWeighting(rewardCount: 3, pointsPerEdge: 6, rate: 0.5, scalarization: .linear)
        #expect(a.lattice == ParetoMetrics.simplexLattice(rewards: 3, pointsPerEdge: 6))
        #expect(a.lattice.count == 21)
    }
}

@Suite struct ScalarizationTests {
    @Test func linear() {
        #expect(Scalarizer(.linear).value(weights: [0.25, 0.75], rewards: [4, 8]) == 7)
    }

    @Test func tchebycheffLimits() {
        let r = [0.2, 0.9]
        // Vertex: exactly that reward.
        #expect(abs(Scalarizer(.tchebycheff(temperature: 0.1)).value(weights: [1, 0], rewards: r) - 0.2) < 1e-12)
        // Small τ: the minimum over supported rewards.
        #expect(abs(Scalarizer(.tchebycheff(temperature: 1e-3)).value(weights: [0.5, 0.5], rewards: r) - 0.2) < 0.002)
        // Large τ: the linear scalarization.
        #expect(abs(Scalarizer(.tchebycheff(temperature: 1e4)).value(weights: [0.5, 0.5], rewards: r) - 0.55) < 1e-3)
        // Hand value: −τ log(0.5 e^{−2} + 0.5 e^{−9}) with τ = 0.1.
        let expected = -0.1 * ((0.5 * (-2.0).exponential + 0.5 * (-9.0).exponential).logarithm)
        #expect(abs(Scalarizer(.tchebycheff(temperature: 0.1)).value(weights: [0.5, 0.5], rewards: r) - expected) < 1e-12)
    }

    @Test func tchebycheffGradientMatchesFiniteDifferences() {
        let s = Scalarizer(.tchebycheff(temperature: 0.3))
        let w = [0.3, 0.5, 0.2], r = [0.1, 0.7, -0.4]
        let g = s.gradient(weights: w, rewards: r)
        for i in 0..<3 {
            var rp = r, rm = r
            rp[i] += 1e-6; rm[i] -= 1e-6
            let fd = (s.value(weights: w, rewards: rp) - s.value(weights: w, rewards: rm)) / 2e-6
            #expect(abs(fd - g[i]) < 1e-6)
        }
    }
}

@Suite struct ConditioningTests {
    @Test func mixtureAndGradientRouting() {
        // A 10-parameter "model"; slices [2,5) and [7,9) are conditioned with 3 copies.
        let slices = [ParamSlice(offset: 2, count: 3), ParamSlice(offset: 7, count: 2)]
        var rng = SeededRandom(seed: 11)
        var params = (0..<10).map { _ in Float(rng.normal()) }
        var copies = params.withUnsafeBufferPointer { ConditionedCopies(slices: slices, copyCount: 3, initialFrom: $0.baseAddress!) }
        for j in 0..<copies.copies.count { copies.copies[j] += Float(rng.normal()) }  // make copies differ
        let w: [Float] = [0.2, 0.5, 0.3]
        let a = (0..<10).map { _ in Double(rng.normal()) }
        // Loss L(θ) = Σ_j a_j θ_j² / 2, so ∂L/∂θ_j = a_j θ_j.
        func loss(_ c: ConditionedCopies) -> Double {
            var p = params
            p.withUnsafeMutableBufferPointer { c.materialize(weights: w, into: $0.baseAddress!) }
            return (0..<10).reduce(0.0) { $0 + a[$1] * Double(p[$1]) * Double(p[$1]) / 2 }
        }
        params.withUnsafeMutableBufferPointer { copies.materialize(weights: w, into: $0.baseAddress!) }
        // The shared entries are untouched; the conditioned ones are the mixture.
        #expect(params[0] == params[0])
        let g = (0..<10).map { Float(a[$0] * Double(params[$0])) }
        g.withUnsafeBufferPointer { copies.accumulateGradients(weights: w, from: $0.baseAddress!) }
        var worst = 0.0
        for j in 0..<copies.copies.count {
            var cp = copies, cm = copies
            cp.copies[j] += 1e-2; cm.copies[j] -= 1e-2
            let fd = (loss(cp) - loss(cm)) / 2e-2
            worst = max(worst, abs(fd - Double(copies.grads[j])))
        }
        #expect(worst < 1e-3)
    }

    @Test func vertexMaterializesThatCopy() {
        let slices = [ParamSlice(offset: 0, count: 4)]
        let c = ConditionedCopies(slices: slices, copies: [[1, 2, 3, 4], [5, 6, 7, 8]])
        var p = [Float](repeating: -1, count: 4)
        p.withUnsafeMutableBufferPointer { c.materialize(weights: [0, 1], into: $0.baseAddress!) }
        #expect(p == [5, 6, 7, 8])
        p.withUnsafeMutableBufferPointer { c.materialize(weights: [0.5, 0.5], into: $0.baseAddress!) }
        #expect(p == [3, 4, 5, 6])
    }

    @Test func multiKLCoefficients() {
        let c = ConditioningInput(weights: [1], alpha: 0.25).mixingCoefficients
        #expect(abs(c[0] - 0.8) < 1e-12 && abs(c[1] - 0.2) < 1e-12)
        #expect(ConditioningInput(weights: [0.3, 0.7]).mixingCoefficients == [0.3, 0.7])
    }

    @Test func promptPrefixFormat() {
        #expect(ConditioningInput(weights: [0.3, 0.7]).promptPrefix(rewardNames: ["rouge", "novelty"])
            == "[weights rouge=0.30 novelty=0.70] ")
        #expect(ConditioningInput(weights: [1], alpha: 0.05).promptPrefix(rewardNames: ["r"])
            == "[weights r=1.00 kl=0.0500] ")
    }

    @Test func leaveOneOut() {
        let a = Reinforce.leaveOneOutAdvantages([1, 2, 3, 6])
        // sample 0: 1 − (2+3+6)/3 = −8/3
        #expect(abs(a[0] + 8.0 / 3) < 1e-12)
        #expect(abs(a[3] - (6 - 2)) < 1e-12)
        #expect(abs(a.reduce(0, +)) < 1e-12)
        #expect(Reinforce.leaveOneOutAdvantages([5]) == [5])
        #expect(Reinforce.sequenceReturn(scalarizedReward: 1, logProbPolicy: -2, logProbReference: -3, alpha: 0.1) == 0.9)
    }
}

/// `stages[].reward_balance: within-prompt` (docs/rl.md, "Reward balance").
@Suite struct RewardBalanceTests {
    /// k samples of one prompt whose reward i deviates by ±spread[i] around center[i].
    static func group(center: [Double], spread: [Double], k: Int = 4) -> [[Double]] {
        (0..<k).map { j in (0..<center.count).map { i in center[i] + (j % 2 == 0 ? spread[i] : -spread[i]) } }
    }

    static func withinSD(_ g: [[Double]], _ i: Int) -> Double {
        let mean = g.reduce(0) { $0 + $1[i] } / Double(g.count)
        return (g.reduce(0) { $0 + ($1[i] - mean) * ($1[i] - mean) } / Double(g.count - 1)).squareRoot()
    }

    @Test func equalisesWithinPromptSpreadsAndKeepsTheirProduct() {
        var b = RewardBalancer(kind: .withinPrompt, rewardCount: 2)
        #expect(b.factors == [1, 1])
        let g = Self.group(center: [3, -1], spread: [0.25, 1])
        b.observe(group: g)
        let f = b.factors
        #expect(abs(f[0] * f[1] - 1) < 1e-12)
        let balanced = g.map(b.apply)
        #expect(abs(Self.withinSD(balanced, 0) - Self.withinSD(balanced, 1)) < 1e-12)
        // sd of ±s over 4 samples (unbiased) is s·√(4/3); g = √(sd₀·sd₁), fᵢ = g/sdᵢ.
        let sd = [0.25, 1].map { $0 * (4.0 / 3).squareRoot() }
        let geo = (sd[0] * sd[1]).squareRoot()
        #expect(abs(f[0] - geo / sd[0]) < 1e-12 && abs(f[1] - geo / sd[1]) < 1e-12)
    }

    @Test func runningAverageDecays() {
        var b = RewardBalancer(kind: .withinPrompt, rewardCount: 1)
        b.observe(group: Self.group(center: [0], spread: [1]))
        b.observe(group: Self.group(center: [5], spread: [3]))
        let v1 = 4.0 / 3, v2 = 9 * 4.0 / 3
        let expected = RewardBalancer.decay * v1 + (1 - RewardBalancer.decay) * v2
        #expect(abs(b.variance![0] - expected) < 1e-12)
        // A single reward is its own geometric mean.
        #expect(b.factors == [1])
    }

    @Test func constantRewardsAndNoneAreLeftAlone() {
        var none = RewardBalancer(kind: .none, rewardCount: 2)
        none.observe(group: Self.group(center: [0, 0], spread: [0.1, 5]))
        #expect(none.variance == nil && none.apply([0.3, -2]) == [0.3, -2])
        // Reward 1 never varies within a prompt: factor 1, and the others are balanced among themselves.
        var b = RewardBalancer(kind: .withinPrompt, rewardCount: 3)
        b.observe(group: Self.group(center: [0, 7, 1], spread: [0.5, 0, 2]))
        let f = b.factors
        #expect(f[1] == 1)
        #expect(abs(f[0] * f[2] - 1) < 1e-12 && f[0] > 1 && f[2] < 1)
        // Groups of one sample carry no within-prompt information.
        var single = RewardBalancer(kind: .withinPrompt, rewardCount: 2)
        single.observe(group: [[1, 2]])
        #expect(single.variance == nil)
    }

    @Test func factorsAreBounded() {
        var b = RewardBalancer(kind: .withinPrompt, rewardCount: 2)
        b.observe(group: Self.group(center: [0, 0], spread: [1e-3, 10]))
        #expect(b.factors == [RewardBalancer.limit, 1 / RewardBalancer.limit])
    }

    @Test func restoredVarianceOfTheWrongLengthIsIgnored() {
        #expect(RewardBalancer(kind: .withinPrompt, rewardCount: 2, variance: [1, 2, 3]).variance == nil)
        let f = RewardBalancer(kind: .withinPrompt, rewardCount: 2, variance: [1, 4]).factors
        #expect(abs(f[0] - 2.0.squareRoot()) < 1e-12 && abs(f[1] - 0.5.squareRoot()) < 1e-12)
    }
}
