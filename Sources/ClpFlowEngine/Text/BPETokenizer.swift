import ClpFlowCore
import Foundation

/// Byte-level BPE in GPT-2's scheme: text is pre-tokenised (see `PreTokenizer`), each piece's
/// UTF-8 bytes become byte tokens, and ranked merges are applied (lowest rank first, all
/// non-overlapping occurrences left to right) until none applies. Files are GPT-2's: `vocab.json`
/// (token string → id, bytes written with `ByteUnicode`) and `merges.txt` (`#version: 0.2`, then
/// one `left right` pair per line, in rank order). Special tokens may sit at any id: clp-flow's
/// own files use 256/257, GPT-2's put `<|endoftext|>` last (50256).
public final class BPETokenizer: Tokenizer, @unchecked Sendable {
    /// A learned merge: `left` + `right` → `result`, applied in rank order.
    public struct Merge: Hashable, Sendable {
        public var left: Int, right: Int, result: Int
        public init(left: Int, right: Int, result: Int) { self.left = left; self.right = right; self.result = result }
    }

    public let vocabSize: Int
    public let eotId: Int
    public let sepId: Int
    /// The merges in rank order.
    public let merges: [Merge]
    /// Bytes of every id (empty for special ids).
    let bytesOf: [[UInt8]]
    /// Id of each single byte.
    let byteId: [Int]
    /// Special-token string of each special id.
    let specialText: [Int: String]
    /// (left, right) packed → (rank, result).
    let mergeTable: [UInt64: (rank: Int32, result: Int32)]
    /// The special strings matched by `encode(_:allowSpecial: true)`, with this vocabulary's ids.
    let specialPatterns: SpecialSplit.Patterns
    /// True when `load(from:)` found no `<|summary|>` in `vocab.json` and appended it as the last
    /// id (`sepId == vocabSize - 1`); a model trained with the original vocabulary then needs one
    /// more embedding row (`GPTModel.appendingVocabularyRows(_:)`).
    public let appendedSeparator: Bool

    private var cache: [[UInt8]: [Int]] = [:]
    private let cacheLock = NSLock()
    /// Pieces longer than this (in bytes) are not cached, to keep memory bounded.
    static let maxCachedPieceBytes = 64
    static let maxCacheEntries = 200_000

    /// Builds a tokenizer from explicit tables. `bytesOf[id]` must be non-empty for every
    /// non-special id, and every byte value must have an id of its own.
    init(bytesOf: [[UInt8]], specials: [Int: String], merges: [Merge], appendedSeparator: Bool = false) {
        self.bytesOf = bytesOf
        self.appendedSeparator = appendedSeparator
        self.specialPatterns = SpecialSplit.patterns(specials)
        self.vocabSize = bytesOf.count
        self.specialText = specials
        self.eotId = specials.first { $0.value == SpecialTokens.endOfText }!.key
        self.sepId = specials.first { $0.value == SpecialTokens.summary }!.key
        var byteId = [Int](repeating: -1, count: 256)
        for (id, b) in bytesOf.enumerated() where b.count == 1 && specials[id] == nil { byteId[Int(b[0])] = id }
        self.byteId = byteId
        self.merges = merges
        var table: [UInt64: (rank: Int32, result: Int32)] = [:]
        table.reserveCapacity(merges.count)
        for (rank, m) in merges.enumerated() {
            let key = Self.pairKey(m.left, m.right)
            if table[key] == nil { table[key] = (Int32(rank), Int32(m.result)) }
        }
        self.mergeTable = table
    }

    @inline(__always) static func pairKey(_ a: Int, _ b: Int) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }

    /// The token string of an id as written in `vocab.json`.
    public func tokenString(_ id: Int) -> String {
        if let s = specialText[id] { return s }
        return ByteUnicode.encode(bytesOf[id])
    }

    public func encode(_ text: String, allowSpecial: Bool) -> [Int] {
        let scalars = Array(text.unicodeScalars)
        var out: [Int] = []
        out.reserveCapacity(scalars.count / 3 + 1)
        if allowSpecial {
            for piece in SpecialSplit.split(scalars, patterns: specialPatterns) {
                switch piece {
                case .special(let id): out.append(id)
                case .text(let seg): encodeOrdinary(seg, into: &out)
                }
            }
        } else {
            encodeOrdinary(scalars[...], into: &out)
        }
        return out
    }

    private func encodeOrdinary(_ scalars: ArraySlice<Unicode.Scalar>, into out: inout [Int]) {
        var bytes: [UInt8] = []
        for r in PreTokenizer.split(scalars) {
            bytes.removeAll(keepingCapacity: true)
            for k in r { bytes.append(contentsOf: UTF8.encode(scalars[scalars.startIndex + k])!) }
            out.append(contentsOf: encodePiece(bytes))
        }
    }

    /// Token ids of one pre-tokenised piece (its UTF-8 bytes), using the cache.
    func encodePiece(_ bytes: [UInt8]) -> [Int] {
        let cacheable = bytes.count <= Self.maxCachedPieceBytes
        if cacheable {
            cacheLock.lock()
            let hit = cache[bytes]
            cacheLock.unlock()
            if let hit { return hit }
        }
        let ids = applyMerges(bytes.map { byteId[Int($0)] })
        if cacheable {
            cacheLock.lock()
            if cache.count >= Self.maxCacheEntries { cache.removeAll(keepingCapacity: true) }
            cache[bytes] = ids
            cacheLock.unlock()
        }
        return ids
    }

    /// Repeatedly merges the adjacent pair with the lowest rank (every non-overlapping occurrence,
    /// left to right) until no adjacent pair is a known merge.
    func applyMerges(_ start: [Int]) -> [Int] {
        var word = start
        if word.count < 2 { return word }
        while word.count >= 2 {
            var bestRank = Int32.max
            var best: (Int, Int, Int) = (0, 0, 0)
            for k in 0..<(word.count - 1) {
                if let m = mergeTable[Self.pairKey(word[k], word[k + 1])], m.rank < bestRank {
                    bestRank = m.rank
                    best = (word[k], word[k + 1], Int(m.result))
                }
            }
            if bestRank == Int32.max { break }
            var merged: [Int] = []
            merged.reserveCapacity(word.count)
            var k = 0
            while k < word.count {
                if k + 1 < word.count && word[k] == best.0 && word[k + 1] == best.1 {
                    merged.append(best.2); k += 2
                } else {
                    merged.append(word[k]); k += 1
                }
            }
            word = merged
        }
        return word
    }

    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        var out = ""
        for id in ids {
            if let s = specialText[id] {
                out += String(decoding: bytes, as: UTF8.self); bytes.removeAll()
                out += s
            } else if id >= 0 && id < bytesOf.count {
                bytes.append(contentsOf: bytesOf[id])
            }
        }
        out += String(decoding: bytes, as: UTF8.self)
        return out
    }

    // MARK: files

    public func save(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // vocab.json in id order, written by hand so the file is stable and readable.
        var v = "{"
        for id in 0..<vocabSize {
            if id > 0 { v += "," }
            v += "\n  " + JSONString.quote(tokenString(id)) + ": \(id)"
        }
        v += "\n}\n"
        try Data(v.utf8).write(to: directory.appendingPathComponent("vocab.json"), options: .atomic)
        var m = "#version: 0.2\n"
        for merge in merges { m += tokenString(merge.left) + " " + tokenString(merge.right) + "\n" }
        try Data(m.utf8).write(to: directory.appendingPathComponent("merges.txt"), options: .atomic)
        try TokenizerConfigFile(kind: "bpe", vocabSize: vocabSize, eotId: eotId, sepId: sepId).write(to: directory)
    }

    /// Loads `vocab.json` and `merges.txt` from a directory (GPT-2's format). Ids need not follow
    /// clp-flow's layout: every byte needs a token and `<|endoftext|>` must be present, at any id.
    /// When the vocabulary has no `<|summary|>` (real GPT-2 vocabularies do not), it is appended
    /// as a new id equal to the old vocabulary size and `appendedSeparator` is true; `save(to:)`
    /// then writes it into `vocab.json` like any other token.
    public static func load(from directory: URL) throws -> BPETokenizer {
        let vocabURL = directory.appendingPathComponent("vocab.json")
        let mergesURL = directory.appendingPathComponent("merges.txt")
        guard FileManager.default.fileExists(atPath: vocabURL.path) else { throw TokenizerError.missingFile(vocabURL.path) }
        guard FileManager.default.fileExists(atPath: mergesURL.path) else { throw TokenizerError.missingFile(mergesURL.path) }
        let vocabData = try Data(contentsOf: vocabURL)
        guard let obj = try? JSONSerialization.jsonObject(with: vocabData) as? [String: Any] else {
            throw TokenizerError.malformed(file: vocabURL.path, line: nil, message: "expected a JSON object mapping token strings to ids")
        }
        var idOf: [String: Int] = [:]
        var maxId = -1
        for (k, v) in obj {
            guard let n = v as? NSNumber, n.doubleValue == n.doubleValue.rounded(), n.intValue >= 0 else {
                throw TokenizerError.malformed(file: vocabURL.path, line: nil, message: "id of \(JSONString.quote(k)) is not a non-negative integer")
            }
            idOf[k] = n.intValue
            maxId = max(maxId, n.intValue)
        }
        var bytesOf = [[UInt8]?](repeating: nil, count: maxId + 1)
        var specials: [Int: String] = [:]
        for (tok, id) in idOf {
            if bytesOf[id] != nil || specials[id] != nil {
                throw TokenizerError.malformed(file: vocabURL.path, line: nil, message: "id \(id) is used twice")
            }
            if SpecialTokens.all.contains(where: { $0.text == tok }) {
                specials[id] = tok; bytesOf[id] = []
            } else if let b = ByteUnicode.decode(tok), !b.isEmpty {
                bytesOf[id] = b
            } else {
                throw TokenizerError.malformed(file: vocabURL.path, line: nil, message: "token \(JSONString.quote(tok)) is not a byte-level token string")
            }
        }
        if let gap = bytesOf.firstIndex(where: { $0 == nil }) {
            throw TokenizerError.malformed(file: vocabURL.path, line: nil, message: "ids are not contiguous: id \(gap) is missing")
        }
        if idOf[SpecialTokens.endOfText] == nil {
            throw TokenizerError.missingSpecialToken(SpecialTokens.endOfText, file: vocabURL.path)
        }
        var appended = false
        if idOf[SpecialTokens.summary] == nil {
            specials[bytesOf.count] = SpecialTokens.summary
            bytesOf.append([])
            appended = true
        }
        for b in 0..<256 where idOf[ByteUnicode.encode([UInt8(b)])] == nil {
            throw TokenizerError.malformed(file: vocabURL.path, line: nil, message: "byte \(b) has no token \(JSONString.quote(ByteUnicode.encode([UInt8(b)])))")
        }
        guard let mergesText = String(data: try Data(contentsOf: mergesURL), encoding: .utf8) else {
            throw TokenizerError.malformed(file: mergesURL.path, line: nil, message: "not UTF-8 text")
        }
        var merges: [Merge] = []
        for (i, rawLine) in mergesText.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.isEmpty || (i == 0 && line.hasPrefix("#version")) { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, let a = idOf[String(parts[0])], let b = idOf[String(parts[1])] else {
                throw TokenizerError.malformed(file: mergesURL.path, line: i + 1, message: "expected two vocabulary tokens separated by one space, got \(JSONString.quote(String(line)))")
            }
            guard let r = idOf[String(parts[0]) + String(parts[1])] else {
                throw TokenizerError.malformed(file: mergesURL.path, line: i + 1, message: "the merged token \(JSONString.quote(String(parts[0]) + String(parts[1]))) is not in vocab.json")
            }
            merges.append(Merge(left: a, right: b, result: r))
        }
        return BPETokenizer(bytesOf: bytesOf.map { $0! }, specials: specials, merges: merges, appendedSeparator: appended)
    }
}

enum JSONString {
    /// A JSON string literal (quotes, backslashes and control characters escaped).
    static func quote(_ s: String) -> String { JSONValue.quoted(s) }
}
