import ClpFlowCore
import ClpFlowWorkflow
import Foundation

/// One ablation cell as the planner sees it: its name, the (path, value) assignments that define
/// it in matrix order, and the cell's resolved workflow. A workflow without `ablate` is one cell
/// with no assignments.
public struct PlannerCell: Sendable {
    public var name: String
    public var assignments: [(path: String, value: YAMLScalarValue)]
    public var workflow: Workflow

    public init(name: String, assignments: [(path: String, value: YAMLScalarValue)], workflow: Workflow) {
        self.name = name; self.assignments = assignments; self.workflow = workflow
    }
}

/// Compiles a workflow (and its ablation cells) into a DAG of steps with cache keys.
/// The rules (step kinds, ids, configurations, sharing, budgets, seeds) are in docs/planner.md.
public enum Planner {
    /// Plans `cells` (or the workflow itself as a single cell when `cells` is empty). Relative
    /// paths in the workflow (jsonl data, init checkpoint, reward scripts) resolve against
    /// `workflowDir`; their contents are fingerprinted through `fileSystem`.
    /// Throws `PlannerError.encoding` when a configuration section cannot be encoded (a section
    /// never enters a cache key in any other form).
    public static func plan(workflow: Workflow, cells: [PlannerCell], workflowDir: URL,
                            fileSystem: any PlannerFileSystem = SystemFileSystem()) throws -> Plan {
        let cells = cells.isEmpty ? [PlannerCell(name: "", assignments: [], workflow: workflow)] : cells
        let builder = PlanBuilder(cells: cells, workflowDir: workflowDir, fingerprints: FingerprintCache(fileSystem))
        for index in cells.indices { try builder.planCell(index) }
        return builder.finish(base: workflow)
    }

    /// The seed of replica `k` (0-based) when `evaluate.seeds` > 1: replica 0 keeps the workflow
    /// seed, the others draw 40-bit seeds from a stream derived from it.
    public static func replicaSeed(workflowSeed: UInt64, replica k: Int) -> UInt64 {
        if k == 0 { return workflowSeed }
        var r = SeededRandom(seed: workflowSeed, stream: "replica/\(k)")
        return r.next() >> 24
    }

    /// Budget rule (`soft_budget`): with `split` (the default) each of the m SOFT policies trains
    /// ceil(steps / m) steps per stage (same batch and samples), so m SOFT runs together draw as
    /// many RL samples as one CLP run (rounded up); with `full` each trains the stage's steps.
    public static func softSteps(stageSteps: Int, rewards m: Int, budget: SoftBudget = .split) -> Int {
        if budget == .full { return stageSteps }
        return m <= 1 ? stageSteps : (stageSteps + m - 1) / m
    }

    /// Label text of an assignment value in step ids.
    public static func label(_ v: YAMLScalarValue) -> String {
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return JSONValue.formatNumber(d)
        case .bool(let b): return b ? "true" : "false"
        }
    }

    public static func json(_ v: YAMLScalarValue) -> JSONValue {
        switch v {
        case .string(let s): return .string(s)
        case .int(let i): return .number(Double(i))
        case .double(let d): return .number(d)
        case .bool(let b): return .bool(b)
        }
    }

    /// Seeds are JSON numbers while exactly representable, strings beyond 2^53.
    static func seedJSON(_ s: UInt64) -> JSONValue {
        s < (1 << 53) ? .number(Double(s)) : .string(String(s))
    }
}
