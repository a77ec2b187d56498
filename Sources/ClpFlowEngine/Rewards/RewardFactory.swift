/// The plain description of one reward: its kind (rouge1, rouge2, rougeL, faithfulness,
/// coverage, length, novelty, repetition, command) and the options that kind reads.
public struct RewardConfig: Sendable, Hashable {
    public var name: String
    public var kind: String
    /// `length`: target length in words and tolerance.
    public var target: Int?
    public var tolerance: Int?
    /// `novelty`, `repetition`: n-gram order.
    public var n: Int?
    /// `command`: argv, seconds per batch, one long-lived process, parallel processes.
    public var command: [String]?
    public var timeout: Double?
    public var persistent: Bool?
    public var workers: Int?

    public init(name: String, kind: String, target: Int? = nil, tolerance: Int? = nil, n: Int? = nil,
                command: [String]? = nil, timeout: Double? = nil, persistent: Bool? = nil, workers: Int? = nil) {
        self.name = name; self.kind = kind; self.target = target; self.tolerance = tolerance; self.n = n
        self.command = command; self.timeout = timeout; self.persistent = persistent; self.workers = workers
    }
}

/// Builds a reward from its description (kind names as in the workflow language).
public enum RewardFactory {
    /// - Parameters:
    ///   - idfCorpus: texts for coverage's IDF (the training split's documents).
    ///   - workingDirectory: where `command` rewards run (the workflow's directory).
    public static func make(_ c: RewardConfig, idfCorpus: [String] = [], workingDirectory: String? = nil) throws -> any Reward {
        try make(kind: c.kind, name: c.name, target: c.target, tolerance: c.tolerance, n: c.n,
                 command: c.command, timeout: c.timeout, persistent: c.persistent, workers: c.workers,
                 idfCorpus: idfCorpus, workingDirectory: workingDirectory)
    }

    public static let kinds = ["rouge1", "rouge2", "rougeL", "faithfulness", "coverage", "length", "novelty", "repetition", "command"]

    /// - Parameters:
    ///   - idfCorpus: texts for coverage's IDF (the training split's documents).
    ///   - workingDirectory: where `command` rewards run (the workflow's directory).
    public static func make(kind: String, name: String, target: Int? = nil, tolerance: Int? = nil, n: Int? = nil,
                            command: [String]? = nil, timeout: Double? = nil, persistent: Bool? = nil, workers: Int? = nil,
                            idfCorpus: [String] = [], workingDirectory: String? = nil) throws -> any Reward {
        switch kind {
        case "rouge1": return try RougeReward(name: name, variant: .n(1))
        case "rouge2": return try RougeReward(name: name, variant: .n(2))
        case "rougeL": return try RougeReward(name: name, variant: .l)
        case "faithfulness": return FaithfulnessReward(name: name)
        case "coverage": return CoverageReward(name: name, idfCorpus: idfCorpus)
        case "length":
            guard let target else { throw RewardError.invalidOption(reward: name, message: "a length reward needs `target` (words)") }
            return try LengthReward(name: name, target: target, tolerance: tolerance ?? 0)
        case "novelty": return try NoveltyReward(name: name, n: n ?? 2)
        case "repetition": return try RepetitionReward(name: name, n: n ?? 2)
        case "command":
            guard let command else { throw RewardError.invalidOption(reward: name, message: "a command reward needs `command` (an argv list)") }
            return try CommandReward(name: name, argv: command, timeout: timeout ?? 60, workingDirectory: workingDirectory,
                                     persistent: persistent ?? false, workers: workers ?? 1)
        default:
            throw RewardError.invalidOption(reward: name, message: "unknown reward kind \"\(kind)\"; expected one of \(kinds.joined(separator: ", "))")
        }
    }
}
