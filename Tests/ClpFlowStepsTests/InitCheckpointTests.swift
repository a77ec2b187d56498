import Foundation
import Testing
@testable import ClpFlowEngine
@testable import ClpFlowSteps

/// Writes a GPT-2-style directory: byte tokens in character order, three merges,
/// `<|endoftext|>` last (id 259), and a seeded model with `modelVocab` vocabulary rows.
func writeGPT2StyleCheckpoint(tied: Bool, modelVocab: Int = 260, tokenizer: Bool = true, context: Int, dModel: Int) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("init-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    if tokenizer {
        let byteTokens = (0..<256).map { ByteUnicode.encode([UInt8($0)]) }
            .sorted { $0.unicodeScalars.first!.value < $1.unicodeScalars.first!.value }
        var vocab: [String: Int] = [:]
        for (i, t) in byteTokens.enumerated() { vocab[t] = i }
        for (i, t) in ["Ġt", "he", "Ġthe"].enumerated() { vocab[t] = 256 + i }
        vocab["<|endoftext|>"] = 259
        try JSONSerialization.data(withJSONObject: vocab).write(to: dir.appendingPathComponent("vocab.json"))
        try "#version: 0.2\nĠ t\nh e\nĠt he\n".write(to: dir.appendingPathComponent("merges.txt"), atomically: true, encoding: .utf8)
    }
    let model = try GPTModel(config: GPTConfig(vocabSize: modelVocab, context: context, layers: 1, heads: 2, dModel: dModel, tiedHead: tied), seed: 9)
    try model.exportHuggingFace(to: dir)
    return dir
}

/// `model.init` directories: the tokenizer and the weights come from the checkpoint, and a
/// vocabulary without `<|summary|>` grows by one id on both sides.
@Suite struct InitCheckpointTests {
    func gpt2Directory(tied: Bool, modelVocab: Int = 260, tokenizer: Bool = true) throws -> URL {
        try writeGPT2StyleCheckpoint(tied: tied, modelVocab: modelVocab, tokenizer: tokenizer, context: 16, dModel: 8)
    }

    @Test(arguments: [true, false]) func separatorIsAppendedAndTheEmbeddingGrows(tied: Bool) throws {
        let dir = try gpt2Directory(tied: tied)
        defer { try? FileManager.default.removeItem(at: dir) }
        let tok = try InitCheckpoint.tokenizer(in: dir)
        #expect(tok.eotId == 259 && tok.sepId == 260 && tok.vocabSize == 261)
        var said: [String] = []
        let model = try InitCheckpoint.model(in: dir, tokenizer: tok) { said.append($0) }
        #expect(model.config.vocabSize == 261 && model.config.tiedHead == tied)
        #expect(said.count == 1 && said[0].contains("id 260") && said[0].contains("260 to 261"))
        let original = try GPTModel.importHuggingFace(from: dir)
        let wte = model.view(named: "transformer.wte.weight")!
        #expect(Array(model.params.array[wte.offset ..< wte.offset + 260 * 8])
                == Array(original.params.array[wte.offset ..< wte.offset + 260 * 8]))
    }

    @Test func largerCheckpointVocabularyKeepsItsRows() throws {
        let dir = try gpt2Directory(tied: true, modelVocab: 272)
        defer { try? FileManager.default.removeItem(at: dir) }
        let tok = try InitCheckpoint.tokenizer(in: dir)
        var said: [String] = []
        let model = try InitCheckpoint.model(in: dir, tokenizer: tok) { said.append($0) }
        #expect(model.config.vocabSize == 272)
        #expect(said.count == 1 && said[0].contains("existing unused row"))
    }

    @Test func mismatchedOrMissingTokenizerIsExplained() throws {
        let small = try gpt2Directory(tied: true, modelVocab: 100)
        defer { try? FileManager.default.removeItem(at: small) }
        let tok = try InitCheckpoint.tokenizer(in: small)
        do {
            _ = try InitCheckpoint.model(in: small, tokenizer: tok) { _ in }
            Issue.record("a 100-row checkpoint with a 261-id tokenizer was accepted")
        } catch let e as StepError {
            #expect(e.description.contains("100 vocabulary rows") && e.description.contains("261 ids"))
        }
        let bare = try gpt2Directory(tied: true, tokenizer: false)
        defer { try? FileManager.default.removeItem(at: bare) }
        do {
            _ = try InitCheckpoint.tokenizer(in: bare)
            Issue.record("a checkpoint without tokenizer files was accepted")
        } catch let e as StepError {
            #expect(e.description.contains("has no tokenizer") && e.description.contains("vocab.json"))
        }
    }
}
