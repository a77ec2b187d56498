import ClpFlowCore

/// Draws reward weightings w ∈ Δ_m for training, one per example, from a distribution (a
/// workflow's `weights.train`). All randomness comes from the generator passed in.
public struct WeightSampler: Sendable {
    /// Distribution of the weightings drawn.
    public indirect enum Distribution: Sendable, Hashable {
        case dirichlet(concentration: Double)
        case uniform
        case vertices
        case fixed([Double])
        /// Shift sampling mass toward weightings whose scalarized reward lags the current front
        /// (`AdaptiveWeighting`).
        case adaptive(base: Distribution, rate: Double, bins: Int)
        /// Each draw picks a component with its (unnormalised) probability.
        case mixture([Component])
    }

    public struct Component: Sendable, Hashable {
        public var probability: Double
        public var distribution: Distribution
        public init(probability: Double, distribution: Distribution) {
            self.probability = probability; self.distribution = distribution
        }
    }

    public let distribution: Distribution
    public let rewardCount: Int
    /// State of every `adaptive` node, keyed by its position in the distribution tree.
    public private(set) var adaptive: [String: AdaptiveWeighting] = [:]

    public init(distribution: Distribution, rewardCount m: Int, scalarization: Scalarizer.Rule = .linear) {
        precondition(m >= 1, "at least one reward")
        self.distribution = distribution
        self.rewardCount = m
        WeightSampler.collectAdaptive(distribution, path: "", m: m, scalarization: scalarization, into: &adaptive)
    }

    private static func collectAdaptive(_ d: Distribution, path: String, m: Int, scalarization: Scalarizer.Rule,
                                        into out: inout [String: AdaptiveWeighting]) {
        switch d {
        case .adaptive(let base, let rate, let bins):
            out[path] = AdaptiveWeighting(rewardCount: m, pointsPerEdge: bins, rate: rate, scalarization: scalarization)
            collectAdaptive(base, path: path + "/base", m: m, scalarization: scalarization, into: &out)
        case .mixture(let components):
            for (i, c) in components.enumerated() {
                collectAdaptive(c.distribution, path: path + "/\(i)", m: m, scalarization: scalarization, into: &out)
            }
        default: break
        }
    }

    public func sample(_ rng: inout SeededRandom) -> [Double] {
        sample(distribution, path: "", &rng)
    }

    /// What the sampler has learned so far (the adaptive nodes' estimates), to save and restore.
    public var learned: [String: [[Double]?]] { adaptive.mapValues(\.estimates) }

    /// Restores estimates saved from `learned` of a sampler with the same distribution.
    public mutating func restore(learned: [String: [[Double]?]]) throws {
        guard Set(learned.keys) == Set(adaptive.keys) else {
            throw TrainingError.emptyData("saved weight-sampler state does not match the distribution's adaptive nodes")
        }
        for (path, e) in learned { try adaptive[path]!.restore(estimates: e) }
    }

    private func sample(_ d: Distribution, path: String, _ rng: inout SeededRandom) -> [Double] {
        let m = rewardCount
        switch d {
        case .dirichlet(let c):
            return WeightSampler.dirichlet(concentration: c, m: m, &rng)
        case .uniform:
            return WeightSampler.dirichlet(concentration: 1, m: m, &rng)
        case .vertices:
            var w = [Double](repeating: 0, count: m)
            w[Int(rng.next() % UInt64(m))] = 1
            return w
        case .fixed(let w):
            return w
        case .mixture(let components):
            let total = components.reduce(0) { $0 + $1.probability }
            var u = rng.uniform() * total
            for (i, c) in components.enumerated() {
                u -= c.probability
                if u < 0 || i == components.count - 1 {
                    return sample(c.distribution, path: path + "/\(i)", &rng)
                }
            }
            return sample(components[0].distribution, path: path + "/0", &rng)
        case .adaptive(let base, _, _):
            let state = adaptive[path]!
            if rng.uniform() < state.rate, let w = state.drawLagging(&rng) { return w }
            return sample(base, path: path + "/base", &rng)
        }
    }

    /// Feeds the rewards obtained at a training weighting to every adaptive node.
    public mutating func observe(weights: [Double], rewards: [Double]) {
        for key in adaptive.keys { adaptive[key]!.observe(weights: weights, rewards: rewards) }
    }

    /// Dirichlet(c, …, c) by normalised Gamma draws.
    public static func dirichlet(concentration c: Double, m: Int, _ rng: inout SeededRandom) -> [Double] {
        var g = (0..<m).map { _ in rng.gamma(shape: c) }
        var s = g.reduce(0, +)
        if !(s > 0) {  // every draw underflowed (tiny concentration): fall back to a vertex
            g = [Double](repeating: 0, count: m); g[Int(rng.next() % UInt64(m))] = 1; s = 1
        }
        return g.map { $0 / s }
    }
}

/// Adaptive weight sampling (beyond the paper): shifts sampling mass toward weightings where the
/// policy's scalarized reward lags what the current front suggests is reachable.
///
/// Rule (docs/rl.md): the simplex is covered by a lattice with `pointsPerEdge` points per edge.
/// Each training sample is attributed to its nearest lattice point k, whose reward vector
/// estimate r̄ₖ is an exponential moving average (decay 0.9) of the samples' reward vectors. The
/// current front F is the set of non-dominated r̄ₖ. The lag of point k is
/// lagₖ = max_{p ∈ F} s_{wₖ}(p) − s_{wₖ}(r̄ₖ) ≥ 0, where s_w is the workflow's scalarization;
/// a point never observed gets the largest lag seen (or 1 when nothing was observed). With
/// probability `rate` a draw returns the lattice weighting wₖ chosen with probability
/// ∝ lagₖ (uniformly when every lag is 0); otherwise it comes from the base distribution.
public struct AdaptiveWeighting: Sendable, Hashable {
    public let rate: Double
    public let lattice: [[Double]]
    public let scalarization: Scalarizer.Rule
    public private(set) var estimates: [[Double]?]
    public static let decay = 0.9

    public init(rewardCount m: Int, pointsPerEdge: Int, rate: Double, scalarization: Scalarizer.Rule) {
        self.rate = rate
        self.scalarization = scalarization
        self.lattice = ParetoMetrics.simplexLattice(rewards: m, pointsPerEdge: max(2, pointsPerEdge))
        self.estimates = Array(repeating: nil, count: lattice.count)
    }

    public func nearest(_ w: [Double]) -> Int {
        var best = 0, bestD = Double.infinity
        for (k, p) in lattice.enumerated() {
            var d = 0.0
            for i in 0..<p.count { let x = p[i] - w[i]; d += x * x }
            if d < bestD { bestD = d; best = k }
        }
        return best
    }

    mutating func restore(estimates e: [[Double]?]) throws {
        guard e.count == lattice.count else {
            throw TrainingError.emptyData("saved adaptive-weighting state has \(e.count) lattice points, expected \(lattice.count)")
        }
        estimates = e
    }

    public mutating func observe(weights: [Double], rewards: [Double]) {
        let k = nearest(weights)
        if let e = estimates[k] {
            estimates[k] = zip(e, rewards).map { AdaptiveWeighting.decay * $0 + (1 - AdaptiveWeighting.decay) * $1 }
        } else {
            estimates[k] = rewards
        }
    }

    /// Lag of every lattice point under the rule above.
    public func lags() -> [Double] {
        let seen = estimates.compactMap { $0 }
        if seen.isEmpty { return Array(repeating: 1, count: lattice.count) }
        let front = seen.filter { p in !seen.contains { q in Scalarizer.dominates(q, p) } }
        var lags = [Double?](repeating: nil, count: lattice.count)
        for (k, w) in lattice.enumerated() {
            guard let e = estimates[k] else { continue }
            let s = Scalarizer(scalarization)
            let best = front.map { s.value(weights: w, rewards: $0) }.max() ?? s.value(weights: w, rewards: e)
            lags[k] = max(0, best - s.value(weights: w, rewards: e))
        }
        let maxLag = lags.compactMap { $0 }.max() ?? 1
        return lags.map { $0 ?? (maxLag > 0 ? maxLag : 1) }
    }

    func drawLagging(_ rng: inout SeededRandom) -> [Double]? {
        let l = lags()
        let total = l.reduce(0, +)
        if total <= 0 { return lattice[Int(rng.next() % UInt64(lattice.count))] }
        var u = rng.uniform() * total
        for (k, x) in l.enumerated() {
            u -= x
            if u < 0 { return lattice[k] }
        }
        return lattice[lattice.count - 1]
    }
}

/// Samples the KL weight α for multi-KL training.
public struct AlphaSampler: Sendable {
    public let range: AlphaRange
    public init(_ range: AlphaRange) { self.range = range }

    public func sample(_ rng: inout SeededRandom) -> Double {
        let u = rng.uniform()
        switch range.spacing {
        case .logUniform:
            let lo = range.min.logarithm, hi = range.max.logarithm
            return (lo + u * (hi - lo)).exponential
        case .uniform:
            return range.min + u * (range.max - range.min)
        }
    }
}
