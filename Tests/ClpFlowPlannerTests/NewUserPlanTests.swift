import ClpFlowCore
import ClpFlowPlanner
import ClpFlowWorkflow
import Foundation
import Testing

/// Planner behaviour a new user meets: cell names in step ids, display settings kept out of the
/// keys of the steps that compute, plan reasons in the workflow's own terms, snake_case plan.json.
@Suite struct NewUserPlanTests {
    /// The conditioning ablation with `ablate.name: "{conditioning.mechanism}"`: cells named full, attn, logit.
    static func namedAblation(_ base: Workflow = Fixtures.twoRewards()) -> (Workflow, [PlannerCell]) {
        var (wf, cells) = Fixtures.withAblation(base, mechanisms: [.full, .attn, .logit])
        wf.ablate?.name = "{conditioning.mechanism}"
        for i in cells.indices { cells[i].name = Planner.label(cells[i].assignments[0].value) }
        return (wf, cells)
    }

    @Test func cellNamesLabelTheStepsOfOneCell() {
        let (wf, cells) = Self.namedAblation()
        let plan = Fixtures.plan(wf, cells: cells)
        #expect(plan.ids(.trainCLP).contains("train-clp[cell=attn]"))
        #expect(plan.ids(.evaluate).contains("evaluate[method=clp,cell=logit]"))
        // Shared steps keep their (few) labels; the prompt baseline is not one cell's step.
        #expect(plan.ids(.trainReference) == ["train-reference"])
        #expect(plan.ids(.evaluate).contains("evaluate[method=rewarded-soups]"))
        #expect(plan.ids(.trainCLP).contains("train-clp[conditioning.mechanism=prompt]"))
        // Without a template the ids are as before.
        let (plain, plainCells) = Fixtures.withAblation(Fixtures.twoRewards(), mechanisms: [.full, .attn, .logit])
        #expect(Fixtures.plan(plain, cells: plainCells).ids(.trainCLP).contains("train-clp[conditioning.mechanism=attn]"))
        // Renaming the cells changes no training or evaluation key: only ablate and report rerun.
        let named = Dictionary(uniqueKeysWithValues: plan.steps.map { ($0.kind == .ablate || $0.kind == .report ? $0.id : $0.cacheKey, $0.kind) })
        let plainPlan = Fixtures.plan(plain, cells: plainCells)
        for s in plainPlan.steps where s.kind != .ablate && s.kind != .report {
            #expect(named[s.cacheKey] != nil, "\(s.id) changed its key with the cell names")
        }
    }

    /// `evaluate.sample_prompts` only says how many samples the report shows.
    @Test func samplePromptsIsOnlyInTheReportKey() {
        let (wf, cells) = Self.namedAblation()
        var more = wf
        more.evaluate.samplePrompts = wf.evaluate.samplePrompts + 2
        var moreCells = cells
        for i in moreCells.indices { moreCells[i].workflow.evaluate.samplePrompts = more.evaluate.samplePrompts }
        let a = Fixtures.plan(wf, cells: cells), b = Fixtures.plan(more, cells: moreCells)
        #expect(a.steps.count == b.steps.count)
        for (x, y) in zip(a.steps, b.steps) {
            if x.kind == .report {
                #expect(x.cacheKey != y.cacheKey, "the report shows the samples: its key must change")
                #expect(y.config["evaluate"]?["sample_prompts"] == .number(Double(more.evaluate.samplePrompts)))
            } else {
                #expect(x.cacheKey == y.cacheKey, "\(x.id) reruns when only evaluate.sample_prompts changes")
            }
        }
        #expect(a.steps.first { $0.kind == .evaluate }?.config["evaluate"]?["sample_prompts"] == nil)
    }

    @Test func planReasonsUseWorkflowPathsAndNameRewardScripts() {
        var wf = Fixtures.twoRewards()
        wf.rewards.append(RewardSpec(name: "judge", kind: .command))
        wf.rewards[wf.rewards.count - 1].command = ["python3", "scripts/judge.py"]
        let before = Fixtures.plan(wf)
        var history = InMemoryRunHistory(completedRunOf: before)
        for s in before.steps { history.artifacts[s.cacheKey] = .missing }
        var changed = wf
        changed.stages[0].steps += 5
        var fs = Fixtures.files()
        fs.files["/project/workflows/scripts/judge.py"] = Array("import sys\nprint(2)\n".utf8)
        let after = Fixtures.plan(changed, fs: fs)
        let text = PlanReport.render(plan: after, history: history, json: false)
        let clp = text.split(separator: "\n").first { $0.contains(" train-clp ") }
        #expect(clp?.contains("stages.0.steps:") == true, "\(text)")
        #expect(!text.contains("stage.steps"), "\(text)")
        #expect(text.contains("reward script judge.py changed"), "\(text)")
        // No file digest is printed.
        #expect(text.range(of: "[0-9a-f]{40}", options: .regularExpression) == nil, "\(text)")
    }

    /// plan.json is written with snake_case keys and still reads the camelCase files of earlier versions.
    @Test func planJSONIsSnakeCaseAndReadsOlderFiles() throws {
        var plan = Fixtures.plan(Fixtures.twoRewards())
        plan.steps[0].resources.memoryMB = 512
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let text = String(decoding: try enc.encode(plan), as: UTF8.self)
        for camel in ["cacheKey", "workflowName", "memoryMB", "dModel", "tiedHead"] { #expect(!text.contains("\"\(camel)\""), "\(camel) in plan.json") }
        #expect(text.contains("\"cache_key\"") && text.contains("\"workflow_name\"") && text.contains("\"memory_mb\""))
        #expect(try JSONDecoder().decode(Plan.self, from: Data(text.utf8)) == plan)
        let old = text.replacingOccurrences(of: "\"cache_key\"", with: "\"cacheKey\"")
            .replacingOccurrences(of: "\"workflow_name\"", with: "\"workflowName\"")
            .replacingOccurrences(of: "\"memory_mb\"", with: "\"memoryMB\"")
        #expect(try JSONDecoder().decode(Plan.self, from: Data(old.utf8)) == plan)
    }
}
