import ClpFlowCore
import ClpFlowEngine
import ClpFlowPlanner
import ClpFlowRunner
import ClpFlowWorkflow
import Foundation
import Testing
@testable import ClpFlowSteps

/// The whole pipeline with `model.init`: a GPT-2-style checkpoint whose `<|endoftext|>` is its
/// last id and which has no `<|summary|>`, run step by step in this process.
@Suite struct InitPipelineTests {
    @Test func fineTunesFromAGPT2StyleCheckpoint() throws {
        let initDir = try writeGPT2StyleCheckpoint(tied: true, context: 64, dModel: 16)
        defer { try? FileManager.default.removeItem(at: initDir) }
        var wf = PipelineTests.workflow()
        wf.name = "pipeline-init"
        wf.model.initFrom = initDir.path
        wf.model.size = .micro  // ignored: the checkpoint's shape wins
        wf.baselines = []

        let root = FileManager.default.temporaryDirectory.appendingPathComponent("clp-init-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let rd = RunDirectory(root)
        try FileManager.default.createDirectory(at: rd.workURL, withIntermediateDirectories: true)
        let plan = try Planner.plan(workflow: wf, cells: [], workflowDir: root)
        try rd.writePlan(plan)
        #expect(!plan.steps.contains { $0.kind == .trainTokenizer })
        for step in plan.steps {
            let work = try rd.workDir(cacheKey: step.cacheKey, attempt: "1")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            let ctx = try StepContext.load(runDir: root, stepId: step.id, environment: [StepContext.Env.workDir: work.path])
            try StepExecutor.run(ctx)
            try rd.artifacts.publish(workDir: work, cacheKey: step.cacheKey, stepId: step.id)
        }

        let ref = try #require(plan.steps.first { $0.kind == .trainReference })
        let refDir = try rd.artifacts.url(for: ref.cacheKey)
        let modelDir = refDir.appendingPathComponent(ArtifactFiles.modelDir)
        // The exported tokenizer is the checkpoint's, extended with <|summary|> = 260.
        let tok = try loadTokenizer(from: modelDir)
        #expect(tok.vocabSize == 261 && tok.eotId == 259 && tok.sepId == 260)
        // The model keeps the checkpoint's shape (not the micro preset) with one more row.
        let model = try GPTModel.importHuggingFace(from: modelDir)
        #expect(model.config == GPTConfig(vocabSize: 261, context: 64, layers: 1, heads: 2, dModel: 16))
        let cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: modelDir.appendingPathComponent("config.json"))) as! [String: Any]
        #expect(cfg["eos_token_id"] as? Int == 259)

        // The supervised loss fell, and the step said where the shape and the separator came from.
        var losses: [Double] = [], messages: [String] = []
        let lines = try String(contentsOf: refDir.appendingPathComponent(StepEvents.fileName), encoding: .utf8)
        for line in lines.split(separator: "\n") {
            switch StepEvent.parse(line: String(line)) {
            case .metric("loss", let v, _)?: losses.append(v)
            case .message(let m)?: messages.append(m)
            default: break
            }
        }
        #expect(losses.count == wf.reference.steps)
        let head = losses.prefix(5).reduce(0, +) / 5, tail = losses.suffix(5).reduce(0, +) / 5
        #expect(tail < head, "reference loss \(head) → \(tail)")
        #expect(messages.contains { $0.contains("shape from the checkpoint") && $0.contains("ignored") })
        #expect(messages.contains { $0.contains("added as id 260") && $0.contains("260 to 261") })

        // Later steps ran with the extended tokenizer: the policies carry it too.
        let clp = try #require(plan.steps.last { $0.kind == .trainCLP })
        let policyTok = try loadTokenizer(from: try rd.artifacts.url(for: clp.cacheKey).appendingPathComponent(ArtifactFiles.policyDir))
        #expect(policyTok.sepId == 260 && policyTok.eotId == 259)
        let report = try #require(plan.steps.last)
        #expect(FileManager.default.fileExists(atPath: try rd.artifacts.url(for: report.cacheKey).appendingPathComponent(ArtifactFiles.report).path))
    }
}
