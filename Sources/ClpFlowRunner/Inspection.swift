import ClpFlowCore
import ClpFlowPlanner
import Foundation

/// Read-only views of a run directory for `status`, `metrics` and `explain`.
public enum RunInspection {
    public struct StepStatusLine: Sendable, Equatable {
        public var record: StepRecord
        /// Latest progress of a running step, from its events file.
        public var progress: (step: Int, total: Int)?

        public static func == (a: Self, b: Self) -> Bool {
            a.record == b.record && a.progress?.step == b.progress?.step && a.progress?.total == b.progress?.total
        }
    }

    public struct Status: Sendable, Equatable {
        public var run: RunRecord
        public var steps: [StepStatusLine]
        public var lockHolder: LockHolder?
        public var lockHeld: Bool
        /// Attempt folders this run removed because no live process owned them.
        public var removedAttempts: [RemovedAttempt] = []
    }

    static func openStore(_ rd: RunDirectory) throws -> RunStore { try RunStore(url: rd.storeURL, readOnly: true) }

    /// The latest run of a directory with its steps.
    public static func status(runDir: URL) throws -> Status {
        let rd = RunDirectory(runDir)
        let store = try openStore(rd)
        guard let run = try store.latestRun() else { throw RunnerError.store("no run recorded in \(rd.storeURL.path)") }
        var lines: [StepStatusLine] = []
        for r in try store.steps(runId: run.id) {
            var progress: (Int, Int)? = nil
            if r.status == .running, r.attempt > 0,
               let work = try? rd.workDir(cacheKey: r.cacheKey, attempt: "\(run.id)-\(r.attempt)") {
                var tail = EventsTail(url: work.appendingPathComponent(StepEvents.fileName))
                for e in tail.read() { if case .progress(let s, let t, _) = e { progress = (s, t) } }
            }
            var record = r
            record.reason = try whyItRan(r, store: store)
            lines.append(StepStatusLine(record: record, progress: progress))
        }
        let lock = RunLock.inspect(rd.lockURL)
        return Status(run: run, steps: lines, lockHolder: lock.holder, lockHeld: lock.held,
                      removedAttempts: try store.removedAttempts(runId: run.id))
    }

    /// The runner records "no artifact for cache key …" for every step it had to run; say why in
    /// the user's terms instead: a step this directory never ran is new; otherwise no cached
    /// result existed, because its cache key changed or its artifact went missing.
    static func whyItRan(_ r: StepRecord, store: RunStore) throws -> String? {
        guard let reason = r.reason, reason.hasPrefix("no artifact for cache key") else { return r.reason }
        let earlier = try store.stepKeys(stepId: r.stepId).filter { $0.runId < r.runId }
        guard let previous = earlier.last else { return "new step" }
        if previous.cacheKey == r.cacheKey { return "no cached result: the artifact of run \(previous.runId) is missing" }
        return "no cached result: the cache key changed since run \(previous.runId)"
    }

    public static func renderStatus(_ s: Status, now: Date = Date()) -> String {
        var out = "run \(s.run.id) of \(s.run.workflow): \(s.run.status)"
        out += " (started \(s.run.started)" + (s.run.ended.map { ", ended \($0)" } ?? "") + ", host \(s.run.host), pid \(s.run.pid))\n"
        if s.run.status == RunStatus.running.rawValue && !s.lockHeld {
            out += "warning: the run is recorded as running but no runner holds the directory (it stopped abruptly)\n"
        }
        // TIME is the step's own run time; QUEUE (Slurm runs) the wait between submission and start.
        let queued = s.steps.contains { $0.record.submitted != nil }
        let header = ["STEP", "STATUS", "ATTEMPT", "TIME"] + (queued ? ["QUEUE"] : []) + ["NOTE"]
        var rows: [[String]] = []
        for l in s.steps {
            let r = l.record
            let times = stepTimes(r, now: now)
            var note = r.reason ?? ""
            if let p = l.progress { note = "\(p.step)/\(p.total)" + (note.isEmpty ? "" : "  " + note) }
            if let j = r.slurmJobId { note = "job \(j)" + (note.isEmpty ? "" : "  " + note) }
            let time = times.run.map(ProgressRendering.duration) ?? "-"
            let queue = times.queue.map(ProgressRendering.duration) ?? "-"
            rows.append([r.stepId, r.status.rawValue, r.attempt == 0 ? "-" : String(r.attempt), time] + (queued ? [queue] : []) + [note])
        }
        let columns = header.count
        var widths = header.map(\.count)
        for row in rows { for i in 0..<(columns - 1) { widths[i] = max(widths[i], row[i].count) } }
        func line(_ c: [String]) -> String {
            var x = ""
            for i in 0..<(columns - 1) { x += c[i] + String(repeating: " ", count: widths[i] - c[i].count + 2) }
            x += c[columns - 1]
            while x.hasSuffix(" ") { x.removeLast() }
            return x + "\n"
        }
        out += line(header)
        for row in rows { out += line(row) }
        if !s.removedAttempts.isEmpty {
            let n = s.removedAttempts.count
            let bytes = s.removedAttempts.reduce(Int64(0)) { $0 + $1.bytes }
            out += "removed \(n) attempt folder\(n == 1 ? "" : "s") no live process owned (\(ProgressRendering.bytes(bytes))):\n"
            for r in s.removedAttempts {
                out += "  work/\(r.name)  \(ProgressRendering.bytes(r.bytes))  at \(r.when)\n"
            }
        }
        return out
    }

    /// Run time (start → end, or → now while running) and queue wait (submission → start, or →
    /// now while queued) of a step, in seconds; nil when unknown or not applicable.
    public static func stepTimes(_ r: StepRecord, now: Date = Date()) -> (run: Double?, queue: Double?) {
        let submitted = r.submitted.flatMap(Timestamp.date)
        let started = r.started.flatMap(Timestamp.date)
        let ended = r.ended.flatMap(Timestamp.date)
        var run: Double? = nil, queue: Double? = nil
        if let a = started { run = max(0, (ended ?? now).timeIntervalSince(a)) }
        if let q = submitted {
            if let a = started { queue = max(0, a.timeIntervalSince(q)) }
            else { queue = max(0, (ended ?? now).timeIntervalSince(q)) }
        }
        return (run, queue)
    }

    public static func statusJSON(_ s: Status) -> JSONValue {
        func opt(_ v: String?) -> JSONValue { v.map { .string($0) } ?? .null }
        func optInt(_ v: Int?) -> JSONValue { v.map { .number(Double($0)) } ?? .null }
        let steps: [JSONValue] = s.steps.map { l in
            let r = l.record
            var o: [String: JSONValue] = [
                "id": .string(r.stepId), "kind": .string(r.kind), "cache_key": .string(r.cacheKey),
                "status": .string(r.status.rawValue), "attempt": .number(Double(r.attempt)),
                "started": opt(r.started), "ended": opt(r.ended), "exit_status": optInt(r.exitStatus),
                "host": opt(r.host), "slurm_job_id": opt(r.slurmJobId), "reason": opt(r.reason),
            ]
            if let p = l.progress { o["progress"] = ["step": .number(Double(p.step)), "total": .number(Double(p.total))] }
            o["submitted"] = opt(r.submitted)
            let times = stepTimes(r)
            o["run_seconds"] = times.run.map { .number(($0 * 1000).rounded() / 1000) } ?? .null
            o["queue_seconds"] = times.queue.map { .number(($0 * 1000).rounded() / 1000) } ?? .null
            return .object(o)
        }
        let run: JSONValue = [
            "id": .number(Double(s.run.id)), "workflow": .string(s.run.workflow), "status": .string(s.run.status),
            "started": .string(s.run.started), "ended": opt(s.run.ended), "host": .string(s.run.host),
            "pid": .number(Double(s.run.pid)), "argv": .array(s.run.argv.map { .string($0) }),
        ]
        var lock: [String: JSONValue] = ["held": .bool(s.lockHeld)]
        if let h = s.lockHolder { lock["pid"] = .number(Double(h.pid)); lock["host"] = .string(h.host); lock["started"] = .string(h.started) }
        let removed: [JSONValue] = s.removedAttempts.map {
            ["name": .string($0.name), "bytes": .number(Double($0.bytes)), "when": .string($0.when), "removed": .string($0.removed)]
        }
        return ["run": run, "steps": .array(steps), "lock": .object(lock), "removed_attempts": .array(removed)]
    }

    // MARK: metrics

    /// Metrics of the latest run; a cached step contributes the metrics of the run that produced
    /// its artifact.
    public static func metrics(runDir: URL, stepId: String? = nil) throws -> [MetricRecord] {
        let rd = RunDirectory(runDir)
        let store = try openStore(rd)
        guard let run = try store.latestRun() else { throw RunnerError.store("no run recorded in \(rd.storeURL.path)") }
        let steps = try store.steps(runId: run.id)
        if let stepId, !steps.contains(where: { $0.stepId == stepId }) {
            let known = steps.map(\.stepId).joined(separator: ", ")
            throw RunnerError.io("no step '\(stepId)' in run \(run.id); steps are: \(known)")
        }
        var out: [MetricRecord] = []
        for s in steps where stepId == nil || s.stepId == stepId {
            if s.status == .cached {
                out += try store.metricsOfArtifact(stepId: s.stepId, cacheKey: s.cacheKey)
            } else {
                out += try store.metrics(runId: run.id, stepId: s.stepId)
            }
        }
        return out
    }

    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    public static func metricsCSV(_ rows: [MetricRecord]) -> String {
        var out = "run,step,name,training_step,value\n"
        for r in rows {
            out += [String(r.runId), csvField(r.stepId), csvField(r.name), r.trainingStep.map(String.init) ?? "",
                    JSONValue.formatNumber(r.value)].joined(separator: ",") + "\n"
        }
        return out
    }

    public static func metricsJSON(_ rows: [MetricRecord]) -> JSONValue {
        .array(rows.map { r in
            ["run": .number(Double(r.runId)), "step": .string(r.stepId), "name": .string(r.name),
             "training_step": r.trainingStep.map { .number(Double($0)) } ?? .null, "value": .number(r.value)]
        })
    }

    // MARK: explain

    /// Flattens a JSON value into dotted paths (`a.b`, `list[2]`) → canonical leaf values.
    public static func flatten(_ v: JSONValue, prefix: String = "") -> [String: String] {
        var out: [String: String] = [:]
        switch v {
        case .object(let o) where !o.isEmpty:
            for (k, x) in o { out.merge(flatten(x, prefix: prefix.isEmpty ? k : prefix + "." + k)) { a, _ in a } }
        case .array(let a) where !a.isEmpty:
            for (i, x) in a.enumerated() { out.merge(flatten(x, prefix: prefix + "[\(i)]")) { a, _ in a } }
        default:
            out[prefix.isEmpty ? "(config)" : prefix] = v.canonical
        }
        return out
    }

    /// Differences between two configurations: (path, old, new); nil marks an absent side.
    public static func configDiff(old: JSONValue, new: JSONValue) -> [(path: String, old: String?, new: String?)] {
        let a = flatten(old), b = flatten(new)
        return Set(a.keys).union(b.keys).sorted().compactMap { k in a[k] == b[k] ? nil : (k, a[k], b[k]) }
    }

    /// Why `stepId` ran or was reused in the latest run, compared with the previous run that
    /// recorded the same step id.
    public static func explain(runDir: URL, stepId: String) throws -> String {
        let rd = RunDirectory(runDir)
        let store = try openStore(rd)
        guard let run = try store.latestRun() else { throw RunnerError.store("no run recorded in \(rd.storeURL.path)") }
        let keys = try store.stepKeys(stepId: stepId)
        guard let current = keys.last(where: { $0.runId == run.id }) else {
            let known = try store.steps(runId: run.id).map(\.stepId)
            let close = known.filter { $0.contains(stepId) || stepId.contains($0) }
            throw RunnerError.io("no step '\(stepId)' in run \(run.id)"
                + (close.isEmpty ? "; steps are: \(known.joined(separator: ", "))" : "; did you mean \(close.joined(separator: " or "))?"))
        }
        let record = try store.steps(runId: run.id).first { $0.stepId == stepId }
        var out = "step \(stepId)\n  run \(run.id): \(record?.status.rawValue ?? "unknown")"
        if let record, let reason = try whyItRan(record, store: store) { out += " (\(reason))" }
        out += "\n  cache key: \(current.cacheKey)\n"
        guard let previous = keys.last(where: { $0.runId < run.id }) else {
            out += "  no earlier run recorded this step: it is new in run \(run.id)"
            out += record?.status == .cached ? ", but its artifact already existed (same cache key).\n" : ".\n"
            return out
        }
        let prevRecord = try store.steps(runId: previous.runId).first { $0.stepId == stepId }
        out += "  previous record: run \(previous.runId), cache key \(previous.cacheKey)"
        if let p = prevRecord { out += ", \(p.status.rawValue)" }
        out += "\n"
        if previous.cacheKey == current.cacheKey {
            switch record?.status {
            case .cached?: out += "  reused: the cache key is unchanged and the artifact verified.\n"
            case .done?, .failed?, .running?, .cancelled?:
                out += "  the cache key is unchanged; it ran because its artifact was not usable"
                out += record?.reason.map { ": \($0)" } ?? ""
                out += ".\n"
            default: out += "  the cache key is unchanged.\n"
            }
            return out
        }
        out += "  the cache key changed, so the step could not reuse the earlier artifact:\n"
        let oldConfig = (try? JSONValue.parse(previous.configJSON)) ?? .null
        let newConfig = (try? JSONValue.parse(current.configJSON)) ?? .null
        // In the workflow's terms (`stages.0.steps`, "reward script keywords.py changed") when the
        // plan names the step; the raw key paths otherwise.
        let plan = try? rd.readPlan()
        var lines: [String] = []
        if let plan, let step = plan.step(stepId) {
            lines = UserPaths.changes(old: oldConfig, new: newConfig, step: step, plan: plan).map { c in
                c.summary ?? "\(c.path): \(c.old?.canonical ?? "(absent)") → \(c.new?.canonical ?? "(absent)")"
            }
        } else {
            lines = configDiff(old: oldConfig, new: newConfig).map { "\($0.path): \($0.old ?? "(absent)") → \($0.new ?? "(absent)")" }
        }
        let diff = lines
        if !diff.isEmpty {
            out += "  config:\n"
            for d in diff { out += "    \(d)\n" }
        }
        var inputLines: [String] = []
        let oldInputs = Dictionary(zip(previous.inputs, previous.inputKeys), uniquingKeysWith: { a, _ in a })
        let newInputs = Dictionary(zip(current.inputs, current.inputKeys), uniquingKeysWith: { a, _ in a })
        for id in current.inputs {
            if let o = oldInputs[id] {
                if o != newInputs[id] { inputLines.append("    \(id): \(o.prefix(12)) → \(newInputs[id]!.prefix(12)) (upstream changed; run explain on it)") }
            } else { inputLines.append("    \(id): (absent) → \(newInputs[id]!.prefix(12)) (new input)") }
        }
        for id in previous.inputs where newInputs[id] == nil {
            inputLines.append("    \(id): \(oldInputs[id]!.prefix(12)) → (absent) (input removed)")
        }
        if !inputLines.isEmpty { out += "  upstream keys:\n" + inputLines.joined(separator: "\n") + "\n" }
        if diff.isEmpty && inputLines.isEmpty {
            out += "  config and upstream keys are identical: the engine format version (part of every key) changed.\n"
        }
        return out
    }
}
