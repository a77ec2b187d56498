import ClpFlowCore
import Foundation
import Testing
@testable import ClpFlowWorkflow

/// Every valid fixture loads; its resolved form, cells and warnings match its golden JSON.
@Test func validFixturesMatchTheirResolvedForm() throws {
    let files = Paths.files(Paths.fixtures + "/valid", ext: "yaml")
    #expect(files.count >= 8)
    for file in files {
        let loaded: LoadedWorkflow
        do { loaded = try WorkflowLoader.load(path: file) } catch {
            Issue.record("\(file) should be valid:\n\(Golden.relative(error.rendered))")
            continue
        }
        let cells: [JSONValue] = loaded.cells.map { c in
            .object(["name": .string(c.name),
                     "assignments": .array(c.assignments.map { .array([.string($0.path), (try? encodeToJSON($0.value)) ?? .null]) }),
                     "workflow_sha256": .string(Digest.sha256Hex(c.workflow.resolvedJSON.canonical))])
        }
        let golden: JSONValue = .object([
            "resolved": loaded.resolvedJSON,
            "cells": .array(cells),
            "warnings": .array(loaded.warnings.map { .string(Golden.relative($0.rendered)) }),
        ])
        let path = file.replacingOccurrences(of: ".yaml", with: ".golden.json")
        if let problem = Golden.check(golden.prettyCanonical, against: path) { Issue.record("\(problem)") }
        // The resolved form reads back to the same workflow.
        let back = try Workflow(resolvedJSON: loaded.resolvedJSON)
        #expect(back == loaded.workflow, "\(file): resolved form does not round-trip")
        for c in loaded.cells { #expect(try Workflow(resolvedJSON: c.workflow.resolvedJSON) == c.workflow) }
    }
}

/// Every invalid fixture fails with exactly the error text of its golden file.
@Test func invalidFixturesReportTheirErrors() throws {
    let files = Paths.files(Paths.fixtures + "/invalid", ext: "yaml")
    #expect(files.count >= 40)
    for file in files {
        do {
            _ = try WorkflowLoader.load(path: file)
            Issue.record("\(file) should be invalid")
        } catch {
            #expect(!error.errors.isEmpty, "\(file): a failure carries at least one error")
            for d in error.errors { #expect(d.line >= 1 && d.column >= 1, "\(file): positions are 1-based") }
            let text = Golden.relative(error.rendered)
            let path = file.replacingOccurrences(of: ".yaml", with: ".errors.txt")
            if let problem = Golden.check(text, against: path) { Issue.record("\(problem)") }
        }
    }
}

/// The invalid fixtures cover every category the language reports.
@Test func invalidFixturesCoverEveryCategory() {
    let names = Paths.files(Paths.fixtures + "/invalid", ext: "yaml").map { ($0 as NSString).lastPathComponent }
    for prefix in ["syntax-", "type-", "unknown-", "sem-", "tpl-"] {
        #expect(names.filter { $0.hasPrefix(prefix) }.count >= 5, "too few \(prefix) fixtures")
    }
}
