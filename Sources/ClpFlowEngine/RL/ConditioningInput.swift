
/// What a policy is conditioned on: the reward weighting w and, in multi-KL workflows, α.
public struct ConditioningInput: Sendable, Hashable, Codable {
    public var weights: [Double]
    public var alpha: Double?

    public init(weights: [Double], alpha: Double? = nil) { self.weights = weights; self.alpha = alpha }

    /// The mixing coefficients of the copies. With a fixed α there is one copy per reward and the
    /// coefficients are w. In multi-KL workflows the KL term is an extra "objective" with its own
    /// copy: c = (w / (1 + α), α / (1 + α)) ∈ Δ_{m+1}, so that maximising
    /// Σᵢ cᵢ rᵢ − c_{m+1} · KL = (Σᵢ wᵢ rᵢ − α · KL) / (1 + α) has the same optimum as the
    /// α-regularised objective (docs/rl.md).
    public var mixingCoefficients: [Double] {
        guard let a = alpha else { return weights }
        return weights.map { $0 / (1 + a) } + [a / (1 + a)]
    }

    /// The mixing coefficients under a KL encoding: `linear` gives `mixingCoefficients`;
    /// `interpolate(α_min)` gives (λ·w, 1 − λ) with λ = α_min/α, the last coefficient being the
    /// frozen π_ref copy's (throws for α < α_min).
    public func mixingCoefficients(encoding: KLEncoding) throws -> [Double] {
        guard let a = alpha else { return weights }
        switch encoding {
        case .linear: return mixingCoefficients
        case .interpolate(let alphaMin):
            let lambda = try KLEncoding.lambda(alpha: a, alphaMin: alphaMin)
            return weights.map { lambda * $0 } + [1 - lambda]
        }
    }

    /// Number of copies a conditioned model needs for m rewards.
    public static func copyCount(rewards m: Int, multiKL: Bool) -> Int { multiKL ? m + 1 : m }

    /// The text form written into the prompt for prompt conditioning (docs/rl.md):
    /// `[weights name1=0.30 name2=0.70 kl=0.050]` followed by a space, two decimals for weights,
    /// three significant digits for α. Rendered before the document.
    public func promptPrefix(rewardNames: [String]) -> String {
        precondition(rewardNames.count == weights.count)
        var parts: [String] = []
        for (n, w) in zip(rewardNames, weights) { parts.append("\(n)=\(ConditioningInput.fixed(w, 2))") }
        if let a = alpha { parts.append("kl=\(ConditioningInput.significant(a, 3))") }
        return "[weights " + parts.joined(separator: " ") + "] "
    }

    static func fixed(_ x: Double, _ digits: Int) -> String {
        var p = 1.0
        for _ in 0..<digits { p *= 10 }
        let v = (x * p).rounded() / p
        var s = String(Int((abs(v) * p).rounded()))
        while s.count <= digits { s = "0" + s }
        let cut = s.index(s.endIndex, offsetBy: -digits)
        return (v < 0 ? "-" : "") + s[..<cut] + "." + s[cut...]
    }

    static func significant(_ x: Double, _ digits: Int) -> String {
        if x == 0 { return "0" }
        var e = 0
        var y = abs(x)
        while y >= 10 { y /= 10; e += 1 }
        while y < 1 { y *= 10; e -= 1 }
        let decimals = max(0, digits - 1 - e)
        return fixed(x, decimals)
    }
}

/// REINFORCE with a leave-one-out baseline (docs/rl.md).
public enum Reinforce {
    /// For the k samples of one (prompt, weighting) with returns R₁…R_k, the advantage of sample j
    /// is Rⱼ − mean_{l ≠ j} R_l = k/(k−1) · (Rⱼ − R̄). With k = 1 there is no baseline: Aⱼ = Rⱼ.
    public static func leaveOneOutAdvantages(_ returns: [Double]) -> [Double] {
        let k = returns.count
        guard k > 1 else { return returns }
        let total = returns.reduce(0, +)
        return returns.map { r in r - (total - r) / Double(k - 1) }
    }

    /// The per-sequence return: the scalarized reward minus α times the sequence log-ratio
    /// log π(y|x) − log π_ref(y|x) (a single-sample estimate of KL(π‖π_ref), treated as part of
    /// the reward: no gradient flows through it).
    public static func sequenceReturn(scalarizedReward: Double, logProbPolicy: Double, logProbReference: Double,
                                      alpha: Double) -> Double {
        scalarizedReward - alpha * (logProbPolicy - logProbReference)
    }
}
