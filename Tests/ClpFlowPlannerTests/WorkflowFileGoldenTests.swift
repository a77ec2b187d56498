import ClpFlowWorkflow
import Foundation
import Testing
@testable import ClpFlowPlanner

/// Golden plans of every workflow under workflows/ and examples/ (templates excluded).
@Test func goldenPlansOfWorkflowFiles() {
    #expect(!goldenPlanFiles().isEmpty)
    let problems = checkGoldenPlanFiles { url in
        let l = try WorkflowLoader.load(path: url.path)
        return (l.workflow, l.cells.map { PlannerCell(name: $0.name, assignments: $0.assignments, workflow: $0.workflow) })
    }
    #expect(problems.isEmpty, "\(problems)")
}
