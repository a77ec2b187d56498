import ClpFlowCore
import Foundation
import Testing
@testable import ClpFlowWorkflow

private func tree(_ s: String) throws -> YAMLNode { try WorkflowLoader.parseTree(bytes: Array(s.utf8), file: "t.yaml") }

@Test func nodesCarryOneBasedPositionsAndTheirFile() throws {
    let root = try tree("a: 1\nb:\n  - x\n  - {c: 'q'}\n")
    #expect(root.position == SourcePosition(file: "t.yaml", line: 1, column: 1))
    let b = try #require(root["b"])
    #expect(b.position.line == 3 && b.position.column == 3)
    let c = try #require(b.items?[1]["c"])
    #expect(c.position.line == 4 && c.position.column == 9)
    #expect(root.pairs?[1].keyNode.position.line == 2)
}

@Test func scalarsResolveWithTheCoreSchemaAndKeepTheirStyle() throws {
    let root = try tree("""
        a: 1
        b: "1"
        c: 1.5
        d: true
        e: ~
        f: null
        g: 0x1F
        h: 1e3
        i: .inf
        j: yes
        k: !!str 3
        l: -0.25
        m: 'false'
        n: 0o17
        """)
    #expect(root["a"]?.resolved == .int(1))
    #expect(root["b"]?.resolved == .string("1"))
    #expect(root["c"]?.resolved == .double(1.5))
    #expect(root["d"]?.resolved == .bool(true))
    #expect(root["e"]?.resolved == .null)
    #expect(root["f"]?.resolved == .null)
    #expect(root["g"]?.resolved == .int(31))
    #expect(root["h"]?.resolved == .double(1000))
    #expect(root["i"]?.resolved == .double(.infinity))
    #expect(root["j"]?.resolved == .string("yes"))  // YAML 1.2: not a boolean
    #expect(root["k"]?.resolved == .string("3"))
    #expect(root["l"]?.resolved == .double(-0.25))
    #expect(root["m"]?.resolved == .string("false"))
    #expect(root["n"]?.resolved == .int(15))
    if case .scalar(_, let style, _)? = root["b"]?.kind { #expect(style == .doubleQuoted) } else { Issue.record("b is a scalar") }
}

@Test func anchorsAliasesAndMergeKeysResolve() throws {
    let root = try tree("""
        base: &b {x: 1, y: 2}
        other: &o {y: 20, z: 30}
        one: {<<: *b, x: 10}
        many:
          <<: [*b, *o]
          w: 0
        copy: *b
        """)
    let one = try #require(root["one"])
    #expect(one["x"]?.resolved == .int(10))  // explicit key wins
    #expect(one["y"]?.resolved == .int(2))
    let many = try #require(root["many"])
    #expect(many["y"]?.resolved == .int(2))  // earlier merged mapping wins
    #expect(many["z"]?.resolved == .int(30))
    #expect(many["w"]?.resolved == .int(0))
    #expect(root["copy"]?["y"]?.resolved == .int(2))
    #expect(root["copy"]?.position.line == 7)  // the alias's position
}

@Test func syntaxProblemsAreReportedAtTheirPosition() {
    func firstError(_ s: [UInt8]) -> Diagnostic? {
        do { _ = try WorkflowLoader.parseTree(bytes: s, file: "t.yaml"); return nil } catch { return error.errors.first }
    }
    let dup = firstError(Array("a: 1\nb: 2\na: 3\n".utf8))
    #expect(dup?.line == 3 && dup?.column == 1 && dup?.message.contains("duplicate key 'a'") == true)
    let tab = firstError(Array("a:\n  b: 1\n\tc: 2\n".utf8))
    #expect(tab?.line == 3 && tab?.message.contains("tab") == true)
    let docs = firstError(Array("a: 1\n---\nb: 2\n".utf8))
    #expect(docs?.line == 2 && docs?.message.contains("several YAML documents") == true)
    let utf8 = firstError([0x61, 0x3A, 0x20, 0x0A, 0x62, 0x3A, 0x20, 0xFF, 0x0A])
    #expect(utf8?.line == 2 && utf8?.column == 4 && utf8?.message.contains("UTF-8") == true)
    // A tab inside a block scalar is content, not indentation.
    #expect(firstError(Array("a: |\n  x\n  \ty\nb: 1\n".utf8)) == nil)
    // Alias bombs are stopped.
    var bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in 0..<7 { bomb += "\(Character(UnicodeScalar(98 + i)!)): &\(Character(UnicodeScalar(98 + i)!)) [" + Array(repeating: "*\(Character(UnicodeScalar(97 + i)!))", count: 10).joined(separator: ", ") + "]\n" }
    #expect(firstError(Array(bomb.utf8))?.message.contains("aliases expand") == true)
}

@Test func diagnosticsRenderWithSourceLineAndCaret() throws {
    let d = Diagnostic(file: "w.yaml", line: 2, column: 5, severity: .error, message: "bad", sourceLine: "  x: oops")
    #expect(d.rendered == "w.yaml:2:5: error: bad\n  x: oops\n    ^\n")
    #expect(d.json["line"] == 2)
    #expect(d.json["severity"] == "error")
}

@Test func everyProblemIsReportedAtOnceInSourceOrder() throws {
    let text = """
        name: t
        seeed: 1
        rewards:
          - {name: a, kind: rougeL}
          - {name: a, kind: length}
        model: {size: nano, heads: 3}
        stages: [{steps: 0}]
        """
    do {
        _ = try WorkflowLoader.load(text: text, file: "w.yaml")
        Issue.record("should fail")
    } catch {
        let lines = error.errors.map(\.line)
        #expect(lines == lines.sorted())
        #expect(error.errors.count >= 5, "\(error.rendered)")
        #expect(error.rendered.contains("w.yaml:2:1: error: unknown key 'seeed'"))
        #expect(error.rendered.contains("duplicate reward name 'a'"))
        #expect(error.rendered.contains("needs `target`"))
        #expect(error.rendered.contains("must divide"))
        #expect(error.rendered.contains("`stages.0.steps` must be at least 1"))
    }
}

@Test func ablationCellsComeInMatrixOrderWithResolvedWorkflows() throws {
    let text = """
        name: abl
        rewards: [{name: a, kind: rougeL}, {name: b, kind: novelty}]
        conditioning: attn
        weights: {train: uniform}
        ablate:
          matrix:
            model.size: [nano, micro]
            conditioning.mechanism: [full, logit]
            weights.train.dirichlet.concentration: [0.5]
          exclude: [{model.size: micro, conditioning.mechanism: logit}]
          include: [{model.size: mini, stages.0.steps: 5}]
        """
    let loaded = try WorkflowLoader.load(text: text, file: "abl.yaml")
    #expect(loaded.cells.map(\.name) == [
        "model.size=nano,conditioning.mechanism=full,weights.train.dirichlet.concentration=0.5",
        "model.size=nano,conditioning.mechanism=logit,weights.train.dirichlet.concentration=0.5",
        "model.size=micro,conditioning.mechanism=full,weights.train.dirichlet.concentration=0.5",
        "model.size=mini,stages.0.steps=5",
    ])
    let first = loaded.cells[0]
    #expect(first.assignments.map(\.path) == ["model.size", "conditioning.mechanism", "weights.train.dirichlet.concentration"])
    #expect(first.assignments[2].value == .double(0.5))
    #expect(first.workflow.model.size == .nano)
    #expect(first.workflow.conditioning.mechanism == .full)
    #expect(first.workflow.weights.train == .dirichlet(concentration: 0.5))
    #expect(first.workflow.ablate == nil)
    let last = loaded.cells[3]
    #expect(last.workflow.model.size == .mini && last.workflow.stages[0].steps == 5)
    #expect(last.workflow.weights.train == .uniform)  // the base value where the cell says nothing
    #expect(loaded.workflow.ablate?.matrix.map(\.path) == ["model.size", "conditioning.mechanism", "weights.train.dirichlet.concentration"])
    // Without `ablate`: one unnamed cell equal to the base.
    let plain = try WorkflowLoader.load(text: "name: p\nrewards: [{name: a, kind: rougeL}]\n", file: "p.yaml")
    #expect(plain.cells.count == 1 && plain.cells[0].name == "" && plain.cells[0].workflow == plain.workflow)
}

@Test func resolvedFormIsCanonicalJSONWithYAMLShapedUnions() throws {
    let text = """
        name: r
        rewards: [{name: a, kind: rougeL}, {name: b, kind: novelty}]
        weights:
          train: {mixture: [{probability: 0.5, vertices: {}}, {probability: 0.5, dirichlet: {concentration: 2}}]}
          scalarization: {tchebycheff: {temperature: 0.3}}
        kl: {range: {min: 0.01, max: 1}}
        """
    let w = try WorkflowLoader.load(text: text, file: "r.yaml").workflow
    let json = w.resolvedJSON
    #expect(json["weights"]?["train"]?.canonical == #"{"mixture":[{"probability":0.5,"vertices":{}},{"dirichlet":{"concentration":2},"probability":0.5}]}"#)
    #expect(json["weights"]?["scalarization"]?.canonical == #"{"tchebycheff":{"temperature":0.3}}"#)
    #expect(json["weights"]?["eval"]?.canonical == #"{"points_per_edge":11}"#)
    #expect(json["kl"]?["range"]?["eval"]?.canonical == "[0.01,0.1,1]")
    #expect(json["rewards"]?.arrayValue?[1]["n"] == 2)  // kind-specific default made explicit
    #expect(try Workflow(resolvedJSON: json) == w)
}

@Test func hugeInputsAreRejectedNotExpanded() throws {
    let deep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
    do { _ = try WorkflowLoader.parseTree(bytes: Array("a: \(deep)\n".utf8), file: "d.yaml"); Issue.record("should fail") } catch {
        #expect(error.errors.first?.message.contains("nested deeper") == true)
    }
    let axes = (0..<13).map { "    stages.0.\(["steps", "batch", "samples", "warmup", "max_new_tokens", "temperature"][$0 % 6])\($0 < 6 ? "" : "X"): [2, 3]" }
    let matrix = axes.prefix(6).joined(separator: "\n") + "\n    evaluate.seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65]"
    let text = "name: big\nrewards: [{name: a, kind: rougeL}]\nablate:\n  matrix:\n\(matrix)\n"
    do { _ = try WorkflowLoader.load(text: text, file: "big.yaml"); Issue.record("should fail") } catch {
        #expect(error.errors.first?.message.contains("at most 4096") == true, "\(error.rendered)")
    }
}
