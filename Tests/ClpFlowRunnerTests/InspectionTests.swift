import ClpFlowCore
import ClpFlowPlanner
@testable import ClpFlowRunner
import Foundation
import Testing

extension RunnerTests {
    @Suite struct InspectionTests {
        let temp = TemporaryDirectories()

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

        @Test func statusMetricsAndExplainAcrossRuns() throws {
            let dir = try makeTempDir(temp)
            let runDir = dir.appendingPathComponent("run")
            let launcher = ShellScriptLauncher()
            _ = try Runner.run(plan: plan(lr: 0.001), runDir: runDir, options: quietOptions(), launcher: launcher)

            var explain = try RunInspection.explain(runDir: runDir, stepId: "train[lr]")
            #expect(explain.contains("no earlier run recorded this step"), "\(explain)")

            // Same plan: everything reused; metrics of the cached step come from the first run.
            _ = try Runner.run(plan: plan(lr: 0.001), runDir: runDir, options: quietOptions(), launcher: launcher)
            explain = try RunInspection.explain(runDir: runDir, stepId: "train[lr]")
            #expect(explain.contains("run 2: cached"), "\(explain)")
            #expect(explain.contains("reused: the cache key is unchanged"), "\(explain)")
            let m = try RunInspection.metrics(runDir: runDir, stepId: "train[lr]")
            #expect(m.map(\.name) == ["reward/a", "loss, total"])
            #expect(m.map(\.runId) == [1, 1])
            #expect(RunInspection.metricsCSV(m) == """
                run,step,name,training_step,value
                1,train[lr],reward/a,1,0.25
                1,train[lr],"loss, total",2,1.5

                """)
            #expect(RunInspection.metricsJSON(m).arrayValue?.first?["value"] == 0.25)
            #expect(throws: (any Error).self) { try RunInspection.metrics(runDir: runDir, stepId: "nope") }

            // Changed learning rate and an added input: the differences are listed old → new.
            _ = try Runner.run(plan: plan(lr: 0.002, extraInput: true), runDir: runDir, options: quietOptions(), launcher: launcher)
            explain = try RunInspection.explain(runDir: runDir, stepId: "train[lr]")
            #expect(explain.contains("run 3: done"), "\(explain)")
            #expect(explain.contains("extra.optim.lr: 0.001 → 0.002"), "\(explain)")
            #expect(explain.contains("script"), "\(explain)")
            #expect(explain.contains("other: (absent) →"), "\(explain)")
            #expect(!explain.contains("betas"), "unchanged keys are not listed: \(explain)")
            do {
                let e = try #require(throws: (any Error).self) { try RunInspection.explain(runDir: runDir, stepId: "train") }
                #expect("\(e)".contains("did you mean train[lr]"), "\(e)")
            }

            // Unusable artifact with the same key: explain names the reason.
            let rd = RunDirectory(runDir)
            let key = plan(lr: 0.002, extraInput: true).step("train[lr]")!.cacheKey
            try FileManager.default.removeItem(at: rd.artifactsURL.appendingPathComponent("\(key)/o"))
            _ = try Runner.run(plan: plan(lr: 0.002, extraInput: true), runDir: runDir, options: quietOptions(), launcher: launcher)
            explain = try RunInspection.explain(runDir: runDir, stepId: "train[lr]")
            #expect(explain.contains("the cache key is unchanged; it ran because its artifact was not usable"), "\(explain)")
            #expect(explain.contains("file 'o' is missing"), "\(explain)")

            let status = try RunInspection.status(runDir: runDir)
            #expect(status.run.id == 4)
            #expect(status.steps.map(\.record.status) == [.cached, .cached, .done])
            #expect(!status.lockHeld)
            let text = RunInspection.renderStatus(status)
            #expect(text.hasPrefix("run 4 of test: done"), "\(text)")
            #expect(text.contains("train[lr]  done"), "\(text)")
            let json = RunInspection.statusJSON(status)
            #expect(json["steps"]?.arrayValue?.count == 3)
            #expect(json["run"]?["status"] == "done")
        }

        @Test func flattenAndDiff() {
            let a: JSONValue = ["model": ["size": "micro", "layers": 2], "list": [1, 2], "x": nil]
            let b: JSONValue = ["model": ["size": "mini", "layers": 2], "list": [1, 3, 4]]
            let d = RunInspection.configDiff(old: a, new: b)
            #expect(d.map(\.path) == ["list[1]", "list[2]", "model.size", "x"])
            #expect(d.map(\.old) == ["2", nil, "\"micro\"", "null"])
            #expect(d.map(\.new) == ["3", "4", "\"mini\"", nil])
        }

        @Test func statusShowsProgressOfRunningStepAndAbruptStop() throws {
            let dir = try makeTempDir(temp)
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
            #expect(status.steps.first?.progress?.step == 25)
            let text = RunInspection.renderStatus(status, now: Date())
            #expect(text.contains("warning: the run is recorded as running but no runner holds the directory"), "\(text)")
            #expect(text.contains("train  running  2        1m05s  job 42  25/100"), "\(text)")
            #expect(RunInspection.statusJSON(status)["steps"]?.arrayValue?.first?["progress"]?["step"] == 25)
        }
    }
}
