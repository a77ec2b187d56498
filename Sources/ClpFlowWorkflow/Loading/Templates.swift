import Foundation

/// Applies `extends` and `uses` (template files with parameters) at the document-tree level.
///
/// A template file is YAML with an optional `parameters:` mapping (name → {default, description})
/// and the fragment to merge. `${name}` in its scalars is replaced by the parameter's value; a
/// scalar that is exactly `${name}` takes the value with its type (even a list or mapping), a
/// scalar that contains `${name}` among other text becomes a string. `$${` writes a literal `${`.
/// `extends: path` or `extends: {template: path, with: {...}}`: the file is deep-merged onto the
/// template. `uses: [{template: path, with: {...}}, ...]`: each fragment is deep-merged in order
/// onto the result of `extends`, then the file's own keys. Deep merge: mappings are merged key by
/// key, sequences and scalars are replaced. Paths are relative to the including file; templates
/// may themselves use `extends` and `uses`; a cycle is an error naming the chain.
final class TemplateResolver {
    let sink: DiagnosticSink
    private var parsed: [String: YAMLNode?] = [:]
    /// Files read (for cache keys and `--json` output).
    private(set) var filesRead: [String] = []

    init(sink: DiagnosticSink) { self.sink = sink }

    /// Largest file read as a workflow or template.
    static let maxFileBytes = 8 << 20

    /// Reads and parses a file (once). Only regular files are read (a device such as /dev/zero or
    /// a FIFO would never end), at most `maxFileBytes`.
    func parseFile(_ path: String, reportAt: SourcePosition?) -> YAMLNode? {
        if let cached = parsed[path] { return cached }
        let what = reportAt == nil ? "workflow file" : "template file"
        if let attrs = try? FileManager.default.attributesOfItem(atPath: path), let type = attrs[.type] as? FileAttributeType,
           type != .typeRegular && type != .typeDirectory {
            sink.error("\(what) '\(path)' is not a regular file", at: reportAt ?? SourcePosition(file: path, line: 1, column: 1))
            parsed[path] = .some(nil)
            return nil
        }
        if let attrs = try? FileManager.default.attributesOfItem(atPath: path), let size = attrs[.size] as? NSNumber,
           size.intValue > TemplateResolver.maxFileBytes {
            sink.error("\(what) '\(path)' is too large (\(size.intValue) bytes; at most \(TemplateResolver.maxFileBytes))",
                       at: reportAt ?? SourcePosition(file: path, line: 1, column: 1))
            parsed[path] = .some(nil)
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            let msg: String
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
                msg = "'\(path)' is a directory, not a workflow file"
            } else if FileManager.default.fileExists(atPath: path) {
                msg = "cannot read '\(path)' (permission denied?)"
            } else {
                msg = reportAt == nil ? "workflow file '\(path)' does not exist" : "template file '\(path)' does not exist"
            }
            sink.error(msg, at: reportAt ?? SourcePosition(file: path, line: 1, column: 1))
            parsed[path] = .some(nil)
            return nil
        }
        filesRead.append(path)
        // A file included by `extends` / `uses` may be any file: its text stays out of messages.
        let node = YAMLParser.parse(bytes: [UInt8](data), file: path, sink: sink, quoteInMessages: reportAt == nil)
        parsed[path] = .some(node)
        return node
    }

    /// Parses text given directly (the workflow file itself, possibly not on disk).
    func parseText(_ text: [UInt8], file: String) -> YAMLNode? {
        let node = YAMLParser.parse(bytes: text, file: file, sink: sink)
        parsed[file] = .some(node)
        return node
    }

    static func key(_ path: String) -> String {
        let abs = path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        return (abs as NSString).standardizingPath
    }

    static func display(_ path: String) -> String { (path as NSString).lastPathComponent }

    /// Applies `extends` / `uses` of a mapping written in `file`; `chain` holds the files being
    /// expanded (for cycle detection). Returns the merged mapping without those keys.
    func resolve(_ root: YAMLNode, file: String, chain: [String]) -> YAMLNode? {
        guard var pairs = root.pairs else {
            sink.withholdSource(root.position.file)
            sink.error("a workflow file must be a mapping of keys (name, rewards, …), found \(root.typeWithArticle)", at: root.position)
            return nil
        }
        var base: YAMLNode? = nil
        var ok = true
        if let i = pairs.firstIndex(where: { $0.key == "extends" }) {
            let p = pairs.remove(at: i)
            if let ref = reference(p.value, what: "extends") {
                if let t = instantiate(ref, from: file, chain: chain) { base = t } else { ok = false }
            } else { ok = false }
        }
        if let i = pairs.firstIndex(where: { $0.key == "uses" }) {
            let p = pairs.remove(at: i)
            let items: [YAMLNode]
            if let s = p.value.items { items = s } else {
                sink.error("`uses` must be a list of template references ({template: path, with: {…}})", at: p.value.position)
                items = []
                ok = false
            }
            for item in items {
                guard let ref = reference(item, what: "uses") else { ok = false; continue }
                if let t = instantiate(ref, from: file, chain: chain) {
                    base = base.map { TemplateResolver.merge($0, t) } ?? t
                } else { ok = false }
            }
        }
        guard ok else { return nil }
        let own = YAMLNode(.mapping(pairs), at: root.position)
        guard let base else { return own }
        var merged = TemplateResolver.merge(base, own)
        merged.position = root.position
        return merged
    }

    struct Reference {
        var path: YAMLNode
        var with: [YAMLPair]
        var node: YAMLNode
    }

    private func reference(_ node: YAMLNode, what: String) -> Reference? {
        if case .string? = node.resolved { return Reference(path: node, with: [], node: node) }
        guard let pairs = node.pairs else {
            sink.error("`\(what)` takes a template path or {template: path, with: {…}}, found \(node.typeWithArticle)", at: node.position)
            return nil
        }
        var path: YAMLNode? = nil
        var with: [YAMLPair] = []
        var ok = true
        for p in pairs {
            switch p.key {
            case "template":
                if case .string? = p.value.resolved { path = p.value } else {
                    sink.error("`template` must be a path (string), found \(p.value.typeWithArticle)", at: p.value.position)
                    ok = false
                }
            case "with":
                if p.value.resolved == .null { continue }
                if let w = p.value.pairs { with = w } else {
                    sink.error("`with` must be a mapping of parameter values, found \(p.value.typeWithArticle)", at: p.value.position)
                    ok = false
                }
            default:
                sink.error("unknown key '\(p.key)' in a template reference\(didYouMean(p.key, ["template", "with"]))", at: p.keyNode.position)
                ok = false
            }
        }
        guard ok else { return nil }
        guard let path else {
            sink.error("a template reference needs `template: path`", at: node.position)
            return nil
        }
        return Reference(path: path, with: with, node: node)
    }

    /// Instantiates a template as an including file would, binding parameters without a default
    /// to a marker string (used to check a template file on its own).
    func instantiateForCheck(_ path: YAMLNode, from file: String) -> YAMLNode? {
        checking = true
        defer { checking = false }
        return instantiate(Reference(path: path, with: [], node: path), from: file, chain: [])
    }

    private var checking = false
    /// Positions of the marker values given to required parameters during a check (a marker
    /// stands for a value the including file gives, so no type is known for it).
    private(set) var markerPositions = Set<SourcePosition>()

    /// Loads a template, binds its parameters, substitutes them and resolves its own templates.
    private func instantiate(_ ref: Reference, from file: String, chain: [String]) -> YAMLNode? {
        let rel = ref.path.scalarText ?? ""
        let dir = (file as NSString).deletingLastPathComponent
        let path = rel.hasPrefix("/") || dir.isEmpty ? rel : (dir as NSString).appendingPathComponent(rel)
        let normalized = (path as NSString).standardizingPath
        let key = TemplateResolver.key(normalized)
        if let start = chain.firstIndex(of: key) {
            let cycle = (chain[start...] + [key]).map(TemplateResolver.display).joined(separator: " → ")
            sink.error("template cycle: \(cycle)", at: ref.path.position)
            return nil
        }
        // Errors inside the template are reported there, with a note naming this reference.
        sink.recordInclude(normalized, from: ref.path.position)
        guard let root = parseFile(normalized, reportAt: ref.path.position) else {
            // Not YAML at all: never echo its lines (it may be any file on the machine).
            sink.withholdSource(normalized)
            return nil
        }
        guard var pairs = root.pairs else {
            sink.withholdSource(normalized)
            sink.error("a template file must be a mapping, found \(root.typeWithArticle)", at: root.position)
            return nil
        }
        // Parameters.
        var declared: [(name: String, keyNode: YAMLNode, defaultValue: YAMLNode?)] = []
        var ok = true
        if let i = pairs.firstIndex(where: { $0.key == "parameters" }) {
            let p = pairs.remove(at: i)
            if p.value.resolved != .null {
                guard let params = p.value.pairs else {
                    sink.error("`parameters` must map names to {default, description}, found \(p.value.typeWithArticle)", at: p.value.position)
                    return nil
                }
                for param in params {
                    var def: YAMLNode? = nil
                    if param.value.resolved == .null {
                        // `name:` alone declares a required parameter.
                    } else if let body = param.value.pairs {
                        for b in body {
                            switch b.key {
                            case "default": def = b.value
                            case "description":
                                if case .string? = b.value.resolved {} else {
                                    sink.error("a parameter's `description` must be a string", at: b.value.position); ok = false
                                }
                            default:
                                sink.error("unknown key '\(b.key)' in parameter '\(param.key)'\(didYouMean(b.key, ["default", "description"]))", at: b.keyNode.position)
                                ok = false
                            }
                        }
                    } else {
                        sink.error("parameter '\(param.key)' must be a mapping {default, description}, found \(param.value.typeWithArticle)", at: param.value.position)
                        ok = false
                    }
                    declared.append((param.key, param.keyNode, def))
                }
            }
        }
        let names = declared.map(\.name)
        var bindings: [String: YAMLNode] = [:]
        for w in ref.with {
            if names.contains(w.key) { bindings[w.key] = w.value } else {
                let known = names.isEmpty ? "it declares no parameters" : "its parameters are \(names.joined(separator: ", "))"
                sink.error("template \(TemplateResolver.display(normalized)) has no parameter '\(w.key)'; \(known)\(didYouMean(w.key, names))", at: w.keyNode.position)
                ok = false
            }
        }
        for d in declared where bindings[d.name] == nil {
            if let def = d.defaultValue { bindings[d.name] = def } else if checking {
                bindings[d.name] = YAMLNode.scalar("<\(d.name)>", style: .doubleQuoted, at: d.keyNode.position)
                markerPositions.insert(d.keyNode.position)
            } else {
                sink.error("template parameter '\(d.name)' is missing: \(TemplateResolver.display(normalized)) requires it (add `with: {\(d.name): …}`)", at: ref.node.position)
                ok = false
            }
        }
        guard ok else { return nil }
        let body = YAMLNode(.mapping(pairs), at: root.position)
        guard let substituted = substitute(body, bindings, template: normalized) else { return nil }
        return resolve(substituted, file: normalized, chain: chain + [key])
    }

    /// Replaces `${name}` in scalars.
    private func substitute(_ node: YAMLNode, _ b: [String: YAMLNode], template: String) -> YAMLNode? {
        switch node.kind {
        case .scalar(let text, let style, let tag):
            guard text.contains("${") else { return node }
            // A whole-scalar `${name}` (plain or quoted) takes the value with its type.
            if text.hasPrefix("${"), text.hasSuffix("}"), text.dropFirst(2).dropLast().allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) {
                let name = String(text.dropFirst(2).dropLast())
                guard let v = b[name] else {
                    sink.error("template parameter '\(name)' is used but not declared in `parameters`\(didYouMean(name, Array(b.keys)))", at: node.position)
                    return nil
                }
                return v
            }
            var out = ""
            var rest = Substring(text)
            while let r = rest.range(of: "${") {
                if r.lowerBound > rest.startIndex, rest[rest.index(before: r.lowerBound)] == "$" {
                    out += rest[..<rest.index(before: r.lowerBound)] + "${"
                    rest = rest[r.upperBound...]
                    continue
                }
                out += rest[..<r.lowerBound]
                guard let close = rest[r.upperBound...].firstIndex(of: "}") else {
                    sink.error("unterminated `${` in a template value", at: node.position)
                    return nil
                }
                let name = String(rest[r.upperBound..<close])
                guard let v = b[name] else {
                    sink.error("template parameter '\(name)' is used but not declared in `parameters`\(didYouMean(name, Array(b.keys)))", at: node.position)
                    return nil
                }
                guard let s = v.scalarText else {
                    sink.error("parameter '\(name)' is \(v.typeWithArticle) and cannot be spliced into text", at: v.position)
                    return nil
                }
                out += s
                rest = rest[rest.index(after: close)...]
            }
            out += rest
            return YAMLNode(.scalar(text: out, style: style == .plain ? .doubleQuoted : style, tag: tag), at: node.position)
        case .sequence(let items):
            var out: [YAMLNode] = []
            for i in items { guard let s = substitute(i, b, template: template) else { return nil }; out.append(s) }
            return YAMLNode(.sequence(out), at: node.position)
        case .mapping(let pairs):
            var out: [YAMLPair] = []
            for p in pairs {
                guard let v = substitute(p.value, b, template: template) else { return nil }
                out.append(YAMLPair(keyNode: p.keyNode, value: v))
            }
            return YAMLNode(.mapping(out), at: node.position)
        }
    }

    /// Deep merge: mappings merged key by key (overlay wins), anything else replaced.
    static func merge(_ base: YAMLNode, _ overlay: YAMLNode) -> YAMLNode {
        guard var bp = base.pairs, let op = overlay.pairs else { return overlay }
        for p in op {
            if let i = bp.firstIndex(where: { $0.key == p.key }) {
                bp[i] = YAMLPair(keyNode: p.keyNode, value: merge(bp[i].value, p.value))
            } else {
                bp.append(p)
            }
        }
        return YAMLNode(.mapping(bp), at: overlay.position)
    }
}
