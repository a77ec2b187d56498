import ClpFlowCore
import ClpFlowPlanner
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One attempt of one step, as handed to an execution backend.
struct JobSpec {
    var step: PlannedStep
    var attempt: Int
    var workDir: URL
    var logURL: URL
    var argv: [String]
    var publishArgv: [String]?
    var environment: [String: String]
    /// Backend job ids of upstream steps still in flight (Slurm dependencies).
    var dependencies: [String]
}

/// How an attempt ended.
struct JobCompletion {
    enum Outcome { case succeeded, failed, cancelled }
    var stepId: String
    var outcome: Outcome
    var exitStatus: Int?
    var reason: String?
    /// When the job began and stopped running, as the backend reports them (Slurm), else nil.
    var started: Date? = nil
    var ended: Date? = nil
}

/// Where step processes run: child processes (local) or Slurm jobs.
protocol ExecutionBackend: AnyObject {
    /// True if a step may be submitted before its inputs finished (the backend orders them).
    var submitsAhead: Bool { get }
    /// True if the job publishes its own artifact (the runner only verifies it).
    var publishesInJob: Bool { get }
    /// Starts an attempt; returns a backend job id if there is one.
    func start(_ job: JobSpec) throws -> String?
    /// Attempts that ended since the last call.
    func poll() -> [JobCompletion]
    /// Number of attempts in flight.
    var inFlight: Int { get }
    /// Stops everything in flight; returns the step ids that were stopped.
    func cancelAll() -> [String]
    /// Takes over a job submitted by an earlier runner if it is still queued or running.
    func adopt(stepId: String, jobId: String) -> Bool
    /// When each running job started, by step id (queued jobs are absent; local steps start
    /// when launched and are never listed).
    func runningSince() -> [String: Date]
}

/// Runs each attempt as a child process with stdout and stderr appended to the step log.
final class LocalBackend: ExecutionBackend {
    var submitsAhead: Bool { false }
    func adopt(stepId: String, jobId: String) -> Bool { false }
    func runningSince() -> [String: Date] { [:] }
    var publishesInJob: Bool { false }
    private var running: [String: (process: ChildProcess, log: FileHandle)] = [:]
    var inFlight: Int { running.count }

    func start(_ job: JobSpec) throws -> String? {
        if !FileManager.default.fileExists(atPath: job.logURL.path) {
            guard FileManager.default.createFile(atPath: job.logURL.path, contents: nil) else {
                throw RunnerError.io("cannot create log file \(job.logURL.path)")
            }
        }
        guard let log = FileHandle(forWritingAtPath: job.logURL.path) else {
            throw RunnerError.io("cannot open log file \(job.logURL.path)")
        }
        _ = try? log.seekToEnd()
        log.write(Data("== \(Timestamp.string()) attempt \(job.attempt) of \(job.step.id) on \(currentHostName())\n".utf8))
        // A session of its own: the step leads its process group, so cancelling can signal the
        // group and stop the step's own children (e.g. a shell's commands) too.
        let p: ChildProcess
        do {
            p = try ChildProcess(executable: job.argv[0], argv: job.argv,
                                 options: .init(environment: job.environment, workingDirectory: job.workDir.path,
                                                outputFile: log.fileDescriptor, newSession: true))
        } catch let e as ChildProcess.SpawnError {
            try? log.close()
            throw RunnerError.io("cannot start \(job.argv[0]) for step '\(job.step.id)': \(e.message)")
        }
        running[job.step.id] = (p, log)
        return nil
    }

    func poll() -> [JobCompletion] {
        var out: [JobCompletion] = []
        for (id, r) in running where r.process.checkExited() {
            try? r.log.close()
            running[id] = nil
            switch r.process.exit ?? .unknown {
            case .signalled(let s):
                out.append(JobCompletion(stepId: id, outcome: .failed, exitStatus: 128 + Int(s),
                                         reason: "killed by signal \(s)"))
            case .exited(0):
                out.append(JobCompletion(stepId: id, outcome: .succeeded, exitStatus: 0, reason: nil))
            case .exited(let s):
                out.append(JobCompletion(stepId: id, outcome: .failed, exitStatus: Int(s), reason: "exited with status \(s)"))
            case .unknown:
                out.append(JobCompletion(stepId: id, outcome: .failed, exitStatus: nil,
                                         reason: "its exit status is unknown (it was waited for elsewhere)"))
            }
        }
        return out.sorted { $0.stepId < $1.stepId }
    }

    static func signalGroup(_ p: ChildProcess, _ sig: Int32) {
        let pid = p.pid
        guard pid > 0 else { return }
        // A group whose id is our child's pid can only be the child's own group.
        if kill(-pid, sig) != 0 && !p.checkExited() { kill(pid, sig) }
    }

    func cancelAll() -> [String] {
        let ids = Array(running.keys).sorted()
        // Each child leads its own process group (it starts in a new session): signal the group so
        // the step's own children (e.g. a shell's commands) stop too.
        for (_, r) in running { LocalBackend.signalGroup(r.process, SIGTERM) }
        let deadline = Date().addingTimeInterval(5)
        while running.values.contains(where: { !$0.process.checkExited() }) && Date() < deadline { usleep(20_000) }
        for (_, r) in running { LocalBackend.signalGroup(r.process, SIGKILL) }
        for (_, r) in running { r.process.waitForExit(deadline: nil); try? r.log.close() }
        running.removeAll()
        return ids
    }
}
