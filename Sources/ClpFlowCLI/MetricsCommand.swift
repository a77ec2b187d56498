import ArgumentParser
import ClpFlowCore
import ClpFlowRunner
import Foundation

/// `clp-flow metrics RUN_DIR [--step S] [--format csv|json]`: metrics recorded from step events.
struct MetricsCommand: ParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable { case csv, json }

    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Print the metrics steps reported during the latest run.",
        discussion: "A step reused from the cache reports the metrics of the run that produced its artifact."
    )

    @Argument(help: "The run directory.")
    var runDir: String

    @Option(help: "Only this step (its full id).")
    var step: String?

    @Option(help: "Output format: csv or json.")
    var format: Format = .csv

    func run() throws {
        do {
            let rows = try RunInspection.metrics(runDir: URL(fileURLWithPath: runDir), stepId: step)
            switch format {
            case .csv: print(RunInspection.metricsCSV(rows), terminator: "")
            case .json: print(RunInspection.metricsJSON(rows).prettyCanonical, terminator: "")
            }
        } catch let e as RunnerError {
            FileHandle.standardError.write(Data("error: \(e)\n".utf8))
            throw ExitCode(ClpFlowExit.invalidInput)
        }
    }
}
