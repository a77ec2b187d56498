import ArgumentParser
import ClpFlowCore
import ClpFlowRunner
import Foundation

/// `clp-flow status [RUN_DIR] [--json]`: the latest run of a run directory and its steps.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the state of the latest run in a run directory.",
        discussion: "Reads runs.sqlite (safe while a run is in progress). Progress of running steps comes from their events."
    )

    @Argument(help: "The run directory.")
    var runDir: String = "."

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        do {
            let s = try RunInspection.status(runDir: URL(fileURLWithPath: runDir))
            print(json ? RunInspection.statusJSON(s).prettyCanonical : RunInspection.renderStatus(s), terminator: "")
        } catch let e as RunnerError {
            FileHandle.standardError.write(Data("error: \(e)\n".utf8))
            throw ExitCode(ClpFlowExit.invalidInput)
        }
    }
}
