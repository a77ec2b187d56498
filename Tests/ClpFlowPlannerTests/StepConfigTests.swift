import ClpFlowCore
import ClpFlowWorkflow
import Foundation
import Testing
@testable import ClpFlowPlanner

/// The typed step configurations: what the planner writes is what the steps read back.
@Suite struct StepConfigTests {
    /// Decodes `step`'s configuration with the type of its kind and encodes it again.
    static func roundTrip(_ step: PlannedStep) throws -> JSONValue {
        let enc = JSONEncoder()
        let data: Data
        switch step.kind {
        case .prepareData: data = try enc.encode(PrepareDataConfig(step: step))
        case .trainTokenizer: data = try enc.encode(TrainTokenizerConfig(step: step))
        case .pretrain: data = try enc.encode(PretrainConfig(step: step))
        case .trainReference: data = try enc.encode(TrainReferenceConfig(step: step))
        case .trainSoft: data = try enc.encode(TrainSoftConfig(step: step))
        case .trainCLP: data = try enc.encode(TrainCLPConfig(step: step))
        case .evaluate: data = try enc.encode(EvaluateConfig(step: step))
        case .ablate: data = try enc.encode(AblateConfig(step: step))
        case .report: data = try enc.encode(ReportConfig(step: step))
        }
        return try JSONValue.parse(data: data)
    }

    /// Every step of every workflow file's plan decodes into its kind's configuration, and that
    /// configuration encodes to exactly the JSON in the plan (so steps read what the cache key saw).
    @Test func everyPlannedConfigurationRoundTrips() throws {
        var kinds = Set<StepKind>()
        for url in goldenPlanFiles() {
            let l = try WorkflowLoader.load(path: url.path)
            let cells = l.cells.map { PlannerCell(name: $0.name, assignments: $0.assignments, workflow: $0.workflow) }
            let plan = try Planner.plan(workflow: l.workflow, cells: cells, workflowDir: url.deletingLastPathComponent(),
                                        fileSystem: GoldenFileSystem())
            for step in plan.steps {
                kinds.insert(step.kind)
                let again = try Self.roundTrip(step)
                #expect(again.canonical == step.config.canonical, "\(url.lastPathComponent) \(step.id)")
            }
        }
        for plan in [Fixtures.plan(Fixtures.twoRewards()), Fixtures.plan(Fixtures.multiKL())] {
            for step in plan.steps { #expect(try Self.roundTrip(step).canonical == step.config.canonical, "\(step.id)") }
        }
        #expect(kinds == Set(StepKind.allCases), "the workflow files cover every step kind: \(kinds)")
    }

    /// A missing section is an error naming the step and the section, not a silent default.
    @Test func aMissingSectionIsAnError() throws {
        let plan = Fixtures.plan(Fixtures.twoRewards())
        var clp = plan.steps.first { $0.kind == .trainCLP }!
        _ = try TrainCLPConfig(step: clp)
        var o = clp.config.objectValue!
        o["kl"] = nil
        clp.config = .object(o)
        #expect(throws: StepConfigError(stepId: clp.id, reason: "the train-clp configuration has no `kl` section")) {
            try TrainCLPConfig(step: clp)
        }
        var eval = plan.steps.first { $0.kind == .evaluate }!
        var e = eval.config.objectValue!
        e["method"] = "soups"
        eval.config = .object(e)
        do { _ = try EvaluateConfig(step: eval); Issue.record("an unknown method was accepted") } catch let error as StepConfigError {
            #expect(error.description.contains("unknown method soups; expected one of clp, prompt, rewarded-soups"), "\(error)")
        }
        let report = plan.steps.first { $0.kind == .report }!
        #expect(throws: StepConfigError.self) { try TrainCLPConfig(step: report) }
    }

    /// A section's tagged-union values replace the defaults' instead of merging with them, and a
    /// partial nested object takes the defaults it leaves out.
    @Test func sectionsKeepTheirOwnDistribution() throws {
        let plan = Fixtures.plan(Fixtures.twoRewards())
        let clp = plan.steps.first { $0.kind == .trainCLP }!
        var o = clp.config.objectValue!
        o["weights"] = ["train": ["adaptive": ["base": ["dirichlet": ["concentration": 0.3]], "rate": 0.5, "bins": 6]],
                        "scalarization": "linear"]
        o["conditioning"] = ["mechanism": "attn"]
        o["model"] = ["tokenizer": ["kind": "byte"], "size": "nano"]
        let cfg = try TrainCLPConfig(config: .object(o))
        #expect(cfg.weights.train == .adaptive(base: .dirichlet(concentration: 0.3), rate: 0.5, bins: 6))
        #expect(cfg.weights.eval == WeightsSpec().eval)
        #expect(cfg.conditioning.mechanism == .attn && cfg.conditioning.attnMatrices == [.qkv, .proj])
        #expect(cfg.model.tokenizer.kind == .byte && cfg.model.tokenizer.vocabSize == TokenizerSpec().vocabSize && cfg.model.size == .nano)
    }

    /// SOFT steps carry the SOFT α (the smallest α of a multi-KL range) and one reward.
    @Test func softStepsCarryTheSoftAlpha() throws {
        let plan = Fixtures.plan(Fixtures.multiKL())
        let soft = plan.steps.filter { $0.kind == .trainSoft }
        #expect(!soft.isEmpty)
        for s in soft {
            let cfg = try TrainSoftConfig(step: s)
            #expect(cfg.alpha == 0.01 && cfg.kl.range == nil && cfg.reward.name == "judge")
        }
        #expect(Fixtures.multiKL().kl.softAlpha == 0.01 && KLSpec().softAlpha == KLSpec().alpha)
    }
}
