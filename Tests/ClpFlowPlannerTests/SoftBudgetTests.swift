import ClpFlowCore
import ClpFlowWorkflow
import Testing
@testable import ClpFlowPlanner

@Suite struct SoftBudgetTests {
    static let yaml = """
        name: budget
        data: {source: synthetic}
        model: {size: nano}
        rewards: [{name: a, kind: length, target: 3}, {name: b, kind: novelty}]
        stages: [{name: rl, steps: 101}]
        baselines: [rewarded-soups]
        """

    @Test func fullGivesEverySoftPolicyTheStageStepsAndSplitDividesThem() throws {
        let split = try WorkflowLoader.load(text: Self.yaml, file: "/tmp/budget.yaml", checkFiles: false).workflow
        #expect(split.softBudget == .split)
        let full = try WorkflowLoader.load(text: Self.yaml + "\nsoft_budget: full\n", file: "/tmp/budget.yaml", checkFiles: false).workflow
        #expect(full.softBudget == .full)
        let splitPlan = Fixtures.plan(split), fullPlan = Fixtures.plan(full)
        for id in splitPlan.ids(.trainSoft) { #expect(splitPlan[id: id]!.config["stage"]?["steps"] == 51) }
        for id in fullPlan.ids(.trainSoft) { #expect(fullPlan[id: id]!.config["stage"]?["steps"] == 101) }
        // Only the SOFT steps (and what reads them) change; CLP's training is the same step.
        #expect(splitPlan[id: "train-clp"]!.cacheKey == fullPlan[id: "train-clp"]!.cacheKey)
        #expect(splitPlan[id: "train-soft[reward=a]"]!.cacheKey != fullPlan[id: "train-soft[reward=a]"]!.cacheKey)
        #expect(Planner.softSteps(stageSteps: 200, rewards: 3, budget: .full) == 200)
    }

    @Test func anUnknownBudgetIsAnErrorAndFullWithoutSoftBaselinesAWarning() throws {
        #expect(throws: ValidationFailure.self) {
            try WorkflowLoader.load(text: Self.yaml + "\nsoft_budget: half\n", file: "/tmp/budget.yaml", checkFiles: false)
        }
        let noSoft = Self.yaml.replacingOccurrences(of: "baselines: [rewarded-soups]", with: "baselines: [prompt]")
        let loaded = try WorkflowLoader.load(text: noSoft + "\nsoft_budget: full\n", file: "/tmp/budget.yaml", checkFiles: false)
        #expect(loaded.warnings.contains { "\($0)".contains("soft_budget: full") })
    }
}
