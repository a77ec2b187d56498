/// The objective RL trains for, measured on held-out prompts: for a weighting w and KL weight α,
/// J(w) = Σᵢ wᵢ r̃ᵢ − α · KL(π ‖ π_ref), with r̃ᵢ = (rᵢ − r̄ᵢ) / sᵢ the reward standardised by π_ref's
/// mean r̄ᵢ and standard deviation sᵢ on the same prompts. π_ref's own J is 0 at every w (its
/// standardised rewards average 0 and its KL is 0), so J(w) > 0 means the method beats π_ref on
/// the objective it was trained for. Per prompt, J_j = Σᵢ wᵢ r̃_ji − α · KL_j; intervals resample
/// prompts, paired with π_ref's responses to the same prompts (docs/evaluation.md).
public struct ObjectiveEstimate: Sendable, Hashable, Codable {
    public var weights: [Double]
    public var alpha: Double
    /// Mean of J_j over the prompts.
    public var mean: Double
    /// Bootstrap interval of the mean difference J − J_ref over the prompts (paired).
    public var interval: Interval?
}

public enum TrainedObjective {
    /// π_ref's per-reward standard deviations over its per-prompt rewards (1 where a reward is
    /// constant, so a constant reward adds its raw difference).
    public static func scales(_ reference: EvaluationPoint) -> [Double]? {
        guard let rows = reference.perPrompt?.rewards, let m = rows.first?.count else { return nil }
        return (0..<m).map { i in
            let sd = ParetoMetrics.standardDeviation(rows.map { $0[i] }) ?? 0
            return sd > 1e-12 ? sd : 1
        }
    }

    /// J_j − J_ref,j per prompt, or nil when per-prompt values are missing or the prompts differ
    /// in number.
    public static func perPromptGain(_ point: EvaluationPoint, reference: EvaluationPoint, alpha: Double) -> [Double]? {
        guard let p = point.perPrompt, let r = reference.perPrompt, let s = scales(reference),
              p.rewards.count == r.rewards.count, p.kl.count == p.rewards.count, r.kl.count == r.rewards.count else { return nil }
        let w = point.weights
        return (0..<p.rewards.count).map { j in
            var gain = 0.0
            for i in 0..<w.count { gain += w[i] * (p.rewards[j][i] - r.rewards[j][i]) / s[i] }
            return gain - alpha * (p.kl[j] - r.kl[j])
        }
    }

    /// J(w) of a point (relative to π_ref, whose J is 0) with its paired bootstrap interval.
    public static func estimate(_ point: EvaluationPoint, reference: EvaluationPoint, alpha: Double,
                                seed: UInt64) -> ObjectiveEstimate? {
        guard let gains = perPromptGain(point, reference: reference, alpha: alpha), !gains.isEmpty else { return nil }
        return ObjectiveEstimate(weights: point.weights, alpha: alpha, mean: gains.reduce(0, +) / Double(gains.count),
                                 interval: Uncertainty.meanInterval(gains, seed: seed))
    }
}

/// What a method gains over π_ref on reward i at the vertex eᵢ (the weighting that asks for reward
/// i alone): the mean paired difference r_i − r_ref,i over the prompts, with a bootstrap interval.
/// A SOFT or vertex policy whose interval does not lie above 0 has not learned the one reward it
/// was trained for.
public struct VertexGain: Sendable, Hashable, Codable {
    public var rewardIndex: Int
    /// α of the vertex point (multi-KL: the smallest evaluated α, the least regularised).
    public var alpha: Double?
    public var mean: Double
    public var interval: Interval?
    /// The interval lies above 0.
    public var beatsReference: Bool { interval?.excludesZeroFromAbove ?? false }
}

extension TrainedObjective {
    /// One gain per reward whose vertex eᵢ was evaluated (with per-prompt values on both sides).
    public static func vertexGains(_ points: [EvaluationPoint], reference: EvaluationPoint, seed: UInt64) -> [VertexGain] {
        guard let ref = reference.perPrompt, let m = points.first?.weights.count else { return [] }
        return (0..<m).compactMap { i in
            let atVertex = points.filter { $0.weights[i] == 1 && $0.perPrompt?.rewards.count == ref.rewards.count }
            guard let p = atVertex.min(by: { ($0.alpha ?? 0) < ($1.alpha ?? 0) }), let rows = p.perPrompt?.rewards else { return nil }
            let diffs = zip(rows, ref.rewards).map { $0.0[i] - $0.1[i] }
            guard !diffs.isEmpty else { return nil }
            return VertexGain(rewardIndex: i, alpha: p.alpha, mean: diffs.reduce(0, +) / Double(diffs.count),
                              interval: Uncertainty.meanInterval(diffs, seed: seed &+ UInt64(i)))
        }
    }
}
