import ClpFlowCore
import Foundation

/// One cell of an ablation matrix: the workflow with some key paths set to given values.
public struct AblationCell: Sendable {
    /// The cell name (from `ablate.name`, or `path=value` joined by `,`); empty without `ablate`.
    public var name: String
    /// The values of this cell, in matrix order (then include-only keys).
    public var assignments: [(path: String, value: YAMLScalarValue)]
    /// The resolved, validated workflow of this cell (its `ablate` is nil).
    public var workflow: Workflow

    public init(name: String, assignments: [(path: String, value: YAMLScalarValue)], workflow: Workflow) {
        self.name = name; self.assignments = assignments; self.workflow = workflow
    }
}

extension YAMLScalarValue {
    init?(node: YAMLNode) {
        switch node.resolved {
        case .string(let s)?: self = .string(s)
        case .int(let i)?: self = .int(i)
        case .double(let d)?: self = .double(d)
        case .bool(let b)?: self = .bool(b)
        default: return nil
        }
    }
}

/// Expands `ablate` into cells. Key paths are applied to the document tree, then each cell is
/// decoded and validated like a workflow of its own.
struct AblationExpander {
    /// Largest number of cells a matrix may expand to.
    static let maxCells = 4096
    let sink: DiagnosticSink
    let decode: (YAMLNode, DiagnosticSink) -> Workflow?
    /// Problems already reported for the base workflow (`key`): a cell that has them too does not
    /// report them again.
    var alreadyReported = Set<String>()

    static func key(_ d: Diagnostic) -> String { "\(d.file):\(d.line):\(d.column)|\(d.severity)|\(d.message)" }

    init(sink: DiagnosticSink, decode: @escaping (YAMLNode, DiagnosticSink) -> Workflow?) {
        self.sink = sink; self.decode = decode
    }

    struct Assignment { var path: String; var segments: [String]; var node: YAMLNode }

    /// Checks a key path against the model; reports at `at` when it does not exist.
    func checkPath(_ path: String, at node: YAMLNode) -> [String]? {
        let segs = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if segs.first == "ablate" {
            sink.error("an ablation cannot change `ablate` itself", at: node.position)
            return nil
        }
        guard !segs.contains(""), let t = SchemaRegistry.type(atPath: segs) else {
            sink.error("ablation key path '\(path)' does not exist in the workflow model\(didYouMean(path, SchemaRegistry.scalarPaths()))", at: node.position)
            return nil
        }
        guard SchemaRegistry.acceptsScalar(t) else {
            var example = SchemaRegistry.scalarPaths().first { $0.hasPrefix(path + ".") }
            if case .array(let e, _) = t {
                if case .object(let n) = e, let f = SchemaRegistry.object(n).fields.first(where: { SchemaRegistry.acceptsScalar($0.type) }) {
                    example = "\(path).0.\(f.key)"
                } else { example = "\(path).0" }
            }
            let hint = example.map { " (e.g. '\($0)')" } ?? ""
            sink.error("ablation key path '\(path)' is a mapping or a list; ablate a scalar below it\(hint)", at: node.position)
            return nil
        }
        return segs
    }

    /// The cells; `base` is nil when the base workflow is invalid (only problems are wanted then).
    func expand(root: YAMLNode, base: Workflow?) -> [AblationCell]? {
        guard let ablate = root["ablate"], let matrixNode = ablate["matrix"], let matrix = matrixNode.pairs else {
            return base.map { [AblationCell(name: "", assignments: [], workflow: $0)] }
        }
        var ok = true
        var axes: [(path: String, segments: [String], keyNode: YAMLNode, values: [YAMLNode])] = []
        for p in matrix {
            guard let segs = checkPath(p.key, at: p.keyNode) else { ok = false; continue }
            let values = p.value.items ?? []
            for (i, v) in values.enumerated() where values[..<i].contains(where: { $0.resolved == v.resolved }) {
                sink.error("value '\(v.scalarText ?? "")' appears twice in the axis '\(p.key)'", at: v.position)
                ok = false
            }
            axes.append((p.key, segs, p.keyNode, values))
        }
        let axisPaths = axes.map(\.path)
        func entries(_ key: String) -> [[YAMLPair]] { (ablate[key]?.items ?? []).compactMap(\.pairs) }
        let includes = entries("include"), excludes = entries("exclude")
        for e in includes { for p in e where checkPath(p.key, at: p.keyNode) == nil { ok = false } }
        for e in excludes {
            for p in e where !axisPaths.contains(p.key) {
                sink.error("exclude key '\(p.key)' is not a matrix axis (axes: \(axisPaths.joined(separator: ", ")))\(didYouMean(p.key, axisPaths))", at: p.keyNode.position)
                ok = false
            }
        }
        let nameNode = ablate["name"]
        let nameTemplate = nameNode?.scalarText
        if let t = nameTemplate, let nameNode {
            let known = Set(axisPaths + includes.flatMap { $0.map(\.key) })
            for ph in placeholders(t) where !known.contains(ph) {
                sink.error("cell name placeholder '{\(ph)}' is not an ablation key path\(didYouMean(ph, Array(known)))", at: nameNode.position)
                ok = false
            }
        }
        guard ok else { return nil }

        let product = axes.reduce(1.0) { $0 * Double(max(1, $1.values.count)) }
        if product > Double(AblationExpander.maxCells) {
            sink.error("the ablation matrix has \(JSONValue.formatNumber(product)) cells; at most \(AblationExpander.maxCells) are supported", at: matrixNode.position)
            return nil
        }
        // Cartesian product, first axis slowest.
        var combos: [[Assignment]] = [[]]
        for a in axes {
            combos = combos.flatMap { c in a.values.map { c + [Assignment(path: a.path, segments: a.segments, node: $0)] } }
        }
        combos.removeAll { c in
            excludes.contains { e in e.allSatisfy { p in c.contains { $0.path == p.key && $0.node.resolved == p.value.resolved } } }
        }
        for e in includes {
            let c = e.map { Assignment(path: $0.key, segments: $0.key.split(separator: ".").map(String.init), node: $0.value) }
            let same = combos.contains { existing in
                existing.count == c.count && c.allSatisfy { a in existing.contains { $0.path == a.path && $0.node.resolved == a.node.resolved } }
            }
            if !same { combos.append(c) }
        }
        if combos.isEmpty {
            sink.error("the ablation matrix has no cells left after `exclude`", at: matrixNode.position)
            return nil
        }

        var base = root
        if case .mapping(let pairs) = root.kind { base = YAMLNode(.mapping(pairs.filter { $0.key != "ablate" }), at: root.position) }
        var cells: [AblationCell] = []
        var names: [String: String] = [:]
        // The same problem in several cells (one bad matrix value) is reported once.
        var cellProblems: [(key: String, severity: Diagnostic.Severity, message: String, at: SourcePosition, cells: [String])] = []
        defer {
            for p in cellProblems {
                let others = p.cells.count > 1 ? " (and \(p.cells.count - 1) other cell\(p.cells.count == 2 ? "" : "s"))" : ""
                sink.add(Diagnostic(p.severity, "ablation cell '\(p.cells[0])'\(others): \(p.message)", at: p.at))
            }
        }
        for combo in combos {
            let name = cellName(combo, template: nameTemplate)
            // Cells are told apart by their values (`path=value,…`), not by a number.
            let values = cellName(combo, template: nil)
            if let other = names[name] {
                sink.error("two ablation cells are both named '\(name)' (\(other) and \(values)); make `ablate.name` include every axis", at: (nameNode ?? matrixNode).position)
                ok = false
            }
            names[name] = values
            var tree = base
            for a in combo { tree = set(tree, a.segments[...], a.node, type: .object("Workflow")) }
            let cellSink = DiagnosticSink()
            cellSink.inherit(from: sink)
            let decoded = decode(tree, cellSink)
            let positions = Set(combo.map(\.node.position))
            if cellSink.internalFailure { sink.internalFailure = true }
            for d in cellSink.diagnostics {
                if d.severity == .warning && !positions.contains(d.position) { continue }
                if alreadyReported.contains(AblationExpander.key(d)) { continue }
                let at = positions.contains(d.position) ? d.position : (combo.last?.node.position ?? d.position)
                let where_ = positions.contains(d.position) ? "" : " (at \(d.file):\(d.line):\(d.column))"
                let key = "\(at)|\(d.severity)|\(d.message)"
                if let i = cellProblems.firstIndex(where: { $0.key == key }) {
                    cellProblems[i].cells.append(name)
                } else {
                    cellProblems.append((key, d.severity, d.message + where_, at, [name]))
                }
            }
            guard var w = decoded else { ok = false; continue }
            w.ablate = nil
            let assignments = combo.map { (path: $0.path, value: YAMLScalarValue(node: $0.node) ?? .string($0.node.scalarText ?? "")) }
            cells.append(AblationCell(name: name, assignments: assignments, workflow: w))
        }
        return ok ? cells : nil
    }

    private func placeholders(_ t: String) -> [String] {
        var out: [String] = []
        var rest = Substring(t)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            out.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return out
    }

    private func cellName(_ combo: [Assignment], template: String?) -> String {
        func text(_ n: YAMLNode) -> String { YAMLScalarValue(node: n)?.text ?? (n.scalarText ?? "") }
        guard let template else { return combo.map { "\($0.path)=\(text($0.node))" }.joined(separator: ",") }
        var out = template
        for ph in placeholders(template) {
            let v = combo.first { $0.path == ph }.map { text($0.node) } ?? "default"
            out = out.replacingOccurrences(of: "{\(ph)}", with: v)
        }
        return out
    }

    /// Sets `segs` to `value` in `node`, expanding shorthands and switching union variants.
    func set(_ node: YAMLNode, _ segs: ArraySlice<String>, _ value: YAMLNode, type: SchemaType) -> YAMLNode {
        guard let seg = segs.first else { return value }
        var node = node
        // Expand a scalar written in short form.
        if node.isScalar {
            switch type {
            case .object(let n):
                if let short = SchemaRegistry.object(n).shorthand, node.resolved != .null {
                    node = YAMLNode(.mapping([YAMLPair(keyNode: .scalar(short, at: node.position), value: node)]), at: node.position)
                } else { node = YAMLNode(.mapping([]), at: node.position) }
            case .union:
                if let word = node.scalarText, word == seg {
                    node = YAMLNode(.mapping([YAMLPair(keyNode: node, value: YAMLNode(.mapping([]), at: node.position))]), at: node.position)
                } else { node = YAMLNode(.mapping([]), at: node.position) }
            default:
                node = YAMLNode(.mapping([]), at: node.position)
            }
        }
        // A missing list is created with as many (empty) items as its default has.
        func empty(for t: SchemaType, key: String) -> YAMLNode {
            if case .array = t {
                var count = 0
                if case .object(let n) = type, case .array(let d)? = SchemaRegistry.object(n).field(key)?.defaultValue { count = d.count }
                return YAMLNode(.sequence(Array(repeating: YAMLNode(.mapping([]), at: value.position), count: count)), at: value.position)
            }
            return YAMLNode(.mapping([]), at: value.position)
        }
        let childType = SchemaRegistry.type(after: type, segment: seg) ?? .any
        switch node.kind {
        case .sequence(var items):
            if let i = Int(seg), i >= 0, i < items.count {
                items[i] = set(items[i], segs.dropFirst(), value, type: childType)
                return YAMLNode(.sequence(items), at: node.position)
            }
            // An index past the end: append (the decoded cell reports what is missing).
            items.append(set(YAMLNode(.mapping([]), at: value.position), segs.dropFirst(), value, type: childType))
            return YAMLNode(.sequence(items), at: node.position)
        case .mapping(var pairs):
            if case .union = type, !pairs.contains(where: { $0.key == seg }) { pairs = [] }  // switch variant
            if let i = pairs.firstIndex(where: { $0.key == seg }) {
                pairs[i].value = set(pairs[i].value, segs.dropFirst(), value, type: childType)
            } else {
                pairs.append(YAMLPair(keyNode: .scalar(seg, at: value.position),
                                      value: set(empty(for: childType, key: seg), segs.dropFirst(), value, type: childType)))
            }
            return YAMLNode(.mapping(pairs), at: node.position)
        case .scalar:
            return node
        }
    }
}

extension SchemaRegistry {
    /// The type one segment below `type`.
    static func type(after type: SchemaType, segment seg: String) -> SchemaType? {
        switch type {
        case .object(let n): return object(n).field(seg)?.type
        case .union(let n): return union(n).variant(seg)?.body
        case .array(let e, _): return Int(seg) != nil ? e : nil
        default: return nil
        }
    }
}
