import Foundation

/// Balances the rewards' spreads as the policy-gradient step sees them (docs/rl.md, "Reward balance").
///
/// Rewards are standardised with π_ref's mean and deviation over prompts (`RewardNormalization`).
/// The leave-one-out advantage removes what is common to one prompt's samples, so what drives the
/// gradient is each reward's spread *within* a prompt, which the standardisation does not
/// equalise: a reward that varies mostly between prompts (ROUGE-L against a reference) gives a
/// weak signal next to one that varies mostly between samples (novelty), and at mixed weightings
/// the latter takes the shared parameters and the mixed copies. `withinPrompt` multiplies each
/// normalised reward i by fᵢ = g / σᵢ, where σᵢ² is a running average (decay `decay` per prompt
/// group) of the unbiased variance of reward i among one prompt's samples and g the geometric mean
/// of the σᵢ: every reward then has the same within-prompt spread g, and the product of the
/// factors is 1, so the scale of the rewards against the α·KL term is kept.
public struct RewardBalancer: Sendable {
    /// The workflow's names (`stages[].reward_balance`).
    public enum Kind: String, Codable, Sendable, Hashable, CaseIterable {
        case none
        case withinPrompt = "within-prompt"
    }

    public let kind: Kind
    public let rewardCount: Int
    /// Running within-prompt variance per reward (nil before the first group of at least 2 samples).
    public private(set) var variance: [Double]?
    /// Weight of the previous estimate when a prompt group is added.
    public static let decay = 0.95
    /// Deviations at most this are treated as "no within-prompt spread" (the reward cannot move
    /// the advantage; its factor is 1 and it is left out of the geometric mean).
    public static let negligible = 1e-6
    /// Factors are kept within [1/limit, limit].
    public static let limit = 10.0

    public init(kind: Kind, rewardCount: Int, variance: [Double]? = nil) {
        self.kind = kind; self.rewardCount = rewardCount
        self.variance = variance?.count == rewardCount ? variance : nil
    }

    /// Adds one prompt's k normalised reward vectors to the running variance (no-op for `none` or
    /// k < 2).
    public mutating func observe(group: [[Double]]) {
        guard kind != .none, group.count >= 2 else { return }
        let k = Double(group.count)
        var v = [Double](repeating: 0, count: rewardCount)
        for i in 0..<rewardCount {
            let mean = group.reduce(0) { $0 + $1[i] } / k
            v[i] = group.reduce(0) { $0 + ($1[i] - mean) * ($1[i] - mean) } / (k - 1)
        }
        if let old = variance {
            variance = (0..<rewardCount).map { Self.decay * old[$0] + (1 - Self.decay) * v[$0] }
        } else {
            variance = v
        }
    }

    /// The factors fᵢ (all 1 for `none` or before any observation).
    public var factors: [Double] {
        let ones = [Double](repeating: 1, count: rewardCount)
        guard kind != .none, let variance else { return ones }
        let sd = variance.map { $0.squareRoot() }
        let moving = sd.filter { $0 > Self.negligible }
        guard !moving.isEmpty else { return ones }
        let g = exp(moving.reduce(0) { $0 + log($1) } / Double(moving.count))
        return sd.map { s in s > Self.negligible ? Swift.min(Self.limit, Swift.max(1 / Self.limit, g / s)) : 1 }
    }

    /// The rewards as the scalarization sees them.
    public func apply(_ normalised: [Double]) -> [Double] {
        guard kind != .none else { return normalised }
        let f = factors
        return (0..<normalised.count).map { normalised[$0] * f[$0] }
    }
}
