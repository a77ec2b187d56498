import ClpFlowCore
import ClpFlowPlanner
import Foundation
import GRDB

/// Status of one step in one run.
public enum StepStatus: String, Codable, Sendable, CaseIterable {
    case pending, running, done, cached, failed, cancelled, skipped

    public var isFinal: Bool { self != .pending && self != .running }
    /// The step's outputs are available (computed now or reused).
    public var isSuccess: Bool { self == .done || self == .cached }
}

/// Status of a whole run.
public enum RunStatus: String, Codable, Sendable {
    case running, done, failed, cancelled
}

public struct RunRecord: Codable, Sendable, Equatable {
    public var id: Int64
    public var workflow: String
    public var started: String
    public var ended: String?
    public var status: String
    public var host: String
    public var pid: Int64
    public var argv: [String]
}

public struct StepRecord: Codable, Sendable, Equatable {
    public var runId: Int64
    public var stepId: String
    public var kind: String
    public var cacheKey: String
    public var status: StepStatus
    public var attempt: Int
    public var started: String?
    public var ended: String?
    public var exitStatus: Int?
    public var host: String?
    public var slurmJobId: String?
    public var reason: String?
    /// When the attempt was handed to Slurm (nil for local steps, which start when launched).
    /// `started` is when the step began running, so `started - submitted` is its queue wait.
    public var submitted: String?

    public init(runId: Int64, stepId: String, kind: String, cacheKey: String, status: StepStatus, attempt: Int = 0,
                started: String? = nil, ended: String? = nil, exitStatus: Int? = nil, host: String? = nil,
                slurmJobId: String? = nil, reason: String? = nil, submitted: String? = nil) {
        self.runId = runId; self.stepId = stepId; self.kind = kind; self.cacheKey = cacheKey; self.status = status
        self.attempt = attempt; self.started = started; self.ended = ended; self.exitStatus = exitStatus
        self.host = host; self.slurmJobId = slurmJobId; self.reason = reason; self.submitted = submitted
    }
}

public struct MetricRecord: Codable, Sendable, Equatable {
    public var runId: Int64
    public var stepId: String
    public var name: String
    public var value: Double
    public var trainingStep: Int?

    public init(runId: Int64, stepId: String, name: String, value: Double, trainingStep: Int?) {
        self.runId = runId; self.stepId = stepId; self.name = name; self.value = value; self.trainingStep = trainingStep
    }
}

/// The ingredients of a step's cache key, recorded per run so `explain` can diff them.
public struct StepKeyRecord: Codable, Sendable, Equatable {
    public var runId: Int64
    public var stepId: String
    public var cacheKey: String
    public var configJSON: String
    /// Upstream step ids, in plan order.
    public var inputs: [String]
    /// Upstream cache keys, parallel to `inputs`.
    public var inputKeys: [String]
}

/// Timestamps are stored as ISO-8601 UTC text with milliseconds, readable in `sqlite3`.
public enum Timestamp {
    public static func string(_ date: Date = Date()) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }

    public static func date(_ s: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: s)
    }
}

/// The SQLite run store (`runs.sqlite`). Only the runner writes; `status`, `metrics` and `explain`
/// read. Rollback journal (WAL off) so the file also works on shared network file systems.
public final class RunStore {
    public let dbQueue: DatabaseQueue

    public init(url: URL, readOnly: Bool = false) throws {
        var config = Configuration()
        config.readonly = readOnly
        config.busyMode = .timeout(10)
        config.label = "clp-flow run store"
        do {
            if readOnly && !FileManager.default.fileExists(atPath: url.path) {
                throw RunnerError.store("no run store at \(url.path): is this a clp-flow run directory?")
            }
            dbQueue = try DatabaseQueue(path: url.path, configuration: config)
            if !readOnly { try RunStore.migrator.migrate(dbQueue) }
        } catch let e as RunnerError { throw e } catch {
            throw RunnerError.store("cannot open \(url.path): \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE runs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    workflow TEXT NOT NULL,
                    started TEXT NOT NULL,
                    ended TEXT,
                    status TEXT NOT NULL,
                    host TEXT NOT NULL,
                    pid INTEGER NOT NULL,
                    argv TEXT NOT NULL
                );
                CREATE TABLE steps (
                    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    step_id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    cache_key TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN
                        ('pending','running','done','cached','failed','cancelled','skipped')),
                    attempt INTEGER NOT NULL DEFAULT 0,
                    started TEXT,
                    ended TEXT,
                    exit_status INTEGER,
                    host TEXT,
                    slurm_job_id TEXT,
                    reason TEXT,
                    PRIMARY KEY (run_id, step_id)
                );
                CREATE TABLE metrics (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    step_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    value REAL NOT NULL,
                    training_step INTEGER
                );
                CREATE INDEX metrics_by_step ON metrics(run_id, step_id, name);
                CREATE TABLE step_keys (
                    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    step_id TEXT NOT NULL,
                    cache_key TEXT NOT NULL,
                    config_json TEXT NOT NULL,
                    inputs TEXT NOT NULL,
                    input_keys TEXT NOT NULL,
                    PRIMARY KEY (run_id, step_id)
                );
                """)
        }
        // v2: when a Slurm job was submitted (steps.started is when it began running), and the
        // attempt folders a run removed because no live process owned them.
        m.registerMigration("v2") { db in
            try db.execute(sql: """
                ALTER TABLE steps ADD COLUMN submitted TEXT;
                CREATE TABLE removed_attempts (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    bytes INTEGER NOT NULL,
                    at_point TEXT NOT NULL,
                    removed TEXT NOT NULL
                );
                """)
        }
        return m
    }

    private func wrap<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as RunnerError { throw e } catch {
            throw RunnerError.store("\(what): \(error)")
        }
    }

    private static func encodeArray(_ a: [String]) -> String { JSONValue.array(a.map { .string($0) }).canonical }
    private static func decodeArray(_ s: String) -> [String] {
        (try? JSONValue.parse(s))?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    // MARK: runs

    public func beginRun(workflow: String, host: String, pid: Int32, argv: [String]) throws -> Int64 {
        try wrap("cannot record the run") {
            try dbQueue.write { db in
                try db.execute(sql: "INSERT INTO runs (workflow, started, status, host, pid, argv) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [workflow, Timestamp.string(), RunStatus.running.rawValue, host, Int64(pid),
                                           RunStore.encodeArray(argv)])
                return db.lastInsertedRowID
            }
        }
    }

    public func endRun(id: Int64, status: RunStatus) throws {
        try wrap("cannot record the end of run \(id)") {
            try dbQueue.write { db in
                try db.execute(sql: "UPDATE runs SET status = ?, ended = ? WHERE id = ?",
                               arguments: [status.rawValue, Timestamp.string(), id])
            }
        }
    }

    private static func run(_ row: Row) -> RunRecord {
        RunRecord(id: row["id"], workflow: row["workflow"], started: row["started"], ended: row["ended"],
                  status: row["status"], host: row["host"], pid: row["pid"], argv: decodeArray(row["argv"]))
    }

    public func runs() throws -> [RunRecord] {
        try wrap("cannot read runs") {
            try dbQueue.read { db in try Row.fetchAll(db, sql: "SELECT * FROM runs ORDER BY id").map(RunStore.run) }
        }
    }

    public func latestRun() throws -> RunRecord? { try runs().last }

    // MARK: steps

    public func saveStep(_ r: StepRecord) throws {
        try wrap("cannot record step \(r.stepId)") {
            try dbQueue.write { db in
                try db.execute(sql: """
                    INSERT INTO steps (run_id, step_id, kind, cache_key, status, attempt, started, ended,
                        exit_status, host, slurm_job_id, reason, submitted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (run_id, step_id) DO UPDATE SET kind = excluded.kind, cache_key = excluded.cache_key,
                        status = excluded.status, attempt = excluded.attempt, started = excluded.started,
                        ended = excluded.ended, exit_status = excluded.exit_status, host = excluded.host,
                        slurm_job_id = excluded.slurm_job_id, reason = excluded.reason, submitted = excluded.submitted
                    """, arguments: [r.runId, r.stepId, r.kind, r.cacheKey, r.status.rawValue, r.attempt, r.started,
                                     r.ended, r.exitStatus, r.host, r.slurmJobId, r.reason, r.submitted])
            }
        }
    }

    private static func step(_ row: Row) -> StepRecord {
        StepRecord(runId: row["run_id"], stepId: row["step_id"], kind: row["kind"], cacheKey: row["cache_key"],
                   status: StepStatus(rawValue: row["status"]) ?? .pending, attempt: row["attempt"],
                   started: row["started"], ended: row["ended"], exitStatus: row["exit_status"], host: row["host"],
                   slurmJobId: row["slurm_job_id"], reason: row["reason"], submitted: row["submitted"])
    }

    /// Steps of a run, in plan order (the order they were first recorded; updates keep it).
    public func steps(runId: Int64) throws -> [StepRecord] {
        try wrap("cannot read steps") {
            try dbQueue.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM steps WHERE run_id = ? ORDER BY rowid", arguments: [runId])
                    .map(RunStore.step)
            }
        }
    }

    /// Every record of one step id across runs, oldest first.
    public func history(stepId: String) throws -> [StepRecord] {
        try wrap("cannot read step history") {
            try dbQueue.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM steps WHERE step_id = ? ORDER BY run_id", arguments: [stepId])
                    .map(RunStore.step)
            }
        }
    }

    // MARK: removed attempt folders

    public func recordRemoved(_ rows: [RemovedAttempt]) throws {
        guard !rows.isEmpty else { return }
        try wrap("cannot record removed attempt folders") {
            try dbQueue.write { db in
                for r in rows {
                    try db.execute(sql: "INSERT INTO removed_attempts (run_id, name, bytes, at_point, removed) VALUES (?, ?, ?, ?, ?)",
                                   arguments: [r.runId, r.name, r.bytes, r.when, r.removed])
                }
            }
        }
    }

    /// The attempt folders a run removed, in removal order (empty for stores older than v2).
    public func removedAttempts(runId: Int64) throws -> [RemovedAttempt] {
        try wrap("cannot read removed attempt folders") {
            try dbQueue.read { db in
                guard try db.tableExists("removed_attempts") else { return [] }
                return try Row.fetchAll(db, sql: "SELECT * FROM removed_attempts WHERE run_id = ? ORDER BY id", arguments: [runId])
                    .map { RemovedAttempt(runId: $0["run_id"], name: $0["name"], bytes: $0["bytes"], when: $0["at_point"], removed: $0["removed"]) }
            }
        }
    }

    // MARK: step keys

    public func saveStepKey(runId: Int64, step: PlannedStep, inputKeys: [String]) throws {
        try wrap("cannot record the cache key of \(step.id)") {
            try dbQueue.write { db in
                try db.execute(sql: """
                    INSERT OR REPLACE INTO step_keys (run_id, step_id, cache_key, config_json, inputs, input_keys)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [runId, step.id, step.cacheKey, step.config.canonical,
                                     RunStore.encodeArray(step.inputs), RunStore.encodeArray(inputKeys)])
            }
        }
    }

    private static func stepKey(_ row: Row) -> StepKeyRecord {
        StepKeyRecord(runId: row["run_id"], stepId: row["step_id"], cacheKey: row["cache_key"],
                      configJSON: row["config_json"], inputs: decodeArray(row["inputs"]),
                      inputKeys: decodeArray(row["input_keys"]))
    }

    /// The key records of one step id across runs, oldest first.
    public func stepKeys(stepId: String) throws -> [StepKeyRecord] {
        try wrap("cannot read step keys") {
            try dbQueue.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM step_keys WHERE step_id = ? ORDER BY run_id", arguments: [stepId])
                    .map(RunStore.stepKey)
            }
        }
    }

    // MARK: metrics

    public func addMetrics(_ rows: [MetricRecord]) throws {
        guard !rows.isEmpty else { return }
        try wrap("cannot record metrics") {
            try dbQueue.write { db in
                for r in rows {
                    try db.execute(sql: "INSERT INTO metrics (run_id, step_id, name, value, training_step) VALUES (?, ?, ?, ?, ?)",
                                   arguments: [r.runId, r.stepId, r.name, r.value, r.trainingStep])
                }
            }
        }
    }

    public func deleteMetrics(runId: Int64, stepId: String) throws {
        try wrap("cannot reset metrics") {
            try dbQueue.write { db in
                try db.execute(sql: "DELETE FROM metrics WHERE run_id = ? AND step_id = ?", arguments: [runId, stepId])
            }
        }
    }

    public func metrics(runId: Int64, stepId: String? = nil) throws -> [MetricRecord] {
        try wrap("cannot read metrics") {
            try dbQueue.read { db in
                let rows: [Row]
                if let stepId {
                    rows = try Row.fetchAll(db, sql: "SELECT * FROM metrics WHERE run_id = ? AND step_id = ? ORDER BY id",
                                            arguments: [runId, stepId])
                } else {
                    rows = try Row.fetchAll(db, sql: "SELECT * FROM metrics WHERE run_id = ? ORDER BY id", arguments: [runId])
                }
                return rows.map {
                    MetricRecord(runId: $0["run_id"], stepId: $0["step_id"], name: $0["name"], value: $0["value"],
                                 trainingStep: $0["training_step"])
                }
            }
        }
    }

    /// The metrics that produced the current artifact of a step: those of the latest run in which
    /// the step with this cache key ran to completion (a `cached` step's metrics come from there).
    public func metricsOfArtifact(stepId: String, cacheKey: String) throws -> [MetricRecord] {
        let producer: Int64? = try wrap("cannot read metrics") {
            try dbQueue.read { db in
                try Int64.fetchOne(db, sql: """
                    SELECT MAX(run_id) FROM steps WHERE step_id = ? AND cache_key = ? AND status = 'done'
                    """, arguments: [stepId, cacheKey])
            }
        }
        guard let producer else { return [] }
        return try metrics(runId: producer, stepId: stepId)
    }
}
