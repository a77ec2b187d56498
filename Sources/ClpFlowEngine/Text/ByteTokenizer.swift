import Foundation

/// One token per UTF-8 byte (ids 0–255) plus the special tokens (256 `<|endoftext|>`,
/// 257 `<|summary|>`): vocabulary size 258.
public struct ByteTokenizer: Tokenizer {
    public init() {}
    public var vocabSize: Int { SpecialTokens.firstMergeId }
    public var eotId: Int { SpecialTokens.endOfTextId }
    public var sepId: Int { SpecialTokens.summaryId }

    public func encode(_ text: String, allowSpecial: Bool) -> [Int] {
        guard allowSpecial else { return text.utf8.map { Int($0) } }
        var out: [Int] = []
        for piece in SpecialSplit.split(Array(text.unicodeScalars)) {
            switch piece {
            case .special(let id): out.append(id)
            case .text(let seg): for u in seg { out.append(contentsOf: UTF8.encode(u)!.map { Int($0) }) }
            }
        }
        return out
    }

    public func decode(_ ids: [Int]) -> String {
        var out = "", bytes: [UInt8] = []
        for id in ids {
            if id >= 0 && id < 256 { bytes.append(UInt8(id)); continue }
            if let s = SpecialTokens.all.first(where: { $0.id == id })?.text {
                out += String(decoding: bytes, as: UTF8.self); bytes.removeAll()
                out += s
            }
        }
        return out + String(decoding: bytes, as: UTF8.self)
    }

    public func save(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try TokenizerConfigFile(kind: "byte", vocabSize: vocabSize, eotId: eotId, sepId: sepId).write(to: directory)
    }

    public static func load(from directory: URL) throws -> ByteTokenizer {
        let url = directory.appendingPathComponent(TokenizerConfigFile.fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { throw TokenizerError.missingFile(url.path) }
        let cfg = try JSONDecoder().decode(TokenizerConfigFile.self, from: Data(contentsOf: url))
        guard cfg.kind == "byte" else {
            throw TokenizerError.malformed(file: url.path, line: nil, message: "kind is \(cfg.kind), expected byte")
        }
        return ByteTokenizer()
    }
}
