import ClpFlowWorkflow
import Foundation

/// A workflow file loaded, validated and planned: what `plan`, `graph`, `run` and `status` start from.
public struct PlannedWorkflow: Sendable {
    public let loaded: LoadedWorkflow
    public let plan: Plan

    /// Why a workflow file could not be planned.
    public enum Failure: Error, CustomStringConvertible {
        /// The file is not a valid workflow: every diagnostic.
        case invalid(ValidationFailure)
        /// A validated workflow that does not encode (a bug, not bad input).
        case planning(PlannerError)

        public var description: String {
            switch self {
            case .invalid(let f): return f.rendered
            case .planning(let e): return "\(e)"
            }
        }
    }

    /// Loads the workflow at `file` (its templates, ablation cells and warnings) and plans it;
    /// relative paths in it resolve against the file's directory.
    public init(file: String) throws(Failure) {
        do { loaded = try WorkflowLoader.load(path: file) } catch { throw .invalid(error) }
        let cells = loaded.cells.map { PlannerCell(name: $0.name, assignments: $0.assignments, workflow: $0.workflow) }
        do {
            plan = try Planner.plan(workflow: loaded.workflow, cells: cells,
                                    workflowDir: URL(fileURLWithPath: file).deletingLastPathComponent())
        } catch let e as PlannerError {
            throw .planning(e)
        } catch {
            throw .planning(.encoding(section: "workflow", reason: "\(error)"))
        }
    }
}
