import ArgumentParser
import ClpFlowCore
import ClpFlowPlanner
import ClpFlowSteps
import ClpFlowWorkflow
import Foundation

/// `clp-flow plan FILE [--run-dir DIR] [--json]`.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show the steps a workflow compiles to and which of them would run.",
        discussion: "Models with parameter counts, then every step in dependency order: `done` when its output for the current cache key exists in the run directory, otherwise `will run` and why. See docs/planner.md. Exit status: 0, 2 on an invalid workflow, 70 on an internal error."
    )

    @Argument(help: "The workflow file.")
    var file: String

    @Option(name: .customLong("run-dir"), help: "Run directory to compare against (default: the one `run` would use).")
    var runDir: String?

    @Flag(name: .long, help: "Print the plan as JSON.")
    var json = false

    func run() throws {
        let (loaded, plan) = try planWorkflow(file: file)
        let dir = runDir ?? defaultRunDir(for: loaded)
        let history: RunHistory? = FileManager.default.fileExists(atPath: dir) ? try runDirectoryHistory(dir) : nil
        print(PlanReport.render(plan: plan, history: history, json: json), terminator: "")
    }
}

/// Loads, validates and plans a workflow file (`PlannedWorkflow`), printing its warnings; an
/// invalid workflow exits with status 2 after printing every diagnostic.
func planWorkflow(file: String) throws -> (LoadedWorkflow, Plan) {
    let planned: PlannedWorkflow
    do { planned = try PlannedWorkflow(file: file) } catch {
        switch error {
        case .invalid(let failure):
            FileHandle.standardError.write(Data(failure.rendered.utf8))
            throw ExitCode(failure.isInternal ? ClpFlowExit.internalError : ClpFlowExit.invalidInput)
        case .planning(let e):
            // A validated workflow always encodes: this is a bug, not bad input.
            FileHandle.standardError.write(Data("error: internal error: \(e); please report this\n".utf8))
            throw ExitCode(ClpFlowExit.internalError)
        }
    }
    for w in planned.loaded.warnings { FileHandle.standardError.write(Data(w.rendered.utf8)) }
    return (planned.loaded, planned.plan)
}

/// The run directory `run` uses when none is given (`RunDirectories.defaultPath`).
func defaultRunDir(for loaded: LoadedWorkflow) -> String {
    RunDirectories.defaultPath(workflowName: loaded.workflow.name)
}

func runDirectoryHistory(_ path: String) throws -> RunHistory {
    do { return try RunDirectories.history(at: path) } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(ClpFlowExit.invalidInput)
    }
}
