import ClpFlowCore
import ClpFlowWorkflow
import Foundation
import Testing
@testable import ClpFlowPlanner

@Suite struct PlanReportTests {
    @Test func withoutHistoryEveryStepIsNew() {
        let plan = Fixtures.plan(Fixtures.twoRewards())
        let e = PlanReport.explain(plan: plan, history: nil)
        #expect(e.allSatisfy { !$0.done && $0.reasons == [.new] })
        let text = PlanReport.render(plan: plan, history: nil, json: false)
        #expect(text.hasPrefix("Plan for workflow 'two-rewards' (seed 7): 12 steps, 0 done, 12 will run\n"))
        #expect(text.contains("  nano: 2 layers, d_model 64, 2 heads, context 128, vocabulary 258, tied head: 124,800 parameters\n"))
        #expect(text.contains("  will run  train-reference"))
    }

    @Test func completedRunIsAllDone() {
        let plan = Fixtures.plan(Fixtures.twoRewards())
        let history = InMemoryRunHistory(completedRunOf: plan)
        #expect(PlanReport.explain(plan: plan, history: history).allSatisfy { $0.done })
        let text = PlanReport.render(plan: plan, history: history, json: false)
        #expect(text.contains("12 done, 0 will run"))
        #expect(text.contains("  done      prepare-data"))
        #expect(text.contains("cached \(plan.steps[0].cacheKey.prefix(12))"))
    }

    @Test func configChangeNamesTheKeysWithOldAndNewValues() {
        let before = Fixtures.twoRewards()
        var after = before
        after.stages[0].learningRate = 0.002
        after.stages[0].samples = 6
        let old = Fixtures.plan(before), new = Fixtures.plan(after)
        let history = InMemoryRunHistory(completedRunOf: old)
        let byId = Dictionary(uniqueKeysWithValues: PlanReport.explain(plan: new, history: history).map { ($0.step.id, $0) })
        #expect(byId["prepare-data"]!.done)
        #expect(byId["train-reference"]!.done)
        #expect(byId["train-clp"]!.reasons == [.configChanged([
            ConfigChange(path: "stages.0.learning_rate", old: 0.001, new: 0.002),
            ConfigChange(path: "stages.0.samples", old: 4, new: 6),
        ])])
        #expect(byId["train-clp"]!.reasons[0].message
            == "configuration changed: stages.0.learning_rate: 0.001 → 0.002; stages.0.samples: 4 → 6")
        // SOFT stages change too (same batch × samples budget rule).
        #expect(byId["train-soft[reward=length]"]!.reasons.first?.code == "config-changed")
        // Evaluation configs are unchanged: they run because their policies changed.
        #expect(byId["evaluate[method=clp]"]!.reasons == [.upstreamChanged(["train-clp"])])
        #expect(byId["evaluate[method=rewarded-soups]"]!.reasons
            == [.upstreamChanged(["train-soft[reward=rougeL]", "train-soft[reward=length]"])])
        let text = PlanReport.render(plan: new, history: history, json: false)
        #expect(text.contains("upstream step changed: train-clp"))
        #expect(text.contains("  will run  report  "))
        #expect(byId["report"]!.reasons[0].message.hasSuffix(" and 4 more"), "long id lists are shortened in text")
        if case .upstreamChanged(let ids) = byId["report"]!.reasons[0] { #expect(ids.count == 9) }
        #expect(text.contains("2 done, 10 will run"))
    }

    @Test func missingCorruptAndNewOutputs() throws {
        let plan = Fixtures.plan(Fixtures.twoRewards())
        var history = InMemoryRunHistory(completedRunOf: plan)
        history.artifacts[plan[id: "train-reference"]!.cacheKey] = .missing
        history.artifacts[plan[id: "evaluate[method=soft]"]!.cacheKey] = .corrupt
        history.records["report"] = nil
        history.artifacts[plan[id: "report"]!.cacheKey] = nil
        let byId = Dictionary(uniqueKeysWithValues: PlanReport.explain(plan: plan, history: history).map { ($0.step.id, $0) })
        #expect(byId["train-reference"]!.reasons == [.outputMissing])
        #expect(byId["evaluate[method=soft]"]!.reasons == [.outputCorrupt])
        #expect(byId["report"]!.reasons == [.new])
        // Downstream artifacts of the missing reference are still present: they are reused.
        #expect(byId["train-clp"]!.done)

        let json = try JSONValue.parse(PlanReport.render(plan: plan, history: history, json: true))
        #expect(json["summary"]?["will_run"] == 3)
        let steps = json["steps"]!.arrayValue!
        let ref = steps.first { $0["id"] == "train-reference" }!
        #expect(ref["status"] == "will-run")
        #expect(ref["reasons"]?.arrayValue?.first?["reason"] == "output-missing")
        #expect(steps.first { $0["id"] == "prepare-data" }?["status"] == "done")
        #expect(json["models"]?.arrayValue?.first?["parameters"] == 124_800)
    }

    @Test func upstreamRebuiltAndInputsChanged() {
        let base = Fixtures.twoRewards()
        var more = base
        more.baselines = [.soft, .rewardedSoups]
        more.evaluate.seeds = 1
        let old = Fixtures.plan(base)
        var history = InMemoryRunHistory(completedRunOf: old)
        // The reference ran again with another configuration after the CLP policy was trained.
        var changed = base; changed.reference.steps = 50
        let rebuilt = Fixtures.plan(changed)
        history.records["train-reference"] = PriorStepRecord(cacheKey: rebuilt[id: "train-reference"]!.cacheKey,
                                                        config: rebuilt[id: "train-reference"]!.config, inputs: ["prepare-data"])
        history.artifacts[rebuilt[id: "train-reference"]!.cacheKey] = .present
        let e = Dictionary(uniqueKeysWithValues: PlanReport.explain(plan: rebuilt, history: history).map { ($0.step.id, $0) })
        #expect(e["train-reference"]!.done)
        #expect(e["train-clp"]!.reasons == [.upstreamChanged(["train-reference"])])
        // Without recorded upstream keys the planner can only say the key changed.
        var bare = history
        for (id, r) in bare.records { bare.records[id]!.inputKeys = nil; _ = r }
        let e2 = PlanReport.explain(plan: rebuilt, history: bare).first { $0.step.id == "train-clp" }!
        #expect(e2.reasons == [.keyChanged])

        // A record with other inputs (a step that used to read another set of upstream steps).
        var h2 = InMemoryRunHistory(completedRunOf: old)
        let clp = old[id: "train-clp"]!
        h2.records["train-clp"] = PriorStepRecord(cacheKey: "0000", config: clp.config, inputs: ["prepare-data", "train-tokenizer"])
        h2.artifacts[clp.cacheKey] = .missing
        let r = PlanReport.explain(plan: old, history: h2).first { $0.step.id == "train-clp" }!
        #expect(r.reasons == [.inputsChanged(added: ["train-reference"], removed: ["train-tokenizer"])])
        #expect(r.reasons[0].message == "inputs changed: added train-reference; removed train-tokenizer")

        // Same config and inputs, another key: the engine format changed.
        var h3 = InMemoryRunHistory(completedRunOf: old)
        h3.records["prepare-data"]!.cacheKey = "ffff"
        h3.artifacts[old[id: "prepare-data"]!.cacheKey] = .missing
        #expect(PlanReport.explain(plan: old, history: h3)[0].reasons == [.keyChanged])
    }

    @Test func configDiffWalksObjectsAndArrays() {
        let a: JSONValue = ["kl": ["alpha": 0.05], "rewards": [["name": "a", "target": 8], ["name": "b"]], "gone": 1, "list": [1, 2]]
        let b: JSONValue = ["kl": ["alpha": 0.1, "range": ["min": 0.01]], "rewards": [["name": "a", "target": 9], ["name": "b"]], "list": [1, 2, 3]]
        let d = ConfigDiff.diff(old: a, new: b)
        #expect(d.map(\.rendered) == [
            "gone: 1 → (absent)",
            "kl.alpha: 0.05 → 0.1",
            "kl.range.min: (absent) → 0.01",
            "list: [1,2] → [1,2,3]",
            "rewards[0].target: 8 → 9",
        ])
        #expect(ConfigDiff.diff(old: a, new: a).isEmpty)
        let long = ConfigChange(path: "x", old: .string(String(repeating: "y", count: 100)), new: nil).rendered
        #expect(long.hasSuffix("… → (absent)"))
    }
}

@Suite struct GraphRendererTests {
    static func awkwardPlan() -> Plan {
        let a = PlannedStep(id: #"prepare-data[path="a\b"]"#, kind: .prepareData, config: [:], inputs: [], cacheKey: "k1")
        let b = PlannedStep(id: "train-clp[name=x#1<y>]\nz", kind: .trainCLP, config: [:], inputs: [a.id], cacheKey: "k2")
        return Plan(workflowName: #"my "flow""#, seed: 0, steps: [a, b])
    }

    @Test func dotQuotesAndEscapesIds() {
        let dot = GraphRenderer.dot(Self.awkwardPlan())
        #expect(dot.hasPrefix(#"digraph "my \"flow\"" {"#))
        #expect(dot.contains(#"  "prepare-data[path=\"a\\b\"]" -> "train-clp[name=x#1<y>]\nz";"#))
        #expect(dot.contains(##"[label="prepare-data[path=\"a\\b\"]\nprepare-data", fillcolor="#e8eef7"];"##))
        #expect(!dot.contains("\nz"), "raw line breaks inside ids are escaped")
    }

    @Test func mermaidUsesGeneratedNamesAndEntityCodes() {
        let m = GraphRenderer.mermaid(Self.awkwardPlan())
        #expect(m.hasPrefix("flowchart LR\n"))
        #expect(m.contains(#"  s0["prepare-data[path=#quot;a\b#quot;]"]"#))
        #expect(m.contains(#"  s1["train-clp[name=x#35;1#lt;y#gt;] z"]"#))
        #expect(m.contains("  s0 --> s1\n"))
        #expect(m.contains("  class s1 train_clp\n"))
    }

    @Test func jsonRoundTripsTheIds() throws {
        let plan = Self.awkwardPlan()
        let j = try JSONValue.parse(GraphRenderer.json(plan))
        #expect(j["nodes"]?.arrayValue?.map { $0["id"]! } == plan.steps.map { .string($0.id) })
        #expect(j["edges"] == [["from": .string(plan.steps[0].id), "to": .string(plan.steps[1].id)]])
        #expect(j["workflow"] == #"my "flow""#)
    }

    @Test func realPlanGraphHasOneEdgePerInputWithAllEdges() {
        let plan = Fixtures.plan(Fixtures.multiKL())
        let edges = plan.steps.map(\.inputs.count).reduce(0, +)
        #expect(GraphRenderer.dot(plan, allEdges: true).components(separatedBy: " -> ").count - 1 == edges)
        #expect(GraphRenderer.mermaid(plan, allEdges: true).components(separatedBy: " --> ").count - 1 == edges)
        #expect(GraphRenderer.render(plan, format: .json) == GraphRenderer.json(plan))
    }

    /// The default drawing is the transitive reduction: every step reaches the same steps as with
    /// all edges, no drawn edge is implied by a longer path, and edges were dropped.
    @Test func drawnGraphIsTransitivelyReduced() {
        let (wf, cells) = Fixtures.withAblation(Fixtures.twoRewards(), mechanisms: [.attn, .logit])
        let plan = Fixtures.plan(wf, cells: cells)
        func closure(_ edges: [String: [String]]) -> [String: Set<String>] {
            var out: [String: Set<String>] = [:]
            for s in plan.steps {
                var a = Set<String>()
                for i in edges[s.id] ?? [] { a.insert(i); a.formUnion(out[i] ?? []) }
                out[s.id] = a
            }
            return out
        }
        let full = Dictionary(uniqueKeysWithValues: plan.steps.map { ($0.id, $0.inputs) })
        let reduced = GraphRenderer.reducedInputs(plan)
        #expect(closure(reduced) == closure(full))
        let reducedClosure = closure(reduced)
        for (to, inputs) in reduced {
            for u in inputs {
                #expect(!inputs.contains { $0 != u && reducedClosure[$0]!.contains(u) }, "\(u) -> \(to) is implied by another path")
            }
        }
        let allCount = full.values.map(\.count).reduce(0, +), reducedCount = reduced.values.map(\.count).reduce(0, +)
        #expect(reducedCount < allCount)
        // The report reads every training, evaluate and ablate step, but only `ablate` is drawn into it.
        #expect(reduced["report"] == ["ablate"] || (reduced["report"]?.count ?? 0) < (full["report"]?.count ?? 0))
        #expect(GraphRenderer.dot(plan).components(separatedBy: " -> ").count - 1 == reducedCount)
        #expect(GraphRenderer.mermaid(plan).components(separatedBy: " --> ").count - 1 == reducedCount)
    }
}
