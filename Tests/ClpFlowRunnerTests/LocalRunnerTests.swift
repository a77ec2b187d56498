import ClpFlowCore
import ClpFlowPlanner
@testable import ClpFlowRunner
import Foundation
import Testing

extension RunnerTests {
    @Suite struct LocalRunnerTests {
        let temp = TemporaryDirectories()

        /// a → (b, c) → d, each step writes a file derived from its inputs; `trace` records executions.
        func diamond(trace: URL) -> ScriptPlan {
            var p = ScriptPlan()
            let t = shellQuote(trace.path)
            p.add("prepare[a]", "echo a > \"$CLP_FLOW_WORK_DIR/out.txt\"; echo 'prepare[a]' >> \(t)")
            p.add("train[b=1,c/d]", """
                printf '{"type":"progress","step":1,"total":2,"metrics":{"reward/x":0.5}}\\n' >> "$CLP_FLOW_EVENTS"
                printf '{"type":"metric","name":"loss","value":1.25,"step":2}\\n' >> "$CLP_FLOW_EVENTS"
                { cat "$CLP_FLOW_INPUT_0/out.txt"; echo b; } > "$CLP_FLOW_WORK_DIR/out.txt"; echo 'train[b=1,c/d]' >> \(t)
                """, inputs: ["prepare[a]"])
            p.add("../../c", "mkdir -p \"$CLP_FLOW_WORK_DIR/sub\"; { cat \"$CLP_FLOW_INPUT_0/out.txt\"; echo c; } > \"$CLP_FLOW_WORK_DIR/sub/out.txt\"; echo '../../c' >> \(t)",
                  inputs: ["prepare[a]"])
            p.add("report", "cat \"$CLP_FLOW_INPUT_0/out.txt\" \"$CLP_FLOW_INPUT_1/sub/out.txt\" > \"$CLP_FLOW_WORK_DIR/out.txt\"; echo report >> \(t)",
                  inputs: ["train[b=1,c/d]", "../../c"])
            return p
        }

        func traceLines(_ url: URL) -> [String] { (readText(url) ?? "").split(separator: "\n").map(String.init) }

        @Test func diamondRunsThenIsCachedOnRerun() throws {
            let dir = try makeTempDir(temp)
            let trace = dir.appendingPathComponent("trace.txt")
            let plan = diamond(trace: trace).plan()
            let runDir = dir.appendingPathComponent("run")
            let out = OutputBuffer()
            let r1 = try Runner.run(plan: plan, runDir: runDir, options: quietOptions(buffer: out), launcher: ShellScriptLauncher())
            #expect(r1.status == .done, "\(out.value)")
            #expect(r1.exitCode == 0)
            #expect(Set(r1.steps.values.map(\.status)) == [.done])
            let trace1 = traceLines(trace)
            #expect(trace1.count == 4)
            #expect(trace1.first == "prepare[a]")
            #expect(trace1.last == "report")
            let rd = RunDirectory(runDir)
            let reportKey = plan.step("report")!.cacheKey
            #expect(readText(rd.artifactsURL.appendingPathComponent("\(reportKey)/out.txt")) == "a\nb\na\nc\n")
            // Logs, plan, store, no leftovers in work/.
            #expect(FileManager.default.fileExists(atPath: rd.logURL(stepId: "../../c").path))
            #expect(try FileManager.default.contentsOfDirectory(atPath: rd.workURL.path) == [])
            #expect(try rd.readPlan() == plan)
            #expect(out.value.contains("STEP"), "summary table printed")
            // Metrics from events.jsonl are in the store.
            let store = try RunStore(url: rd.storeURL, readOnly: true)
            let metrics = try store.metrics(runId: r1.runId, stepId: "train[b=1,c/d]")
            #expect(metrics.map(\.name) == ["reward/x", "loss"])
            #expect(metrics.map(\.trainingStep) == [1, 2])
            #expect(metrics.map(\.value) == [0.5, 1.25])

            let r2 = try Runner.run(plan: plan, runDir: runDir, options: quietOptions(), launcher: ShellScriptLauncher())
            #expect(r2.status == .done)
            #expect(Set(r2.steps.values.map(\.status)) == [.cached])
            #expect(traceLines(trace).count == 4, "nothing reran")
            #expect(try store.steps(runId: r2.runId).map(\.status) == [.cached, .cached, .cached, .cached])
            #expect(try store.metricsOfArtifact(stepId: "train[b=1,c/d]", cacheKey: plan.step("train[b=1,c/d]")!.cacheKey).count == 2)
        }

        @Test func corruptArtifactMakesStepRerun() throws {
            let dir = try makeTempDir(temp)
            let trace = dir.appendingPathComponent("trace.txt")
            let plan = diamond(trace: trace).plan()
            let runDir = dir.appendingPathComponent("run")
            _ = try Runner.run(plan: plan, runDir: runDir, options: quietOptions(), launcher: ShellScriptLauncher())
            let rd = RunDirectory(runDir)
            let cKey = plan.step("../../c")!.cacheKey
            try Data("tampered\n".utf8).write(to: rd.artifactsURL.appendingPathComponent("\(cKey)/sub/out.txt"))
            // Simulate a partial publish of the report: no manifest.
            let reportDir = rd.artifactsURL.appendingPathComponent(plan.step("report")!.cacheKey)
            try FileManager.default.removeItem(at: reportDir.appendingPathComponent("MANIFEST.json"))
            let r = try Runner.run(plan: plan, runDir: runDir, options: quietOptions(), launcher: ShellScriptLauncher())
            #expect(r.status == .done)
            #expect(r.steps["../../c"]?.status == .done)
            #expect(r.steps["report"]?.status == .done)
            #expect(r.steps["prepare[a]"]?.status == .cached)
            #expect(r.steps["train[b=1,c/d]"]?.status == .cached)
            #expect(traceLines(trace).suffix(2) == ["../../c", "report"])
            #expect(rd.artifacts.verify(cacheKey: cKey).isValid)
            let rec = try RunStore(url: rd.storeURL).steps(runId: r.runId).first { $0.stepId == "../../c" }
            #expect(rec?.attempt == 1)
        }

        @Test func retriesThenSucceeds() throws {
            let dir = try makeTempDir(temp)
            let marker = shellQuote(dir.appendingPathComponent("count").path)
            var p = ScriptPlan()
            // Fails on its first two attempts.
            p.add("flaky", "n=$(cat \(marker) 2>/dev/null || echo 0); n=$((n+1)); echo $n > \(marker); echo attempt $n; [ $n -ge 3 ] && echo ok > \"$CLP_FLOW_WORK_DIR/o\"", retries: 2)
            let r = try Runner.run(plan: p.plan(), runDir: dir.appendingPathComponent("run"), options: quietOptions(), launcher: ShellScriptLauncher())
            #expect(r.status == .done)
            #expect(r.steps["flaky"]?.attempts == 3)
            let log = readText(RunDirectory(dir.appendingPathComponent("run")).logURL(stepId: "flaky")) ?? ""
            #expect(log.contains("attempt 1") && log.contains("attempt 3"), "\(log)")
        }

        @Test func failureShowsLogTailSkipsDependentsAndKeepGoingRunsOtherBranch() throws {
            for keepGoing in [false, true] {
                let dir = try makeTempDir(temp)
                var p = ScriptPlan()
                p.add("bad", "for i in $(seq 1 30); do echo line $i; done; echo boom >&2; exit 3", retries: 1)
                p.add("after-bad", "echo x > \"$CLP_FLOW_WORK_DIR/o\"", inputs: ["bad"])
                p.add("after-after", "echo x > \"$CLP_FLOW_WORK_DIR/o\"", inputs: ["after-bad"])
                p.add("slow-independent", "sleep 0.3; echo y > \"$CLP_FLOW_WORK_DIR/o\"")
                p.add("later-independent", "echo z > \"$CLP_FLOW_WORK_DIR/o\"", inputs: ["slow-independent"])
                let out = OutputBuffer()
                let r = try Runner.run(plan: p.plan(), runDir: dir.appendingPathComponent("run"),
                                       options: quietOptions(parallel: 2, keepGoing: keepGoing, buffer: out), launcher: ShellScriptLauncher())
                #expect(r.status == .failed)
                #expect(r.exitCode == 1)
                let bad = try #require(r.steps["bad"])
                #expect(bad.status == .failed)
                #expect(bad.attempts == 2)
                #expect(bad.exitStatus == 3)
                #expect(bad.logTail.count == Runner.logTailLines)
                #expect(bad.logTail.last == "boom")
                #expect(out.value.contains("error: step bad failed"), "\(out.value)")
                #expect(out.value.contains("| line 30"), "\(out.value)")
                #expect(r.steps["after-bad"]?.status == .skipped)
                #expect(r.steps["after-after"]?.status == .skipped)
                #expect(r.steps["after-bad"]?.reason == "upstream 'bad' failed")
                // The independent step already running finishes in both modes.
                #expect(r.steps["slow-independent"]?.status == .done)
                #expect(r.steps["later-independent"]?.status == (keepGoing ? .done : .skipped))
            }
        }

        @Test func parallelismLimitIsRespected() throws {
            let dir = try makeTempDir(temp)
            let probe = shellQuote(dir.appendingPathComponent("active").path)
            var p = ScriptPlan()
            // Each step records how many steps were active when it started (files in `active/`).
            for i in 0..<5 {
                p.add("s\(i)", "mkdir -p \(probe); touch \(probe)/\(i); ls \(probe) | wc -l > \"$CLP_FLOW_WORK_DIR/n\"; sleep 0.15; rm \(probe)/\(i)")
            }
            let runDir = dir.appendingPathComponent("run")
            let started = Date()
            let r = try Runner.run(plan: p.plan(), runDir: runDir, options: quietOptions(parallel: 2), launcher: ShellScriptLauncher())
            #expect(r.status == .done)
            let rd = RunDirectory(runDir)
            let counts = p.steps.map { Int((readText(rd.artifactsURL.appendingPathComponent("\($0.cacheKey)/n")) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }
            #expect(counts.allSatisfy { $0 >= 1 && $0 <= 2 }, "\(counts)")
            #expect(counts.contains(2), "steps did run in parallel: \(counts)")
            #expect(Date().timeIntervalSince(started) > 0.45, "5 steps of 0.15 s, 2 at a time")
        }

        @Test func cancellationTerminatesChildrenRecordsCancelledAndReleasesLock() throws {
            let dir = try makeTempDir(temp)
            var p = ScriptPlan()
            p.add("long", "sleep 30; echo x > \"$CLP_FLOW_WORK_DIR/o\"")
            p.add("after", "echo x > \"$CLP_FLOW_WORK_DIR/o\"", inputs: ["long"])
            let flag = CancellationFlag()
            let runDir = dir.appendingPathComponent("run")
            let t = Thread { usleep(300_000); flag.cancel(signal: SIGINT) }
            t.start()
            let started = Date()
            let r = try Runner.run(plan: p.plan(), runDir: runDir, options: quietOptions(cancellation: flag), launcher: ShellScriptLauncher())
            #expect(Date().timeIntervalSince(started) < 10)
            #expect(r.status == .cancelled)
            #expect(r.exitCode == 130)
            #expect(r.steps["long"]?.status == .cancelled)
            #expect(r.steps["after"]?.status == .cancelled)
            let rd = RunDirectory(runDir)
            let store = try RunStore(url: rd.storeURL, readOnly: true)
            #expect(try store.latestRun()?.status == "cancelled")
            #expect(try store.steps(runId: r.runId).map(\.status) == [.cancelled, .cancelled])
            #expect(!(RunLock.inspect(rd.lockURL).held))
            #expect(rd.artifacts.verify(cacheKey: p.steps[0].cacheKey) == .missing)
        }

        @Test func concurrentRunnerOnSameDirectoryIsRefused() throws {
            let dir = try makeTempDir(temp)
            let runDir = dir.appendingPathComponent("run")
            try RunDirectory(runDir).create()
            let held = try RunLock.acquire(RunDirectory(runDir).lockURL)
            defer { held.release() }
            var p = ScriptPlan()
            p.add("a", "true")
            do {
                let e = try #require(throws: (any Error).self) { try Runner.run(plan: p.plan(), runDir: runDir, options: quietOptions(), launcher: ShellScriptLauncher()) }
                #expect("\(e)".contains("held by pid \(getpid())"), "\(e)")
            }
        }

        @Test func stepContextGivesWorkDirInputsAndEvents() throws {
            let dir = try makeTempDir(temp)
            let runDir = dir.appendingPathComponent("run")
            var p = ScriptPlan()
            p.add("up", "echo 1 > \"$CLP_FLOW_WORK_DIR/v\"")
            p.add("down", "true", inputs: ["up"])
            let plan = p.plan()
            _ = try Runner.run(plan: Plan(workflowName: "t", seed: 1, steps: [plan.steps[0]]), runDir: runDir,
                               options: quietOptions(), launcher: ShellScriptLauncher())
            try RunDirectory(runDir).writePlan(plan)
            let work = try RunDirectory(runDir).workDir(cacheKey: plan.steps[1].cacheKey, attempt: "9-1")
            let ctx = try StepContext.load(runDir: runDir, stepId: "down", environment: [StepContext.Env.workDir: work.path])
            #expect(ctx.workDir.path == work.path)
            #expect(readText(ctx.inputDirs["up"]!.appendingPathComponent("v")) == "1\n")
            ctx.events.progress(step: 3, total: 10, metrics: ["reward/a": 0.5])
            ctx.events.metric("loss", 2)
            var tail = EventsTail(url: work.appendingPathComponent("events.jsonl"))
            #expect(tail.read() == [.progress(step: 3, total: 10, metrics: ["reward/a": 0.5]), .metric(name: "loss", value: 2, step: nil)])
            #expect(tail.read() == [])
            #expect(throws: (any Error).self) { try StepContext.load(runDir: runDir, stepId: "down", environment: [StepContext.Env.workDir: "/tmp/../etc"]) }
            #expect(throws: (any Error).self) { try StepContext.load(runDir: runDir, stepId: "nope", environment: [:]) }
            try ArtifactPublisher.publish(runDir: runDir, stepId: "down", workDir: work)
            #expect(RunDirectory(runDir).artifacts.verify(cacheKey: plan.steps[1].cacheKey).isValid)
            #expect(throws: (any Error).self) { try ArtifactPublisher.publish(runDir: runDir, stepId: "down", workDir: dir) }
        }

        @Test func eventsTailKeepsPartialLines() throws {
            let dir = try makeTempDir(temp)
            let url = dir.appendingPathComponent("events.jsonl")
            try Data((#"{"type":"metric","name":"a","value":1}"# + "\n" + #"{"type":"met"#).utf8).write(to: url)
            var t = EventsTail(url: url)
            #expect(t.read() == [.metric(name: "a", value: 1, step: nil)])
            let h = try FileHandle(forWritingTo: url); try h.seekToEnd()
            h.write(Data((#"ric","name":"b","value":2,"step":4}"# + "\nnot json\n").utf8)); try h.close()
            #expect(t.read() == [.metric(name: "b", value: 2, step: 4)])
        }

        @Test func planJsonRoundTripsLargeSeeds() throws {
            let dir = try makeTempDir(temp)
            let rd = RunDirectory(dir)
            var p = ScriptPlan()
            p.add("a[x=1]/b", "true")
            let plan = Plan(workflowName: "w", seed: UInt64.max - 6, steps: p.steps)
            try rd.writePlan(plan)
            #expect(try rd.readPlan() == plan)
        }

        struct MissingBinaryLauncher: StepLauncher {
            func command(for step: PlannedStep, runDir: RunDirectory) throws -> [String] { ["/nonexistent/clp-flow", "step"] }
            func publishCommand(for step: PlannedStep, runDir: RunDirectory, workDir: URL) throws -> [String] { [] }
        }

        @Test func stepThatCannotStartFailsWithReason() throws {
            let dir = try makeTempDir(temp)
            var p = ScriptPlan()
            p.add("a", "true")
            p.add("b", "true", inputs: ["a"])
            let r = try Runner.run(plan: p.plan(), runDir: dir.appendingPathComponent("run"), options: quietOptions(),
                                   launcher: MissingBinaryLauncher())
            #expect(r.status == .failed)
            #expect(r.steps["a"]?.status == .failed)
            #expect(r.steps["a"]?.reason?.contains("/nonexistent/clp-flow") == true, "\(r.steps["a"]!)")
            #expect(r.steps["b"]?.status == .skipped)
            let store = try RunStore(url: RunDirectory(dir.appendingPathComponent("run")).storeURL, readOnly: true)
            #expect(try store.steps(runId: r.runId).map(\.stepId) == ["a", "b"], "plan order survives updates")
        }
    }
}
