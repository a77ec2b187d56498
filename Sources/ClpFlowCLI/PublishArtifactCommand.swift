import ArgumentParser
import ClpFlowCore
import ClpFlowRunner
import Foundation

/// `clp-flow publish-artifact`: run by Slurm jobs after their step succeeded, so the outputs are
/// published before dependent jobs start. Not meant to be called by hand.
struct PublishArtifactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish-artifact",
        abstract: "Publish a finished step's work directory as its artifact (used by Slurm jobs).",
        shouldDisplay: false
    )

    @Option(help: "The run directory.")
    var runDir: String

    @Option(help: "The step id.")
    var step: String

    @Option(help: "The step's work directory (inside RUN_DIR/work).")
    var workDir: String

    func run() throws {
        do {
            try ArtifactPublisher.publish(runDir: URL(fileURLWithPath: runDir), stepId: step,
                                          workDir: URL(fileURLWithPath: workDir))
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(ClpFlowExit.failure)
        }
    }
}
