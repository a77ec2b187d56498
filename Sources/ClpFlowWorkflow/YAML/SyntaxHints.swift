import Foundation

/// Plain explanations of the YAML syntax errors people make in workflow files, mostly
/// indentation: which line is off, what it lines up with, and where it should go. Positions are
/// 1-based columns, as in every diagnostic.
enum SyntaxHints {
    struct Line {
        var number: Int
        var text: Substring
        /// Spaces before the first other character.
        var indent: Int
        var content: Substring { text.dropFirst(indent) }
        var isBlank: Bool { content.isEmpty || content.hasPrefix("#") }
        /// Column where a `- ` item's content starts (nil when the line is no list item).
        var itemContentColumn: Int? {
            guard content.hasPrefix("- ") || content == "-" else { return nil }
            let rest = content.dropFirst(1)
            return indent + 1 + 1 + rest.prefix { $0 == " " }.count
        }
        /// The key a `key: …` line starts with (after a `- `), if any.
        var key: String? {
            var c = content
            if c.hasPrefix("- ") { c = c.dropFirst(2).drop { $0 == " " } }
            guard let colon = c.range(of: ":"), colon.lowerBound > c.startIndex else { return nil }
            let k = c[..<colon.lowerBound]
            guard !k.contains(" "), !k.hasPrefix("{"), !k.hasPrefix("[") else { return nil }
            return String(k)
        }
        /// The value after `key:` on the same line (empty when the key opens a block).
        var inlineValue: Substring {
            guard let colon = content.range(of: ": ") ?? (content.hasSuffix(":") ? content.range(of: ":", options: .backwards) : nil) else { return "" }
            var v = content[colon.upperBound...].drop { $0 == " " }
            if let hash = v.range(of: " #") { v = v[..<hash.lowerBound] }
            return v
        }
    }

    static func lines(_ text: String) -> [Line] {
        text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().map { i, raw in
            let t = raw.hasSuffix("\r") ? raw.dropLast() : raw
            return Line(number: i + 1, text: t, indent: t.prefix { $0 == " " }.count)
        }
    }

    /// A short name for what a line starts with: `kind`, `- …`, or its first word.
    static func what(_ l: Line) -> String {
        if let k = l.key, !l.content.hasPrefix("- ") { return "`\(k)`" }
        if l.content.hasPrefix("-") { return "this list item" }
        return "`\(l.content.prefix { $0 != " " && $0 != ":" })`"
    }

    /// The message, and the column to report it at when it is not libyaml's (an indentation
    /// problem is shown at the start of the line's content).
    static func explain(problem: String, context: String?, at: (line: Int, column: Int), contextAt: (line: Int, column: Int),
                        text: String, quote: Bool = true) -> (message: String, column: Int)? {
        guard let m = message(problem: problem, context: context, at: at, contextAt: contextAt, text: text, quote: quote) else { return nil }
        let all = lines(text)
        if m.hasPrefix("bad indentation"), at.line >= 1, at.line <= all.count { return (m, all[at.line - 1].indent + 1) }
        return (m, at.column)
    }

    /// With `quote` false nothing of the file's text appears in the message (files that are not
    /// the user's own workflow may be any file; their lines are never echoed).
    static func message(problem: String, context: String?, at: (line: Int, column: Int), contextAt: (line: Int, column: Int),
                        text: String, quote: Bool) -> String? {
        /// `text` in backticks, or `otherwise` when the file's text is not to be shown.
        func show(_ text: String?, _ otherwise: String) -> String { quote ? text.map { "`\($0)`" } ?? otherwise : otherwise }
        func what(_ l: Line) -> String { quote ? SyntaxHints.what(l) : (l.content.hasPrefix("-") ? "this list item" : "this line") }
        let all = lines(text)
        guard at.line >= 1, at.line <= all.count, at.column >= 1,
              contextAt.line >= 1, contextAt.line <= all.count else { return nil }
        let line = all[at.line - 1]
        let above = all[..<(at.line - 1)].last { !$0.isBlank }

        switch (problem, context) {
        case ("did not find expected '-' indicator", "while parsing a block collection"?):
            // A line inside a list that is neither a new item nor indented under the item above.
            let dash = contextAt.column
            let item = all[..<(at.line - 1)].last { !$0.isBlank && $0.indent == dash - 1 && $0.itemContentColumn != nil }
            if line.content.hasPrefix("-") {
                return "bad indentation: this list item starts at column \(line.indent + 1), but the items of the list that starts on line \(contextAt.line) start at column \(dash); line its `-` up with theirs"
            }
            var msg = "bad indentation: \(what(line)) is at column \(line.indent + 1), inside the list that starts on line \(contextAt.line) (its items' `-` at column \(dash))"
            if let item, let k = item.itemContentColumn {
                msg += "; to belong to the item above, indent it to column \(k) like \(show(item.key ?? String(item.content.dropFirst(2)), "its first key")) on line \(item.number)"
            }
            return msg + "; to start a new item, write `- ` at column \(dash)"
        case ("did not find expected key", "while parsing a block mapping"?):
            // A line whose indentation matches no key of the mappings it could belong to.
            if line.content.hasPrefix("-") {
                return "bad indentation: a list item cannot start here (column \(line.indent + 1)); items go under a key that ends with `:`, indented further than that key"
            }
            let first = all[contextAt.line - 1]
            let firstKey = quote ? first.key.map { " (`\($0)`)" } ?? "" : ""
            return "bad indentation: \(what(line)) is at column \(line.indent + 1), but the keys of the mapping that starts on line \(contextAt.line)\(firstKey) are at column \(contextAt.column); line it up with them, or with a key of an enclosing mapping"
        case ("mapping values are not allowed in this context", nil):
            if let above, line.indent > above.indent, !line.content.hasPrefix("-"), let key = above.key, !above.inlineValue.isEmpty {
                let value = quote ? " (`\(above.inlineValue)`)" : ""
                return "bad indentation: \(what(line)) (at column \(line.indent + 1)) is indented more than \(show(key, "the key")) on line \(above.number), which already has a value\(value), so it would continue that value; indent it to column \(above.indent + 1) like \(show(key, "that key"))"
            }
            if let key = line.key {
                return "a value that contains `: ` must be quoted" + (quote ? ": write `\(key): \"\(line.inlineValue)\"`" : "")
            }
            return nil
        case ("block sequence entries are not allowed in this context", nil):
            let key = show(line.key.map { $0 + ":" }, "its key")
            return "a list item (`- `) cannot follow a key on the same line; put each item on its own line below \(key), indented further, or write the list as `[a, b]`"
        case ("could not find expected ':'", "while scanning a simple key"?):
            let start = all[contextAt.line - 1]
            return "line \(contextAt.line)\(quote ? " (`\(start.content)`)" : "") has no `:`; a key is written `key: value`, or `key:` with its value indented on the lines below"
        case ("did not find expected ',' or '}'", _), ("did not find expected ',' or ']'", _):
            if let open = line.text.range(of: "${"), let close = line.text[open.upperBound...].firstIndex(of: "}") {
                let ref = line.text[open.lowerBound...close]
                return "a `${…}` template reference inside `{…}` or `[…]` must be quoted" + (quote ? ": write `\"\(ref)\"`" : "")
            }
            let close = problem.hasSuffix("'}'") ? "}" : "]"
            let open = close == "}" ? "{" : "["
            return "the `\(open)` at line \(contextAt.line), column \(contextAt.column) is not closed before this point: expected `,` or `\(close)`"
        default:
            return nil
        }
    }
}
