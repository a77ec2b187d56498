/// Versions that identify what produced an artifact.
public enum ClpFlowVersion {
    /// The tool's release version, printed by `clp-flow --version`.
    public static let tool = "0.1.0"
    /// Bumped whenever a step's outputs would change for the same configuration (engine numerics,
    /// artifact layout). Part of every cache key.
    public static let engineFormat = 3
}

/// Exit codes shared by every command (documented in docs/cli.md).
public enum ClpFlowExit {
    public static let success: Int32 = 0
    /// A step or run failed at execution time.
    public static let failure: Int32 = 1
    /// The input (workflow file, arguments, weight vectors) is invalid.
    public static let invalidInput: Int32 = 2
    /// An internal error: a bug or an unexpected environment problem.
    public static let internalError: Int32 = 70
}
