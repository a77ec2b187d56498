import Foundation

/// Special tokens shared by every tokenizer. In clp-flow's own tokenizers their ids are fixed,
/// whatever the vocabulary size: 0–255 are the byte tokens, 256 is `<|endoftext|>` and 257 is
/// `<|summary|>` (the separator between a document and its summary); learned BPE merges take the
/// ids from 258 upwards. A GPT-2 vocabulary loaded from elsewhere keeps its own ids (GPT-2 has
/// `<|endoftext|>` = 50256, its last id) and, having no `<|summary|>`, gets one appended as a new
/// last id (see `BPETokenizer.load(from:)`).
public enum SpecialTokens {
    public static let endOfText = "<|endoftext|>"
    public static let summary = "<|summary|>"
    public static let endOfTextId = 256
    public static let summaryId = 257
    /// Every special token, in id order.
    public static let all: [(text: String, id: Int)] = [(endOfText, endOfTextId), (summary, summaryId)]
    /// The first id available to learned merges.
    public static let firstMergeId = 258
}

/// A text ↔ token-id mapping. Both the byte tokenizer and the byte-level BPE tokenizer conform.
public protocol Tokenizer: Sendable {
    /// Number of ids (the model's vocabulary size): every id is in `0..<vocabSize`.
    var vocabSize: Int { get }
    /// Id of `<|endoftext|>`.
    var eotId: Int { get }
    /// Id of the document/summary separator `<|summary|>`.
    var sepId: Int { get }
    /// Encodes text. Special-token strings are recognised as whole strings only when
    /// `allowSpecial` is true; otherwise they are encoded as ordinary text.
    func encode(_ text: String, allowSpecial: Bool) -> [Int]
    /// Decodes ids back to text. Special ids decode to their strings, ids outside 0..<vocabSize
    /// are ignored; byte sequences that are not
    /// valid UTF-8 (possible for arbitrary id sequences) decode with U+FFFD replacements.
    func decode(_ ids: [Int]) -> String
    /// Writes the tokenizer files into `directory` (created if needed).
    func save(to directory: URL) throws
    /// Reads a tokenizer of this kind from the files `save(to:)` wrote. `loadTokenizer(from:)`
    /// reads either kind.
    static func load(from directory: URL) throws -> Self
}

extension Tokenizer {
    public func encode(_ text: String) -> [Int] { encode(text, allowSpecial: false) }
}

public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case missingFile(String)
    case malformed(file: String, line: Int?, message: String)
    case missingSpecialToken(String, file: String)
    case invalidVocabSize(requested: Int, minimum: Int)

    public var description: String {
        switch self {
        case .missingFile(let p):
            return "tokenizer file not found: \(p)"
        case .malformed(let f, let line, let m):
            if let line { return "\(f):\(line): \(m)" }
            return "\(f): \(m)"
        case .missingSpecialToken(let t, let f):
            return "\(f): special token \(t) is missing from the vocabulary; clp-flow needs \(SpecialTokens.endOfText) (\(SpecialTokens.summary) is appended when absent)"
        case .invalidVocabSize(let r, let m):
            return "vocabulary size \(r) is too small: it must be at least \(m) (256 bytes + 2 special tokens)"
        }
    }
}

/// Small description file written next to the vocabulary so a directory can be loaded without
/// knowing its kind in advance.
struct TokenizerConfigFile: Codable {
    var kind: String
    var vocabSize: Int
    var eotId: Int
    var sepId: Int
    enum CodingKeys: String, CodingKey { case kind, vocabSize = "vocab_size", eotId = "eot_id", sepId = "sep_id" }

    static let fileName = "clp_tokenizer.json"

    func write(to directory: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        try enc.encode(self).write(to: directory.appendingPathComponent(Self.fileName), options: .atomic)
    }
}

/// Loads whichever tokenizer `directory` holds: byte-level BPE when it has `vocab.json` and
/// `merges.txt`, the byte tokenizer when its `clp_tokenizer.json` says `"kind": "byte"`.
public func loadTokenizer(from directory: URL) throws -> any Tokenizer {
    let fm = FileManager.default
    let configURL = directory.appendingPathComponent(TokenizerConfigFile.fileName)
    if fm.fileExists(atPath: configURL.path) {
        let data = try Data(contentsOf: configURL)
        guard let cfg = try? JSONDecoder().decode(TokenizerConfigFile.self, from: data) else {
            throw TokenizerError.malformed(file: configURL.path, line: nil, message: "not a tokenizer configuration")
        }
        if cfg.kind == "byte" { return ByteTokenizer() }
    }
    if fm.fileExists(atPath: directory.appendingPathComponent("vocab.json").path) {
        return try BPETokenizer.load(from: directory)
    }
    throw TokenizerError.missingFile(directory.appendingPathComponent("vocab.json").path)
}

/// Splits a scalar sequence around whole occurrences of the special-token strings, returning
/// ordinary segments and special ids in order. Matching is exact, scalar by scalar (no Unicode
/// normalisation), so a following combining mark does not hide a special token.
enum SpecialSplit {
    enum Piece { case text(ArraySlice<Unicode.Scalar>), special(Int) }

    typealias Patterns = [([Unicode.Scalar], Int)]

    /// clp-flow's fixed special ids.
    static let patterns: Patterns = SpecialTokens.all.map { (Array($0.text.unicodeScalars), $0.id) }

    /// The patterns of a vocabulary's own special ids (longest string first, so no special token
    /// hides a longer one that starts the same way).
    static func patterns(_ specials: [Int: String]) -> Patterns {
        specials.map { (Array($0.value.unicodeScalars), $0.key) }
            .sorted { $0.0.count != $1.0.count ? $0.0.count > $1.0.count : $0.1 < $1.1 }
    }

    static func split(_ scalars: [Unicode.Scalar], patterns: Patterns = SpecialSplit.patterns) -> [Piece] {
        var pieces: [Piece] = []
        var start = 0, i = 0
        let n = scalars.count
        while i < n {
            var matched: (Int, Int)? = nil
            if scalars[i] == "<" {
                for (p, id) in patterns where i + p.count <= n {
                    var ok = true
                    for k in 0..<p.count where scalars[i + k] != p[k] { ok = false; break }
                    if ok { matched = (p.count, id); break }
                }
            }
            if let (len, id) = matched {
                if start < i { pieces.append(.text(scalars[start..<i])) }
                pieces.append(.special(id))
                i += len; start = i
            } else {
                i += 1
            }
        }
        if start < n { pieces.append(.text(scalars[start..<n])) }
        return pieces
    }
}
