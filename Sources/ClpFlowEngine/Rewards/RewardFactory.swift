import ClpFlowWorkflow

/// Builds a reward from the workflow's `rewards:` entry fields (kind names as in the workflow
/// language: rouge1, rouge2, rougeL, faithfulness, coverage, length, novelty, repetition, command).
public enum RewardFactory {
    /// The reward of a workflow's `rewards:` entry.
    /// - Parameters:
    ///   - idfCorpus: texts for coverage's IDF (the training split's documents).
    ///   - workingDirectory: where `command` rewards run (the workflow's directory).
    public static func make(_ spec: RewardSpec, idfCorpus: [String] = [], workingDirectory: String? = nil) throws -> any Reward {
        try make(kind: spec.kind.rawValue, name: spec.name, target: spec.target, tolerance: spec.tolerance, n: spec.n,
                 command: spec.command, timeout: spec.timeout, persistent: spec.persistent, workers: spec.workers,
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
