import ClpFlowCore
import ClpFlowPlanner
@testable import ClpFlowRunner
import Foundation
import XCTest

final class LocalRunnerTests: XCTestCase {
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

    func testDiamondRunsThenIsCachedOnRerun() throws {
        let dir = try makeTempDir(self)
        let trace = dir.appendingPathComponent("trace.txt")
        let plan = diamond(trace: trace).plan()
        let runDir = dir.appendingPathComponent("run")
        let out = OutputBuffer()
        let r1 = try Runner.run(plan: plan, runDir: runDir, options: quietOptions(buffer: out), launcher: ShellScriptLauncher())
        XCTAssertEqual(r1.status, .done, out.value)
        XCTAssertEqual(r1.exitCode, 0)
        XCTAssertEqual(Set(r1.steps.values.map(\.status)), [.done])
        let trace1 = traceLines(trace)
        XCTAssertEqual(trace1.count, 4)
        XCTAssertEqual(trace1.first, "prepare[a]")
        XCTAssertEqual(trace1.last, "report")
        let rd = RunDirectory(runDir)
        let reportKey = plan.step("report")!.cacheKey
        XCTAssertEqual(readText(rd.artifactsURL.appendingPathComponent("\(reportKey)/out.txt")), "a\nb\na\nc\n")
        // Logs, plan, store, no leftovers in work/.
        XCTAssertTrue(FileManager.default.fileExists(atPath: rd.logURL(stepId: "../../c").path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: rd.workURL.path), [])
        XCTAssertEqual(try rd.readPlan(), plan)
        XCTAssertTrue(out.value.contains("STEP"), "summary table printed")
        // Metrics from events.jsonl are in the store.
        let store = try RunStore(url: rd.storeURL, readOnly: true)
        let metrics = try store.metrics(runId: r1.runId, stepId: "train[b=1,c/d]")
        XCTAssertEqual(metrics.map(\.name), ["reward/x", "loss"])
        XCTAssertEqual(metrics.map(\.trainingStep), [1, 2])
        XCTAssertEqual(metrics.map(\.value), [0.5, 1.25])

        let r2 = try Runner.run(plan: plan, runDir: runDir, options: quietOptions(), launcher: ShellScriptLauncher())
        XCTAssertEqual(r2.status, .done)
        XCTAssertEqual(Set(r2.steps.values.map(\.status)), [.cached])
        XCTAssertEqual(traceLines(trace).count, 4, "nothing reran")
        XCTAssertEqual(try store.steps(runId: r2.runId).map(\.status), [.cached, .cached, .cached, .cached])
        XCTAssertEqual(try store.metricsOfArtifact(stepId: "train[b=1,c/d]", cacheKey: plan.step("train[b=1,c/d]")!.cacheKey).count, 2)
    }

    func testCorruptArtifactMakesStepRerun() throws {
        let dir = try makeTempDir(self)
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
        XCTAssertEqual(r.status, .done)
        XCTAssertEqual(r.steps["../../c"]?.status, .done)
        XCTAssertEqual(r.steps["report"]?.status, .done)
        XCTAssertEqual(r.steps["prepare[a]"]?.status, .cached)
        XCTAssertEqual(r.steps["train[b=1,c/d]"]?.status, .cached)
        XCTAssertEqual(traceLines(trace).suffix(2), ["../../c", "report"])
        XCTAssertTrue(rd.artifacts.verify(cacheKey: cKey).isValid)
        let rec = try RunStore(url: rd.storeURL).steps(runId: r.runId).first { $0.stepId == "../../c" }
        XCTAssertEqual(rec?.attempt, 1)
    }

    func testRetriesThenSucceeds() throws {
        let dir = try makeTempDir(self)
        let marker = shellQuote(dir.appendingPathComponent("count").path)
        var p = ScriptPlan()
        // Fails on its first two attempts.
        p.add("flaky", "n=$(cat \(marker) 2>/dev/null || echo 0); n=$((n+1)); echo $n > \(marker); echo attempt $n; [ $n -ge 3 ] && echo ok > \"$CLP_FLOW_WORK_DIR/o\"", retries: 2)
        let r = try Runner.run(plan: p.plan(), runDir: dir.appendingPathComponent("run"), options: quietOptions(), launcher: ShellScriptLauncher())
        XCTAssertEqual(r.status, .done)
        XCTAssertEqual(r.steps["flaky"]?.attempts, 3)
        let log = readText(RunDirectory(dir.appendingPathComponent("run")).logURL(stepId: "flaky")) ?? ""
        XCTAssertTrue(log.contains("attempt 1") && log.contains("attempt 3"), log)
    }

    func testFailureShowsLogTailSkipsDependentsAndKeepGoingRunsOtherBranch() throws {
        for keepGoing in [false, true] {
            let dir = try makeTempDir(self)
            var p = ScriptPlan()
            p.add("bad", "for i in $(seq 1 30); do echo line $i; done; echo boom >&2; exit 3", retries: 1)
            p.add("after-bad", "echo x > \"$CLP_FLOW_WORK_DIR/o\"", inputs: ["bad"])
            p.add("after-after", "echo x > \"$CLP_FLOW_WORK_DIR/o\"", inputs: ["after-bad"])
            p.add("slow-independent", "sleep 0.3; echo y > \"$CLP_FLOW_WORK_DIR/o\"")
            p.add("later-independent", "echo z > \"$CLP_FLOW_WORK_DIR/o\"", inputs: ["slow-independent"])
            let out = OutputBuffer()
            let r = try Runner.run(plan: p.plan(), runDir: dir.appendingPathComponent("run"),
                                   options: quietOptions(parallel: 2, keepGoing: keepGoing, buffer: out), launcher: ShellScriptLauncher())
            XCTAssertEqual(r.status, .failed)
            XCTAssertEqual(r.exitCode, 1)
            let bad = try XCTUnwrap(r.steps["bad"])
            XCTAssertEqual(bad.status, .failed)
            XCTAssertEqual(bad.attempts, 2)
            XCTAssertEqual(bad.exitStatus, 3)
            XCTAssertEqual(bad.logTail.count, Runner.logTailLines)
            XCTAssertEqual(bad.logTail.last, "boom")
            XCTAssertTrue(out.value.contains("error: step bad failed"), out.value)
            XCTAssertTrue(out.value.contains("| line 30"), out.value)
            XCTAssertEqual(r.steps["after-bad"]?.status, .skipped)
            XCTAssertEqual(r.steps["after-after"]?.status, .skipped)
            XCTAssertEqual(r.steps["after-bad"]?.reason, "upstream 'bad' failed")
            // The independent step already running finishes in both modes.
            XCTAssertEqual(r.steps["slow-independent"]?.status, .done)
            XCTAssertEqual(r.steps["later-independent"]?.status, keepGoing ? .done : .skipped)
        }
    }

    func testParallelismLimitIsRespected() throws {
        let dir = try makeTempDir(self)
        let probe = shellQuote(dir.appendingPathComponent("active").path)
        var p = ScriptPlan()
        // Each step records how many steps were active when it started (files in `active/`).
        for i in 0..<5 {
            p.add("s\(i)", "mkdir -p \(probe); touch \(probe)/\(i); ls \(probe) | wc -l > \"$CLP_FLOW_WORK_DIR/n\"; sleep 0.15; rm \(probe)/\(i)")
        }
        let runDir = dir.appendingPathComponent("run")
        let started = Date()
        let r = try Runner.run(plan: p.plan(), runDir: runDir, options: quietOptions(parallel: 2), launcher: ShellScriptLauncher())
        XCTAssertEqual(r.status, .done)
        let rd = RunDirectory(runDir)
        let counts = p.steps.map { Int((readText(rd.artifactsURL.appendingPathComponent("\($0.cacheKey)/n")) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }
        XCTAssertTrue(counts.allSatisfy { $0 >= 1 && $0 <= 2 }, "\(counts)")
        XCTAssertTrue(counts.contains(2), "steps did run in parallel: \(counts)")
        XCTAssertGreaterThan(Date().timeIntervalSince(started), 0.45, "5 steps of 0.15 s, 2 at a time")
    }

    func testCancellationTerminatesChildrenRecordsCancelledAndReleasesLock() throws {
        let dir = try makeTempDir(self)
        var p = ScriptPlan()
        p.add("long", "sleep 30; echo x > \"$CLP_FLOW_WORK_DIR/o\"")
        p.add("after", "echo x > \"$CLP_FLOW_WORK_DIR/o\"", inputs: ["long"])
        let flag = CancellationFlag()
        let runDir = dir.appendingPathComponent("run")
        let t = Thread { usleep(300_000); flag.cancel(signal: SIGINT) }
        t.start()
        let started = Date()
        let r = try Runner.run(plan: p.plan(), runDir: runDir, options: quietOptions(cancellation: flag), launcher: ShellScriptLauncher())
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        XCTAssertEqual(r.status, .cancelled)
        XCTAssertEqual(r.exitCode, 130)
        XCTAssertEqual(r.steps["long"]?.status, .cancelled)
        XCTAssertEqual(r.steps["after"]?.status, .cancelled)
        let rd = RunDirectory(runDir)
        let store = try RunStore(url: rd.storeURL, readOnly: true)
        XCTAssertEqual(try store.latestRun()?.status, "cancelled")
        XCTAssertEqual(try store.steps(runId: r.runId).map(\.status), [.cancelled, .cancelled])
        XCTAssertFalse(RunLock.inspect(rd.lockURL).held)
        XCTAssertEqual(rd.artifacts.verify(cacheKey: p.steps[0].cacheKey), .missing)
    }

    func testConcurrentRunnerOnSameDirectoryIsRefused() throws {
        let dir = try makeTempDir(self)
        let runDir = dir.appendingPathComponent("run")
        try RunDirectory(runDir).create()
        let held = try RunLock.acquire(RunDirectory(runDir).lockURL)
        defer { held.release() }
        var p = ScriptPlan()
        p.add("a", "true")
        XCTAssertThrowsError(try Runner.run(plan: p.plan(), runDir: runDir, options: quietOptions(), launcher: ShellScriptLauncher())) { e in
            XCTAssertTrue("\(e)".contains("held by pid \(getpid())"), "\(e)")
        }
    }

    func testStepContextGivesWorkDirInputsAndEvents() throws {
        let dir = try makeTempDir(self)
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
        XCTAssertEqual(ctx.workDir.path, work.path)
        XCTAssertEqual(readText(ctx.inputDirs["up"]!.appendingPathComponent("v")), "1\n")
        ctx.events.progress(step: 3, total: 10, metrics: ["reward/a": 0.5])
        ctx.events.metric("loss", 2)
        var tail = EventsTail(url: work.appendingPathComponent("events.jsonl"))
        XCTAssertEqual(tail.read(), [.progress(step: 3, total: 10, metrics: ["reward/a": 0.5]), .metric(name: "loss", value: 2, step: nil)])
        XCTAssertEqual(tail.read(), [])
        XCTAssertThrowsError(try StepContext.load(runDir: runDir, stepId: "down", environment: [StepContext.Env.workDir: "/tmp/../etc"]))
        XCTAssertThrowsError(try StepContext.load(runDir: runDir, stepId: "nope", environment: [:]))
        try ArtifactPublisher.publish(runDir: runDir, stepId: "down", workDir: work)
        XCTAssertTrue(RunDirectory(runDir).artifacts.verify(cacheKey: plan.steps[1].cacheKey).isValid)
        XCTAssertThrowsError(try ArtifactPublisher.publish(runDir: runDir, stepId: "down", workDir: dir))
    }

    func testEventsTailKeepsPartialLines() throws {
        let dir = try makeTempDir(self)
        let url = dir.appendingPathComponent("events.jsonl")
        try Data((#"{"type":"metric","name":"a","value":1}"# + "\n" + #"{"type":"met"#).utf8).write(to: url)
        var t = EventsTail(url: url)
        XCTAssertEqual(t.read(), [.metric(name: "a", value: 1, step: nil)])
        let h = try FileHandle(forWritingTo: url); try h.seekToEnd()
        h.write(Data((#"ric","name":"b","value":2,"step":4}"# + "\nnot json\n").utf8)); try h.close()
        XCTAssertEqual(t.read(), [.metric(name: "b", value: 2, step: 4)])
    }

    func testPlanJsonRoundTripsLargeSeeds() throws {
        let dir = try makeTempDir(self)
        let rd = RunDirectory(dir)
        var p = ScriptPlan()
        p.add("a[x=1]/b", "true")
        let plan = Plan(workflowName: "w", seed: UInt64.max - 6, steps: p.steps)
        try rd.writePlan(plan)
        XCTAssertEqual(try rd.readPlan(), plan)
    }

    struct MissingBinaryLauncher: StepLauncher {
        func command(for step: PlannedStep, runDir: RunDirectory) throws -> [String] { ["/nonexistent/clp-flow", "step"] }
        func publishCommand(for step: PlannedStep, runDir: RunDirectory, workDir: URL) throws -> [String] { [] }
    }

    func testStepThatCannotStartFailsWithReason() throws {
        let dir = try makeTempDir(self)
        var p = ScriptPlan()
        p.add("a", "true")
        p.add("b", "true", inputs: ["a"])
        let r = try Runner.run(plan: p.plan(), runDir: dir.appendingPathComponent("run"), options: quietOptions(),
                               launcher: MissingBinaryLauncher())
        XCTAssertEqual(r.status, .failed)
        XCTAssertEqual(r.steps["a"]?.status, .failed)
        XCTAssertTrue(r.steps["a"]?.reason?.contains("/nonexistent/clp-flow") == true, "\(r.steps["a"]!)")
        XCTAssertEqual(r.steps["b"]?.status, .skipped)
        let store = try RunStore(url: RunDirectory(dir.appendingPathComponent("run")).storeURL, readOnly: true)
        XCTAssertEqual(try store.steps(runId: r.runId).map(\.stepId), ["a", "b"], "plan order survives updates")
    }
}
