import ClpFlowCore
import Foundation

/// Package descriptions from apt's English description index (`*_i18n_Translation-en*` files in
/// /var/lib/apt/lists, usually lz4- or xz-compressed): document = the long description,
/// summary = the one-line synopsis.
///
/// Files are read through `/usr/lib/apt/apt-helper cat-file` (apt's own decompression) in sorted
/// path order. Each deb822 stanza gives `Package`, `Description-md5` and `Description-en`: the
/// first line of `Description-en` is the synopsis, continuation lines (one leading space removed)
/// are the long description, and a line holding only " ." is a paragraph break. Within a
/// paragraph whitespace runs collapse to one space; paragraphs are joined with "\n"; the synopsis
/// is trimmed and collapsed the same way. Duplicates are dropped, keeping the first occurrence:
/// first by `Description-md5` (the same description listed by several suites or packages), then
/// by identical normalised documents (so one input never has two references). Example ids are
/// package names, with `@` and the first 8 hex digits of the md5 appended when a name repeats.
public struct DebianDescriptions: Sendable {
    public var listsDirectory: String
    public var aptHelper: String

    public init(listsDirectory: String = "/var/lib/apt/lists", aptHelper: String = "/usr/lib/apt/apt-helper") {
        self.listsDirectory = listsDirectory; self.aptHelper = aptHelper
    }

    /// Counts reported by `load()`.
    public struct Stats: Sendable, Equatable {
        public var files = 0
        public var stanzas = 0
        public var uniqueDescriptions = 0
        public var uniqueDocuments = 0
        public init() {}
    }

    /// The index files, sorted by path. Throws `debianIndexMissing` when there are none.
    public func indexFiles() throws -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: listsDirectory)) ?? []
        let files = names.filter { $0.contains("_i18n_Translation-en") && !$0.hasSuffix(".diff") && !$0.contains(".diff_") }
            .sorted().map { (listsDirectory as NSString).appendingPathComponent($0) }
            .filter { var d: ObjCBool = false; return FileManager.default.fileExists(atPath: $0, isDirectory: &d) && !d.boolValue }
        if files.isEmpty { throw DataError.debianIndexMissing(directory: listsDirectory) }
        return files
    }

    /// Decompressed text of one index file.
    public func readIndex(_ file: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: aptHelper) else {
            throw DataError.invalidConfiguration("\(aptHelper) not found: the debian-descriptions source needs apt (Debian or Ubuntu)")
        }
        let data = try ProcessCapture.run(executable: aptHelper, arguments: ["cat-file", file])
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads, parses, normalises and deduplicates every index file.
    public func load() throws -> (examples: [SummaryExample], stats: Stats) {
        var stats = Stats()
        var texts: [String] = []
        for f in try indexFiles() {
            texts.append(try readIndex(f))
            stats.files += 1
        }
        return Self.build(from: texts, stats: stats)
    }

    /// Builds examples from decompressed index texts (exposed for tests).
    public static func build(from texts: [String], stats initial: Stats = Stats()) -> (examples: [SummaryExample], stats: Stats) {
        var stats = initial
        var seenMD5 = Set<String>(), seenDocs = Set<String>(), usedIds = Set<String>()
        var out: [SummaryExample] = []
        for text in texts {
            for stanza in parseStanzas(text) {
                stats.stanzas += 1
                guard let (summary, document) = splitDescription(stanza.description) else { continue }
                let md5 = stanza.md5 ?? Digest.sha256Hex(stanza.description.joined(separator: "\n"))
                if !seenMD5.insert(md5).inserted { continue }
                stats.uniqueDescriptions += 1
                if !seenDocs.insert(document).inserted { continue }
                stats.uniqueDocuments += 1
                var id = stanza.package
                if !usedIds.insert(id).inserted {
                    id = "\(stanza.package)@\(md5.prefix(8))"
                    usedIds.insert(id)
                }
                out.append(SummaryExample(id: id, document: document, summary: summary))
            }
        }
        return (out, stats)
    }

    struct Stanza { var package: String; var md5: String?; var description: [String] }

    /// deb822 stanzas: fields start at column 0, continuation lines start with a space or tab,
    /// stanzas are separated by blank lines. Stanzas without Package or Description-en are
    /// skipped. Works on UTF-8 bytes for speed (the full index is about 35 MB).
    static func parseStanzas(_ text: String) -> [Stanza] {
        var text = text
        return text.withUTF8 { parseStanzas(bytes: $0) }
    }

    static func parseStanzas(bytes: UnsafeBufferPointer<UInt8>) -> [Stanza] {
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), cr = UInt8(ascii: "\r"), nl = UInt8(ascii: "\n")
        let colon = UInt8(ascii: ":")
        let kPackage = Array("Package".utf8), kMD5 = Array("Description-md5".utf8), kDesc = Array("Description-en".utf8)
        var result: [Stanza] = []
        var package: String? = nil, md5: String? = nil
        var desc: [String] = []
        var inDescription = false
        func flush() {
            if let p = package, !desc.isEmpty { result.append(Stanza(package: p, md5: md5, description: desc)) }
            package = nil; md5 = nil; desc = []; inDescription = false
        }
        func string(_ a: Int, _ b: Int) -> String { String(decoding: UnsafeBufferPointer(rebasing: bytes[a..<b]), as: UTF8.self) }
        func equals(_ a: Int, _ b: Int, _ key: [UInt8]) -> Bool {
            guard b - a == key.count else { return false }
            for k in 0..<key.count where bytes[a + k] != key[k] { return false }
            return true
        }
        var i = 0
        let n = bytes.count
        while i <= n {
            var j = i
            while j < n && bytes[j] != nl { j += 1 }
            var end = j
            if end > i && bytes[end - 1] == cr { end -= 1 }
            var blank = true
            for k in i..<end where bytes[k] != space && bytes[k] != tab { blank = false; break }
            if blank {
                flush()
            } else if bytes[i] == space || bytes[i] == tab {
                if inDescription { desc.append(string(i, end)) }
            } else if let c = (i..<end).first(where: { bytes[$0] == colon }) {
                var v0 = c + 1, v1 = end
                while v0 < v1 && (bytes[v0] == space || bytes[v0] == tab) { v0 += 1 }
                while v1 > v0 && (bytes[v1 - 1] == space || bytes[v1 - 1] == tab) { v1 -= 1 }
                inDescription = false
                if equals(i, c, kPackage) { package = string(v0, v1) }
                else if equals(i, c, kMD5) { md5 = string(v0, v1) }
                else if equals(i, c, kDesc) { desc = [string(v0, v1)]; inDescription = true }
            }
            i = j + 1
        }
        flush()
        return result
    }

    /// (synopsis, long description) of a Description-en field, or nil if either is empty.
    static func splitDescription(_ lines: [String]) -> (String, String)? {
        guard let first = lines.first else { return nil }
        let summary = collapse(first)
        var paragraphs: [String] = []
        var current = ""
        for line in lines.dropFirst() {
            let body = line.dropFirst()
            if body.utf8.elementsEqual(".".utf8) || collapse(body) == "." {
                let p = collapse(current)
                if !p.isEmpty { paragraphs.append(p) }
                current = ""
            } else {
                current += " "
                current += body
            }
        }
        let p = collapse(current)
        if !p.isEmpty { paragraphs.append(p) }
        let document = paragraphs.joined(separator: "\n")
        if summary.isEmpty || document.isEmpty { return nil }
        return (summary, document)
    }

    /// Trims and collapses every whitespace run (Unicode White_Space) to one space.
    static func collapse<S: StringProtocol>(_ s: S) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        var pendingSpace = false
        for u in s.unicodeScalars {
            let isSpace: Bool
            if u.value < 0x80 {
                isSpace = u.value == 0x20 || (0x09...0x0D).contains(u.value)
            } else {
                isSpace = u.properties.isWhitespace
            }
            if isSpace {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(0x20); pendingSpace = false }
                if u.value < 0x80 { out.append(UInt8(u.value)) } else { out.append(contentsOf: UTF8.encode(u)!) }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Runs a program and returns its standard output; fails with its standard error on a non-zero
/// exit status.
enum ProcessCapture {
    static func run(executable: String, arguments: [String]) throws -> Data {
        let command = ([executable] + arguments).joined(separator: " ")
        let r: ChildProcess.Result
        do { r = try ChildProcess.run([executable] + arguments) } catch let e as ChildProcess.SpawnError {
            throw DataError.commandFailed(command: command, status: -1, stderr: "cannot start: \(e.message)")
        }
        if r.status != 0 {
            let tail = String(decoding: r.errorOutput.suffix(2000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw DataError.commandFailed(command: command, status: r.status, stderr: tail)
        }
        return Data(r.output)
    }
}
