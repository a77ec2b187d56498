import ClpFlowCore
import ClpFlowWorkflow

extension StepResources {
    /// Resources of a step: the executor's defaults, then every override whose `match` glob
    /// matches the step id, in order (later overrides win for the fields they set).
    public static func resolve(stepId: String, executor: ExecutorSpec) -> StepResources {
        var r = StepResources()
        r.apply(executor.resources)
        for o in executor.overrides where Glob.matches(o.match, stepId) { r.apply(o.resources) }
        return r
    }

    mutating func apply(_ s: SlurmResources) {
        if let v = s.cpus { cpus = v }
        if let v = s.memoryMB { memoryMB = v }
        if let v = s.timeMinutes { timeMinutes = v }
        if let v = s.partition { partition = v }
        if let v = s.account { account = v }
        if let v = s.retries { retries = v }
        if let v = s.checkpointMinutes { checkpointMinutes = v }
    }

    /// Default wall-time interval of resumable state in training steps.
    public static let defaultCheckpointMinutes = 5.0

    /// The resume settings of a training step of `kind` (nil fields for other kinds):
    /// `checkpointEvery` from its spec, minutes from the executor (default 5).
    mutating func applyCheckpoints(kind: StepKind, config: JSONValue, workflow wf: Workflow) {
        let every: Int
        switch kind {
        case .pretrain: every = wf.pretrain?.checkpointEvery ?? 0
        case .trainReference: every = wf.reference.checkpointEvery
        case .trainSoft, .trainCLP:
            let name = config["stage"]?["name"]?.stringValue
            every = wf.stages.first { $0.name == name }?.checkpointEvery ?? 0
        default:
            checkpointMinutes = nil
            return
        }
        checkpointEvery = every
        if checkpointMinutes == nil { checkpointMinutes = StepResources.defaultCheckpointMinutes }
    }
}

/// Step-id globs: `*` matches any run of characters, `?` exactly one; everything else (including
/// `[`, `]`, `=`) matches itself.
public enum Glob {
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.unicodeScalars), t = Array(text.unicodeScalars)
        var pi = 0, ti = 0
        var star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || (p[pi] != "*" && p[pi] == t[ti])) {
                pi += 1; ti += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
