import ClpFlowCore
import ClpFlowPlanner
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Settings of the Slurm executor.
public struct SlurmOptions: Sendable, Equatable {
    /// Seconds between two queries of the job states.
    public var pollInterval: Double
    /// Extra `sbatch` arguments, e.g. `["--qos=short"]`.
    public var extraSbatchArgs: [String]
    /// Directory holding sbatch/squeue/scontrol/scancel; nil searches PATH.
    public var binDir: String?

    public init(pollInterval: Double = 0.5, extraSbatchArgs: [String] = [], binDir: String? = nil) {
        self.pollInterval = pollInterval; self.extraSbatchArgs = extraSbatchArgs; self.binDir = binDir
    }
}

/// Runs a command and returns its exit status, stdout and stderr.
func runTool(_ argv: [String], environment: [String: String]? = nil) throws -> (status: Int32, out: String, err: String) {
    do {
        let r = try ChildProcess.run(argv, environment: environment)
        return (r.status, r.outputText, r.errorText)
    } catch let e as ChildProcess.SpawnError {
        throw RunnerError.io("cannot run \(argv[0]): \(e.message)")
    }
}

/// Finds an executable in `dir` or on PATH.
func findExecutable(_ name: String, in dir: String?) -> String? {
    ExecutableSearch.find(name, in: dir.map { [$0] })
}

/// Quotes a string for a POSIX shell.
public func shellQuote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

/// Job state as reported by Slurm.
struct SlurmJobInfo: Equatable {
    var state: String
    var reason: String?
    var exitCode: Int?
    var signal: Int?
    /// `StartTime` / `EndTime` of a job that ran (Slurm's local time), nil while it is queued.
    var startTime: Date? = nil
    var endTime: Date? = nil

    static let terminal: Set<String> = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL",
                                        "PREEMPTED", "BOOT_FAIL", "DEADLINE", "SPECIAL_EXIT", "REVOKED"]
    var isTerminal: Bool { SlurmJobInfo.terminal.contains(state) }

    /// Parses one line of `scontrol show job -o`.
    static func parseScontrol(_ line: String) -> SlurmJobInfo? {
        var fields: [String: String] = [:]
        for token in line.split(separator: " ") {
            guard let eq = token.firstIndex(of: "=") else { continue }
            let k = String(token[..<eq])
            if fields[k] == nil { fields[k] = String(token[token.index(after: eq)...]) }
        }
        guard let state = fields["JobState"] else { return nil }
        var code: Int? = nil, sig: Int? = nil
        if let ec = fields["ExitCode"] {
            let parts = ec.split(separator: ":")
            code = parts.first.flatMap { Int($0) }
            sig = parts.count > 1 ? Int(parts[1]) : nil
        }
        let reason = fields["Reason"].flatMap { $0 == "None" ? nil : $0 }
        var info = SlurmJobInfo(state: state, reason: reason, exitCode: code, signal: sig)
        // A queued job's StartTime is only an estimate: keep the times of jobs that ran.
        if state != "PENDING" {
            info.startTime = fields["StartTime"].flatMap(parseTime)
            info.endTime = info.isTerminal ? fields["EndTime"].flatMap(parseTime) : nil
            if let a = info.startTime, let b = info.endTime, b < a { info.endTime = a }
        }
        return info
    }

    /// Slurm's `2026-11-29T02:30:00` (local time of the controller; `Unknown`/`None` give nil).
    static func parseTime(_ s: String) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone.current
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        return f.date(from: s)
    }
}

/// Submits each attempt with `sbatch --parsable` and tracks it by polling `squeue`/`scontrol`.
final class SlurmBackend: ExecutionBackend {
    var submitsAhead: Bool { true }
    var publishesInJob: Bool { true }
    let options: SlurmOptions
    let rd: RunDirectory
    let sbatch: String, squeue: String, scontrol: String, scancel: String
    private var jobs: [String: String] = [:]   // step id -> job id
    private var started: [String: Date] = [:]  // step id -> when its running job started
    private var lastPoll = Date.distantPast
    var inFlight: Int { jobs.count }

    init(options: SlurmOptions, runDir: RunDirectory) throws {
        self.options = options
        rd = runDir
        var found: [String] = []
        for tool in ["sbatch", "squeue", "scontrol", "scancel"] {
            guard let p = findExecutable(tool, in: options.binDir) else {
                throw RunnerError.slurm("'\(tool)' not found \(options.binDir.map { "in \($0)" } ?? "on PATH"); install the Slurm client tools or use the local executor")
            }
            found.append(p)
        }
        sbatch = found[0]; squeue = found[1]; scontrol = found[2]; scancel = found[3]
        try FileManager.default.createDirectory(at: rd.slurmURL, withIntermediateDirectories: true)
    }

    /// The batch script of one attempt: exports the step variables, runs the step, publishes.
    static func script(_ job: JobSpec) -> String {
        var s = "#!/bin/sh\n# clp-flow step \(job.step.id.replacingOccurrences(of: "\n", with: " ")) attempt \(job.attempt)\n"
        for (k, v) in job.environment.sorted(by: { $0.key < $1.key })
        where k.hasPrefix("CLP_FLOW_") && !NumericsEnvironment.names.contains(k) {
            s += "export \(k)=\(shellQuote(v))\n"
        }
        // The variables the numbers depend on, exactly as a local step gets them (whatever
        // sbatch's --export or the node's login environment would give).
        s += NumericsEnvironment.shellLines(job.environment)
        s += "cd \(shellQuote(job.workDir.path)) || exit 1\n"
        s += "echo \"== $(date -u +%Y-%m-%dT%H:%M:%SZ) attempt \(job.attempt) on $(hostname) (slurm job $SLURM_JOB_ID)\"\n"
        s += job.argv.map(shellQuote).joined(separator: " ") + "\n"
        s += "rc=$?\nif [ $rc -ne 0 ]; then echo \"step exited with status $rc\" >&2; exit $rc; fi\n"
        if let p = job.publishArgv {
            s += p.map(shellQuote).joined(separator: " ") + " || { echo 'publishing the outputs failed' >&2; exit 1; }\n"
        }
        return s
    }

    /// The sbatch arguments of one attempt (without the script path).
    static func sbatchArguments(_ job: JobSpec, extra: [String]) -> [String] {
        let r = job.step.resources
        var a = ["--parsable", "--job-name=\(SafeName.jobName(for: job.step.id))", "--output=\(job.logURL.path)",
                 "--open-mode=append", "--chdir=\(job.workDir.path)", "-c", String(max(1, r.cpus))]
        if let m = r.memoryMB { a.append("--mem=\(m)M") }
        if let t = r.timeMinutes { a += ["-t", String(t)] }
        if let p = r.partition { a += ["-p", p] }
        if let acct = r.account { a += ["-A", acct] }
        if !job.dependencies.isEmpty {
            a.append("--dependency=afterok:" + job.dependencies.joined(separator: ":"))
            a.append("--kill-on-invalid-dep=yes")
        }
        return a + extra
    }

    func start(_ job: JobSpec) throws -> String? {
        let scriptURL = rd.slurmURL.appendingPathComponent("\(SafeName.fileName(for: job.step.id)).\(job.workDir.lastPathComponent.split(separator: "-").suffix(2).joined(separator: "-")).sh")
        do {
            try Data(SlurmBackend.script(job).utf8).write(to: scriptURL, options: .atomic)
        } catch { throw RunnerError.io("cannot write \(scriptURL.path): \(error.localizedDescription)") }
        chmod(scriptURL.path, 0o755)
        let r = try runTool([sbatch] + SlurmBackend.sbatchArguments(job, extra: options.extraSbatchArgs) + [scriptURL.path])
        let id = r.out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ";").first.map(String.init) ?? ""
        guard r.status == 0, !id.isEmpty, id.allSatisfy(\.isNumber) else {
            throw RunnerError.slurm("sbatch failed for step '\(job.step.id)' (status \(r.status)): \(r.err.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        jobs[job.step.id] = id
        return id
    }

    func info(jobId: String) -> SlurmJobInfo? {
        guard let r = try? runTool([scontrol, "show", "job", "-o", jobId]), r.status == 0 else { return nil }
        return r.out.split(separator: "\n").compactMap { SlurmJobInfo.parseScontrol(String($0)) }.first
    }

    func poll() -> [JobCompletion] {
        guard !jobs.isEmpty, Date().timeIntervalSince(lastPoll) >= options.pollInterval else { return [] }
        lastPoll = Date()
        // One squeue call for every job; scontrol only for the ones that ended (exit code).
        var states: [String: String] = [:]
        let ids = jobs.values.sorted().joined(separator: ",")
        var startTimes: [String: Date] = [:]
        if let r = try? runTool([squeue, "-h", "-t", "all", "-j", ids, "-o", "%i|%T|%S"]), r.status == 0 {
            for line in r.out.split(separator: "\n") {
                let f = line.split(separator: "|", omittingEmptySubsequences: false)
                guard f.count >= 2 else { continue }
                states[String(f[0])] = String(f[1])
                if f.count >= 3, f[1] != "PENDING", let d = SlurmJobInfo.parseTime(String(f[2])) { startTimes[String(f[0])] = d }
            }
        }
        for (stepId, jobId) in jobs where started[stepId] == nil { if let d = startTimes[jobId] { started[stepId] = d } }
        var out: [JobCompletion] = []
        for (stepId, jobId) in jobs.sorted(by: { $0.key < $1.key }) {
            if let st = states[jobId], !SlurmJobInfo.terminal.contains(st) { continue }
            guard let info = info(jobId: jobId) else {
                if states[jobId] == nil {
                    out.append(JobCompletion(stepId: stepId, outcome: .failed, exitStatus: nil,
                                             reason: "slurm job \(jobId) disappeared from the queue"))
                    jobs[stepId] = nil
                }
                continue
            }
            guard info.isTerminal else { continue }
            jobs[stepId] = nil
            started[stepId] = nil
            let detail = "slurm job \(jobId) \(info.state)" + (info.reason.map { " (\($0))" } ?? "")
            var c: JobCompletion
            switch info.state {
            case "COMPLETED":
                c = JobCompletion(stepId: stepId, outcome: .succeeded, exitStatus: info.exitCode ?? 0, reason: nil)
            case "CANCELLED":
                c = JobCompletion(stepId: stepId, outcome: .cancelled, exitStatus: info.exitCode, reason: detail)
            default:
                c = JobCompletion(stepId: stepId, outcome: .failed, exitStatus: info.exitCode,
                                  reason: detail + (info.exitCode.map { ", exit status \($0)" } ?? ""))
            }
            c.started = info.startTime
            c.ended = info.endTime
            out.append(c)
        }
        return out
    }

    func runningSince() -> [String: Date] { started }

    func adopt(stepId: String, jobId: String) -> Bool {
        guard let info = info(jobId: jobId), !info.isTerminal else { return false }
        jobs[stepId] = jobId
        return true
    }

    func cancelAll() -> [String] {
        let ids = jobs.values.sorted()
        if !ids.isEmpty { _ = try? runTool([scancel] + ids) }
        let steps = jobs.keys.sorted()
        jobs.removeAll()
        started.removeAll()
        return steps
    }
}
