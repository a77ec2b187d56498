import Foundation
import Testing
import ClpFlowCore
@testable import ClpFlowEngine

/// Random strings mixing ASCII, control characters, Latin-1, combining marks, CJK, emoji with
/// joiners and variation selectors, unusual whitespace, apostrophes and special-token strings.
func randomText(_ rng: inout SeededRandom, maxScalars: Int) -> String {
    let pools: [ClosedRange<UInt32>] = [
        0x20...0x7E, 0x20...0x7E, 0x61...0x7A, 0x00...0x1F, 0x7F...0xFF, 0x300...0x36F,
        0x4E00...0x9FFF, 0x1F600...0x1F64F, 0x1F300...0x1F5FF, 0xAC00...0xD7A3, 0x0600...0x06FF,
        0x0900...0x097F, 0x2000...0x206F,
    ]
    let extras: [String] = ["\u{200D}", "\u{FE0F}", "\u{00A0}", "\u{3000}", "\u{2028}", "'s", "'ll", " ",
                            "  ", "\n", "\r\n", "\t", "<|endoftext|>", "<|summary|>", "e\u{301}", "👩‍👩‍👧"]
    var s = String.UnicodeScalarView()
    let n = Int(rng.next() % UInt64(maxScalars + 1))
    for _ in 0..<n {
        if rng.uniform() < 0.15 {
            s.append(contentsOf: extras[Int(rng.next() % UInt64(extras.count))].unicodeScalars)
            continue
        }
        let pool = pools[Int(rng.next() % UInt64(pools.count))]
        var v = pool.lowerBound + UInt32(rng.next() % UInt64(pool.upperBound - pool.lowerBound + 1))
        if (0xD800...0xDFFF).contains(v) { v = 0x41 }
        s.append(Unicode.Scalar(v)!)
    }
    return String(s)
}

let englishSample = """
    The quick brown fox jumps over the lazy dog. It's a well-known pangram; we'll use it here.
    Packages provide libraries, tools and documentation for developers. This package contains
    the development files for the library. The library is written in C and it's fast. They've
    shipped version 2.0.1 in 2023, and I'm sure you'd like it. Numbers: 12345 678 9.
    """

func smallTrainedTokenizer(vocab: Int = 400) throws -> BPETokenizer {
    var rng = SeededRandom(seed: 7)
    var corpus = Array(repeating: englishSample, count: 3)
    for _ in 0..<40 { corpus.append(randomText(&rng, maxScalars: 60)) }
    return try BPETrainer(vocabSize: vocab).train(corpus)
}

@Test func byteUnicodeMappingMatchesGPT2() {
    #expect(ByteUnicode.scalarOf[Int(UInt8(ascii: "!"))] == "!")
    #expect(ByteUnicode.scalarOf[Int(UInt8(ascii: " "))] == "\u{120}")  // Ġ
    #expect(ByteUnicode.scalarOf[10] == "\u{10A}")  // Ċ
    #expect(ByteUnicode.scalarOf[0] == "\u{100}")
    #expect(ByteUnicode.scalarOf[0x7F] == "\u{121}")
    #expect(ByteUnicode.scalarOf[0xAD] == "\u{143}")
    #expect(ByteUnicode.scalarOf[0xAE] == "\u{AE}")
    #expect(Set(ByteUnicode.scalarOf).count == 256)
    for b in 0..<256 { #expect(ByteUnicode.byteOf[ByteUnicode.scalarOf[b]] == UInt8(b)) }
}

@Test func preTokenizerFollowsGPT2Pattern() {
    #expect(PreTokenizer.pieces("Hello world") == ["Hello", " world"])
    #expect(PreTokenizer.pieces("I'm  here\n\nok ") == ["I", "'m", " ", " here", "\n", "\n", "ok", " "])
    #expect(PreTokenizer.pieces("they'll'VE 's") == ["they", "'ll", "'", "VE", " '", "s"])
    #expect(PreTokenizer.pieces("x=3.14!!  ") == ["x", "=", "3", ".", "14", "!!", "  "])
    #expect(PreTokenizer.pieces("abc123 def") == ["abc", "123", " def"])
    #expect(PreTokenizer.pieces(" ?!a") == [" ?!", "a"])
    // A tab before a word does not attach (only U+0020 does): "\t" then "\t" then "word".
    #expect(PreTokenizer.pieces("\t\tword") == ["\t", "\t", "word"])
    #expect(PreTokenizer.pieces("café e\u{301}t\u{E9}") == ["café", " e", "\u{301}", "t\u{E9}"])
    #expect(PreTokenizer.pieces("日本語 テキスト") == ["日本語", " テキスト"])
    #expect(PreTokenizer.pieces("") == [])
    // Pieces always tile the input.
    var rng = SeededRandom(seed: 3)
    for _ in 0..<200 {
        let s = randomText(&rng, maxScalars: 40)
        #expect(PreTokenizer.pieces(s).joined().unicodeScalars.elementsEqual(s.unicodeScalars))
    }
}

@Test func trainingKnownSmallCase() throws {
    let tok = try BPETrainer(vocabSize: 300).train(["ab ab ab abc"])
    // Pieces: "ab", " ab", " ab", " abc". (a,b) occurs 4 times, then (Ġ,ab) 3 times, then only
    // pairs occurring once remain, below the default minimum frequency of 2.
    #expect(tok.merges.map { [tok.tokenString($0.left), tok.tokenString($0.right)] } == [["a", "b"], ["Ġ", "ab"]])
    #expect(tok.vocabSize == 260)
    #expect(tok.encode("ab abc") == [258, 259, 99])
    #expect(tok.decode([258, 259, 99]) == "ab abc")
}

@Test func trainingTieBreakIsSmallerLeftThenRightId() throws {
    let tok = try BPETrainer(vocabSize: 261, minFrequency: 1).train(["xy yx"])
    // All three pairs occur once: (Ġ=32, y) first, then (x=120, y=121) before (y, x) and (Ġy, x).
    #expect(tok.merges.map { [tok.tokenString($0.left), tok.tokenString($0.right)] }
        == [["Ġ", "y"], ["x", "y"], ["Ġy", "x"]])
}

@Test func trainingIsDeterministic() throws {
    let a = try smallTrainedTokenizer(), b = try smallTrainedTokenizer()
    #expect(a.merges == b.merges)
    #expect(a.vocabSize == 400)
    let dirA = FileManager.default.temporaryDirectory.appendingPathComponent("tokA-\(UUID().uuidString)")
    let dirB = FileManager.default.temporaryDirectory.appendingPathComponent("tokB-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dirA); try? FileManager.default.removeItem(at: dirB) }
    try a.save(to: dirA); try b.save(to: dirB)
    for f in ["vocab.json", "merges.txt"] {
        #expect(try Data(contentsOf: dirA.appendingPathComponent(f)) == Data(contentsOf: dirB.appendingPathComponent(f)))
    }
}

@Test func bpeRoundTripsRandomUTF8() throws {
    let tok = try smallTrainedTokenizer()
    var rng = SeededRandom(seed: 11)
    for _ in 0..<500 {
        let s = randomText(&rng, maxScalars: 80)
        let ids = tok.encode(s)
        #expect(ids.allSatisfy { $0 >= 0 && $0 < tok.vocabSize && $0 != tok.eotId && $0 != tok.sepId })
        #expect(Array(tok.decode(ids).utf8) == Array(s.utf8), "round trip failed for \(s.debugDescription)")
        let withSpecial = tok.encode(s, allowSpecial: true)
        #expect(Array(tok.decode(withSpecial).utf8) == Array(s.utf8))
    }
    // Merges make English shorter than its bytes.
    #expect(tok.encode(englishSample).count < englishSample.utf8.count / 2)
}

@Test func specialTokensOnlyWhenAllowed() throws {
    let tok = try smallTrainedTokenizer()
    let text = "doc<|summary|>sum<|endoftext|>"
    let special = tok.encode(text, allowSpecial: true)
    #expect(special.filter { $0 == SpecialTokens.summaryId } .count == 1)
    #expect(special.last == SpecialTokens.endOfTextId)
    #expect(tok.encode(text).contains(SpecialTokens.summaryId) == false)
    #expect(tok.decode(special) == text)
    #expect(tok.eotId == 256 && tok.sepId == 257)
    let bytes = ByteTokenizer()
    #expect(bytes.encode("a<|summary|>b", allowSpecial: true) == [97, 257, 98])
    #expect(bytes.encode("a<|summary|>b").count == 13)
}

@Test func byteTokenizerRoundTripsAndSaves() throws {
    let tok = ByteTokenizer()
    #expect(tok.vocabSize == 258)
    var rng = SeededRandom(seed: 5)
    for _ in 0..<200 {
        let s = randomText(&rng, maxScalars: 50)
        #expect(Array(tok.decode(tok.encode(s)).utf8) == Array(s.utf8))
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tokbyte-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    try tok.save(to: dir)
    let loaded = try loadTokenizer(from: dir)
    #expect(loaded is ByteTokenizer)
    #expect(loaded.encode("héllo") == tok.encode("héllo"))
}

@Test func bpeSaveLoadRoundTrip() throws {
    let tok = try smallTrainedTokenizer()
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tokbpe-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    try tok.save(to: dir)
    let merges = try String(contentsOf: dir.appendingPathComponent("merges.txt"), encoding: .utf8)
    #expect(merges.hasPrefix("#version: 0.2\n"))
    #expect(merges.split(separator: "\n").count == 1 + tok.merges.count)
    let vocab = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("vocab.json"))) as! [String: Int]
    #expect(vocab.count == tok.vocabSize)
    #expect(vocab["Ġ"] == 32 && vocab["<|endoftext|>"] == 256 && vocab["<|summary|>"] == 257)
    let loaded = try loadTokenizer(from: dir)
    #expect(loaded.vocabSize == tok.vocabSize)
    var rng = SeededRandom(seed: 13)
    for _ in 0..<100 {
        let s = randomText(&rng, maxScalars: 60)
        #expect(loaded.encode(s, allowSpecial: true) == tok.encode(s, allowSpecial: true))
    }
}

@Test func loadReportsBrokenFiles() throws {
    let tok = try smallTrainedTokenizer()
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tokbad-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    try tok.save(to: dir)
    try "#version: 0.2\nĠ t\nnot-a-pair\n".write(to: dir.appendingPathComponent("merges.txt"), atomically: true, encoding: .utf8)
    #expect(throws: TokenizerError.self) { try BPETokenizer.load(from: dir) }
    do { _ = try BPETokenizer.load(from: dir) } catch {
        #expect("\(error)".contains("merges.txt:"))
    }
    #expect(throws: TokenizerError.invalidVocabSize(requested: 100, minimum: 258)) {
        try BPETrainer(vocabSize: 100).train(["abc"])
    }
}

@Test func loadsGPT2OrderedFiles() throws {
    // GPT-2's own layout: byte tokens ordered by their printable scalar (so "!" is 0 and "Ġ" is
    // 220), merged tokens next, special tokens last.
    let byteTokens = (0..<256).map { ByteUnicode.encode([UInt8($0)]) }
        .sorted { $0.unicodeScalars.first!.value < $1.unicodeScalars.first!.value }
    var vocab: [String: Int] = [:]
    for (i, t) in byteTokens.enumerated() { vocab[t] = i }
    let merged = ["Ġt", "he", "Ġthe"]
    for (i, t) in merged.enumerated() { vocab[t] = 256 + i }
    vocab["<|endoftext|>"] = 259
    vocab["<|summary|>"] = 260
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tokgpt2-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try JSONSerialization.data(withJSONObject: vocab).write(to: dir.appendingPathComponent("vocab.json"))
    try "#version: 0.2\nĠ t\nh e\nĠt he\n".write(to: dir.appendingPathComponent("merges.txt"), atomically: true, encoding: .utf8)
    let tok = try BPETokenizer.load(from: dir)
    #expect(tok.vocabSize == 261 && tok.eotId == 259 && tok.sepId == 260)
    // " the" → Ġthe; "the" → t + he; "!" is id 0 in this layout.
    #expect(tok.encode(" the") == [258])
    #expect(tok.encode("the!") == [vocab["t"]!, 257, 0])
    #expect(tok.decode([258, 259]) == " the<|endoftext|>")
    #expect(!tok.appendedSeparator)
    // Without the end-of-text token the files are rejected with a clear message (a missing
    // separator is appended instead: see TokenizerGPT2Tests).
    vocab["<|endoftext|>"] = nil
    vocab["<|summary|>"] = 259
    try JSONSerialization.data(withJSONObject: vocab).write(to: dir.appendingPathComponent("vocab.json"))
    #expect(throws: TokenizerError.missingSpecialToken("<|endoftext|>", file: dir.appendingPathComponent("vocab.json").path)) {
        try BPETokenizer.load(from: dir)
    }
}
