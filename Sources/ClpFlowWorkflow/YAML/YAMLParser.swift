import CLibYAML
import Foundation

/// Parses YAML text into a `YAMLNode` tree with the system libyaml (event API). Anchors, aliases
/// and merge keys (`<<`) are resolved; duplicate keys, several documents, tab indentation and
/// invalid UTF-8 are errors at their position.
public enum YAMLParser {
    /// Aliases may expand to at most this many nodes in total (guards against alias bombs).
    static let maxExpandedNodes = 200_000
    /// Deepest nesting of sequences and mappings accepted (workflows need fewer than ten levels).
    static let maxDepth = 100

    /// Parses one document. Returns nil (with diagnostics in `sink`) when the text is not valid.
    /// `quoteInMessages` false keeps the file's text out of syntax-error messages (for files
    /// other than the user's workflow, which may be any file).
    static func parse(bytes: [UInt8], file: String, sink: DiagnosticSink, quoteInMessages: Bool = true) -> YAMLNode? {
        if let (line, column) = firstInvalidUTF8(bytes) {
            sink.addSource(file: file, text: String(decoding: bytes, as: UTF8.self))
            sink.error("invalid UTF-8 byte sequence; workflow files must be UTF-8 text",
                       at: SourcePosition(file: file, line: line, column: column))
            return nil
        }
        let text = String(decoding: bytes, as: UTF8.self)
        sink.addSource(file: file, text: text)
        var builder = TreeBuilder(file: file, sink: sink)
        return bytes.withUnsafeBufferPointer { buf -> YAMLNode? in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else {
                sink.error("could not initialise the YAML parser", at: SourcePosition(file: file, line: 1, column: 1))
                return nil
            }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buf.baseAddress ?? UnsafePointer(bitPattern: 1)!, buf.count)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    let mark = parser.problem_mark
                    // libyaml's message for a tab in indentation is obscure: name the tab instead.
                    if let (line, column) = tabIndentation(text), line <= Int(mark.line) + 1 {
                        sink.error("tab character used for indentation; indent with spaces",
                                   at: SourcePosition(file: file, line: line, column: column))
                        return nil
                    }
                    let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
                    let context = parser.context.map { String(cString: $0) }
                    let at = (line: Int(mark.line) + 1, column: Int(mark.column) + 1)
                    let contextAt = (line: Int(parser.context_mark.line) + 1, column: Int(parser.context_mark.column) + 1)
                    // Say what is likely wrong (mostly indentation) in plain words; libyaml's own
                    // wording is kept only for problems not recognised here.
                    let hint = SyntaxHints.explain(problem: problem, context: context, at: at, contextAt: contextAt, text: text,
                                                   quote: quoteInMessages)
                    let msg = hint?.message
                        ?? "YAML syntax error: \(problem)" + (context.map { " (\($0) at line \(contextAt.line), column \(contextAt.column))" } ?? "")
                    sink.error(msg, at: SourcePosition(file: file, line: at.line, column: hint?.column ?? at.column))
                    return nil
                }
                defer { yaml_event_delete(&event) }
                let done = builder.handle(&event)
                if builder.failed { return nil }
                if done { break }
            }
            if builder.result == nil {
                sink.error("the file holds no YAML document (expected a mapping with at least `name` and `rewards`)",
                           at: SourcePosition(file: file, line: 1, column: 1))
            }
            return builder.result
        }
    }

    /// The 1-based line and column of the first byte that is not valid UTF-8.
    static func firstInvalidUTF8(_ b: [UInt8]) -> (Int, Int)? {
        var i = 0, line = 1, col = 1
        while i < b.count {
            let c = b[i]
            var n = 0
            var minScalar: UInt32 = 0
            if c < 0x80 { n = 0 } else if c & 0xE0 == 0xC0 { n = 1; minScalar = 0x80 }
            else if c & 0xF0 == 0xE0 { n = 2; minScalar = 0x800 }
            else if c & 0xF8 == 0xF0 { n = 3; minScalar = 0x10000 }
            else { return (line, col) }
            if i + n >= b.count && n > 0 { return (line, col) }
            var scalar = n == 0 ? UInt32(c) : UInt32(c) & (0x3F >> n)
            for k in 0..<n {
                let cc = b[i + 1 + k]
                if cc & 0xC0 != 0x80 { return (line, col) }
                scalar = (scalar << 6) | UInt32(cc & 0x3F)
            }
            if n > 0 && (scalar < minScalar || scalar > 0x10FFFF || (scalar >= 0xD800 && scalar <= 0xDFFF)) {
                return (line, col)
            }
            if c == 10 { line += 1; col = 1 } else { col += 1 }
            i += n + 1
        }
        return nil
    }

    /// The position of a tab in a line's indentation, outside block scalars.
    static func tabIndentation(_ text: String) -> (Int, Int)? {
        var blockIndent: Int? = nil  // indentation of the line that opened a block scalar
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            var indent = 0
            var tabAt: Int? = nil
            for ch in line {
                if ch == " " { indent += 1 } else if ch == "\t" { if tabAt == nil { tabAt = indent + 1 }; indent += 1 } else { break }
            }
            let content = line.dropFirst(indent)
            if content.isEmpty { continue }
            if let b = blockIndent {
                if indent > b { continue }
                blockIndent = nil
            }
            if let t = tabAt, !content.hasPrefix("#") { return (index + 1, t) }
            // A line ending with a block scalar indicator opens a block scalar.
            var body = content
            if let hash = body.range(of: " #") { body = body[..<hash.lowerBound] }
            let trimmed = body.trimmingCharacters(in: .whitespaces)
            if let last = trimmed.split(separator: " ").last,
               let first = last.first, first == "|" || first == ">",
               last.dropFirst().allSatisfy({ "+-0123456789".contains($0) }) {
                blockIndent = indent
            }
        }
        return nil
    }
}

/// Builds the tree from libyaml events.
private struct TreeBuilder {
    enum Frame {
        case sequence(items: [YAMLNode], start: SourcePosition, anchor: String?)
        case mapping(pairs: [YAMLPair], pendingKey: YAMLNode?, merges: [YAMLNode], start: SourcePosition, anchor: String?)
    }

    let file: String
    let sink: DiagnosticSink
    var stack: [Frame] = []
    var anchors: [String: YAMLNode] = [:]
    var result: YAMLNode? = nil
    var documents = 0
    var failed = false
    var expanded = 0

    init(file: String, sink: DiagnosticSink) { self.file = file; self.sink = sink }

    func pos(_ m: yaml_mark_t) -> SourcePosition {
        SourcePosition(file: file, line: Int(m.line) + 1, column: Int(m.column) + 1)
    }

    static func string(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let p else { return nil }
        return String(cString: UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self))
    }

    mutating func fail(_ message: String, at p: SourcePosition) {
        sink.error(message, at: p)
        failed = true
    }

    /// An error after which the tree is still built (the file's other problems are checked too).
    func problem(_ message: String, at p: SourcePosition) {
        sink.error(message, at: p)
        sink.block(p)
    }

    /// Returns true at the end of the stream.
    mutating func handle(_ event: inout yaml_event_t) -> Bool {
        let start = pos(event.start_mark)
        switch event.type {
        case YAML_STREAM_START_EVENT: return false
        case YAML_STREAM_END_EVENT: return true
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 {
                fail("the file holds several YAML documents (`---`); a workflow file holds exactly one", at: start)
            }
            return false
        case YAML_DOCUMENT_END_EVENT:
            anchors = [:]
            return false
        case YAML_ALIAS_EVENT:
            let name = TreeBuilder.string(event.data.alias.anchor) ?? ""
            guard var node = anchors[name] else {
                fail("alias '*\(name)' refers to no anchor defined before it", at: start)
                return false
            }
            expanded += node.size
            if expanded > YAMLParser.maxExpandedNodes {
                fail("aliases expand to more than \(YAMLParser.maxExpandedNodes) nodes", at: start)
                return false
            }
            node.position = start
            add(node, isAlias: true)
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: s.value, count: Int(s.length)), as: UTF8.self)
            let style: ScalarStyle
            switch s.style {
            case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
            case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
            case YAML_LITERAL_SCALAR_STYLE: style = .literal
            case YAML_FOLDED_SCALAR_STYLE: style = .folded
            default: style = .plain
            }
            var tag = TreeBuilder.string(s.tag)
            if tag == "!" { tag = "tag:yaml.org,2002:str" }
            if let t = tag, !t.hasPrefix("tag:yaml.org,2002:") || !["str", "int", "float", "bool", "null"].contains(String(t.dropFirst(18))) {
                // Reported, then read as if untagged so that the rest of the file is still checked
                // (nothing else is reported at this value).
                problem("unsupported YAML tag '\(t)' (only !!str, !!int, !!float, !!bool and !!null are understood)", at: start)
                tag = nil
            }
            let node = YAMLNode(.scalar(text: text, style: style, tag: tag), at: start)
            if let a = TreeBuilder.string(s.anchor) { anchors[a] = node }
            add(node, isAlias: false)
        case YAML_SEQUENCE_START_EVENT:
            if let t = TreeBuilder.string(event.data.sequence_start.tag), t != "tag:yaml.org,2002:seq" {
                problem("unsupported YAML tag '\(t)' on a sequence", at: start)
            }
            if stack.count >= YAMLParser.maxDepth {
                fail("sequences and mappings are nested deeper than \(YAMLParser.maxDepth) levels", at: start)
                return false
            }
            stack.append(.sequence(items: [], start: start, anchor: TreeBuilder.string(event.data.sequence_start.anchor)))
        case YAML_SEQUENCE_END_EVENT:
            guard case .sequence(let items, let s, let anchor) = stack.popLast() else { return false }
            let node = YAMLNode(.sequence(items), at: s)
            if let anchor { anchors[anchor] = node }
            add(node, isAlias: false)
        case YAML_MAPPING_START_EVENT:
            if let t = TreeBuilder.string(event.data.mapping_start.tag), t != "tag:yaml.org,2002:map" {
                problem("unsupported YAML tag '\(t)' on a mapping (sets, ordered maps and custom tags are not part of the language)", at: start)
            }
            if stack.count >= YAMLParser.maxDepth {
                fail("sequences and mappings are nested deeper than \(YAMLParser.maxDepth) levels", at: start)
                return false
            }
            stack.append(.mapping(pairs: [], pendingKey: nil, merges: [], start: start,
                                  anchor: TreeBuilder.string(event.data.mapping_start.anchor)))
        case YAML_MAPPING_END_EVENT:
            guard case .mapping(var pairs, _, let merges, let s, let anchor) = stack.popLast() else { return false }
            // Merge keys: explicit keys win, then earlier merged mappings win over later ones.
            for m in merges {
                for p in m.pairs ?? [] where !pairs.contains(where: { $0.key == p.key }) { pairs.append(p) }
            }
            let node = YAMLNode(.mapping(pairs), at: s)
            if let anchor { anchors[anchor] = node }
            add(node, isAlias: false)
        default:
            return false
        }
        return false
    }

    mutating func add(_ node: YAMLNode, isAlias: Bool) {
        guard let top = stack.popLast() else {
            result = node
            return
        }
        switch top {
        case .sequence(var items, let s, let a):
            items.append(node)
            stack.append(.sequence(items: items, start: s, anchor: a))
        case .mapping(var pairs, let pendingKey, var merges, let s, let a):
            if let key = pendingKey {
                if key.scalarText == "<<", case .scalar(_, .plain, nil) = key.kind {
                    switch node.kind {
                    case .mapping: merges.append(node)
                    case .sequence(let items):
                        for item in items {
                            guard item.pairs != nil else {
                                fail("a merge key (`<<`) takes a mapping or a sequence of mappings, found \(item.typeWithArticle)", at: item.position)
                                return
                            }
                            merges.append(item)
                        }
                    default:
                        fail("a merge key (`<<`) takes a mapping or a sequence of mappings, found \(node.typeWithArticle)", at: node.position)
                        return
                    }
                } else {
                    pairs.append(YAMLPair(keyNode: key, value: node))
                }
                stack.append(.mapping(pairs: pairs, pendingKey: nil, merges: merges, start: s, anchor: a))
            } else {
                guard case .scalar(let text, _, _) = node.kind else {
                    fail("mapping keys must be scalars, found \(node.typeWithArticle)", at: node.position)
                    return
                }
                if text != "<<", let first = pairs.first(where: { $0.key == text }) {
                    fail("duplicate key '\(text)' (first defined at line \(first.keyNode.position.line), column \(first.keyNode.position.column))", at: node.position)
                    return
                }
                stack.append(.mapping(pairs: pairs, pendingKey: node, merges: merges, start: s, anchor: a))
            }
        }
    }
}
