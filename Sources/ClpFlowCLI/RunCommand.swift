import ArgumentParser
import ClpFlowCore
import ClpFlowPlanner
import ClpFlowReport
import ClpFlowRunner
import ClpFlowSteps
import ClpFlowWorkflow
import Foundation

extension ExecutorKind: ExpressibleByArgument {}

/// `clp-flow run FILE`: plan the workflow and execute every step that is not done.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a workflow: plan it, execute unfinished steps (locally or on Slurm), write the report.",
        discussion: """
            Each step runs as its own `clp-flow step` process. Steps whose outputs exist and verify are \
            reused; running the same command again after an interruption (Ctrl-C, kill -9) finishes \
            the run. Only one runner may use a run directory at a time; a second one is refused with \
            the holder's pid. At the end, RUN_DIR/report.html is written with the run's metadata \
            (status, per step: wall time and cache key) and the summary is printed. Exit status: 0 \
            done, 1 a step failed, 2 invalid workflow or run directory in use, 64 bad usage, 70 \
            internal error, 128+signal when interrupted.
            """
    )

    @Argument(help: "The workflow file.")
    var file: String

    @Option(name: .customLong("run-dir"), help: "Run directory (default: runs/<workflow name>, printed when the run starts).")
    var runDir: String?

    @Option(name: .customLong("max-parallel"), help: "Steps running at once (default: executor.max_parallel of the workflow).")
    var maxParallel: Int?

    @Option(help: "Executor: local or slurm (default: executor.kind of the workflow).")
    var executor: ExecutorKind?

    @Flag(name: .customLong("keep-going"), help: "After a failure, keep running steps that do not depend on it.")
    var keepGoing = false

    @Flag(help: "Print only errors and the final summary.")
    var quiet = false

    func run() throws {
        let (loaded, plan) = try planWorkflow(file: file)
        guard maxParallel.map({ $0 >= 1 }) ?? true else {
            FileHandle.standardError.write(Data("error: --max-parallel must be at least 1\n".utf8))
            throw ExitCode(ClpFlowExit.invalidInput)
        }
        let dir = URL(fileURLWithPath: runDir ?? defaultRunDir(for: loaded))
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try RunSource(workflowFile: URL(fileURLWithPath: file).standardizedFileURL.path).write(runDir: dir)
        if !quiet { FileHandle.standardError.write(Data("run directory: \(dir.path)\n".utf8)) }
        let kind = executor ?? loaded.workflow.executor.kind
        let options = RunOptions(maxParallel: maxParallel ?? loaded.workflow.executor.maxParallel, keepGoing: keepGoing,
                                 executor: kind,
                                 display: quiet ? .quiet : .auto)
        let result: RunResult
        do {
            result = try Runner.run(plan: plan, runDir: dir, options: options, launcher: ClpFlowStepLauncher.current())
        } catch let e as RunnerError {
            FileHandle.standardError.write(Data("error: \(e)\n".utf8))
            switch e {
            // Nothing ran: the directory belongs to another runner, or the plan is unusable.
            case .locked, .invalidPlan: throw ExitCode(ClpFlowExit.invalidInput)
            // The run directory, its store or Slurm did not behave: an environment problem.
            case .io, .store, .artifact, .slurm: throw ExitCode(ClpFlowExit.internalError)
            }
        }
        // The report step ran before the run ended, so its copy has no wall times: rebuild the
        // report with the whole run's record (status, step timings, cache keys).
        do {
            let (data, html) = try RunReport.write(runDir: RunDirectory(dir), runId: result.runId, executor: kind.rawValue)
            FileHandle.standardError.write(Data(ReportRenderer.terminalSummary(data).utf8))
            FileHandle.standardError.write(Data("report: \(html.path)\n".utf8))
        } catch let e as RunReport.Failure {
            // Nothing evaluated yet (e.g. an early step failed): no report, the runner's summary says why.
            if result.exitCode == 0, plan.steps.contains(where: { $0.kind == .report }) { FileHandle.standardError.write(Data("warning: no report: \(e)\n".utf8)) }
        }
        if result.exitCode != 0 {
            // Where to look: the run directory and the log of every failed step.
            var where_ = "run directory: \(dir.path)\n"
            for step in plan.steps where result.steps[step.id]?.status == .failed {
                where_ += "log of \(step.id): \(RunDirectory(dir).logURL(stepId: step.id).path)\n"
            }
            FileHandle.standardError.write(Data(where_.utf8))
            throw ExitCode(result.exitCode)
        }
    }
}
