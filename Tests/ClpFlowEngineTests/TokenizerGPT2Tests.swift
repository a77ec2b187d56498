import Foundation
import Testing
import ClpFlowCore
@testable import ClpFlowEngine

/// GPT-2-style vocabularies: byte tokens in Hugging Face's order (by character, not by byte value),
/// merges after them and `<|endoftext|>` as the LAST id, with no `<|summary|>`.
struct GPT2StyleVocabulary {
    var vocab: [String: Int] = [:]
    let merges = "#version: 0.2\nĠ t\nh e\nĠt he\n"
    /// Id `<|endoftext|>` gets (the last id of the original files).
    var eot: Int { vocab["<|endoftext|>"]! }

    init() {
        let byteTokens = (0..<256).map { ByteUnicode.encode([UInt8($0)]) }
            .sorted { $0.unicodeScalars.first!.value < $1.unicodeScalars.first!.value }
        for (i, t) in byteTokens.enumerated() { vocab[t] = i }
        for (i, t) in ["Ġt", "he", "Ġthe"].enumerated() { vocab[t] = 256 + i }
        vocab["<|endoftext|>"] = 259
    }

    func write(to dir: URL) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: vocab).write(to: dir.appendingPathComponent("vocab.json"))
        try merges.write(to: dir.appendingPathComponent("merges.txt"), atomically: true, encoding: .utf8)
    }
}

private func scratch(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
}

@Test func gpt2VocabularyWithEndOfTextLastGetsTheSeparatorAppended() throws {
    let files = GPT2StyleVocabulary()
    let dir = scratch("gpt2vocab")
    defer { try? FileManager.default.removeItem(at: dir) }
    try files.write(to: dir)

    let tok = try BPETokenizer.load(from: dir)
    // 260 ids in the files; <|summary|> is appended as id 260.
    #expect(tok.appendedSeparator)
    #expect(tok.eotId == 259)
    #expect(tok.sepId == 260)
    #expect(tok.vocabSize == 261)
    #expect(tok.tokenString(260) == "<|summary|>")
    // Special strings map to this vocabulary's ids (not clp-flow's fixed 256/257).
    #expect(tok.encode("<|endoftext|>", allowSpecial: true) == [259])
    #expect(tok.encode("doc<|summary|> the<|endoftext|>", allowSpecial: true)
            == tok.encode("doc") + [260] + tok.encode(" the") + [259])
    #expect(tok.encode(" the") == [258])
    // As ordinary text the special strings are plain bytes, never the special ids.
    let plain = tok.encode("<|summary|><|endoftext|>")
    #expect(!plain.contains(259) && !plain.contains(260) && tok.decode(plain) == "<|summary|><|endoftext|>")
    #expect(tok.decode([258, 260, 259]) == " the<|summary|><|endoftext|>")
    // 256 and 257 are ordinary merged tokens here.
    #expect(tok.decode([256, 257]) == " the")

    // Saving writes the extended vocabulary; loading it back needs no appending.
    let saved = dir.appendingPathComponent("saved")
    try tok.save(to: saved)
    let vocab = try JSONSerialization.jsonObject(with: Data(contentsOf: saved.appendingPathComponent("vocab.json"))) as! [String: Int]
    #expect(vocab["<|summary|>"] == 260 && vocab["<|endoftext|>"] == 259 && vocab.count == 261)
    let back = try loadTokenizer(from: saved)
    let backBPE = try #require(back as? BPETokenizer)
    #expect(!backBPE.appendedSeparator)
    #expect(back.vocabSize == 261 && back.eotId == 259 && back.sepId == 260)
    var rng = SeededRandom(seed: 31)
    for _ in 0..<50 {
        let s = randomText(&rng, maxScalars: 40)
        #expect(back.encode(s, allowSpecial: true) == tok.encode(s, allowSpecial: true))
        #expect(back.decode(tok.encode(s)) == s)
    }
}

@Test func gpt2VocabularyWithoutEndOfTextIsRejected() throws {
    var files = GPT2StyleVocabulary()
    files.vocab["<|endoftext|>"] = nil
    let dir = scratch("gpt2vocab-noeot")
    defer { try? FileManager.default.removeItem(at: dir) }
    try files.write(to: dir)
    #expect(throws: TokenizerError.missingSpecialToken("<|endoftext|>", file: dir.appendingPathComponent("vocab.json").path)) {
        try BPETokenizer.load(from: dir)
    }
}

@Test func clpFlowTokenizerFilesKeepTheirFixedSpecialIds() throws {
    let tok = try smallTrainedTokenizer(vocab: 300)
    let dir = scratch("clpvocab")
    defer { try? FileManager.default.removeItem(at: dir) }
    try tok.save(to: dir)
    let back = try BPETokenizer.load(from: dir)
    #expect(!back.appendedSeparator && back.vocabSize == tok.vocabSize)
    #expect(back.eotId == SpecialTokens.endOfTextId && back.sepId == SpecialTokens.summaryId)
    #expect(back.encode("a<|summary|>b<|endoftext|>", allowSpecial: true).contains(SpecialTokens.summaryId))
}
