import ClpFlowCore
import Foundation
import Testing
@testable import ClpFlowWorkflow

/// schemas/clp-flow.schema.json is generated from the model's schema description.
@Test func checkedInSchemaMatchesTheGeneratedOne() throws {
    let path = Paths.repoRoot + "/schemas/clp-flow.schema.json"
    let generated = WorkflowSchema.jsonSchemaText
    if Golden.updating { try generated.write(toFile: path, atomically: true, encoding: .utf8) }
    let onDisk = try String(contentsOfFile: path, encoding: .utf8)
    #expect(onDisk == generated, "schemas/clp-flow.schema.json is stale; update it with: swift run clp-flow schema > schemas/clp-flow.schema.json")
    let parsed = try JSONValue.parse(onDisk)
    #expect(parsed["$schema"] == "https://json-schema.org/draft/2020-12/schema")
}

/// The reference section of docs/workflow-language.md is the generated one, and every key of the
/// schema appears in the document.
@Test func languageDocumentCoversEveryKey() throws {
    let path = Paths.repoRoot + "/docs/workflow-language.md"
    var doc = try String(contentsOfFile: path, encoding: .utf8)
    let begin = "<!-- BEGIN GENERATED REFERENCE -->\n", end = "<!-- END GENERATED REFERENCE -->"
    let b = try #require(doc.range(of: begin)), e = try #require(doc.range(of: end))
    if Golden.updating {
        doc.replaceSubrange(b.upperBound..<e.lowerBound, with: WorkflowSchema.markdownReference)
        try doc.write(toFile: path, atomically: true, encoding: .utf8)
    } else {
        #expect(String(doc[b.upperBound..<e.lowerBound]) == WorkflowSchema.markdownReference,
                "docs/workflow-language.md reference is stale; regenerate with CLP_FLOW_UPDATE_GOLDENS=1 swift test --filter languageDocumentCoversEveryKey")
    }
    // The quick-start example is the shipped file, copied in whole.
    let quickstart = try String(contentsOfFile: Paths.repoRoot + "/examples/quickstart.yaml", encoding: .utf8)
    let qBegin = "<!-- BEGIN examples/quickstart.yaml -->\n```yaml\n", qEnd = "```\n<!-- END examples/quickstart.yaml -->"
    let qb = try #require(doc.range(of: qBegin)), qe = try #require(doc.range(of: qEnd))
    if Golden.updating {
        doc.replaceSubrange(qb.upperBound..<qe.lowerBound, with: quickstart)
        try doc.write(toFile: path, atomically: true, encoding: .utf8)
    } else {
        #expect(String(doc[qb.upperBound..<qe.lowerBound]) == quickstart,
                "the quick-start example of docs/workflow-language.md is not examples/quickstart.yaml; regenerate with CLP_FLOW_UPDATE_GOLDENS=1 swift test --filter languageDocumentCoversEveryKey")
    }
    let schema = WorkflowSchema.jsonSchema
    var keys = Set<String>()
    func collect(_ v: JSONValue) {
        if case .object(let o) = v {
            if case .object(let props)? = o["properties"] { keys.formUnion(props.keys) }
            o.values.forEach(collect)
        } else if case .array(let a) = v { a.forEach(collect) }
    }
    collect(schema)
    #expect(keys.count > 80)
    for k in keys.sorted() { #expect(doc.contains("`\(k)`"), "docs/workflow-language.md does not mention `\(k)`") }
}

/// Every key of the resolved form is described by the schema at that place (one source of truth:
/// a model property without a description would be missed by the walker and the docs).
@Test func everyModelPropertyIsDescribed() throws {
    let loaded = try WorkflowLoader.load(path: Paths.fixtures + "/valid/full.yaml")
    var problems: [String] = []
    func check(_ v: JSONValue, _ t: SchemaType, _ path: String) {
        switch (t, v) {
        case (.object(let n), .object(let o)):
            let s = SchemaRegistry.object(n)
            for (k, child) in o {
                guard let f = s.field(k) else { problems.append("\(path).\(k) is not in \(n)'s description"); continue }
                check(child, f.type, path + "." + k)
            }
            for f in s.fields where f.required && o[f.key] == nil { problems.append("\(path).\(f.key) required but not encoded") }
        case (.array(let e, _), .array(let a)): for (i, x) in a.enumerated() { check(x, e, "\(path).\(i)") }
        case (.union(let n), .object(let o)):
            let u = SchemaRegistry.union(n)
            for (k, body) in o {
                guard let variant = u.variant(k) else { problems.append("\(path): \(k) is not a variant of \(n)"); continue }
                if let bt = variant.body { check(body, bt, path + "." + k) }
            }
        case (.union(let n), .string(let word)):
            if SchemaRegistry.union(n).variant(word)?.bare != true { problems.append("\(path): '\(word)' is not a bare word of \(n)") }
        case (.mixtureComponent(let n), .object(let o)):
            for (k, body) in o where k != "probability" {
                if let bt = SchemaRegistry.union(n).variant(k)?.body { check(body, bt, path + "." + k) }
            }
        default: break
        }
    }
    // The full fixture plus a workflow using every other weight distribution and grid form.
    var w = loaded.workflow
    check(w.resolvedJSON, .object("Workflow"), "")
    w.weights.train = .mixture([MixtureComponent(probability: 0.5, distribution: .fixed([0.25, 0.25, 0.25, 0.25])),
                                MixtureComponent(probability: 0.5, distribution: .uniform)])
    w.weights.eval = .pointsPerEdge(4)
    w.weights.scalarization = .tchebycheff(temperature: 0.2)
    w.ablate = AblateSpec(matrix: [MatrixAxis(path: "model.size", values: [.string("nano")])])
    check(w.resolvedJSON, .object("Workflow"), "")
    #expect(problems.isEmpty, "\(problems)")
}

/// Shipped workflows and templates are valid, and the templates compose.
@Test func shippedWorkflowsAndTemplatesValidate() throws {
    let examples = Paths.files(Paths.repoRoot + "/examples", ext: "yaml")
    let templates = Paths.files(Paths.repoRoot + "/workflows/templates", ext: "yaml")
    #expect(examples.contains { $0.hasSuffix("quickstart.yaml") })
    #expect(templates.count >= 6)
    for f in examples {
        do {
            let l = try WorkflowLoader.load(path: f)
            #expect(l.warnings.isEmpty, "\(f): \(l.warnings.map(\.rendered))")
        } catch { Issue.record("\(f):\n\(error.rendered)") }
    }
    for f in templates {
        #expect(WorkflowLoader.isTemplate(path: f))
        do { _ = try WorkflowLoader.checkTemplate(path: f) } catch { Issue.record("\(f):\n\(error.rendered)") }
    }
    let text = """
        name: composed
        uses:
          - {template: ../workflows/templates/conditioning.yaml, with: {mechanisms: [full, attn]}}
          - {template: ../workflows/templates/model-size.yaml}
          - {template: ../workflows/templates/kl.yaml, with: {max: 2}}
          - {template: ../workflows/templates/baselines.yaml, with: {baselines: [dera, rewarded-soups]}}
          - {template: ../workflows/templates/seeds.yaml}
          - {template: ../workflows/templates/weight-sampling.yaml, with: {concentrations: [0.5]}}
        rewards: [{name: rouge, kind: rougeL}, {name: fresh, kind: novelty}]
        """
    let l = try WorkflowLoader.load(text: text, file: Paths.repoRoot + "/examples/composed.yaml")
    #expect(l.cells.count == 4)
    #expect(l.cells.map(\.name).first == "conditioning.mechanism=full,model.size=nano,weights.train.dirichlet.concentration=0.5")
    #expect(l.workflow.kl.range?.max == 2 && l.workflow.kl.range?.distribution == .logUniform)
    #expect(l.workflow.baselines == [.dera, .rewardedSoups])
    #expect(l.workflow.evaluate.seeds == 3)
    #expect(l.files.count == 6)
}

/// The complete workflows shown in docs/workflow-language.md (YAML blocks starting with `name:`)
/// are valid.
@Test func workflowsInTheLanguageDocumentAreValid() throws {
    let doc = try String(contentsOfFile: Paths.repoRoot + "/docs/workflow-language.md", encoding: .utf8)
    let blocks = doc.components(separatedBy: "```yaml\n").dropFirst().compactMap { $0.components(separatedBy: "```").first }
    // Complete workflows start with `name:` (after comment lines, like the shipped quick start).
    let complete = blocks.filter { $0.split(separator: "\n").first { !$0.hasPrefix("#") }?.hasPrefix("name:") == true }
    #expect(complete.count >= 3)
    for (i, block) in complete.enumerated() {
        do { _ = try WorkflowLoader.load(text: block, file: Paths.repoRoot + "/docs/example-\(i).yaml") } catch {
            Issue.record("docs/workflow-language.md example \(i + 1) is invalid:\n\(error.rendered)")
        }
    }
}
