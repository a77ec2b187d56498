import ClpFlowCore
import ClpFlowPlanner
@testable import ClpFlowRunner
import Foundation
import Testing

extension RunnerTests {
    @Suite struct RunStoreTests {
        let temp = TemporaryDirectories()

        @Test func recordsRunsStepsMetricsAndKeys() throws {
            let dir = try makeTempDir(temp)
            let url = dir.appendingPathComponent("runs.sqlite")
            let store = try RunStore(url: url)
            let run = try store.beginRun(workflow: "wf", host: "h", pid: 42, argv: ["clp-flow", "run", "x y.yaml"])
            let step = PlannedStep(id: "train[a=1]", kind: .trainCLP, config: ["lr": 0.001, "n": 3], inputs: [], cacheKey: "ab12")
            try store.saveStepKey(runId: run, step: step, inputKeys: [])
            var rec = StepRecord(runId: run, stepId: step.id, kind: "train-clp", cacheKey: "ab12", status: .pending)
            try store.saveStep(rec)
            rec.status = .running; rec.attempt = 1; rec.started = Timestamp.string()
            try store.saveStep(rec)
            try store.addMetrics([MetricRecord(runId: run, stepId: step.id, name: "loss", value: 1.5, trainingStep: 3),
                                  MetricRecord(runId: run, stepId: step.id, name: "reward/rouge", value: 0.25, trainingStep: nil)])
            rec.status = .done; rec.exitStatus = 0; rec.ended = Timestamp.string()
            try store.saveStep(rec)
            try store.endRun(id: run, status: .done)

            let reopened = try RunStore(url: url, readOnly: true)
            let runs = try reopened.runs()
            #expect(runs.count == 1)
            #expect(runs[0].argv == ["clp-flow", "run", "x y.yaml"])
            #expect(runs[0].status == "done")
            #expect(runs[0].ended != nil)
            #expect(try reopened.steps(runId: run) == [rec])
            #expect(try reopened.metrics(runId: run, stepId: step.id).map(\.name) == ["loss", "reward/rouge"])
            #expect(try reopened.metricsOfArtifact(stepId: step.id, cacheKey: "ab12").count == 2)
            #expect(try reopened.metricsOfArtifact(stepId: step.id, cacheKey: "ffff").count == 0)
            let keys = try reopened.stepKeys(stepId: step.id)
            #expect(keys.first?.configJSON == #"{"lr":0.001,"n":3}"#)
        }

        @Test func updatesKeepPlanOrder() throws {
            let dir = try makeTempDir(temp)
            let store = try RunStore(url: dir.appendingPathComponent("runs.sqlite"))
            let run = try store.beginRun(workflow: "wf", host: "h", pid: 1, argv: [])
            var a = StepRecord(runId: run, stepId: "a", kind: "evaluate", cacheKey: "aa", status: .pending)
            try store.saveStep(a)
            try store.saveStep(StepRecord(runId: run, stepId: "b", kind: "evaluate", cacheKey: "bb", status: .pending))
            a.status = .done
            try store.saveStep(a)
            #expect(try store.steps(runId: run).map(\.stepId) == ["a", "b"])
            #expect(try store.steps(runId: run).first?.status == .done)
        }

        @Test func statusValuesAreCheckedBySchema() throws {
            let dir = try makeTempDir(temp)
            let store = try RunStore(url: dir.appendingPathComponent("runs.sqlite"))
            let run = try store.beginRun(workflow: "wf", host: "h", pid: 1, argv: [])
            #expect(throws: (any Error).self) { try store.dbQueue.write { db in
                try db.execute(sql: "INSERT INTO steps (run_id, step_id, kind, cache_key, status) VALUES (?, 's', 'k', 'aa', 'bogus')",
                               arguments: [run])
            } }
        }

        @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3"),
                       "sqlite3 CLI not installed; skipping the CLI readability check"))
        func readableWithSqlite3CLI() throws {
            let dir = try makeTempDir(temp)
            let url = dir.appendingPathComponent("runs.sqlite")
            let store = try RunStore(url: url)
            let run = try store.beginRun(workflow: "wf", host: "h", pid: 7, argv: [])
            try store.saveStep(StepRecord(runId: run, stepId: "../../x", kind: "evaluate", cacheKey: "aa", status: .failed,
                                          attempt: 2, exitStatus: 3, reason: "exited with status 3"))
            let (status, out) = try shell(["/usr/bin/sqlite3", url.path,
                                           "select step_id, status, attempt, exit_status from steps; select workflow, pid from runs;"])
            #expect(status == 0)
            #expect(out == "../../x|failed|2|3\nwf|7\n")
            let (_, tables) = try shell(["/usr/bin/sqlite3", url.path, ".tables"])
            for t in ["runs", "steps", "metrics", "step_keys"] { #expect(tables.contains(t), "\(tables)") }
        }
    }
}

extension RunnerTests {
    @Suite struct RunLockTests {
        let temp = TemporaryDirectories()

        @Test func secondRunnerIsRefusedWithHolderPid() throws {
            let dir = try makeTempDir(temp)
            let url = dir.appendingPathComponent("lock")
            let first = try RunLock.acquire(url)
            #expect(first.holder.pid == getpid())
            do {
                let e = try #require(throws: (any Error).self) { try RunLock.acquire(url) }
                guard case RunnerError.locked(_, let pid, let host, _) = e else { Issue.record("\(e)"); return }
                #expect(pid == getpid())
                #expect(host == currentHostName())
                #expect("\(e)".contains("pid \(getpid())"), "\(e)")
            }
            #expect(RunLock.inspect(url).held == true)
            first.release()
            #expect(RunLock.inspect(url).held == false)
            let again = try RunLock.acquire(url)
            #expect(again.tookOverFrom == nil, "a cleanly released lock is not stale")
            again.release()
        }

        @Test func staleLockOfDeadProcessIsTakenOver() throws {
            let dir = try makeTempDir(temp)
            let url = dir.appendingPathComponent("lock")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/true")
            try p.run(); p.waitUntilExit()
            let dead = LockHolder(pid: p.processIdentifier, host: currentHostName(), started: "2026-01-01T00:00:00.000Z")
            #expect(dead.isDeadOnThisHost)
            try Data(dead.text.utf8).write(to: url)
            let lock = try RunLock.acquire(url)
            #expect(lock.tookOverFrom == dead)
            #expect(LockHolder.parse(readText(url) ?? "") == lock.holder)
            lock.release()
        }

        @Test func lockRecordedFromAnotherHostIsRespected() throws {
            let dir = try makeTempDir(temp)
            let url = dir.appendingPathComponent("lock")
            try Data(LockHolder(pid: 999, host: "other-node", started: "t").text.utf8).write(to: url)
            do {
                let e = try #require(throws: (any Error).self) { try RunLock.acquire(url) }
                #expect("\(e)".contains("pid 999 on host other-node"), "\(e)")
            }
        }
    }
}
