import ClpFlowCore
import ClpFlowPlanner
import Foundation

/// Produces the command that executes one step as a process, and the command a Slurm job runs
/// after the step succeeded to publish its outputs (the runner publishes in-process when steps run
/// locally).
public protocol StepLauncher: Sendable {
    /// argv of the step process; argv[0] is an absolute path.
    func command(for step: PlannedStep, runDir: RunDirectory) throws -> [String]
    /// argv that publishes a finished work directory as the step's artifact (see `ArtifactPublisher`).
    func publishCommand(for step: PlannedStep, runDir: RunDirectory, workDir: URL) throws -> [String]
}

/// The production launcher: `<clp-flow> step --run-dir DIR --step ID`, and
/// `<clp-flow> publish-artifact --run-dir DIR --step ID --work-dir W` for Slurm jobs.
public struct ClpFlowStepLauncher: StepLauncher {
    public let executable: URL

    public init(executable: URL) { self.executable = executable }

    /// The running `clp-flow` binary (resolved through /proc/self/exe, so a PATH lookup or a
    /// relative argv[0] still gives an absolute path).
    public static func current() -> ClpFlowStepLauncher {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return ClpFlowStepLauncher(executable: URL(fileURLWithPath: path))
        }
        if let url = Bundle.main.executableURL { return ClpFlowStepLauncher(executable: url.standardizedFileURL) }
        return ClpFlowStepLauncher(executable: URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL)
    }

    public func command(for step: PlannedStep, runDir: RunDirectory) throws -> [String] {
        [executable.path, "step", "--run-dir", runDir.root.path, "--step", step.id]
    }

    public func publishCommand(for step: PlannedStep, runDir: RunDirectory, workDir: URL) throws -> [String] {
        [executable.path, "publish-artifact", "--run-dir", runDir.root.path, "--step", step.id, "--work-dir", workDir.path]
    }
}

/// Runs each step's `config.script` with `/bin/sh -c` (used by tests and by the test host to
/// exercise the runner without the engine). The script sees the CLP_FLOW_* variables: it writes
/// outputs into `$CLP_FLOW_WORK_DIR` and reads inputs from `$CLP_FLOW_INPUT_0`, …
public struct ShellScriptLauncher: StepLauncher {
    /// The executable whose `publish --run-dir D --step S --work-dir W` publishes (Slurm only).
    public let publisher: URL?
    public let shell: String

    public init(publisher: URL? = nil, shell: String = "/bin/sh") { self.publisher = publisher; self.shell = shell }

    public func command(for step: PlannedStep, runDir: RunDirectory) throws -> [String] {
        guard let script = step.config["script"]?.stringValue else {
            throw RunnerError.invalidPlan("step '\(step.id)' has no config.script for the shell launcher")
        }
        return [shell, "-c", script]
    }

    public func publishCommand(for step: PlannedStep, runDir: RunDirectory, workDir: URL) throws -> [String] {
        guard let publisher else { throw RunnerError.invalidPlan("the shell launcher has no publisher executable") }
        return [publisher.path, "publish", "--run-dir", runDir.root.path, "--step", step.id, "--work-dir", workDir.path]
    }
}

/// Publishes a finished step's work directory as its artifact; what `publish-artifact` runs.
public enum ArtifactPublisher {
    @discardableResult
    public static func publish(runDir: URL, stepId: String, workDir: URL) throws -> ArtifactManifest {
        let rd = RunDirectory(runDir)
        let plan = try rd.readPlan()
        guard let step = plan.step(stepId) else { throw RunnerError.invalidPlan("no step '\(stepId)' in \(rd.planURL.path)") }
        let work = workDir.standardizedFileURL
        let base = rd.workURL.path + "/"
        guard work.path.hasPrefix(base), !work.path.dropFirst(base.count).contains("/"),
              work.lastPathComponent.hasPrefix(step.cacheKey + ".tmp-") else {
            throw RunnerError.artifact("\(workDir.path) is not a work directory of step '\(stepId)' in \(rd.root.path)")
        }
        return try rd.artifacts.publish(workDir: work, cacheKey: step.cacheKey, stepId: step.id)
    }
}
