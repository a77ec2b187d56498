import ClpFlowCore
import ClpFlowWorkflow
import Testing
@testable import ClpFlowPlanner

@Suite struct LaunchOrderTests {
    @Test func theLongerRLStageLaunchesBeforeTheSoftPoliciesThatSplitItsBudget() {
        let plan = Fixtures.plan(Fixtures.twoRewards())
        let p = LaunchOrder.priorities(plan)
        // 101 CLP steps against 51 per SOFT policy, same batch and samples.
        #expect(LaunchOrder.estimatedWork(plan[id: "train-clp"]!) > LaunchOrder.estimatedWork(plan[id: "train-soft[reward=rougeL]"]!))
        for soft in plan.ids(.trainSoft) { #expect(p["train-clp"]! > p[soft]!) }
        let order = LaunchOrder.ordered(plan).map(\.id)
        let firstTraining = order.first { plan[id: $0]!.kind == .trainSoft || plan[id: $0]!.kind == .trainCLP }
        #expect(firstTraining == "train-clp")
        #expect(Set(order) == Set(plan.steps.map(\.id)) && order.count == plan.steps.count)
    }

    @Test func aStepOutranksEveryStepThatConsumesIt() {
        let plan = Fixtures.plan(Fixtures.multiKL())
        let p = LaunchOrder.priorities(plan)
        for s in plan.steps {
            for i in s.inputs {
                #expect(p[i]! >= p[s.id]! + LaunchOrder.estimatedWork(plan[id: i]!) - 1e-9, "\(i) before \(s.id)")
            }
        }
    }

    @Test func workGrowsWithStepsBatchSamplesAndTheEvaluationGrid() {
        func step(_ kind: StepKind, _ config: JSONValue) -> PlannedStep {
            PlannedStep(id: "s", kind: kind, config: config, inputs: [], cacheKey: String(repeating: "0", count: 64))
        }
        let data: JSONValue = ["max_document_tokens": 64, "max_summary_tokens": 16]
        let rl: (Int, Int) -> JSONValue = { steps, samples in
            ["data": data, "stage": ["steps": .number(Double(steps)), "batch": 4, "samples": .number(Double(samples)), "max_new_tokens": 16]]
        }
        let w30 = LaunchOrder.estimatedWork(step(.trainCLP, rl(30, 4)))
        #expect(LaunchOrder.estimatedWork(step(.trainCLP, rl(60, 4))) == 2 * w30)
        #expect(LaunchOrder.estimatedWork(step(.trainSoft, rl(30, 8))) == 2 * w30)
        #expect(w30 == 30 * 4 * 4 * 3 * (64 + 16))
        let eval: (JSONValue, Int) -> JSONValue = { grid, m in
            ["data": data, "evaluate": ["prompts": 48, "max_new_tokens": 16], "weights": ["eval": grid],
             "rewards": .array(Array(repeating: ["name": "r"], count: m))]
        }
        // Five points per edge: 5 weightings with two rewards, 15 with three.
        #expect(LaunchOrder.estimatedWork(step(.evaluate, eval(["points_per_edge": 5], 2))) == 48 * 5 * 2 * 80)
        #expect(LaunchOrder.estimatedWork(step(.evaluate, eval(["points_per_edge": 5], 3))) == 48 * 15 * 2 * 80)
        #expect(LaunchOrder.estimatedWork(step(.report, [:])) == 1)
    }
}
