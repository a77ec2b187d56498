import ClpFlowCore

/// Renders a plan's DAG for `clp-flow graph`.
public enum GraphRenderer {
    public enum Format: String, CaseIterable, Sendable { case dot, mermaid, json }

    /// `allEdges: false` draws DOT and Mermaid graphs transitively reduced (an input that is
    /// also reached through another input is not drawn again); JSON always lists every input.
    public static func render(_ plan: Plan, format: Format, allEdges: Bool = false) -> String {
        switch format {
        case .dot: return dot(plan, allEdges: allEdges)
        case .mermaid: return mermaid(plan, allEdges: allEdges)
        case .json: return json(plan)
        }
    }

    /// The inputs of each step that are not also upstream of another of its inputs: the edges of
    /// the transitive reduction (the plan lists steps after their inputs).
    public static func reducedInputs(_ plan: Plan) -> [String: [String]] {
        var ancestors: [String: Set<String>] = [:]
        for s in plan.steps {
            var a = Set<String>()
            for i in s.inputs { a.insert(i); a.formUnion(ancestors[i] ?? []) }
            ancestors[s.id] = a
        }
        var out: [String: [String]] = [:]
        for s in plan.steps {
            out[s.id] = s.inputs.filter { u in !s.inputs.contains { w in w != u && (ancestors[w]?.contains(u) ?? false) } }
        }
        return out
    }

    static func edges(_ plan: Plan, allEdges: Bool) -> [(from: String, to: String)] {
        let reduced = allEdges ? [:] : reducedInputs(plan)
        return plan.steps.flatMap { s in (allEdges ? s.inputs : reduced[s.id] ?? []).map { (from: $0, to: s.id) } }
    }

    /// Graphviz DOT: nodes named by their quoted ids, labelled with id and kind.
    public static func dot(_ plan: Plan, allEdges: Bool = false) -> String {
        var out = "digraph \(dotQuoted(plan.workflowName)) {\n"
        out += "  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n"
        for s in plan.steps {
            out += "  \(dotQuoted(s.id)) [label=\(dotQuoted(s.id + "\n" + s.kind.rawValue)), fillcolor=\"\(color(s.kind))\"];\n"
        }
        for e in edges(plan, allEdges: allEdges) { out += "  \(dotQuoted(e.from)) -> \(dotQuoted(e.to));\n" }
        out += "}\n"
        return out
    }

    /// A DOT double-quoted string: backslash and quote escaped, line breaks as `\n`.
    public static func dotQuoted(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out + "\""
    }

    /// Mermaid flowchart: nodes get generated names (`s0`, `s1`, …) and the id as a quoted label
    /// with Mermaid entity codes for characters that would end or break it.
    public static func mermaid(_ plan: Plan, allEdges: Bool = false) -> String {
        var name: [String: String] = [:]
        var out = "flowchart LR\n"
        for (i, s) in plan.steps.enumerated() {
            name[s.id] = "s\(i)"
            out += "  s\(i)[\"\(mermaidLabel(s.id))\"]\n"
        }
        for e in edges(plan, allEdges: allEdges) { if let a = name[e.from], let b = name[e.to] { out += "  \(a) --> \(b)\n" } }
        var byKind: [StepKind: [String]] = [:]
        for s in plan.steps { byKind[s.kind, default: []].append(name[s.id]!) }
        for kind in StepKind.allCases {
            guard let names = byKind[kind] else { continue }
            let cls = kind.rawValue.replacingOccurrences(of: "-", with: "_")
            out += "  classDef \(cls) fill:\(color(kind))\n"
            out += "  class \(names.joined(separator: ",")) \(cls)\n"
        }
        return out
    }

    public static func mermaidLabel(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "#quot;"
            case "#": out += "#35;"
            case "<": out += "#lt;"
            case ">": out += "#gt;"
            case "\n", "\r": out += " "
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// `{"workflow", "nodes": [{id, kind, cache_key}], "edges": [{from, to}]}`.
    public static func json(_ plan: Plan) -> String {
        let nodes: [JSONValue] = plan.steps.map {
            ["id": .string($0.id), "kind": .string($0.kind.rawValue), "cache_key": .string($0.cacheKey)]
        }
        var edges: [JSONValue] = []
        for s in plan.steps { for i in s.inputs { edges.append(["from": .string(i), "to": .string(s.id)]) } }
        let doc: JSONValue = ["workflow": .string(plan.workflowName), "nodes": .array(nodes), "edges": .array(edges)]
        return doc.prettyCanonical
    }

    static func color(_ kind: StepKind) -> String {
        switch kind {
        case .prepareData: return "#e8eef7"
        case .trainTokenizer: return "#eef3e2"
        case .pretrain: return "#e3efd9"
        case .trainReference: return "#d9ead3"
        case .trainSoft: return "#fff2cc"
        case .trainCLP: return "#fce5cd"
        case .evaluate: return "#cfe2f3"
        case .ablate: return "#ead1dc"
        case .report: return "#d9d2e9"
        }
    }
}
