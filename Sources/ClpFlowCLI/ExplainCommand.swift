import ArgumentParser
import ClpFlowCore
import ClpFlowRunner
import Foundation

/// `clp-flow explain RUN_DIR STEP`: why a step ran or was reused.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain why a step ran or was reused in the latest run.",
        discussion: """
            Compares the ingredients of the step's cache key (canonical configuration and upstream \
            cache keys) with the previous run's record for the same step id, and prints each \
            difference as old → new.
            """
    )

    @Argument(help: "The run directory.")
    var runDir: String

    @Argument(help: "The step id, e.g. 'train-clp[conditioning=attn]'.")
    var step: String

    func run() throws {
        do {
            print(try RunInspection.explain(runDir: URL(fileURLWithPath: runDir), stepId: step), terminator: "")
        } catch let e as RunnerError {
            FileHandle.standardError.write(Data("error: \(e)\n".utf8))
            throw ExitCode(ClpFlowExit.invalidInput)
        }
    }
}
