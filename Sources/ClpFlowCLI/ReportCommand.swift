import ArgumentParser
import ClpFlowCore
import ClpFlowPlanner
import ClpFlowReport
import ClpFlowRunner
import ClpFlowSteps
import Foundation

/// `clp-flow report RUN_DIR [--out FILE]`: the HTML report from a run directory's results.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the self-contained HTML report of a run directory.",
        discussion: "Reads the plan and every completed evaluation, training curve and ablation of the run, plus step timings from runs.sqlite. Also produced at the end of every `run`."
    )

    @Argument(help: "The run directory.")
    var runDir: String

    @Option(help: "Output file (default: RUN_DIR/report.html).")
    var out: String?

    @Flag(help: "Also print the terminal summary to stdout.")
    var summary = false

    func run() throws {
        let rd = RunDirectory(path: runDir)
        let plan: Plan
        do { plan = try rd.readPlan() } catch {
            FileHandle.standardError.write(Data("error: \(runDir) is not a run directory: \(error)\n".utf8))
            throw ExitCode(ClpFlowExit.invalidInput)
        }
        var records: [ClpFlowReport.StepRecord] = []
        var status = "unknown"
        if let store = try? RunStore(url: rd.storeURL, readOnly: true), let run = try? store.runs().last {
            status = run.status
            for s in (try? store.steps(runId: run.id)) ?? [] {
                var wall: Double? = nil
                if let a = s.started.flatMap(Timestamp.date), let b = s.ended.flatMap(Timestamp.date) { wall = b.timeIntervalSince(a) }
                records.append(ClpFlowReport.StepRecord(id: s.stepId, kind: s.kind, status: s.status.rawValue,
                                                        wallTimeSeconds: wall, cacheKey: s.cacheKey))
            }
        }
        let desc = plan.steps.last(where: { $0.kind == .report })?.config["description"]?.stringValue ?? ""
        let data: ReportData
        do {
            data = try ReportBuilder.build(plan: plan, runDir: rd, name: plan.workflowName, description: desc,
                                           stepRecords: records, status: status)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(ClpFlowExit.failure)
        }
        let url = URL(fileURLWithPath: out ?? rd.root.appendingPathComponent("report.html").path)
        try ReportRenderer.html(data).write(to: url, atomically: true, encoding: .utf8)
        if summary { print(ReportRenderer.terminalSummary(data), terminator: "") }
        FileHandle.standardError.write(Data("report: \(url.path)\n".utf8))
    }
}
