import Foundation

/// Length: closeness of the response's word count L to a target. Inside
/// [target − tolerance, target + tolerance] the score is 1; outside, with d the distance to the
/// nearest end of that interval, it is max(0, 1 − d/scale) (linear) or exp(−d/scale)
/// (exponential). `scale` defaults to the target (at least 1).
public struct LengthReward: Reward {
    public enum Decay: String, Sendable, Hashable, Codable { case linear, exponential }
    public let name: String
    public let target: Int
    public let tolerance: Int
    public let decay: Decay
    public let scale: Double

    public init(name: String = "length", target: Int, tolerance: Int = 0, decay: Decay = .linear, scale: Double? = nil) throws {
        guard target >= 0 else { throw RewardError.invalidOption(reward: name, message: "target must be ≥ 0 words, got \(target)") }
        guard tolerance >= 0 else { throw RewardError.invalidOption(reward: name, message: "tolerance must be ≥ 0, got \(tolerance)") }
        let s = scale ?? Double(max(1, target))
        guard s > 0 else { throw RewardError.invalidOption(reward: name, message: "scale must be > 0, got \(s)") }
        self.name = name; self.target = target; self.tolerance = tolerance; self.decay = decay; self.scale = s
    }

    public func value(words: Int) -> Double {
        let d = Double(max(0, (target - tolerance) - words, words - (target + tolerance)))
        switch decay {
        case .linear: return max(0, 1 - d / scale)
        case .exponential: return exp(-d / scale)
        }
    }

    public func score(_ batch: [RewardInput]) throws -> [Double] {
        batch.map { value(words: Words.words($0.response).count) }
    }
}

/// Repetition: with T the number of word n-grams of the response and U the number of distinct
/// ones, the repeated share is (T − U)/T (0 when T = 0). The reward is 1 − share (`oneMinus`,
/// in [0, 1], the default) or −share (`negative`, a pure penalty in [−1, 0]).
public struct RepetitionReward: Reward {
    public enum Mode: String, Sendable, Hashable, Codable { case oneMinus = "one-minus", negative }
    public let name: String
    public let n: Int
    public let mode: Mode

    public init(name: String = "repetition", n: Int = 2, mode: Mode = .oneMinus) throws {
        guard n >= 1 else { throw RewardError.invalidOption(reward: name, message: "n must be ≥ 1, got \(n)") }
        self.name = name; self.n = n; self.mode = mode
    }

    public static func repeatedShare(_ words: [String], n: Int) -> Double {
        let grams = Words.ngrams(words, n)
        if grams.isEmpty { return 0 }
        return Double(grams.count - Set(grams).count) / Double(grams.count)
    }

    public func score(_ batch: [RewardInput]) throws -> [Double] {
        batch.map {
            let share = Self.repeatedShare(Words.words($0.response), n: n)
            return mode == .oneMinus ? 1 - share : -share
        }
    }
}
