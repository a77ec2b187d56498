import ClpFlowCore

// The objectives a front is measured on, the hypervolume reference point and the uncertainty of
// the grid-level figures (hypervolume, ρ). One definition, used by the evaluate step, the ablate
// step and the report (docs/evaluation.md, "Hypervolume reference point").

/// The objectives fronts are measured on. With a fixed KL weight: the m rewards. In multi-KL
/// workflows the KL is an objective too: (r₁ … r_m, −KL), every one maximised.
public enum Objectives {
    /// Whether any of these points is conditioned on α (a multi-KL evaluation): then −KL is an
    /// objective of every point of the run.
    public static func isMultiKL(_ sets: [[EvaluationPoint]]) -> Bool {
        sets.contains { $0.contains { $0.alpha != nil } }
    }

    /// Objective names, in vector order: the rewards, then `−KL` in multi-KL workflows.
    public static func names(rewardNames: [String], multiKL: Bool) -> [String] {
        rewardNames + (multiKL ? ["−KL"] : [])
    }

    /// The objective vectors of points: mean rewards (and −mean KL in multi-KL workflows).
    public static func vectors(_ points: [EvaluationPoint], multiKL: Bool) -> [[Double]] {
        points.map { vector($0, multiKL: multiKL) }
    }

    public static func vector(_ p: EvaluationPoint, multiKL: Bool) -> [Double] {
        p.rewards.map(\.mean) + (multiKL ? [-p.kl.mean] : [])
    }

    /// Hypervolume of the points' objective vectors against `reference` (`ParetoMetrics.hypervolume`).
    public static func hypervolume(_ points: [EvaluationPoint], reference: [Double], multiKL: Bool) -> Double {
        ParetoMetrics.hypervolume(vectors(points, multiKL: multiKL), reference: reference)
    }

    /// What each reward's steerability correlates with along the grid: for m ≥ 2 rewards, reward
    /// i against its weight wᵢ; for one reward in multi-KL workflows, the reward against 1/α (a
    /// steerable policy gains reward as α falls). Empty when neither applies.
    public static func steeringAxes(_ points: [EvaluationPoint], rewardCount m: Int, multiKL: Bool) -> [(rewardIndex: Int, x: [Double])] {
        if m > 1 { return (0..<m).map { i in (i, points.map { $0.weights[i] }) } }
        guard multiKL, !points.isEmpty, points.allSatisfy({ $0.alpha != nil }) else { return [] }
        return [(0, points.map { 1 / $0.alpha! })]
    }

    /// ρ(wᵢ, rᵢ) and the spread of rᵢ along the grid for m ≥ 2 rewards; for one reward in
    /// multi-KL workflows ρ(1/α, r).
    public static func steerability(_ points: [EvaluationPoint], rewardCount m: Int, multiKL: Bool) -> [ParetoMetrics.Steerability] {
        steeringAxes(points, rewardCount: m, multiKL: multiKL).map { axis in
            let r = points.map { $0.rewards[axis.rewardIndex].mean }
            let finite = r.filter(\.isFinite)
            return ParetoMetrics.Steerability(rewardIndex: axis.rewardIndex, rho: ParetoMetrics.spearman(axis.x, r),
                                              spread: finite.isEmpty ? 0 : finite.max()! - finite.min()!)
        }
    }
}

/// The point hypervolume is measured against, and how it was chosen.
public struct HypervolumeReference: Sendable, Hashable, Codable {
    public enum Rule: String, Sendable, Hashable, Codable {
        /// Declared in the workflow (`evaluate.reference_point: [...]`).
        case declared
        /// `evaluate.reference_point: auto`: the per-objective minimum over π_ref and every
        /// evaluated point (`ReferencePointRule.auto`).
        case auto
    }
    public enum Scope: String, Sendable, Hashable, Codable {
        /// Every evaluation of the run (the ablate step and the report, or any declared point).
        case run
        /// One evaluation alone: what an evaluate step can compute under `auto`, since it sees
        /// only its own method. Not comparable across methods.
        case evaluation
    }
    /// One number per objective, in the order of `objectives`.
    public var point: [Double]
    public var rule: Rule
    public var scope: Scope
    /// The objectives' names (the rewards, then `−KL` in multi-KL workflows).
    public var objectives: [String]

    public init(point: [Double], rule: Rule, scope: Scope, objectives: [String]) {
        self.point = point; self.rule = rule; self.scope = scope; self.objectives = objectives
    }

    /// One line for reports: the rule and what the point is.
    public var summary: String {
        switch (rule, scope) {
        case (.declared, _):
            return "declared in the workflow (evaluate.reference_point); objectives \(objectives.joined(separator: ", "))"
        case (.auto, .run):
            return "auto: the per-objective minimum over π_ref and every evaluated point of every method and seed of the run; objectives \(objectives.joined(separator: ", "))"
        case (.auto, .evaluation):
            return "auto over this evaluation's own points and its π_ref only (not comparable across methods; the ablate step and the report use the run-wide point); objectives \(objectives.joined(separator: ", "))"
        }
    }
}

public struct ReferencePointError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// The rule that fixes the hypervolume reference point (`evaluate.reference_point`).
public enum ReferencePointRule {
    /// `auto`: for each objective, the minimum over every π_ref evaluation and every evaluated
    /// point of every evaluation (non-finite values skipped). For the −KL objective of multi-KL
    /// workflows it is −(the largest KL), π_ref's own KL included. The point on which a minimum is
    /// attained adds no volume along that objective (boxes need strictly larger coordinates), so
    /// every other point is measured from the worst value any method reached.
    public static func auto(references: [EvaluationPoint], evaluations: [[EvaluationPoint]], multiKL: Bool) -> [Double] {
        let all = Objectives.vectors(references + evaluations.flatMap { $0 }, multiKL: multiKL)
        guard let m = all.first?.count else { return [] }
        return (0..<m).map { i in
            let finite = all.compactMap { i < $0.count && $0[i].isFinite ? $0[i] : nil }
            return finite.min() ?? 0
        }
    }

    /// The reference point of a set of evaluations: the declared point (checked against the
    /// objectives), else the `auto` rule over them. `scope` says whether `evaluations` are the
    /// whole run or one evaluation.
    public static func resolve(declared: [Double]?, rewardNames: [String], references: [EvaluationPoint],
                               evaluations: [[EvaluationPoint]], multiKL: Bool,
                               scope: HypervolumeReference.Scope) throws -> HypervolumeReference {
        let names = Objectives.names(rewardNames: rewardNames, multiKL: multiKL)
        if let declared {
            try check(declared, rewardNames: rewardNames, multiKL: multiKL)
            return HypervolumeReference(point: declared, rule: .declared, scope: .run, objectives: names)
        }
        return HypervolumeReference(point: auto(references: references, evaluations: evaluations, multiKL: multiKL),
                                    rule: .auto, scope: scope, objectives: names)
    }

    /// A declared point has one finite number per objective.
    public static func check(_ point: [Double], rewardNames: [String], multiKL: Bool) throws {
        let names = Objectives.names(rewardNames: rewardNames, multiKL: multiKL)
        guard point.count == names.count else {
            throw ReferencePointError(description: "evaluate.reference_point has \(point.count) number\(point.count == 1 ? "" : "s"); "
                + "the hypervolume has \(names.count) objective\(names.count == 1 ? "" : "s"): \(names.joined(separator: ", "))"
                + (multiKL ? " (multi-KL: the last is −KL in nats, e.g. -20 counts points with KL below 20)" : ""))
        }
        guard point.allSatisfy(\.isFinite) else {
            throw ReferencePointError(description: "evaluate.reference_point \(point) has a number that is not finite")
        }
    }
}

/// ρ's uncertainty for one reward: a bootstrap interval over prompts, the permutation p-value
/// and the spread noise alone gives.
public struct SteerabilityUncertainty: Sendable, Hashable, Codable {
    public var rewardIndex: Int
    /// Percentile bootstrap interval of ρ: prompts resampled jointly for every grid point.
    public var rhoInterval: Interval?
    /// Two-sided permutation p-value of ρ over the grid (`Uncertainty.spearmanPermutationP`).
    public var permutationP: Double?
    /// The 95th percentile of the spread of grid means when the weighting changes nothing
    /// (`Uncertainty.noiseSpread`); a spread above it is more than noise.
    public var noiseSpread: Double?

    public init(rewardIndex: Int, rhoInterval: Interval?, permutationP: Double?, noiseSpread: Double?) {
        self.rewardIndex = rewardIndex; self.rhoInterval = rhoInterval; self.permutationP = permutationP; self.noiseSpread = noiseSpread
    }
}

/// Bootstrap over prompts of figures computed from a whole grid: a resample draws prompt indices
/// with replacement once and applies them to every grid point (the same prompts answer every
/// weighting), recomputes each point's means and then the figure.
public enum GridBootstrap {
    /// Prompts shared by every point (the length of each point's per-prompt values); nil when a
    /// point has none or they differ.
    public static func promptCount(_ points: [EvaluationPoint]) -> Int? {
        guard let n = points.first?.perPrompt?.rewards.count, n > 0 else { return nil }
        for p in points {
            guard let pp = p.perPrompt, pp.rewards.count == n, pp.kl.count == n else { return nil }
        }
        return n
    }

    /// Each point's objective vector over the prompts `idx` (means of the per-prompt values).
    public static func vectors(_ points: [EvaluationPoint], prompts idx: [Int], multiKL: Bool) -> [[Double]] {
        points.map { p in
            let pp = p.perPrompt!
            let m = p.rewards.count
            var sums = [Double](repeating: 0, count: m + (multiKL ? 1 : 0))
            for j in idx {
                let row = pp.rewards[j]
                for i in 0..<m { sums[i] += row[i] }
                if multiKL { sums[m] -= pp.kl[j] }
            }
            return sums.map { $0 / Double(idx.count) }
        }
    }

    /// Seeds of the separate resamplings, derived from the step's seed.
    static func seed(_ seed: UInt64, _ stream: String) -> UInt64 {
        var r = SeededRandom(seed: seed, stream: stream)
        return r.next()
    }

    /// Interval of the hypervolume against the fixed `reference`.
    public static func hypervolumeInterval(_ points: [EvaluationPoint], reference: [Double], multiKL: Bool, seed: UInt64,
                                           resamples: Int = Uncertainty.defaultResamples) -> Interval? {
        guard let n = promptCount(points), reference.count == points[0].rewards.count + (multiKL ? 1 : 0) else { return nil }
        return Uncertainty.bootstrap(units: n, resamples: resamples, seed: Self.seed(seed, "hypervolume")) { idx in
            ParetoMetrics.hypervolume(vectors(points, prompts: idx, multiKL: multiKL), reference: reference)
        }
    }

    /// ρ interval, permutation p-value and noise spread for each steered reward
    /// (`Objectives.steeringAxes`), in the order of `Objectives.steerability`.
    public static func steerability(_ points: [EvaluationPoint], rewardCount m: Int, multiKL: Bool, seed: UInt64,
                                    resamples: Int = Uncertainty.defaultResamples) -> [SteerabilityUncertainty] {
        let n = promptCount(points)
        return Objectives.steeringAxes(points, rewardCount: m, multiKL: multiKL).map { axis in
            let i = axis.rewardIndex
            let means = points.map { $0.rewards[i].mean }
            var interval: Interval? = nil, noise: Double? = nil
            if let n {
                interval = Uncertainty.bootstrap(units: n, resamples: resamples, seed: Self.seed(seed, "rho/\(i)")) { idx in
                    let r = points.map { p in idx.reduce(0.0) { $0 + p.perPrompt!.rewards[$1][i] } / Double(idx.count) }
                    return ParetoMetrics.spearman(axis.x, r)
                }
                noise = Uncertainty.noiseSpread(pooled: points.flatMap { $0.perPrompt!.rewards.map { $0[i] } }, points: points.count,
                                                perPoint: n, resamples: resamples, seed: Self.seed(seed, "noise-spread/\(i)"))
            }
            return SteerabilityUncertainty(rewardIndex: i, rhoInterval: interval,
                                           permutationP: Uncertainty.spearmanPermutationP(axis.x, means, seed: Self.seed(seed, "permutation/\(i)")),
                                           noiseSpread: noise)
        }
    }
}

/// The hypervolume figures of every evaluation of a run against one reference point: what the
/// ablate step and the report both compute, so their tables agree.
public enum RunHypervolume {
    public struct Input: Sendable {
        public var points: [EvaluationPoint]
        public var reference: EvaluationPoint
        /// The evaluate step's seed: the hypervolume interval is drawn from it wherever it is computed.
        public var seed: UInt64?
        public init(points: [EvaluationPoint], reference: EvaluationPoint, seed: UInt64?) {
            self.points = points; self.reference = reference; self.seed = seed
        }
    }

    public struct Result: Sendable, Hashable {
        public var hypervolume: Double
        public var interval: Interval?
    }

    /// The run-wide reference point (declared, or `auto` over every evaluation) and each
    /// evaluation's hypervolume with its interval, in input order.
    public static func compute(_ evaluations: [Input], declared: [Double]?, rewardNames: [String]) throws
        -> (reference: HypervolumeReference, multiKL: Bool, results: [Result]) {
        let multiKL = Objectives.isMultiKL(evaluations.map(\.points))
        let ref = try ReferencePointRule.resolve(declared: declared, rewardNames: rewardNames, references: evaluations.map(\.reference),
                                                 evaluations: evaluations.map(\.points), multiKL: multiKL, scope: .run)
        let results = evaluations.map { e in
            Result(hypervolume: Objectives.hypervolume(e.points, reference: ref.point, multiKL: multiKL),
                   interval: e.seed.flatMap { GridBootstrap.hypervolumeInterval(e.points, reference: ref.point, multiKL: multiKL, seed: $0) })
        }
        return (ref, multiKL, results)
    }
}
