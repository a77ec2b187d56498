import ClpFlowCore
import ClpFlowPlanner
@testable import ClpFlowRunner
import Foundation
import XCTest

final class InspectionTests: XCTestCase {
    func plan(lr: Double, extraInput: Bool = false) -> Plan {
        var p = ScriptPlan()
        p.add("data", "echo d > \"$CLP_FLOW_WORK_DIR/o\"")
        p.add("other", "echo o > \"$CLP_FLOW_WORK_DIR/o\"")
        p.add("train[lr]", """
            printf '{"type":"progress","step":1,"total":2,"metrics":{"reward/a":0.25}}\\n' >> "$CLP_FLOW_EVENTS"
            printf '{"type":"metric","name":"loss, total","value":1.5,"step":2}\\n' >> "$CLP_FLOW_EVENTS"
            echo \(lr) > "$CLP_FLOW_WORK_DIR/o"
            """, inputs: extraInput ? ["data", "other"] : ["data"], extra: ["optim": ["lr": .number(lr), "betas": [0.9, 0.99]]])
        return p.plan()
    }

    func testStatusMetricsAndExplainAcrossRuns() throws {
        let dir = try makeTempDir(self)
        let runDir = dir.appendingPathComponent("run")
        let launcher = ShellScriptLauncher()
        _ = try Runner.run(plan: plan(lr: 0.001), runDir: runDir, options: quietOptions(), launcher: launcher)

        var explain = try RunInspection.explain(runDir: runDir, stepId: "train[lr]")
        XCTAssertTrue(explain.contains("no earlier run recorded this step"), explain)

        // Same plan: everything reused; metrics of the cached step come from the first run.
        _ = try Runner.run(plan: plan(lr: 0.001), runDir: runDir, options: quietOptions(), launcher: launcher)
        explain = try RunInspection.explain(runDir: runDir, stepId: "train[lr]")
        XCTAssertTrue(explain.contains("run 2: cached"), explain)
        XCTAssertTrue(explain.contains("reused: the cache key is unchanged"), explain)
        let m = try RunInspection.metrics(runDir: runDir, stepId: "train[lr]")
        XCTAssertEqual(m.map(\.name), ["reward/a", "loss, total"])
        XCTAssertEqual(m.map(\.runId), [1, 1])
        XCTAssertEqual(RunInspection.metricsCSV(m), """
            run,step,name,training_step,value
            1,train[lr],reward/a,1,0.25
            1,train[lr],"loss, total",2,1.5

            """)
        XCTAssertEqual(RunInspection.metricsJSON(m).arrayValue?.first?["value"], 0.25)
        XCTAssertThrowsError(try RunInspection.metrics(runDir: runDir, stepId: "nope"))

        // Changed learning rate and an added input: the differences are listed old → new.
        _ = try Runner.run(plan: plan(lr: 0.002, extraInput: true), runDir: runDir, options: quietOptions(), launcher: launcher)
        explain = try RunInspection.explain(runDir: runDir, stepId: "train[lr]")
        XCTAssertTrue(explain.contains("run 3: done"), explain)
        XCTAssertTrue(explain.contains("extra.optim.lr: 0.001 → 0.002"), explain)
        XCTAssertTrue(explain.contains("script"), explain)
        XCTAssertTrue(explain.contains("other: (absent) →"), explain)
        XCTAssertFalse(explain.contains("betas"), "unchanged keys are not listed: \(explain)")
        XCTAssertThrowsError(try RunInspection.explain(runDir: runDir, stepId: "train")) { e in
            XCTAssertTrue("\(e)".contains("did you mean train[lr]"), "\(e)")
        }

        // Unusable artifact with the same key: explain names the reason.
        let rd = RunDirectory(runDir)
        let key = plan(lr: 0.002, extraInput: true).step("train[lr]")!.cacheKey
        try FileManager.default.removeItem(at: rd.artifactsURL.appendingPathComponent("\(key)/o"))
        _ = try Runner.run(plan: plan(lr: 0.002, extraInput: true), runDir: runDir, options: quietOptions(), launcher: launcher)
        explain = try RunInspection.explain(runDir: runDir, stepId: "train[lr]")
        XCTAssertTrue(explain.contains("the cache key is unchanged; it ran because its artifact was not usable"), explain)
        XCTAssertTrue(explain.contains("file 'o' is missing"), explain)

        let status = try RunInspection.status(runDir: runDir)
        XCTAssertEqual(status.run.id, 4)
        XCTAssertEqual(status.steps.map(\.record.status), [.cached, .cached, .done])
        XCTAssertFalse(status.lockHeld)
        let text = RunInspection.renderStatus(status)
        XCTAssertTrue(text.hasPrefix("run 4 of test: done"), text)
        XCTAssertTrue(text.contains("train[lr]  done"), text)
        let json = RunInspection.statusJSON(status)
        XCTAssertEqual(json["steps"]?.arrayValue?.count, 3)
        XCTAssertEqual(json["run"]?["status"], "done")
    }

    func testFlattenAndDiff() {
        let a: JSONValue = ["model": ["size": "micro", "layers": 2], "list": [1, 2], "x": nil]
        let b: JSONValue = ["model": ["size": "mini", "layers": 2], "list": [1, 3, 4]]
        let d = RunInspection.configDiff(old: a, new: b)
        XCTAssertEqual(d.map(\.path), ["list[1]", "list[2]", "model.size", "x"])
        XCTAssertEqual(d.map(\.old), ["2", nil, "\"micro\"", "null"])
        XCTAssertEqual(d.map(\.new), ["3", "4", "\"mini\"", nil])
    }

    func testStatusShowsProgressOfRunningStepAndAbruptStop() throws {
        let dir = try makeTempDir(self)
        let rd = RunDirectory(dir.appendingPathComponent("run"))
        try rd.create()
        let store = try RunStore(url: rd.storeURL)
        let run = try store.beginRun(workflow: "wf", host: "h", pid: 1, argv: [])
        let key = String(repeating: "c", count: 64)
        try store.saveStep(StepRecord(runId: run, stepId: "train", kind: "train-clp", cacheKey: key, status: .running,
                                      attempt: 2, started: Timestamp.string(Date(timeIntervalSinceNow: -65)), slurmJobId: "42"))
        let work = try rd.workDir(cacheKey: key, attempt: "\(run)-2")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let events = try StepEvents(workDir: work)
        events.progress(step: 10, total: 100)
        events.progress(step: 25, total: 100, metrics: ["reward/a": 1])
        let status = try RunInspection.status(runDir: rd.root)
        XCTAssertEqual(status.steps.first?.progress?.step, 25)
        let text = RunInspection.renderStatus(status, now: Date())
        XCTAssertTrue(text.contains("warning: the run is recorded as running but no runner holds the directory"), text)
        XCTAssertTrue(text.contains("train  running  2        1m05s  job 42  25/100"), text)
        XCTAssertEqual(RunInspection.statusJSON(status)["steps"]?.arrayValue?.first?["progress"]?["step"], 25)
    }
}
