import ClpFlowCore
import ClpFlowEngine
import ClpFlowPlanner
import ClpFlowRunner
import ClpFlowWorkflow
import Foundation
import Testing
@testable import ClpFlowSteps

/// A small synthetic workflow run step by step in this process (each step through its context
/// and published as the runner would), from data preparation to the report.
@Suite struct PipelineTests {
    static func workflow() -> Workflow {
        var wf = Workflow(name: "pipeline-test")
        wf.seed = 7
        wf.data.source = .synthetic
        wf.data.syntheticExamples = 300
        wf.data.valid = 20
        wf.data.test = 12
        wf.data.maxDocumentTokens = 40
        wf.data.maxSummaryTokens = 12
        wf.model.size = .nano
        wf.model.context = 64
        wf.model.tokenizer.kind = .bpe
        wf.model.tokenizer.vocabSize = 300
        wf.reference.steps = 30
        wf.reference.batch = 8
        wf.reference.evalEvery = 15
        var r1 = RewardSpec(name: "rouge", kind: .rouge1); r1.normalize = .zscore
        var r2 = RewardSpec(name: "short", kind: .length); r2.target = 2; r2.tolerance = 1
        wf.rewards = [r1, r2]
        wf.stages[0].steps = 4
        wf.stages[0].batch = 2
        wf.stages[0].samples = 2
        wf.stages[0].maxNewTokens = 8
        wf.weights.eval = .pointsPerEdge(3)
        wf.evaluate.prompts = 6
        wf.evaluate.maxNewTokens = 8
        wf.evaluate.samplePrompts = 2
        wf.baselines = [.rewardedSoups, .logitMixing]
        return wf
    }

    static func multiKL() -> Workflow {
        var wf = workflow()
        wf.name = "pipeline-multi-kl"
        wf.rewards = [wf.rewards[0]]
        wf.kl.range = KLRange(min: 0.02, max: 0.5)
        wf.kl.range?.eval = [0.02, 0.1, 0.5]
        wf.baselines = [.dera]
        return wf
    }

    @Test func runsEveryStepAndReports() throws {
        try runPipeline(Self.workflow(), expectMethods: ["rewarded-soups", "clp-attn"], gridPoints: 3)
    }

    @Test func multiKLWithDeRa() throws {
        try runPipeline(Self.multiKL(), expectMethods: ["dera", "clp-attn"], gridPoints: 3)
    }

    func runPipeline(_ wf: Workflow, expectMethods: [String], gridPoints: Int) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("clp-pipeline-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let rd = RunDirectory(root)
        try FileManager.default.createDirectory(at: rd.workURL, withIntermediateDirectories: true)
        let plan = try Planner.plan(workflow: wf, cells: [], workflowDir: root)
        try rd.writePlan(plan)
        let kinds = plan.steps.map(\.kind)
        #expect(kinds.contains(.trainSoft) && kinds.contains(.trainCLP) && kinds.last == .report)
        for step in plan.steps {
            let work = try rd.workDir(cacheKey: step.cacheKey, attempt: "1")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            let ctx = try StepContext.load(runDir: root, stepId: step.id, environment: [StepContext.Env.workDir: work.path])
            try StepExecutor.run(ctx)
            try rd.artifacts.publish(workDir: work, cacheKey: step.cacheKey, stepId: step.id)
        }
        let report = plan.steps.last!
        let html = try String(contentsOf: try rd.artifacts.url(for: report.cacheKey).appendingPathComponent(ArtifactFiles.report), encoding: .utf8)
        #expect(html.contains("<svg"))
        for m in expectMethods { #expect(html.contains(m)) }
        // Evaluations cover the grid and carry finite numbers.
        for s in plan.steps where s.kind == .evaluate {
            let e = try Files.readJSON(EvaluationArtifact.self,
                                       from: try rd.artifacts.url(for: s.cacheKey).appendingPathComponent(ArtifactFiles.evaluation))
            #expect(e.evaluation.points.count == gridPoints)
            #expect(e.evaluation.points.allSatisfy { p in p.rewards.allSatisfy { $0.mean.isFinite } })
            #expect(e.hypervolume.isFinite)
        }
    }
}
