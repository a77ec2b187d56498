import ClpFlowCore
import ClpFlowPlanner
@testable import ClpFlowRunner
import Foundation
import Testing

extension RunnerTests {
    /// Issue 13: the same numerics environment on every executor (point 2), attempt folders no live
    /// process owns are removed (point 4), Slurm steps' run time and queue wait (point 9).
    @Suite struct ReliabilityTests {
        let temp = TemporaryDirectories()

        func step(cpus: Int) -> PlannedStep {
            PlannedStep(id: "train-clp", kind: .trainCLP, config: [:], inputs: [], cacheKey: "ab",
                        resources: StepResources(cpus: cpus))
        }

        /// Runs the batch script a Slurm job would run (its step being `env`) in an environment like
        /// one sbatch could export from a login node, and returns the numerics variables the step saw.
        func numericsSeenBySlurmJob(_ localEnv: [String: String], hostile: [String: String]) throws -> [String: String] {
            let dir = try makeTempDir(temp, "script")
            let out = dir.appendingPathComponent("env.txt")
            let job = JobSpec(step: step(cpus: 2), attempt: 1, workDir: dir, logURL: dir.appendingPathComponent("log"),
                              argv: ["/bin/sh", "-c", "env > \(shellQuote(out.path))"], publishArgv: nil,
                              environment: localEnv, dependencies: [])
            let script = dir.appendingPathComponent("job.sh")
            try SlurmBackend.script(job).write(to: script, atomically: true, encoding: .utf8)
            var env = hostile
            env["PATH"] = "/usr/bin:/bin"
            env["SLURM_JOB_ID"] = "1"
            let (status, _) = try shell(["/bin/sh", script.path], env: env)
            #expect(status == 0)
            var seen: [String: String] = [:]
            for line in (readText(out) ?? "").split(separator: "\n") {
                let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
                if kv.count == 2, NumericsEnvironment.names.contains(kv[0]) { seen[kv[0]] = kv[1] }
            }
            return seen
        }

        @Test func slurmJobsSeeExactlyTheNumericsEnvironmentOfLocalSteps() throws {
            let s = step(cpus: 2)
            // The runner's own environment: a user-chosen core type, no thread variables.
            let runnerEnv = ["HOME": "/root", "OPENBLAS_CORETYPE": "Haswell", "CLP_FLOW_STEP_ID": "train-clp"]
            let local = NumericsEnvironment.apply(to: runnerEnv, for: s)
            #expect(local["OPENBLAS_NUM_THREADS"] == "2")
            #expect(local["OMP_NUM_THREADS"] == "2")
            #expect(local["CLP_FLOW_THREADS"] == "2")
            #expect(local["OPENBLAS_CORETYPE"] == "Haswell")
            let localNumerics = local.filter { NumericsEnvironment.names.contains($0.key) }
            // A node whose login environment sets other values must not change what the step sees.
            let hostile = ["OPENBLAS_NUM_THREADS": "7", "OMP_NUM_THREADS": "5", "GOTO_NUM_THREADS": "3",
                           "OPENBLAS_CORETYPE": "Zen", "CLP_FLOW_THREADS": "9"]
            #expect(try numericsSeenBySlurmJob(local, hostile: hostile) == localNumerics)

            // Without a core type in the runner's environment, the job must not inherit the node's.
            let plain = NumericsEnvironment.apply(to: ["HOME": "/root"], for: s)
            #expect(plain["OPENBLAS_CORETYPE"] == nil)
            let seen = try numericsSeenBySlurmJob(plain, hostile: hostile)
            #expect(seen["OPENBLAS_CORETYPE"] == nil, "the node's OPENBLAS_CORETYPE leaked into the job")
            #expect(seen == plain.filter { NumericsEnvironment.names.contains($0.key) })

            // CLP_FLOW_THREADS of the runner overrides cpus, for every variable.
            let forced = NumericsEnvironment.apply(to: ["CLP_FLOW_THREADS": "1"], for: s)
            #expect(Set(NumericsEnvironment.threadVariables.map { forced[$0] }) == ["1"])
        }

        /// A step that records the numerics variables it sees, run by the local executor, gives the
        /// same bytes whatever the runner's environment holds for them.
        @Test func localStepsGetTheStepThreadCount() throws {
            let dir = try makeTempDir(temp, "numerics-local")
            var p = ScriptPlan()
            p.add("env", "env | grep -E '^(CLP_FLOW_THREADS|OPENBLAS_NUM_THREADS|GOTO_NUM_THREADS|OMP_NUM_THREADS|OPENBLAS_CORETYPE)=' | sort > \"$CLP_FLOW_WORK_DIR/env.txt\"")
            let rd = RunDirectory(dir)
            let r = try Runner.run(plan: p.plan(), runDir: dir, options: quietOptions(), launcher: ShellScriptLauncher())
            #expect(r.status == .done)
            let text = readText(try rd.artifacts.url(for: p.steps[0].cacheKey).appendingPathComponent("env.txt")) ?? ""
            // A step running alone gets every core (its cpus are 1); CLP_FLOW_THREADS overrides that.
            let threads = ProcessInfo.processInfo.environment["CLP_FLOW_THREADS"].flatMap { Int($0) }
                ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
            for v in NumericsEnvironment.threadVariables { #expect(text.contains("\(v)=\(threads)\n"), "\(text)") }
        }

        @Test func attemptFoldersNoLiveProcessOwnsAreRemovedAndRecorded() throws {
            let dir = try makeTempDir(temp, "sweep")
            var p = ScriptPlan()
            p.add("a", "echo a > \"$CLP_FLOW_WORK_DIR/a.txt\"")
            p.add("b", "cat \"$CLP_FLOW_INPUT_0/a.txt\" > \"$CLP_FLOW_WORK_DIR/b.txt\"", inputs: ["a"])
            let plan = p.plan()
            let rd = RunDirectory(dir)
            try rd.create()
            let fm = FileManager.default
            // Left behind by killed attempts of earlier runs (with a checkpoint-like file).
            let stale = rd.workURL.appendingPathComponent("\(plan.steps[1].cacheKey).tmp-5-1")
            let staleOther = rd.workURL.appendingPathComponent("00ff.tmp-2-3")
            for d in [stale, staleOther] {
                try fm.createDirectory(at: d.appendingPathComponent("model"), withIntermediateDirectories: true)
                try Data(repeating: 7, count: 4096).write(to: d.appendingPathComponent("model/model.safetensors"))
            }
            // Owned by a live process (an attempt orphaned by a killed runner, still running there).
            let live = rd.workURL.appendingPathComponent("\(plan.steps[0].cacheKey).tmp-5-2")
            try fm.createDirectory(at: live, withIntermediateDirectories: true)
            let sleeper = Process()
            sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
            sleeper.arguments = ["60"]
            sleeper.currentDirectoryURL = live
            try sleeper.run()
            defer { if sleeper.isRunning { sleeper.terminate() } }
            // Not an attempt folder: never touched.
            let other = rd.workURL.appendingPathComponent("notes")
            try fm.createDirectory(at: other, withIntermediateDirectories: true)

            let buffer = OutputBuffer()
            let r = try Runner.run(plan: plan, runDir: dir, options: quietOptions(buffer: buffer), launcher: ShellScriptLauncher())
            #expect(r.status == .done)
            #expect(!fm.fileExists(atPath: stale.path))
            #expect(!fm.fileExists(atPath: staleOther.path))
            #expect(fm.fileExists(atPath: live.path), "a folder a live process works in was removed")
            #expect(fm.fileExists(atPath: other.path))
            #expect(buffer.value.contains("removed 2 attempt folders no live process owned"), "\(buffer.value)")
            let store = try RunStore(url: rd.storeURL, readOnly: true)
            let removed = try store.removedAttempts(runId: r.runId)
            #expect(removed.map(\.name).sorted() == [stale.lastPathComponent, staleOther.lastPathComponent].sorted())
            #expect(removed.map(\.bytes) == [4096, 4096])
            #expect(Set(removed.map(\.when)) == ["run start"])
            let status = RunInspection.renderStatus(try RunInspection.status(runDir: dir))
            #expect(status.contains("removed 2 attempt folders no live process owned (8.2 KB)"), "\(status)")
            #expect(status.contains("work/\(stale.lastPathComponent)"), "\(status)")

            // Once its process is gone, the folder goes at the next run.
            sleeper.terminate(); sleeper.waitUntilExit()
            let again = try Runner.run(plan: plan, runDir: dir, options: quietOptions(), launcher: ShellScriptLauncher())
            #expect(try store.removedAttempts(runId: again.runId).map(\.name) == [live.lastPathComponent])
            #expect(!fm.fileExists(atPath: live.path))
            #expect(try fm.contentsOfDirectory(atPath: rd.workURL.path) == ["notes"])
        }

        @Test func foldersOfAttemptsKilledDuringARunGoAfterPublishing() throws {
            let dir = try makeTempDir(temp, "sweep-publish")
            var p = ScriptPlan()
            // `first` leaves a folder of a killed attempt behind while the run goes on: a process
            // that works there and ends before `first` finishes (like an orphaned attempt ending).
            p.add("first", """
                mkdir -p "$CLP_FLOW_RUN_DIR/work/0abc.tmp-9-1/model"
                ( cd "$CLP_FLOW_RUN_DIR/work/0abc.tmp-9-1" && sleep 0.3 ) &
                sleep 0.1
                echo 1 > "$CLP_FLOW_WORK_DIR/x.txt"
                wait
                """)
            p.add("second", "cat \"$CLP_FLOW_INPUT_0/x.txt\" > \"$CLP_FLOW_WORK_DIR/y.txt\"", inputs: ["first"])
            let r = try Runner.run(plan: p.plan(), runDir: dir, options: quietOptions(), launcher: ShellScriptLauncher())
            #expect(r.status == .done)
            let store = try RunStore(url: RunDirectory(dir).storeURL, readOnly: true)
            let removed = try store.removedAttempts(runId: r.runId)
            #expect(removed.map(\.name) == ["0abc.tmp-9-1"])
            #expect(removed.first?.when == "after publishing first")
        }

        @Test func statusShowsRunTimeAndQueueWaitSeparately() throws {
            var queued = StepRecord(runId: 1, stepId: "report", kind: "report", cacheKey: "ab", status: .done, attempt: 1,
                                    started: "2026-11-29T02:31:08.000Z", ended: "2026-11-29T02:31:08.400Z", slurmJobId: "17",
                                    submitted: "2026-11-29T02:30:00.000Z")
            let t = RunInspection.stepTimes(queued)
            #expect(abs((t.run ?? -1) - 0.4) <= 1e-6, "\(String(describing: t.run))")
            #expect(abs((t.queue ?? -1) - 68) <= 1e-6, "\(String(describing: t.queue))")
            let local = StepRecord(runId: 1, stepId: "prepare-data", kind: "prepare-data", cacheKey: "cd", status: .done, attempt: 1,
                                   started: "2026-11-29T02:29:00.000Z", ended: "2026-11-29T02:29:30.000Z")
            let run = RunRecord(id: 1, workflow: "w", started: "2026-11-29T02:29:00.000Z", ended: nil, status: "done",
                                host: "h", pid: 1, argv: [])
            func lines(_ records: [StepRecord]) -> [String] {
                let s = RunInspection.Status(run: run, steps: records.map { RunInspection.StepStatusLine(record: $0, progress: nil) },
                                             lockHolder: nil, lockHeld: false)
                return RunInspection.renderStatus(s, now: Timestamp.date("2026-11-29T02:32:00.000Z")!).split(separator: "\n").map(String.init)
            }
            let out = lines([local, queued])
            #expect(out[1].hasPrefix("STEP"), "\(out.joined(separator: "\n"))")
            #expect(out[1].contains("TIME") && out[1].contains("QUEUE"))
            let report = out.first { $0.hasPrefix("report") }!
            #expect(report.split(separator: " ", omittingEmptySubsequences: true).prefix(5).map(String.init) == ["report", "done", "1", "0s", "1m08s"], "TIME is the run time, QUEUE the wait")
            let prep = out.first { $0.hasPrefix("prepare-data") }!
            #expect(prep.split(separator: " ", omittingEmptySubsequences: true).prefix(5).map(String.init) == ["prepare-data", "done", "1", "30s", "-"])
            // Still queued: no run time yet, the wait so far.
            queued.status = .running; queued.started = nil; queued.ended = nil
            let pending = lines([queued]).first { $0.hasPrefix("report") }!
            #expect(pending.split(separator: " ", omittingEmptySubsequences: true).prefix(5).map(String.init) == ["report", "running", "1", "-", "2m00s"])
            // Local-only runs keep the old columns.
            #expect(!(lines([local])[1].contains("QUEUE")))
        }

        @Test func scontrolTimesAreParsedForJobsThatRan() throws {
            let done = SlurmJobInfo.parseScontrol("JobId=6 JobState=COMPLETED Reason=None ExitCode=0:0 SubmitTime=2026-11-29T02:30:00 StartTime=2026-11-29T02:31:08 EndTime=2026-11-29T02:31:09")
            let f = DateFormatter(); f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = .current; f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
            #expect(done?.startTime == f.date(from: "2026-11-29T02:31:08"))
            #expect(done?.endTime == f.date(from: "2026-11-29T02:31:09"))
            let pending = SlurmJobInfo.parseScontrol("JobId=7 JobState=PENDING Reason=Priority StartTime=2026-11-29T03:00:00 EndTime=Unknown")
            #expect(pending?.startTime == nil, "a queued job's StartTime is only an estimate")
            #expect(pending?.endTime == nil)
        }
    }
}
