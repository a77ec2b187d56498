import ArgumentParser
import ClpFlowCore
import ClpFlowRunner
import ClpFlowWorkflow
import Foundation

/// `clp-flow status [RUN_DIR | WORKFLOW] [--json]`: the latest run of a run directory and its steps.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the state of the latest run in a run directory.",
        discussion: """
            Reads runs.sqlite (safe while a run is in progress). Progress of running steps comes from their \
            events. Without an argument: the current directory if it is a run directory, else the only run \
            directory under runs/ (several are listed). A workflow file stands for the run directory `run` \
            uses for it by default.
            """
    )

    @Argument(help: "The run directory, or a workflow file (its default run directory).")
    var runDir: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let dir = try resolveRunDirectory(runDir)
        do {
            let s = try RunInspection.status(runDir: URL(fileURLWithPath: dir))
            print(json ? RunInspection.statusJSON(s).prettyCanonical : RunInspection.renderStatus(s), terminator: "")
        } catch let e as RunnerError {
            FileHandle.standardError.write(Data("error: \(e)\n".utf8))
            throw ExitCode(ClpFlowExit.invalidInput)
        }
    }
}

/// The run directory a command means: `argument` when it is a directory; the default run
/// directory of a workflow file; without an argument the current directory when it holds a run
/// store, else the single run directory under `runs/`. Several candidates, or none, are an error
/// (exit 2) that lists what exists.
func resolveRunDirectory(_ argument: String?) throws -> String {
    let fm = FileManager.default
    func isRunDir(_ p: String) -> Bool { fm.fileExists(atPath: (p as NSString).appendingPathComponent("runs.sqlite")) }
    func fail(_ m: String) -> ExitCode {
        FileHandle.standardError.write(Data("error: \(m)\n".utf8))
        return ExitCode(ClpFlowExit.invalidInput)
    }
    var isDir: ObjCBool = false
    if let a = argument {
        if fm.fileExists(atPath: a, isDirectory: &isDir), !isDir.boolValue, a.hasSuffix(".yaml") || a.hasSuffix(".yml") {
            let loaded: LoadedWorkflow
            do { loaded = try WorkflowLoader.load(path: a) } catch {
                FileHandle.standardError.write(Data(error.rendered.utf8))
                throw ExitCode(ClpFlowExit.invalidInput)
            }
            let d = defaultRunDir(for: loaded)
            guard isRunDir(d) else { throw fail("\(a) has not run yet: no run store in its run directory \(d) (start it with `clp-flow run \(a)`)") }
            return d
        }
        return a
    }
    if isRunDir(".") { return "." }
    let candidates = ((try? fm.contentsOfDirectory(atPath: "runs")) ?? []).sorted().map { "runs/" + $0 }.filter(isRunDir)
    switch candidates.count {
    case 1:
        FileHandle.standardError.write(Data("run directory: \(candidates[0])\n".utf8))
        return candidates[0]
    case 0:
        throw fail("no run directory here: the current directory has no runs.sqlite and runs/ holds no run; give RUN_DIR (the --run-dir of `clp-flow run`) or the workflow file")
    default:
        throw fail("several run directories under runs/; give one of them (or the workflow file):\n"
                   + candidates.map { "  " + $0 }.joined(separator: "\n"))
    }
}
