import ClpFlowCore
import Foundation

/// Walks a document tree along the schema description: checks every key (unknown keys get a
/// did-you-mean), type and range, expands shorthands, fills defaults, and produces the resolved
/// JSON form that the model's Codable conformance reads. Every problem is reported with the
/// position of the offending node; the walk goes on after an error so that all are reported.
final class SchemaWalker {
    let sink: DiagnosticSink
    /// Key paths whose value was invalid and replaced by the default (lenient objects).
    private(set) var failedPaths: [String] = []

    init(sink: DiagnosticSink) { self.sink = sink }

    func walkWorkflow(_ root: YAMLNode) -> JSONValue? {
        walk(root, .object("Workflow"), path: "")
    }

    private func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }
    private func name(_ path: String) -> String { path.isEmpty ? "the workflow" : "`\(path)`" }

    private func err(_ msg: String, _ node: YAMLNode) { sink.error(msg, at: node.position) }

    private func describe(_ node: YAMLNode) -> String {
        switch node.kind {
        case .mapping: return "a mapping"
        case .sequence: return "a sequence"
        case .scalar(let t, _, _):
            switch node.resolved! {
            case .null: return "null"
            case .string: return "string '\(t)'"
            default: return "\(node.typeName) \(t)"
            }
        }
    }

    func walk(_ node: YAMLNode, _ type: SchemaType, path: String) -> JSONValue? {
        switch type {
        case .string:
            guard case .string(let s)? = node.resolved else {
                err("\(name(path)) must be a string, found \(describe(node))" + (node.isScalar ? " (quote it to make it a string)" : ""), node)
                return nil
            }
            return .string(s)
        case .enumeration(let cases):
            guard let r = node.resolved, r != .null else {
                err("\(name(path)) must be one of \(cases.joined(separator: ", ")), found \(describe(node))", node)
                return nil
            }
            let text = node.scalarText ?? ""
            guard case .string = r, cases.contains(text) else {
                err("\(name(path)): unknown value '\(text)'; expected one of \(cases.joined(separator: ", "))\(didYouMean(text, cases))", node)
                return nil
            }
            return .string(text)
        case .integer(let lo, let hi):
            var value: Int
            switch node.resolved {
            case .int(let i)?: value = i
            case .double(let d)? where d.isFinite && d.rounded() == d && abs(d) < 9.0e15: value = Int(d)
            default:
                err("\(name(path)) must be an integer, found \(describe(node))", node)
                return nil
            }
            if let lo, value < lo { err("\(name(path)) must be at least \(lo), found \(value)", node); return nil }
            if let hi, value > hi { err("\(name(path)) must be at most \(hi), found \(value)", node); return nil }
            return .number(Double(value))
        case .number(let lo, let exLo, let hi):
            let value: Double
            switch node.resolved {
            case .int(let i)?: value = Double(i)
            case .double(let d)?: value = d
            default:
                err("\(name(path)) must be a number, found \(describe(node))", node)
                return nil
            }
            if !value.isFinite { err("\(name(path)) must be a finite number, found \(node.scalarText ?? "")", node); return nil }
            if let lo, value < lo { err("\(name(path)) must be at least \(fmt(lo)), found \(fmt(value))", node); return nil }
            if let exLo, value <= exLo { err("\(name(path)) must be greater than \(fmt(exLo)), found \(fmt(value))", node); return nil }
            if let hi, value > hi { err("\(name(path)) must be at most \(fmt(hi)), found \(fmt(value))", node); return nil }
            return .number(value)
        case .boolean:
            guard case .bool(let b)? = node.resolved else {
                err("\(name(path)) must be true or false, found \(describe(node))", node)
                return nil
            }
            return .bool(b)
        case .array(let element, let minItems):
            guard let items = node.items else {
                err("\(name(path)) must be a sequence, found \(describe(node))", node)
                return nil
            }
            if items.count < minItems {
                err("\(name(path)) needs at least \(minItems) item\(minItems == 1 ? "" : "s")", node)
                return nil
            }
            var out: [JSONValue] = []
            var ok = true
            for (i, item) in items.enumerated() {
                if let v = walk(item, element, path: join(path, String(i))) { out.append(v) } else { ok = false }
            }
            return ok ? .array(out) : nil
        case .object(let objectName):
            return walkObject(node, SchemaRegistry.object(objectName), path: path)
        case .union(let unionName):
            return walkUnion(node, SchemaRegistry.union(unionName), path: path)
        case .mixtureComponent(let unionName):
            return walkMixtureComponent(node, SchemaRegistry.union(unionName), path: path)
        case .scalar:
            guard let r = node.resolved, r != .null else {
                err("\(name(path)) must be a scalar (string, number or boolean), found \(describe(node))", node)
                return nil
            }
            if case .double(let d) = r, !d.isFinite {
                err("\(name(path)) must be a finite number, found \(node.scalarText ?? "")", node)
                return nil
            }
            return scalarJSON(r)
        case .matrix:
            guard let pairs = node.pairs else {
                err("\(name(path)) must be a mapping of key path → list of values, found \(describe(node))", node)
                return nil
            }
            if pairs.isEmpty { err("\(name(path)) needs at least one key path", node); return nil }
            var axes: [JSONValue] = []
            var ok = true
            for p in pairs {
                guard let items = p.value.items, !items.isEmpty else {
                    err("`\(join(path, p.key))` must be a non-empty list of values", p.value)
                    ok = false
                    continue
                }
                var values: [JSONValue] = []
                for (i, item) in items.enumerated() {
                    if let v = walk(item, .scalar, path: join(join(path, p.key), String(i))) { values.append(v) } else { ok = false }
                }
                axes.append(.object(["path": .string(p.key), "values": .array(values)]))
            }
            return ok ? .array(axes) : nil
        case .assignment, .map:
            guard let pairs = node.pairs else {
                err("\(name(path)) must be a mapping, found \(describe(node))", node)
                return nil
            }
            var out: [String: JSONValue] = [:]
            var ok = true
            let valueType: SchemaType
            if case .map(let t) = type { valueType = t } else { valueType = .scalar }
            for p in pairs {
                if let v = walk(p.value, valueType, path: join(path, p.key)) { out[p.key] = v } else { ok = false }
            }
            return ok ? .object(out) : nil
        case .anyOf(let types):
            for t in types {
                let probe = DiagnosticSink()
                if let v = SchemaWalker(sink: probe).walk(node, t, path: path) { return v }
            }
            // A sequence where one alternative is a list: that alternative's own errors name the
            // offending item (e.g. `evaluate.reference_point.1` must be a number).
            let lists = types.filter { if case .array = $0 { return true }; return false }
            if node.items != nil, lists.count == 1 {
                _ = walk(node, lists[0], path: path)
                return nil
            }
            if types.count == 2, case .integer(let lo?, nil) = types[0], case .number(nil, 0?, 1?) = types[1] {
                err("\(name(path)) must be a count (an integer ≥ \(lo)) or a fraction (a number between 0 and 1), found \(describe(node))", node)
            } else if types.allSatisfy({
                if case .object = $0 { return false }
                if case .array = $0 { return true }
                return SchemaRegistry.acceptsScalar($0)
            }) {
                err("\(name(path)) must be \(types.map(WorkflowSchema.typeText).joined(separator: " or ")), found \(describe(node))", node)
            } else {
                err("\(name(path)) has an unexpected form: \(describe(node))", node)
            }
            return nil
        case .any:
            return anyJSON(node)
        }
    }

    func anyJSON(_ node: YAMLNode) -> JSONValue {
        switch node.kind {
        case .scalar: return scalarJSON(node.resolved!)
        case .sequence(let items): return .array(items.map(anyJSON))
        case .mapping(let pairs): return .object(Dictionary(pairs.map { ($0.key, anyJSON($0.value)) }, uniquingKeysWith: { a, _ in a }))
        }
    }

    private func scalarJSON(_ r: ResolvedScalar) -> JSONValue {
        switch r {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .number(Double(i))
        case .double(let d): return .number(d)
        case .string(let s): return .string(s)
        }
    }

    private func fmt(_ d: Double) -> String { JSONValue.formatNumber(d) }

    func walkObject(_ node: YAMLNode, _ schema: ObjectSchema, path: String) -> JSONValue? {
        var node = node
        if node.resolved == .null { node = YAMLNode(.mapping([]), at: node.position) }
        if node.isScalar, let short = schema.shorthand {
            node = YAMLNode(.mapping([YAMLPair(keyNode: .scalar(short, at: node.position), value: node)]), at: node.position)
        }
        guard let pairs = node.pairs else {
            let hint = schema.shorthand.map { " or a bare `\($0)` value" } ?? ""
            err("\(name(path)) must be a mapping\(hint), found \(describe(node))", node)
            return nil
        }
        var out: [String: JSONValue] = [:]
        var ok = true
        let keys = schema.fields.map(\.key)
        for p in pairs {
            // Top-level keys starting with `x-` are ignored: a place to define anchors.
            if path.isEmpty && p.key.hasPrefix("x-") { continue }
            guard let field = schema.field(p.key) else {
                // A key written right after an empty `key:` that would take it was most likely
                // meant to be indented under that key.
                if let opener = emptyOpener(for: p.key, in: pairs, before: p, schema: schema) {
                    err("unknown key '\(p.key)' in \(name(path)); it belongs under `\(opener.key):` (line \(opener.keyNode.position.line)), so indent it further than `\(opener.key)`", p.keyNode)
                } else {
                    err("unknown key '\(p.key)' in \(name(path))\(didYouMean(p.key, keys))", p.keyNode)
                }
                continue
            }
            if p.value.resolved == .null, !isObjectLike(field.type) { continue }  // null: the default
            if let v = walk(p.value, field.type, path: join(path, p.key)) { out[p.key] = v } else {
                // Go on with the default so that later checks still run; the walk has failed.
                failedPaths.append(join(path, p.key))
                if field.required || field.defaultValue == nil { ok = false } else { out[p.key] = field.defaultValue }
            }
        }
        for f in schema.fields where out[f.key] == nil && !pairs.contains(where: { $0.key == f.key && $0.value.resolved != .null }) && !failedPaths.contains(join(path, f.key)) {
            if f.required {
                if f.key == "name" && path.isEmpty {
                    err("the workflow has no `name`", node)
                } else if let written = pairs.first(where: { $0.key == f.key }) {
                    // Written, but with nothing after it.
                    let follows = pairs.contains { q in schema.field(q.key) == nil && emptyOpener(for: q.key, in: pairs, before: q, schema: schema)?.key == f.key }
                    err("`\(join(path, f.key))` is empty: nothing is indented under `\(f.key):`"
                        + (follows ? " (the lines below it are not indented further than `\(f.key)`)" : ""), written.keyNode)
                } else {
                    err("\(name(path)) is missing the required key '\(f.key)'", node)
                }
                ok = false
            } else if let d = f.defaultValue {
                out[f.key] = d
            }
        }
        return ok ? .object(out) : nil
    }

    /// The pair before `pair` written as `key:` with no value whose type would accept `key`.
    private func emptyOpener(for key: String, in pairs: [YAMLPair], before pair: YAMLPair, schema: ObjectSchema) -> YAMLPair? {
        guard let i = pairs.firstIndex(where: { $0.keyNode.position == pair.keyNode.position }) else { return nil }
        for q in pairs[..<i].reversed() {
            guard q.value.resolved == .null, let t = schema.field(q.key)?.type else { continue }
            if SchemaWalker.accepts(t, key: key) { return q }
        }
        return nil
    }

    /// Whether a mapping of type `t` could hold `key`.
    static func accepts(_ t: SchemaType, key: String) -> Bool {
        switch t {
        case .matrix: return key.contains(".") || SchemaRegistry.type(atPath: [key]) != nil
        case .map, .assignment: return true
        case .object(let n): return SchemaRegistry.object(n).field(key) != nil
        case .union(let n): return SchemaRegistry.union(n).variant(key) != nil
        default: return false
        }
    }

    private func isObjectLike(_ t: SchemaType) -> Bool {
        if case .object = t { return true }
        return false
    }

    func walkUnion(_ node: YAMLNode, _ u: UnionSchema, path: String) -> JSONValue? {
        let tags = u.variants.map(\.tag)
        let words = u.variants.filter(\.bare).map(\.tag)
        if node.isScalar {
            let word = node.scalarText ?? ""
            guard case .string? = node.resolved, let v = u.variant(word), v.bare else {
                if let v = u.variant(word) {
                    err("\(name(path)): '\(word)' needs parameters; write `\(word): …`", node)
                    _ = v
                } else {
                    let forms = words.isEmpty ? "" : "one of \(words.joined(separator: ", ")) or "
                    err("\(name(path)): unknown value '\(word)'; expected \(forms)a mapping with one of the keys \(tags.joined(separator: ", "))\(didYouMean(word, tags))", node)
                }
                return nil
            }
            return variantJSON(v, body: nil, at: node, path: path)
        }
        guard let pairs = node.pairs else {
            err("\(name(path)) must be \(words.isEmpty ? "" : "a word or ")a one-key mapping (\(tags.joined(separator: ", "))), found \(describe(node))", node)
            return nil
        }
        guard pairs.count == 1, let p = pairs.first else {
            err("\(name(path)) must have exactly one key among \(tags.joined(separator: ", ")), found \(pairs.count)", node)
            return nil
        }
        guard let v = u.variant(p.key) else {
            err("unknown key '\(p.key)' in \(name(path)); expected one of \(tags.joined(separator: ", "))\(didYouMean(p.key, tags))", p.keyNode)
            return nil
        }
        return variantJSON(v, body: p.value, at: p.keyNode, path: join(path, p.key))
    }

    private func variantJSON(_ v: UnionSchema.Variant, body: YAMLNode?, at node: YAMLNode, path: String) -> JSONValue? {
        guard let bodyType = v.body else {
            if let body, !(body.resolved == .null || body.pairs?.isEmpty == true) {
                err("\(name(path)) takes no parameters; write `\(v.tag)` or `\(v.tag): {}`", body)
                return nil
            }
            return .string(v.tag)
        }
        let b = body ?? YAMLNode(.mapping([]), at: node.position)
        guard let value = walk(b, bodyType, path: path) else { return nil }
        return .object([v.tag: value])
    }

    func walkMixtureComponent(_ node: YAMLNode, _ u: UnionSchema, path: String) -> JSONValue? {
        guard let pairs = node.pairs else {
            err("\(name(path)) must be a mapping with `probability` and one distribution key, found \(describe(node))", node)
            return nil
        }
        let tags = u.variants.map(\.tag)
        var out: [String: JSONValue] = [:]
        var ok = true
        var distribution: YAMLPair? = nil
        for p in pairs {
            if p.key == "probability" {
                if let v = walk(p.value, .number(minimum: 0, exclusiveMinimum: nil, maximum: 1), path: join(path, "probability")) {
                    out["probability"] = v
                } else { ok = false }
            } else if u.variant(p.key) != nil {
                if let d = distribution {
                    err("\(name(path)) has two distributions ('\(d.key)' and '\(p.key)'); give one per component", p.keyNode)
                    ok = false
                }
                distribution = p
            } else {
                err("unknown key '\(p.key)' in \(name(path)); expected `probability` and one of \(tags.joined(separator: ", "))\(didYouMean(p.key, tags + ["probability"]))", p.keyNode)
                ok = false
            }
        }
        if !pairs.contains(where: { $0.key == "probability" }) {
            err("\(name(path)) is missing the required key 'probability'", node)
            ok = false
        }
        guard let d = distribution else {
            if ok { err("\(name(path)) needs one distribution key (\(tags.joined(separator: ", ")))", node) }
            return nil
        }
        let single = YAMLNode(.mapping([d]), at: node.position)
        guard ok, case .some(let value) = walkUnion(single, u, path: path) else { return nil }
        switch value {
        case .string(let tag): out[tag] = .object([:])
        case .object(let o): for (k, v) in o { out[k] = v }
        default: return nil
        }
        return .object(out)
    }
}
