import ClpFlowCore
import Testing
@testable import ClpFlowWorkflow

/// `evaluate.reference_point`: `auto` or one number per objective, with messages that name the
/// objectives expected.
@Suite struct ReferencePointValidationTests {
    static func workflow(_ point: String, multiKL: Bool = false) -> String {
        """
        name: rp
        rewards:
          - {name: rouge, kind: rouge1}
          - {name: short, kind: length, target: 5}
        \(multiKL ? "kl: {range: {min: 0.02, max: 0.5}}" : "")
        evaluate: {reference_point: \(point)}
        """
    }

    static func messages(_ text: String) -> [String] { MessageTests.errors(text).map(\.message) }

    @Test func accepted() throws {
        #expect(Self.messages(Self.workflow("auto")).isEmpty)
        #expect(Self.messages(Self.workflow("[0.05, -1]")).isEmpty)
        #expect(Self.messages(Self.workflow("[0.05, 0.2, -20]", multiKL: true)).isEmpty)
        let wf = try WorkflowLoader.load(text: Self.workflow("[0.05, 0.2, -20]", multiKL: true), file: "wf.yaml", checkFiles: false).workflow
        #expect(wf.evaluate.referencePoint == .declared([0.05, 0.2, -20]))
        let auto = try WorkflowLoader.load(text: "name: rp\nrewards: [{name: rouge, kind: rouge1}]\n", file: "wf.yaml", checkFiles: false).workflow
        #expect(auto.evaluate.referencePoint == .auto)
    }

    @Test func rejectedWithTheObjectivesNamed() {
        let short = Self.messages(Self.workflow("[0.1]"))
        #expect(short == ["`evaluate.reference_point` has 1 number, but the hypervolume of this workflow has 2 objectives: `rouge`, `short`; give one number per reward in workflow order, or `auto`"], "\(short)")
        let multi = Self.messages(Self.workflow("[0.1, 0.2]", multiKL: true))
        #expect(multi.count == 1 && multi[0].contains("has 2 numbers, but the hypervolume of this workflow has 3 objectives: `rouge`, `short`, −KL")
                && multi[0].contains("-20 counts points with KL below 20"), "\(multi)")
        #expect(Self.messages(Self.workflow("[0.1, high]")) == ["`evaluate.reference_point.1` must be a number, found string 'high'"])
        let word = Self.messages(Self.workflow("best"))
        #expect(word.count == 1 && word[0].hasPrefix("`evaluate.reference_point` must be one of `auto` or list of number"), "\(word)")
        #expect(Self.messages(Self.workflow("[]")).first?.contains("needs at least 1 item") == true)
    }
}
