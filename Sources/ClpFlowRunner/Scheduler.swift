import ClpFlowCore
import ClpFlowPlanner
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The scheduling loop shared by both executors.
struct Scheduler {
    enum State { case pending, inFlight, final }

    let plan: Plan
    let rd: RunDirectory
    let store: RunStore
    let runId: Int64
    let host: String
    let options: RunOptions
    let launcher: StepLauncher
    let backend: ExecutionBackend
    let display: ProgressDisplay
    /// The plan's steps, longest remaining path first (`LaunchOrder`): when fewer slots than ready
    /// steps are free, the step that holds up the most work starts first.
    let launchOrder: [PlannedStep]

    var records: [String: StepRecord] = [:]
    var outcomes: [String: StepOutcome] = [:]
    var state: [String: State] = [:]
    var attempts: [String: Int] = [:]
    var jobIds: [String: String] = [:]
    var workDirs: [String: URL] = [:]
    var tails: [String: EventsTail] = [:]
    var startTimes: [String: Date] = [:]
    var endTimes: [String: Date] = [:]
    var stopReason: String? = nil
    /// Why each step had to run (missing or unusable artifact), kept as the reason of `done` steps.
    var whyRun: [String: String] = [:]
    /// Slurm jobs left in flight by a runner that died, by step id: adopted instead of resubmitted.
    var orphanedJobs: [String: StepRecord] = [:]
    /// Removes attempt folders no live process owns (at run start and after each publish).
    var sweeper: AttemptSweeper? = nil
    /// (name, training step) of the metrics stored for the attempt in flight, by step id and by
    /// the kind of event that reported them (see `metricRows`).
    var storedMetrics: [String: StoredMetrics] = [:]

    struct MetricKey: Hashable { var name: String; var step: Int }
    struct StoredMetrics { var fromProgress = Set<MetricKey>(); var fromMetricEvents = Set<MetricKey>() }

    init(plan: Plan, rd: RunDirectory, store: RunStore, runId: Int64, host: String, options: RunOptions,
         launcher: StepLauncher, backend: ExecutionBackend, display: ProgressDisplay) {
        self.plan = plan; self.rd = rd; self.store = store; self.runId = runId; self.host = host
        self.options = options; self.launcher = launcher; self.backend = backend; self.display = display
        self.launchOrder = LaunchOrder.ordered(plan)
    }

    func step(_ id: String) -> PlannedStep { plan.step(id)! }

    mutating func save(_ id: String, _ change: (inout StepRecord) -> Void) throws {
        var r = records[id]!
        change(&r)
        records[id] = r
        try store.saveStep(r)
    }

    mutating func finish(_ id: String, _ status: StepStatus, exit: Int? = nil, reason: String? = nil, logTail: [String] = [],
                         startedAt: Date? = nil, endedAt: Date? = nil) throws {
        let now = Date()
        // A Slurm job's own start and end (from Slurm) when known, else the runner's clock.
        let end = endedAt ?? now
        endTimes[id] = end
        if let startedAt { startTimes[id] = startedAt }
        state[id] = .final
        try save(id) { r in
            r.status = status; r.ended = Timestamp.string(end); r.reason = reason
            if let startedAt { r.started = Timestamp.string(startedAt) }
            if let exit { r.exitStatus = exit }
        }
        outcomes[id] = StepOutcome(status: status, attempts: attempts[id] ?? 0, exitStatus: exit ?? records[id]?.exitStatus,
                                   reason: reason, slurmJobId: jobIds[id], logTail: logTail)
        display.stepFinished(id: id, status: status, reason: reason, logTail: logTail, now: now)
    }

    mutating func execute() throws -> RunResult {
        // Record the plan and decide what is already done.
        for s in plan.steps {
            let inputKeys = s.inputs.map { step($0).cacheKey }
            try store.saveStepKey(runId: runId, step: s, inputKeys: inputKeys)
            records[s.id] = StepRecord(runId: runId, stepId: s.id, kind: s.kind.rawValue, cacheKey: s.cacheKey, status: .pending)
            try store.saveStep(records[s.id]!)
            state[s.id] = .pending
        }
        var cachedCount = 0
        for s in plan.steps {
            switch rd.artifacts.verify(cacheKey: s.cacheKey) {
            case .valid:
                try save(s.id) { $0.status = .cached; $0.reason = "artifact \(s.cacheKey.prefix(12)) verified" }
                state[s.id] = .final
                outcomes[s.id] = StepOutcome(status: .cached, attempts: 0, exitStatus: nil, reason: nil, slurmJobId: nil, logTail: [])
                cachedCount += 1
            case .missing:
                let why = "no artifact for cache key \(s.cacheKey.prefix(12))"
                whyRun[s.id] = why
                try save(s.id) { $0.reason = why }
            case .corrupt(let why):
                try rd.artifacts.remove(cacheKey: s.cacheKey)
                let reason = "artifact was unusable (\(why)); removed"
                whyRun[s.id] = reason
                try save(s.id) { $0.reason = reason }
                display.note("\(s.id): artifact unusable (\(why)); the step will rerun")
            }
        }
        display.runStarted(runId: runId, workflow: plan.workflowName, total: plan.steps.count, cached: cachedCount)
        try adoptOrphanedJobs()
        try sweepAttempts(when: "run start")

        var signal: Int32? = nil
        do { signal = try loop() } catch {
            // Never leave step processes or jobs behind when the runner itself fails.
            _ = backend.cancelAll()
            throw error
        }
        let statuses = plan.steps.map { records[$0.id]!.status }
        let status: RunStatus = signal != nil ? .cancelled
            : statuses.allSatisfy(\.isSuccess) ? .done : .failed
        return RunResult(runId: runId, status: status, steps: outcomes, signal: signal)
    }

    /// Polls, completes and launches until every step is final; returns the signal that stopped it.
    mutating func loop() throws -> Int32? {
        var signal: Int32? = nil
        while true {
            if let sig = Runner.currentSignal(options.cancellation) {
                signal = sig
                try cancelEverything(reason: "run interrupted by signal \(sig)")
                break
            }
            for c in backend.poll() { try complete(c) }
            try recordJobStarts()
            try launchReady()
            let open = plan.steps.contains { state[$0.id] != .final }
            if !open { break }
            if backend.inFlight == 0 && !plan.steps.contains(where: { state[$0.id] == .inFlight }) {
                // Nothing runs and nothing can start: everything left is blocked.
                try skipBlocked()
                break
            }
            readEvents()
            display.tick(now: Date())
            usleep(useconds_t(options.pollInterval * 1_000_000))
        }
        return signal
    }

    /// Upstream failure that prevents a step from ever running, if any.
    func blockingUpstream(_ s: PlannedStep) -> (String, StepStatus)? {
        for i in s.inputs {
            let st = records[i]!.status
            if st == .failed || st == .skipped || st == .cancelled { return (i, st) }
        }
        return nil
    }

    mutating func launchReady() throws {
        // Upstream steps always rank above their consumers, so this order is also topological.
        for s in launchOrder where state[s.id] == .pending {
            if let (up, st) = blockingUpstream(s) {
                try finish(s.id, .skipped, reason: "upstream '\(up)' \(st.rawValue)")
                continue
            }
            if stopReason != nil { continue }
            let ready = s.inputs.allSatisfy { i in
                let r = records[i]!
                if r.status.isSuccess { return true }
                // Slurm orders jobs itself, unless the upstream may be retried.
                return backend.submitsAhead && state[i] == .inFlight && jobIds[i] != nil && step(i).resources.retries == 0
            }
            guard ready else { continue }
            if !backend.submitsAhead && backend.inFlight >= options.maxParallel { return }
            try launch(s)
        }
    }

    mutating func launch(_ s: PlannedStep) throws {
        let attempt = (attempts[s.id] ?? 0) + 1
        attempts[s.id] = attempt
        let work = try rd.workDir(cacheKey: s.cacheKey, attempt: "\(runId)-\(attempt)")
        if FileManager.default.fileExists(atPath: work.path) { try? FileManager.default.removeItem(at: work) }
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        workDirs[s.id] = work
        tails[s.id] = EventsTail(url: work.appendingPathComponent(StepEvents.fileName))
        if attempt > 1 { try store.deleteMetrics(runId: runId, stepId: s.id) }
        storedMetrics[s.id] = nil
        var env = ProcessInfo.processInfo.environment
        env[StepContext.Env.runDir] = rd.root.path
        env[StepContext.Env.stepId] = s.id
        env[StepContext.Env.workDir] = work.path
        env[StepContext.Env.attempt] = String(attempt)
        env[StepContext.Env.events] = work.appendingPathComponent(StepEvents.fileName).path
        // Everything the step's numbers could depend on (thread counts, the OpenBLAS core type) is
        // set the same way for every executor: local steps get it in their environment, Slurm batch
        // scripts export (or unset) each variable explicitly (NumericsEnvironment). Locally a step
        // uses at least a fair share of the cores (a step running alone uses every core); the
        // kernels' results do not depend on the thread count.
        let share = backend.submitsAhead ? 1 : Swift.max(1, Runner.cores / Swift.max(1, backend.inFlight + 1))
        env = NumericsEnvironment.apply(to: env, for: s, share: share)
        for (i, input) in s.inputs.enumerated() { env[StepContext.Env.input(i)] = try rd.artifacts.url(for: step(input).cacheKey).path }
        let deps = s.inputs.compactMap { i in state[i] == .inFlight ? jobIds[i] : nil }
        let job = JobSpec(step: s, attempt: attempt, workDir: work, logURL: rd.logURL(stepId: s.id),
                          argv: try launcher.command(for: s, runDir: rd),
                          publishArgv: backend.publishesInJob ? try launcher.publishCommand(for: s, runDir: rd, workDir: work) : nil,
                          environment: env, dependencies: deps)
        let now = Date()
        let jobId: String?
        do { jobId = try backend.start(job) } catch {
            try finish(s.id, .failed, reason: "could not start: \(error)")
            if !options.keepGoing { stopReason = "'\(s.id)' could not start" }
            return
        }
        jobIds[s.id] = jobId
        if jobId == nil { startTimes[s.id] = now } else { startTimes[s.id] = nil }
        state[s.id] = .inFlight
        let localHost: String? = jobId == nil ? host : nil
        try save(s.id) { r in
            // A Slurm job is only queued now: `started` is filled in when Slurm starts it.
            r.status = .running; r.attempt = attempt; r.ended = nil
            r.started = jobId == nil ? Timestamp.string(now) : nil
            r.submitted = jobId == nil ? nil : Timestamp.string(now)
            r.host = localHost; r.slurmJobId = jobId; r.exitStatus = nil
        }
        display.stepStarted(id: s.id, attempt: attempt, jobId: jobId, now: now, rewardOrder: Scheduler.rewardNames(s))
    }

    /// The reward names of a step's configuration, in workflow order.
    static func rewardNames(_ s: PlannedStep) -> [String] {
        (s.config["rewards"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
    }

    /// Tracks the still-running Slurm jobs of an interrupted run instead of submitting them again.
    mutating func adoptOrphanedJobs() throws {
        for s in plan.steps where state[s.id] == .pending {
            guard let old = orphanedJobs[s.id], old.cacheKey == s.cacheKey, let jobId = old.slurmJobId,
                  let work = try? rd.workDir(cacheKey: s.cacheKey, attempt: "\(old.runId)-\(old.attempt)"),
                  FileManager.default.fileExists(atPath: work.path),
                  backend.adopt(stepId: s.id, jobId: jobId) else { continue }
            let attempt = max(1, old.attempt)
            attempts[s.id] = attempt
            jobIds[s.id] = jobId
            workDirs[s.id] = work
            tails[s.id] = EventsTail(url: work.appendingPathComponent(StepEvents.fileName))
            let started = old.started.flatMap(Timestamp.date) ?? Date()
            startTimes[s.id] = started
            state[s.id] = .inFlight
            let why = "adopted slurm job \(jobId) of run \(old.runId)"
            whyRun[s.id] = why
            try save(s.id) { r in
                r.status = .running; r.attempt = attempt; r.started = old.started; r.submitted = old.submitted
                r.slurmJobId = jobId; r.reason = why
            }
            display.stepStarted(id: s.id, attempt: attempt, jobId: jobId, now: started, rewardOrder: Scheduler.rewardNames(s))
            display.note("\(s.id): \(why)")
        }
    }

    /// Removes attempt folders that no live process owns (the attempts in flight here are kept),
    /// records them in the run store and says so.
    mutating func sweepAttempts(when: String) throws {
        guard let sweeper else { return }
        var protected = Set<String>()
        for s in plan.steps where state[s.id] == .inFlight { if let w = workDirs[s.id] { protected.insert(w.lastPathComponent) } }
        let removed = sweeper.sweep(runId: runId, protected: protected, when: when)
        guard !removed.isEmpty else { return }
        try store.recordRemoved(removed)
        let bytes = removed.reduce(Int64(0)) { $0 + $1.bytes }
        display.note("removed \(removed.count) attempt folder\(removed.count == 1 ? "" : "s") no live process owned (\(ProgressRendering.bytes(bytes))): "
                     + removed.map { "work/" + $0.name }.joined(separator: ", "))
    }

    /// Records when Slurm started the jobs in flight (their queue wait ends there).
    mutating func recordJobStarts() throws {
        for (id, date) in backend.runningSince() where state[id] == .inFlight && records[id]?.started == nil {
            startTimes[id] = date
            try save(id) { $0.started = Timestamp.string(date) }
        }
    }

    mutating func readEvents() {
        var rows: [MetricRecord] = []
        for s in plan.steps where state[s.id] == .inFlight {
            guard var t = tails[s.id] else { continue }
            for e in t.read() {
                display.stepEvent(id: s.id, e)
                rows += metricRows(s.id, e)
            }
            tails[s.id] = t
        }
        try? store.addMetrics(rows)
    }

    /// The rows an event adds to the `metrics` table. A step reports most training metrics twice,
    /// in a `progress` event (for the display) and as `metric` events; a value with the same
    /// name and training step in both is one value and is stored once.
    mutating func metricRows(_ id: String, _ e: StepEvent) -> [MetricRecord] {
        switch e {
        case .progress(let step, _, let metrics):
            var rows: [MetricRecord] = []
            for name in metrics.keys.sorted() {
                let key = MetricKey(name: name, step: step)
                if storedMetrics[id, default: .init()].fromMetricEvents.contains(key) { continue }
                storedMetrics[id, default: .init()].fromProgress.insert(key)
                rows.append(MetricRecord(runId: runId, stepId: id, name: name, value: metrics[name]!, trainingStep: step))
            }
            return rows
        case .metric(let name, let value, let step):
            if let step {
                let key = MetricKey(name: name, step: step)
                if storedMetrics[id, default: .init()].fromProgress.contains(key) { return [] }
                storedMetrics[id, default: .init()].fromMetricEvents.insert(key)
            }
            return [MetricRecord(runId: runId, stepId: id, name: name, value: value, trainingStep: step)]
        case .message: return []
        }
    }

    mutating func complete(_ c: JobCompletion) throws {
        let s = step(c.stepId)
        // Last events of the attempt (from the work dir, or from the artifact a Slurm job published).
        if var t = tails[s.id] {
            if c.outcome == .succeeded && backend.publishesInJob,
               let dir = try? rd.artifacts.url(for: s.cacheKey), !FileManager.default.fileExists(atPath: t.url.path) {
                t = t.moved(to: dir.appendingPathComponent(StepEvents.fileName))
            }
            var rows: [MetricRecord] = []
            for e in t.read() { display.stepEvent(id: s.id, e); rows += metricRows(s.id, e) }
            try store.addMetrics(rows)
            tails[s.id] = nil
        }
        var outcome = c.outcome
        var reason = c.reason
        if outcome == .succeeded {
            do {
                if !backend.publishesInJob, let work = workDirs[s.id] {
                    try rd.artifacts.publish(workDir: work, cacheKey: s.cacheKey, stepId: s.id)
                }
                if case .corrupt(let why) = rd.artifacts.verify(cacheKey: s.cacheKey) {
                    throw RunnerError.artifact("published artifact does not verify: \(why)")
                } else if case .missing = rd.artifacts.verify(cacheKey: s.cacheKey) {
                    throw RunnerError.artifact("the step exited 0 but no artifact was published")
                }
            } catch {
                outcome = .failed
                reason = "\(error)"
            }
        }
        switch outcome {
        case .succeeded:
            try finish(s.id, .done, exit: c.exitStatus, reason: whyRun[s.id], startedAt: c.started, endedAt: c.ended)
            try sweepAttempts(when: "after publishing \(s.id)")
        case .cancelled:
            try finish(s.id, .cancelled, exit: c.exitStatus, reason: reason, startedAt: c.started, endedAt: c.ended)
        case .failed:
            let attempt = attempts[s.id] ?? 1
            let tailLines = Runner.tail(of: rd.logURL(stepId: s.id), attempt: attempt)
            if attempt <= s.resources.retries && stopReason == nil {
                display.note("\(s.id): attempt \(attempt) failed (\(reason ?? "error")); retrying (\(attempt)/\(s.resources.retries))")
                try save(s.id) { $0.exitStatus = c.exitStatus; $0.reason = reason }
                state[s.id] = .pending
                try launch(s)
            } else {
                try finish(s.id, .failed, exit: c.exitStatus, reason: reason, logTail: tailLines, startedAt: c.started, endedAt: c.ended)
                if !options.keepGoing && stopReason == nil { stopReason = "'\(s.id)' failed" }
            }
        }
    }

    mutating func cancelEverything(reason: String) throws {
        let stopped = Set(backend.cancelAll())
        for s in plan.steps where state[s.id] != .final {
            try finish(s.id, .cancelled, reason: stopped.contains(s.id) || state[s.id] == .inFlight ? reason : "not started: \(reason)")
        }
    }

    mutating func skipBlocked() throws {
        for s in plan.steps where state[s.id] == .pending {
            let why = blockingUpstream(s).map { "upstream '\($0.0)' \($0.1.rawValue)" }
                ?? "not started: \(stopReason ?? "run stopped")"
            try finish(s.id, .skipped, reason: why)
        }
    }

    func summaryRows() -> [SummaryRow] {
        plan.steps.map { s in
            let r = records[s.id]!
            var elapsed: Double? = nil
            if let a = startTimes[s.id], let b = endTimes[s.id] { elapsed = b.timeIntervalSince(a) }
            return SummaryRow(stepId: s.id, status: r.status, attempts: attempts[s.id] ?? 0, elapsed: elapsed, reason: r.reason)
        }
    }
}

extension EventsTail {
    /// Continues reading the same stream from a file that was moved.
    func moved(to url: URL) -> EventsTail {
        var t = self
        t.url = url
        return t
    }
}
