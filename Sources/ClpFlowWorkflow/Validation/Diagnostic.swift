import ClpFlowCore
import Foundation

/// Where a template file was included from (`extends` / `uses` of another file), shown under a
/// diagnostic in that template like a compiler's "included from".
public struct DiagnosticNote: Sendable, Hashable {
    public var file: String
    public var line: Int
    public var column: Int
    /// The text of the including line, empty when unknown.
    public var sourceLine: String

    public init(file: String, line: Int, column: Int, sourceLine: String = "") {
        self.file = file; self.line = line; self.column = column; self.sourceLine = sourceLine
    }
}

/// One problem found in a workflow, at a position in a source file.
public struct Diagnostic: Sendable, Hashable, Error {
    public enum Severity: String, Sendable, Hashable, Codable { case error, warning }

    public var file: String
    public var line: Int
    public var column: Int
    public var severity: Severity
    public var message: String
    /// The text of the offending line (without its newline), empty when unknown or withheld
    /// (lines of a file that is not a YAML mapping are never echoed).
    public var sourceLine: String
    /// The chain of `extends` / `uses` references that brought `file` in, innermost first (empty
    /// for the workflow file itself).
    public var includedFrom: [DiagnosticNote]

    public init(file: String, line: Int, column: Int, severity: Severity, message: String, sourceLine: String = "",
                includedFrom: [DiagnosticNote] = []) {
        self.file = file; self.line = line; self.column = column
        self.severity = severity; self.message = message; self.sourceLine = sourceLine
        self.includedFrom = includedFrom
    }

    public init(_ severity: Severity, _ message: String, at p: SourcePosition) {
        self.init(file: p.file, line: p.line, column: p.column, severity: severity, message: message)
    }

    public var position: SourcePosition { SourcePosition(file: file, line: line, column: column) }

    /// `file:line:col: error: message`, then the source line and a caret under the column; then
    /// for a template, `note: included from FILE:LINE:COL` with the including line, for each
    /// level of inclusion.
    public var rendered: String {
        var out = "\(file):\(line):\(column): \(severity.rawValue): \(message)\n"
        out += Diagnostic.excerpt(sourceLine, column: column)
        for n in includedFrom {
            out += "note: included from \(n.file):\(n.line):\(n.column)\n"
            out += Diagnostic.excerpt(n.sourceLine, column: n.column)
        }
        return out
    }

    static func excerpt(_ sourceLine: String, column: Int) -> String {
        guard !sourceLine.isEmpty else { return "" }
        var caret = ""
        for (i, ch) in sourceLine.enumerated() where i < column - 1 { caret.append(ch == "\t" ? "\t" : " ") }
        if sourceLine.count < column - 1 { caret += String(repeating: " ", count: column - 1 - sourceLine.count) }
        return sourceLine + "\n" + caret + "^\n"
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "file": .string(file), "line": .number(Double(line)), "column": .number(Double(column)),
            "severity": .string(severity.rawValue), "message": .string(message),
            "source_line": .string(sourceLine),
        ]
        if !includedFrom.isEmpty {
            o["included_from"] = .array(includedFrom.map {
                ["file": .string($0.file), "line": .number(Double($0.line)), "column": .number(Double($0.column))]
            })
        }
        return .object(o)
    }
}

/// Thrown when a workflow cannot be loaded: every error found (and the warnings), in order.
public struct ValidationFailure: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    /// True when the failure is a bug in clp-flow rather than a problem of the input (exit 70).
    public var isInternal: Bool
    public init(diagnostics: [Diagnostic], isInternal: Bool = false) {
        self.diagnostics = diagnostics; self.isInternal = isInternal
    }
    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }
    /// All diagnostics rendered, errors first, then warnings.
    public var rendered: String { (errors + warnings).map(\.rendered).joined() }
    public var description: String { rendered }
}

/// Collects diagnostics while a workflow is read; fills in source lines from the files read.
final class DiagnosticSink {
    private(set) var diagnostics: [Diagnostic] = []
    /// Set when an internal inconsistency was found (reported as exit code 70, not 2).
    var internalFailure = false
    private var seen = Set<String>()
    var sources: [String: [Substring]] = [:]
    /// Template file → the position of the `extends` / `uses` reference that first included it.
    var includes: [String: SourcePosition] = [:]
    /// Files whose lines are never echoed (not YAML mappings).
    var withheld = Set<String>()

    func addSource(file: String, text: String) {
        guard !withheld.contains(file) else { return }
        sources[file] = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? $0.dropLast() : $0
        }
    }

    /// Takes the source lines and inclusion records of another sink (sinks of cells and of the
    /// semantic pass report in the same files).
    func inherit(from other: DiagnosticSink) {
        sources = other.sources
        includes = other.includes
        withheld = other.withheld
        blocked = other.blocked
    }

    /// Records that `file` was included by the reference at `position` (the first inclusion wins).
    func recordInclude(_ file: String, from position: SourcePosition) {
        if includes[file] == nil && file != position.file { includes[file] = position }
    }

    /// Stops echoing lines of `file` (a file that is not a YAML mapping), including in the
    /// diagnostics already collected.
    func withholdSource(_ file: String) {
        withheld.insert(file)
        sources[file] = nil
        for i in diagnostics.indices where diagnostics[i].file == file { diagnostics[i].sourceLine = "" }
    }

    func sourceLine(_ file: String, _ line: Int) -> String {
        guard let lines = sources[file], line >= 1, line <= lines.count else { return "" }
        return String(lines[line - 1])
    }

    /// Positions where a syntax problem was reported: nothing more is reported there (the value
    /// was read in a fallback form).
    private var blocked = Set<SourcePosition>()
    func block(_ p: SourcePosition) { blocked.insert(p) }

    func error(_ message: String, at p: SourcePosition) { add(Diagnostic(.error, message, at: p)) }
    func warning(_ message: String, at p: SourcePosition) { add(Diagnostic(.warning, message, at: p)) }

    func add(_ d: Diagnostic) {
        var d = d
        if d.sourceLine.isEmpty { d.sourceLine = sourceLine(d.file, d.line) }
        if d.includedFrom.isEmpty {
            var file = d.file
            var visited = Set<String>()
            while let p = includes[file], visited.insert(file).inserted {
                d.includedFrom.append(DiagnosticNote(file: p.file, line: p.line, column: p.column, sourceLine: sourceLine(p.file, p.line)))
                file = p.file
            }
        }
        if blocked.contains(d.position) { return }
        let key = "\(d.file):\(d.line):\(d.column):\(d.severity):\(d.message)"
        if seen.insert(key).inserted { diagnostics.append(d) }
    }

    /// Diagnostics ordered by file (in order of first appearance), line and column.
    var sorted: [Diagnostic] {
        var fileOrder: [String: Int] = [:]
        for d in diagnostics where fileOrder[d.file] == nil { fileOrder[d.file] = fileOrder.count }
        return diagnostics.enumerated().sorted { a, b in
            let ka = (fileOrder[a.element.file]!, a.element.line, a.element.column, a.offset)
            let kb = (fileOrder[b.element.file]!, b.element.line, b.element.column, b.offset)
            return ka < kb
        }.map(\.element)
    }

    var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
    var errorCount: Int { diagnostics.filter { $0.severity == .error }.count }
}

/// Levenshtein distance, for did-you-mean suggestions.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.lowercased()), b = Array(b.lowercased())
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count), cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[b.count]
}

/// The closest candidate within a distance proportional to the word's length. Candidates whose
/// length differs by more than that distance are skipped without computing it (the distance is at
/// least the difference in length), so long lists (every program on PATH) stay cheap.
func suggestion(for word: String, among candidates: [String]) -> String? {
    var best: (String, Int)? = nil
    let n = word.count, limit = max(2, n / 3)
    for c in candidates {
        if abs(c.count - n) > limit { continue }
        let d = editDistance(word, c)
        if d <= limit, best == nil || d < best!.1 { best = (c, d) }
    }
    return best?.0
}

/// Prefix matches count too (`attention` → `attn` is not close in edit distance).
func closest(_ word: String, _ candidates: [String]) -> String? {
    if let s = suggestion(for: word, among: candidates) { return s }
    let w = word.lowercased()
    guard w.count >= 3 else { return nil }
    return candidates.first { c in
        let c = c.lowercased()
        guard c.count >= 3, w.first == c.first else { return false }
        if w.hasPrefix(c) || c.hasPrefix(w) { return true }
        // The shorter word is a subsequence of the longer one (`attn` in `attention`).
        let (short, long) = c.count < w.count ? (c, w) : (w, c)
        var it = long.makeIterator()
        return short.allSatisfy { ch in while let x = it.next() { if x == ch { return true } }; return false }
    }
}

func didYouMean(_ word: String, _ candidates: [String]) -> String {
    if let s = closest(word, candidates) { return "; did you mean '\(s)'?" }
    return ""
}
