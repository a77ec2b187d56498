import Foundation
import Testing
@testable import ClpFlowWorkflow

/// Snippets that documentation tells users to paste work where they are told to paste them.
@Suite struct DocsExamplesTests {
    /// The `rewards:` snippet of examples/custom-reward/reward.py's docstring, used by a workflow
    /// next to the script (as the docstring says), validates with its files checked: the script
    /// path resolves from the workflow's directory.
    @Test func customRewardDocstringCommandWorksFromTheWorkflowsDirectory() throws {
        let dir = Paths.repoRoot + "/examples/custom-reward"
        let source = try String(contentsOfFile: dir + "/reward.py", encoding: .utf8)
        let docstring = try #require(source.components(separatedBy: "\"\"\"").dropFirst().first)
        let lines = docstring.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex { $0.trimmingCharacters(in: .whitespaces) == "rewards:" })
        let snippet = lines[start...].prefix { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            .map { String($0.dropFirst(4)) }.joined(separator: "\n")
        #expect(snippet.contains("command: [python3, reward.py]"), "\(snippet)")
        let text = """
            name: docstring-check
            data: {source: synthetic, synthetic_examples: 200, valid: 16, test: 8}
            \(snippet)
              - {name: rouge, kind: rougeL}
            evaluate: {prompts: 4}
            """
        do { _ = try WorkflowLoader.load(text: text, file: dir + "/docstring-check.yaml", checkFiles: true) } catch {
            Issue.record("the docstring's snippet does not validate next to reward.py:\n\(error.rendered)")
        }
        // The path it gave before does not work from there.
        let old = text.replacingOccurrences(of: "[python3, reward.py]", with: "[python3, examples/custom-reward/reward.py]")
        #expect(throws: ValidationFailure.self) { try WorkflowLoader.load(text: old, file: dir + "/docstring-check.yaml", checkFiles: true) }
    }
}
