import ArgumentParser
import ClpFlowCore
import ClpFlowRunner
import ClpFlowSteps
import Foundation

/// `clp-flow step`: runs one planned step in this process (what the runner starts for every
/// step, locally and in Slurm jobs).
struct StepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Run one step of a planned run (started by `clp-flow run`; rarely called by hand).",
        discussion: "Reads plan.json of the run directory, writes the step's outputs into its work directory (CLP_FLOW_WORK_DIR) and its events to events.jsonl there."
    )

    @Option(name: .customLong("run-dir"), help: "The run directory holding plan.json.")
    var runDir: String

    @Option(name: .customLong("step"), help: "The step id.")
    var step: String

    func run() throws {
        let ctx: StepContext
        do {
            ctx = try StepContext.load(runDir: URL(fileURLWithPath: runDir), stepId: step)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ArgumentParser.ExitCode(ClpFlowExit.invalidInput)
        }
        var log = Log.logger("step")
        log[metadataKey: "step"] = "\(step)"
        log[metadataKey: "cache_key"] = "\(ctx.step.cacheKey.prefix(12))"
        log.info("started", metadata: ["kind": "\(ctx.step.kind.rawValue)", "inputs": "\(ctx.step.inputs.count)"])
        let t0 = Date()
        do {
            try StepExecutor.run(ctx)
        } catch {
            ctx.events.message("error: \(error)")
            log.error("failed", metadata: ["seconds": "\(String(format: "%.1f", Date().timeIntervalSince(t0)))"])
            FileHandle.standardError.write(Data("error: step \(step) failed: \(error)\n".utf8))
            throw ArgumentParser.ExitCode(ClpFlowExit.failure)
        }
        log.info("finished", metadata: ["seconds": "\(String(format: "%.1f", Date().timeIntervalSince(t0)))"])
    }
}
