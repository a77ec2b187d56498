import ClpFlowCore
import ClpFlowPlanner
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A flag a caller (or a signal handler) sets to stop a run.
public final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var _signal: Int32? = nil
    public init() {}
    public func cancel(signal: Int32 = SIGTERM) { lock.lock(); if _signal == nil { _signal = signal }; lock.unlock() }
    public var signal: Int32? { lock.lock(); defer { lock.unlock() }; return _signal }
}

public struct RunOptions: Sendable {
    /// Steps running at the same time (local executor).
    public var maxParallel: Int
    /// After a failure, keep running branches that do not depend on it.
    public var keepGoing: Bool
    public var executor: ExecutorKind
    /// Settings of the Slurm executor (used when `executor` is `.slurm`).
    public var slurm: SlurmOptions
    public var display: DisplayMode
    /// Recorded in the run store.
    public var argv: [String]
    /// Seconds between two polls of running steps.
    public var pollInterval: Double
    /// Install SIGINT/SIGTERM handlers for the duration of the run.
    public var handleSignals: Bool
    public var cancellation: CancellationFlag?
    /// Where progress and summaries go (stderr by default).
    public var output: @Sendable (String) -> Void

    public init(maxParallel: Int = 1, keepGoing: Bool = false, executor: ExecutorKind = .local,
                slurm: SlurmOptions = SlurmOptions(),
                display: DisplayMode = .auto, argv: [String] = CommandLine.arguments, pollInterval: Double = 0.05,
                handleSignals: Bool = true, cancellation: CancellationFlag? = nil,
                output: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.maxParallel = max(1, maxParallel); self.keepGoing = keepGoing; self.executor = executor
        self.slurm = slurm
        self.display = display; self.argv = argv; self.pollInterval = pollInterval
        self.handleSignals = handleSignals; self.cancellation = cancellation; self.output = output
    }
}

/// What happened to one step in a run.
public struct StepOutcome: Sendable, Equatable {
    public var status: StepStatus
    public var attempts: Int
    public var exitStatus: Int?
    public var reason: String?
    public var slurmJobId: String?
    /// The last lines of the log of a failed step.
    public var logTail: [String]
}

public struct RunResult: Sendable {
    public var runId: Int64
    public var status: RunStatus
    public var steps: [String: StepOutcome]
    /// Set when the run was stopped by a signal.
    public var signal: Int32?

    public var exitCode: Int32 {
        switch status {
        case .done: return ClpFlowExit.success
        case .cancelled: return 128 + (signal ?? SIGINT)
        case .failed, .running: return ClpFlowExit.failure
        }
    }
}

nonisolated(unsafe) private var pendingSignal: sig_atomic_t = 0

/// Executes plans: see docs/runner.md.
public enum Runner {
    /// Cores of this machine, shared among the local steps running at once.
    static let cores = Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)

    public static let logTailLines = 20

    /// Runs `plan` in `runDir` with processes made by `launcher`. Steps whose artifacts exist and
    /// verify are `cached`; the others run in dependency order. Re-running the same plan on the
    /// same directory runs only what is unfinished.
    public static func run(plan: Plan, runDir: URL, options: RunOptions = RunOptions(),
                           launcher: StepLauncher) throws -> RunResult {
        try plan.validateForExecution()
        let rd = RunDirectory(runDir)
        try rd.create()
        let lock = try RunLock.acquire(rd.lockURL)
        defer { lock.release() }
        let display = ProgressDisplay(mode: options.display, write: options.output)
        if let old = lock.tookOverFrom {
            display.note("taking over a stale lock left by pid \(old.pid) on \(old.host) (started \(old.started))")
        }
        try rd.writePlan(plan)
        let store = try RunStore(url: rd.storeURL)
        let (orphanedJobs, stoppedNotes) = try markInterruptedRuns(store, rd: rd)
        for n in stoppedNotes { display.note(n) }
        let host = currentHostName()
        let runId = try store.beginRun(workflow: plan.workflowName, host: host, pid: getpid(), argv: options.argv)

        let backend: ExecutionBackend
        var slurmBinDir: String? = nil
        switch options.executor {
        case .local: backend = LocalBackend()
        case .slurm: backend = try SlurmBackend(options: options.slurm, runDir: rd); slurmBinDir = options.slurm.binDir
        }

        var previousHandlers: [(Int32, sigaction)] = []
        if options.handleSignals {
            pendingSignal = 0
            for sig in [SIGINT, SIGTERM] {
                var action = sigaction()
                action.__sigaction_handler.sa_handler = { s in pendingSignal = s }
                sigemptyset(&action.sa_mask)
                var old = sigaction()
                sigaction(sig, &action, &old)
                previousHandlers.append((sig, old))
            }
        }
        defer {
            for (sig, old) in previousHandlers { var o = old; sigaction(sig, &o, nil) }
        }

        var engine = Scheduler(plan: plan, rd: rd, store: store, runId: runId, host: host, options: options,
                               launcher: launcher, backend: backend, display: display)
        engine.orphanedJobs = orphanedJobs
        engine.sweeper = AttemptSweeper(rd: rd, store: store, slurmJobAlive: AttemptSweeper.slurmProbe(binDir: slurmBinDir))
        let result: RunResult
        do { result = try engine.execute() } catch {
            try? store.endRun(id: runId, status: .failed)
            throw error
        }
        try store.endRun(id: runId, status: result.status)
        display.finished(rows: engine.summaryRows(), status: result.status)
        return result
    }

    /// Runs left `running` by a runner that died (the lock is ours now) are closed as cancelled.
    /// Returns the Slurm jobs those runs had in flight, by step id (they may still be running).
    ///
    /// The local step processes such a run left running on this host (orphans of a `kill -9`) are
    /// stopped first, so a step never runs twice at once; `notes` says which were stopped.
    static func markInterruptedRuns(_ store: RunStore, rd: RunDirectory) throws -> (inFlight: [String: StepRecord], notes: [String]) {
        var inFlight: [String: StepRecord] = [:]
        var notes: [String] = []
        let host = currentHostName()
        for run in try store.runs() where run.status == RunStatus.running.rawValue {
            let steps = try store.steps(runId: run.id)
            // Attempt folders of the steps this run had running here as child processes.
            var localWork: [URL: String] = [:]
            for s in steps where s.status == .running && s.slurmJobId == nil && (s.host ?? host) == host && s.attempt >= 1 {
                if let w = try? rd.workDir(cacheKey: s.cacheKey, attempt: "\(run.id)-\(s.attempt)") { localWork[w] = s.stepId }
            }
            let orphans = OrphanedSteps.find(workDirs: Array(localWork.keys))
            var stopped: [String: [Int32]] = [:]
            if !orphans.isEmpty {
                let roots = OrphanedSteps.roots(orphans)
                OrphanedSteps.stop(orphans)
                for o in roots { stopped[o.stepId, default: []].append(o.pid) }
                for (id, pids) in stopped.sorted(by: { $0.key < $1.key }) {
                    let list = pids.map(String.init).joined(separator: ", ")
                    let started = orphans.filter { $0.stepId == id }.count - pids.count
                    let children = started > 0 ? " and \(started) process\(started == 1 ? "" : "es") it started" : ""
                    notes.append("stopped step \(id) of run \(run.id), left running by the runner that died (pid\(pids.count == 1 ? "" : "s") \(list)\(children))")
                }
            }
            for var s in steps where !s.status.isFinal {
                if s.status == .running, s.slurmJobId != nil { inFlight[s.stepId] = s }
                s.status = .cancelled
                s.reason = "the runner (pid \(run.pid) on \(run.host)) stopped abruptly"
                if stopped[s.stepId] != nil { s.reason! += "; its step process was stopped" }
                try store.saveStep(s)
            }
            try store.endRun(id: run.id, status: .cancelled)
        }
        return (inFlight, notes)
    }

    static func currentSignal(_ flag: CancellationFlag?) -> Int32? {
        if pendingSignal != 0 { return Int32(pendingSignal) }
        return flag?.signal
    }

    /// The last `n` lines of a file. With `attempt`, only lines of that attempt: a step's log is
    /// appended across attempts and runs, each attempt starting with a header line written by
    /// the runner (`== <time> attempt <n> of <step> on <host>`, or `== <time> attempt <n> on
    /// <host> (slurm job <id>)` in a Slurm job), so the tail starts at the last such header.
    public static func tail(of url: URL, lines n: Int = logTailLines, attempt: Int? = nil) -> [String] {
        guard let h = FileHandle(forReadingAtPath: url.path) else { return [] }
        defer { try? h.close() }
        let size = (try? h.seekToEnd()) ?? 0
        let start = size > 65536 ? size - 65536 : 0
        try? h.seek(toOffset: start)
        let data = (try? h.readToEnd()) ?? Data()
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if let attempt, let header = lines.lastIndex(where: { isAttemptHeader($0, attempt: attempt) }) {
            lines.removeSubrange(..<header)
        }
        return Array(lines.suffix(n))
    }

    /// Whether `line` is the header the runner writes before attempt `attempt` of a step.
    static func isAttemptHeader(_ line: String, attempt: Int) -> Bool {
        guard line.hasPrefix("== ") else { return false }
        let fields = line.dropFirst(3).split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count == 4, fields[0].hasSuffix("Z"), fields[1] == "attempt", fields[2] == Substring(String(attempt)) else { return false }
        return fields[3].hasPrefix("of ") || fields[3].hasPrefix("on ")
    }
}
