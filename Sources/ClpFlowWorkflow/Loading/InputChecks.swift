import Foundation

/// Checks of a workflow's inputs that need code outside the workflow language: reading the data
/// file with the engine's loader, so that `validate` reports what the prepare step would stop on
/// (bad JSON Lines lines, too few examples for the splits) before anything runs. The commands
/// that validate give one to the loader; without it only the language's own checks run.
public struct InputChecks: Sendable {
    /// A problem found in the inputs, reported at the key path `at` of the workflow.
    public struct Problem: Sendable, Equatable {
        public var severity: Diagnostic.Severity
        public var message: String
        public var at: [String]
        public init(_ severity: Diagnostic.Severity, _ message: String, at: [String]) {
            self.severity = severity; self.message = message; self.at = at
        }
    }

    /// Checks the data a `data` section selects. `file` is the data file's path (for `jsonl`,
    /// resolved against the file that wrote it), `seed` the workflow seed.
    public var data: @Sendable (_ data: DataSpec, _ file: String?, _ seed: UInt64) -> [Problem]

    public init(data: @escaping @Sendable (_ data: DataSpec, _ file: String?, _ seed: UInt64) -> [Problem]) {
        self.data = data
    }
}

/// Runs the checks once per distinct input (ablation cells usually share their data).
final class InputCheckCache {
    struct Key: Hashable { var data: DataSpec; var file: String?; var seed: UInt64 }
    let checks: InputChecks
    private var results: [Key: [InputChecks.Problem]] = [:]

    init(_ checks: InputChecks) { self.checks = checks }

    func data(_ d: DataSpec, file: String?, seed: UInt64) -> [InputChecks.Problem] {
        let key = Key(data: d, file: file, seed: seed)
        if let r = results[key] { return r }
        let r = checks.data(d, file, seed)
        results[key] = r
        return r
    }
}
