import ClpFlowCore
import ClpFlowPlanner
import ClpFlowReport
import ClpFlowRunner
import ClpFlowWorkflow
import Foundation
import Testing
@testable import ClpFlowSteps

/// Steps carry their labels as data: an ablated string value containing `,` and `=` (which
/// splitting the step id would cut into pieces) still reaches the ablation table and the report.
@Suite struct StepLabelTests {
    static let odd = "rl,lr=hi"

    @Test func anAblatedValueWithCommaAndEqualsRendersInTheReport() throws {
        var wf = PipelineTests.workflow()
        wf.name = "label-test"
        wf.baselines = []
        wf.ablate = AblateSpec(matrix: [MatrixAxis(path: "stages.0.name", values: [.string("rl"), .string(Self.odd)])])
        let cells = ["rl", Self.odd].map { name -> PlannerCell in
            var c = wf
            c.stages[0].name = name
            return PlannerCell(name: "stages.0.name=\(name)", assignments: [("stages.0.name", .string(name))], workflow: c)
        }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("clp-labels-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let rd = RunDirectory(root)
        try FileManager.default.createDirectory(at: rd.workURL, withIntermediateDirectories: true)
        try rd.writePlan(try Planner.plan(workflow: wf, cells: cells, workflowDir: root))
        // The plan as the steps see it: read back from plan.json.
        let plan = try rd.readPlan()
        let oddEval = try #require(plan.steps.first { $0.kind == .evaluate && $0.label("stages.0.name") == Self.odd })
        #expect(oddEval.id == "evaluate[method=clp,stages.0.name=rl,lr=hi]")
        #expect(oddEval.labels == [StepLabel("method", "clp"), StepLabel("stages.0.name", Self.odd)])

        for step in plan.steps {
            let work = try rd.workDir(cacheKey: step.cacheKey, attempt: "1")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            let ctx = try StepContext.load(runDir: root, stepId: step.id, environment: [StepContext.Env.workDir: work.path])
            try StepExecutor.run(ctx)
            try rd.artifacts.publish(workDir: work, cacheKey: step.cacheKey, stepId: step.id)
        }

        // ablation.json: each evaluation belongs to its own cell, with the whole value as its label.
        let ablate = try #require(plan.steps.first { $0.kind == .ablate })
        let table = try Files.readJSON(AblationArtifact.self,
                                       from: try rd.artifacts.url(for: ablate.cacheKey).appendingPathComponent(ArtifactFiles.ablation))
        let oddRow = try #require(table.rows.first { $0.stepId == oddEval.id })
        #expect(oddRow.labels == ["method": "clp", "stages.0.name": Self.odd])
        #expect(oddRow.cells == ["stages.0.name=\(Self.odd)"])
        #expect(table.rows.filter { $0.cells == ["stages.0.name=rl"] }.count == 1)

        // report.json / report.html: one column per cell, each filled by its own evaluation.
        let report = try #require(plan.steps.last)
        let dir = try rd.artifacts.url(for: report.cacheKey)
        let data = try Files.readJSON(ReportData.self, from: dir.appendingPathComponent(ArtifactFiles.reportData))
        let view = try #require(data.ablationView)
        #expect(view.cells.map(\.values) == [["rl"], [Self.odd]])
        let row = try #require(view.rows.first { $0.method == "clp" })
        #expect(row.entries.map { $0?.stepId } == ["evaluate[method=clp,stages.0.name=rl]", oddEval.id])
        #expect(data.methods.map(\.name).contains("clp-attn (stages.0.name=\(Self.odd))"), "\(data.methods.map(\.name))")
        let html = try String(contentsOf: dir.appendingPathComponent(ArtifactFiles.report), encoding: .utf8)
        #expect(html.contains("clp-attn (stages.0.name=\(Self.odd))"))
    }

    /// Plans written before steps recorded labels: the labels are read from the ids once, on load.
    @Test func plansWithoutLabelsReadThemFromTheIds() throws {
        let old: JSONValue = [
            "workflow_name": "old", "seed": 1,
            "steps": [["id": "train-clp[conditioning.mechanism=prompt,seed=1]/rl2", "kind": "train-clp", "config": [:],
                       "inputs": [], "cache_key": "00"]],
        ]
        let plan = try JSONDecoder().decode(Plan.self, from: Data(old.canonical.utf8))
        #expect(plan.steps[0].labels == [StepLabel("conditioning.mechanism", "prompt"), StepLabel("seed", "1"), StepLabel("stage", "rl2")])
    }
}
