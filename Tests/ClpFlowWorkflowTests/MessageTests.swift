import ClpFlowCore
import Foundation
import Testing
@testable import ClpFlowWorkflow

/// Templates validate on their own; every problem of a file is reported at once; messages say
/// what is likely wrong in plain words, and name list items by their 0-based key path.
@Suite struct MessageTests {
    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-messages-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func errors(_ text: String, file: String = "wf.yaml") -> [Diagnostic] {
        do {
            _ = try WorkflowLoader.load(text: text, file: file, checkFiles: false)
            return []
        } catch { return error.errors }
    }

    @Test func aTemplateWithARequiredParameterValidatesOnItsOwn() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let template = dir.appendingPathComponent("rl.yaml").path
        try """
            parameters:
              steps: {description: RL steps of the stage}
              size: {description: model size}
              lr: {default: 0.0001}
            model: {size: "${size}"}
            stages:
              - name: rl
                steps: ${steps}
                batch: 4
                learning_rate: ${lr}
            """.write(toFile: template, atomically: true, encoding: .utf8)
        let warnings = try WorkflowLoader.checkTemplate(path: template)
        #expect(warnings.isEmpty)

        // Its other values are still checked, and reported in the template itself.
        let bad = dir.appendingPathComponent("bad.yaml").path
        try """
            parameters:
              steps: {description: RL steps of the stage}
            stages:
              - name: rl
                steps: ${steps}
                batch: many
            kl: {alfa: 1}
            """.write(toFile: bad, atomically: true, encoding: .utf8)
        do {
            _ = try WorkflowLoader.checkTemplate(path: bad)
            Issue.record("bad.yaml should be invalid")
        } catch {
            let text = error.rendered
            #expect(error.errors.count == 2, "\(text)")
            #expect(text.contains("\(bad):6:12: error: `stages.0.batch` must be an integer, found string 'many'"), "\(text)")
            #expect(text.contains("\(bad):7:6: error: unknown key 'alfa' in `kl`; did you mean 'alpha'?"), "\(text)")
            #expect(!text.contains("<steps>") && !text.contains("included from"), "\(text)")
        }

        // Used from a workflow, the parameter's value is checked there.
        let wf = dir.appendingPathComponent("wf.yaml").path
        try """
            name: t
            extends: {template: rl.yaml, with: {steps: lots, size: nano}}
            rewards: [{name: r, kind: rougeL}]
            """.write(toFile: wf, atomically: true, encoding: .utf8)
        do {
            _ = try WorkflowLoader.load(path: wf)
            Issue.record("wf.yaml should be invalid")
        } catch {
            #expect(error.rendered.contains("`stages.0.steps` must be an integer, found string 'lots'"), "\(error.rendered)")
        }
    }

    @Test func syntaxMistakesAreExplainedInPlainWords() {
        // A template reference in a flow mapping.
        let flow = Self.errors("name: t\nstages: [{steps: ${n}}]\n")
        #expect(flow.map(\.message) == ["a `${…}` template reference inside `{…}` or `[…]` must be quoted: write `\"${n}\"`"])
        // A key on the line of another key's list item.
        let item = Self.errors("name: t\nrewards: - {name: a, kind: rougeL}\n")
        #expect(item.first?.message.hasPrefix("a list item (`- `) cannot follow a key on the same line") == true, "\(item)")
        // A missing colon.
        let colon = Self.errors("name: t\nrewards\n  - {name: a, kind: rougeL}\n")
        #expect(colon.first?.message.hasPrefix("line 2 (`rewards`) has no `:`") == true, "\(colon)")
        // No libyaml wording is left in these messages.
        for d in flow + item + colon { #expect(!d.message.contains("YAML syntax error") && !d.message.contains("while parsing"), "\(d.message)") }
        // parseTree still refuses a tree that had a problem, even one it could read past.
        #expect(throws: ValidationFailure.self) { try WorkflowLoader.parseTree(bytes: Array("seed: !custom 3\n".utf8), file: "x.yaml") }
    }

    @Test func syntaxMessagesOfIncludedFilesQuoteNothingOfThem() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases = ["token: abc: secretvalue\n", "a: 1\n  secretkey: 2\n", "x:\n  - a: 1\n   secretkey: 2\n", "a: 1\nsecretkey\nb: 2\n",
                     "k: {a: ${secretref}}\n", "secretkey: - a\n"]
        for (i, text) in cases.enumerated() {
            let inc = dir.appendingPathComponent("inc\(i).yaml")
            try text.write(to: inc, atomically: true, encoding: .utf8)
            let wf = dir.appendingPathComponent("wf\(i).yaml").path
            try "name: x\nextends: inc\(i).yaml\n".write(toFile: wf, atomically: true, encoding: .utf8)
            do {
                _ = try WorkflowLoader.load(path: wf)
                Issue.record("case \(i) should be invalid")
            } catch {
                #expect(!error.errors.isEmpty)
                #expect(!error.rendered.contains("secret"), "case \(i):\n\(error.rendered)")
                #expect(!error.rendered.contains("YAML syntax error"), "case \(i) was not explained:\n\(error.rendered)")
            }
            // The same text as the workflow file itself is quoted in the explanation.
            let own = Self.errors(text, file: dir.appendingPathComponent("own\(i).yaml").path)
            #expect(own.contains { $0.message.contains("secret") }, "case \(i): \(own.map(\.message))")
        }
    }
}
