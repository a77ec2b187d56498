import ClpFlowCore
import ClpFlowWorkflow
import Testing
@testable import ClpFlowPlanner

/// A declared `evaluate.reference_point` is part of the configurations whose output it changes
/// (evaluate, ablate, report) and of nothing else; `auto`, the default, is not written.
@Suite struct ReferencePointKeyTests {
    static func plan(_ point: ReferencePointSpec) -> Plan {
        var (wf, cells) = Fixtures.withAblation(Fixtures.twoRewards(), mechanisms: [.attn, .logit])
        wf.evaluate.referencePoint = point
        for k in cells.indices { cells[k].workflow.evaluate.referencePoint = point }
        return Fixtures.plan(wf, cells: cells)
    }

    @Test func aDeclaredPointChangesEvaluateAblateAndReportOnly() throws {
        let auto = Self.plan(.auto), declared = Self.plan(.declared([0.1, 0.2])), other = Self.plan(.declared([0.1, 0.3]))
        #expect(auto.steps.map(\.id) == declared.steps.map(\.id))
        for (a, d) in zip(auto.steps, declared.steps) {
            let affected: Set<StepKind> = [.evaluate, .ablate, .report]
            if affected.contains(a.kind) {
                #expect(a.cacheKey != d.cacheKey, "\(a.id) ignores the declared reference point")
            } else {
                #expect(a.cacheKey == d.cacheKey, "\(a.id) changed with evaluate.reference_point")
            }
        }
        for (d, o) in zip(declared.steps, other.steps) where d.kind == .evaluate {
            #expect(d.cacheKey != o.cacheKey)
        }
        // The typed configurations carry it; auto is not written.
        let eval = try #require(declared.steps.first { $0.kind == .evaluate })
        #expect(try EvaluateConfig(step: eval).evaluate.referencePoint == .declared([0.1, 0.2]))
        #expect(try AblateConfig(step: try #require(declared.steps.first { $0.kind == .ablate })).referencePoint == [0.1, 0.2])
        #expect(try ReportConfig(step: try #require(declared.steps.last)).referencePoint == [0.1, 0.2])
        let autoEval = try #require(auto.steps.first { $0.kind == .evaluate })
        #expect(autoEval.config["evaluate"]?["reference_point"] == nil)
        #expect(try EvaluateConfig(step: autoEval).evaluate.referencePoint == .auto)
        #expect(try AblateConfig(step: try #require(auto.steps.first { $0.kind == .ablate })).referencePoint == nil)
        #expect(auto.steps.last?.config["evaluate"]?["reference_point"] == nil)
    }
}
