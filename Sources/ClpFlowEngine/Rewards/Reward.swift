/// What a reward sees for one sampled response.
public struct RewardInput: Sendable, Hashable, Codable {
    /// The exact text given to the policy (document, separator and any prompt prefix).
    public var prompt: String
    /// The source document.
    public var document: String
    /// The policy's response (decoded, without special tokens).
    public var response: String
    /// The reference summary.
    public var reference: String

    public init(prompt: String, document: String, response: String, reference: String) {
        self.prompt = prompt; self.document = document; self.response = response; self.reference = reference
    }
}

/// A reward function: one score per input, in order. Definitions are in docs/rewards.md.
public protocol Reward: Sendable {
    var name: String { get }
    func score(_ batch: [RewardInput]) throws -> [Double]
}

/// Errors raised while building or computing rewards.
public enum RewardError: Error, CustomStringConvertible, Equatable {
    case invalidOption(reward: String, message: String)
    case executableNotFound(reward: String, executable: String, searched: String)
    case launchFailed(reward: String, command: String, message: String)
    case exitStatus(reward: String, status: Int32, stderrTail: String)
    case killedBySignal(reward: String, signal: Int32, stderrTail: String)
    case notANumber(reward: String, line: Int, text: String)
    case wrongCount(reward: String, expected: Int, got: Int)
    case timeout(reward: String, seconds: Double)
    case emptySample(reward: String)
    /// A persistent `command` reward process failed a batch (numbered from 1) in worker `worker`
    /// (1…`workers`).
    case persistentFailure(reward: String, batch: Int, worker: Int, workers: Int, problem: RewardProcessProblem, stderrTail: String)

    public var description: String {
        func tail(_ s: String) -> String { s.isEmpty ? "" : "\n--- stderr (last lines) ---\n\(s)" }
        switch self {
        case .invalidOption(let r, let m):
            return "reward \"\(r)\": \(m)"
        case .executableNotFound(let r, let e, let searched):
            return "reward \"\(r)\": executable \"\(e)\" not found (\(searched)); give an absolute path or a program on PATH"
        case .launchFailed(let r, let c, let m):
            return "reward \"\(r)\": could not start \(c): \(m)"
        case .exitStatus(let r, let s, let t):
            return "reward \"\(r)\": command exited with status \(s)" + tail(t)
        case .killedBySignal(let r, let s, let t):
            return "reward \"\(r)\": command was killed by signal \(s)" + tail(t)
        case .notANumber(let r, let line, let text):
            return "reward \"\(r)\": output line \(line) is not a finite number: \"\(text)\""
        case .wrongCount(let r, let e, let g):
            return "reward \"\(r)\": command printed \(g) score(s) for a batch of \(e); it must print exactly one number per input line"
        case .timeout(let r, let s):
            return "reward \"\(r)\": command did not finish within \(JSONNumber.format(s)) s and was killed; raise `timeout` or make it faster"
        case .emptySample(let r):
            return "reward \"\(r)\": cannot fit a z-score normaliser on an empty sample of scores"
        case .persistentFailure(let r, let b, let w, let n, let problem, let t):
            let who = n > 1 ? " (worker \(w) of \(n))" : ""
            return "reward \"\(r)\": persistent command failed on batch \(b)\(who): \(problem)" + tail(t)
        }
    }
}

enum JSONNumber {
    static func format(_ d: Double) -> String {
        d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : "\(d)"
    }
}
