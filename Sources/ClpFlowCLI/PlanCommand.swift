import ArgumentParser
import ClpFlowCore
import ClpFlowPlanner
import ClpFlowRunner
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

/// Loads, validates and plans a workflow file; invalid input exits with status 2 after printing
/// every diagnostic.
func planWorkflow(file: String) throws -> (LoadedWorkflow, Plan) {
    let loaded: LoadedWorkflow
    do { loaded = try WorkflowLoader.load(path: file) } catch {
        FileHandle.standardError.write(Data(error.rendered.utf8))
        throw ExitCode(error.isInternal ? ClpFlowExit.internalError : ClpFlowExit.invalidInput)
    }
    for w in loaded.warnings { FileHandle.standardError.write(Data(w.rendered.utf8)) }
    let cells = loaded.cells.map { PlannerCell(name: $0.name, assignments: $0.assignments, workflow: $0.workflow) }
    do {
        let plan = try Planner.plan(workflow: loaded.workflow, cells: cells,
                                    workflowDir: URL(fileURLWithPath: file).deletingLastPathComponent())
        return (loaded, plan)
    } catch {
        // A validated workflow always encodes: this is a bug, not bad input.
        FileHandle.standardError.write(Data("error: internal error: \(error); please report this\n".utf8))
        throw ExitCode(ClpFlowExit.internalError)
    }
}

/// `runs/<workflow name>` next to where the command runs. A name that is not a plain file name
/// (letters, digits, `.`, `-`, `_`, not starting with `.`) is made file-safe and gets a short
/// hash so that different names never share a directory.
///
/// Earlier versions always appended the hash (`runs/quickstart-1a2b3c4d5e`): when only such a
/// directory exists, it is used, so its finished steps are not computed again.
func defaultRunDir(for loaded: LoadedWorkflow) -> String {
    let current = "runs/" + runDirName(loaded.workflow.name)
    let earlier = "runs/" + SafeName.fileName(for: loaded.workflow.name)
    let fm = FileManager.default
    if current != earlier && !fm.fileExists(atPath: current) && fm.fileExists(atPath: earlier + "/runs.sqlite") {
        return earlier
    }
    return current
}

func runDirName(_ name: String) -> String {
    let plain = !name.isEmpty && !name.hasPrefix(".") && name.count <= 80 && name.unicodeScalars.allSatisfy {
        ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == "."
    }
    return plain ? name : SafeName.fileName(for: name)
}

func runDirectoryHistory(_ path: String) throws -> RunHistory {
    let dir = RunDirectory(path: path)
    guard FileManager.default.fileExists(atPath: dir.storeURL.path) else { return InMemoryRunHistory() }
    do {
        return RunDirectoryHistory(store: try RunStore(url: dir.storeURL, readOnly: true), artifacts: dir.artifacts)
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(ClpFlowExit.invalidInput)
    }
}

/// The planner's view of a run directory: last recorded cache key and config per step id, and
/// whether an artifact is present and intact.
struct RunDirectoryHistory: RunHistory {
    let store: RunStore
    let artifacts: ArtifactStore

    func lastRecord(stepId: String) -> PriorStepRecord? {
        guard let r = (try? store.stepKeys(stepId: stepId))?.last, let config = try? JSONValue.parse(r.configJSON) else {
            return nil
        }
        return PriorStepRecord(cacheKey: r.cacheKey, config: config, inputs: r.inputs, inputKeys: r.inputKeys)
    }

    func artifactStatus(cacheKey: String) -> ArtifactStatus {
        switch artifacts.verify(cacheKey: cacheKey) {
        case .valid: return .present
        case .missing: return .missing
        case .corrupt: return .corrupt
        }
    }
}
