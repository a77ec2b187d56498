/// Per-reward normalisation applied before scalarisation. `zscore` maps r to (r − mean)/std with
/// mean and (population) standard deviation computed once from a sample of scores (the reference
/// policy's samples) and then frozen; when std < 1e-8 it is replaced by 1 so constant rewards
/// stay finite. `none` leaves scores unchanged. Codable, so the frozen statistics are saved with
/// the run.
public struct RewardNormalizer: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, Hashable { case zscore, none }
    public var kind: Kind
    public var mean: Double
    public var std: Double

    public static let identity = RewardNormalizer(kind: .none, mean: 0, std: 1)
    public static let minimumStd = 1e-8

    public init(kind: Kind, mean: Double, std: Double) { self.kind = kind; self.mean = mean; self.std = std }

    /// Freezes statistics from a sample of scores.
    public static func fit(kind: Kind, scores: [Double], reward: String = "reward") throws -> RewardNormalizer {
        if kind == .none { return .identity }
        guard !scores.isEmpty else { throw RewardError.emptySample(reward: reward) }
        let n = Double(scores.count)
        let mean = scores.reduce(0, +) / n
        let variance = scores.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
        let std = variance.squareRoot()
        return RewardNormalizer(kind: .zscore, mean: mean, std: std < minimumStd ? 1 : std)
    }

    public func apply(_ x: Double) -> Double {
        kind == .none ? x : (x - mean) / std
    }

    public func apply(_ xs: [Double]) -> [Double] { xs.map(apply) }
}
