import ArgumentParser
import ClpFlowCore
import ClpFlowPlanner
import ClpFlowReport
import ClpFlowRunner
import ClpFlowSteps
import Foundation

/// `clp-flow report RUN_DIR [--out FILE] [--summary | --markdown]`: the HTML report from a run
/// directory's results, optionally with the terminal summary or the Markdown tables on stdout.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the self-contained HTML report of a run directory.",
        discussion: """
            Reads the plan and every completed evaluation, training curve and ablation of the run, plus \
            the latest run's record from runs.sqlite (status, start and end, per step: status, wall time, \
            cache key). The same report is written at the end of every `run`. `--markdown` prints the \
            result tables as Markdown (methods aggregated over seeds, paired differences CLP − baseline, \
            J(w) and regret per weighting, per-seed values, per evaluation hypervolume and steerability, \
            generation speed). \
            Exit status: 0, 1 when nothing was evaluated yet, 2 when RUN_DIR is not a run directory.
            """
    )

    @Argument(help: "The run directory.")
    var runDir: String

    @Option(help: "Output file (default: RUN_DIR/report.html).")
    var out: String?

    @Flag(help: "Also print the terminal summary to stdout.")
    var summary = false

    @Flag(help: "Also print the result tables as Markdown to stdout.")
    var markdown = false

    func validate() throws {
        if summary && markdown {
            throw ValidationError("--summary and --markdown both print to stdout; choose one")
        }
    }

    func run() throws {
        let data: ReportData, url: URL
        do {
            (data, url) = try RunReport.write(runDir: RunDirectory(path: runDir), to: out.map { URL(fileURLWithPath: $0) })
        } catch let e as RunReport.Failure {
            FileHandle.standardError.write(Data("error: \(e)\n".utf8))
            if case .notARunDirectory = e { throw ExitCode(ClpFlowExit.invalidInput) }
            throw ExitCode(ClpFlowExit.failure)
        }
        if summary { print(ReportRenderer.terminalSummary(data), terminator: "") }
        if markdown {
            var speed: [SpeedRow] = []
            do { speed = try SeedReport.speed(runDir: RunDirectory(path: runDir)) } catch {
                FileHandle.standardError.write(Data("warning: generation speed not shown: \(error)\n".utf8))
            }
            print(ReportRenderer.markdown(data, speed: speed), terminator: "")
        }
        FileHandle.standardError.write(Data("report: \(url.path)\n".utf8))
    }
}
