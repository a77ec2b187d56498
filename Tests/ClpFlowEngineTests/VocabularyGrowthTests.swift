import Foundation
import Testing
@testable import ClpFlowEngine

@Suite struct VocabularyGrowthTests {
    func grows(tied: Bool) throws {
        let cfg = GPTConfig(vocabSize: 11, context: 8, layers: 1, heads: 2, dModel: 8, tiedHead: tied)
        let model = try GPTModel(config: cfg, seed: tied ? 3 : 4)
        if !tied {  // make lm_head differ from wte so the two means are told apart
            let h = model.view(named: "lm_head.weight")!
            for i in 0..<h.count { model.params.pointer[h.offset + i] += Float(i % 7) * 0.01 }
        }
        let grown = try model.appendingVocabularyRows(1)
        #expect(grown.config.vocabSize == 12)
        #expect(grown.config.tiedHead == tied && grown.config.dModel == 8 && grown.config.layers == 1)
        let old = Dictionary(uniqueKeysWithValues: model.namedTensors().map { ($0.name, $0.tensor) })
        for (name, t) in grown.namedTensors() {
            let o = try #require(old[name])
            if name == "transformer.wte.weight" || name == "lm_head.weight" {
                #expect(t.shape == [12, 8])
                #expect(Array(t.values.prefix(11 * 8)) == o.values)
                for c in 0..<8 {
                    let mean = (0..<11).reduce(0.0) { $0 + Double(o.values[$1 * 8 + c]) } / 11
                    #expect(abs(Double(t.values[11 * 8 + c]) - mean) < 1e-6)
                }
            } else {
                #expect(t == o, "\(name) changed")
            }
        }
        // Logits of the old ids are unchanged; the new id scores the mean of the head rows.
        let tokens: [Int32] = [1, 5, 10, 2]
        let a = try model.forward(tokens: tokens, B: 1, T: 4)
        let b = try grown.forward(tokens: tokens, B: 1, T: 4)
        for t in 0..<4 {
            for v in 0..<11 { #expect(abs(a[t * 11 + v] - b[t * 12 + v]) < 1e-5) }
            let meanLogit = (0..<11).reduce(Float(0)) { $0 + a[t * 11 + $1] } / 11
            #expect(abs(b[t * 12 + 11] - meanLogit) < 1e-4)
        }
        // The grown model exports and imports as a Hugging Face directory with 12 rows.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("grown-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try grown.exportHuggingFace(to: dir)
        #expect(try GPTModel.importHuggingFace(from: dir).params.array == grown.params.array)
    }

    @Test func growsTiedEmbedding() throws { try grows(tied: true) }
    @Test func growsUntiedHead() throws { try grows(tied: false) }

    @Test func zeroRowsIsACopyAndNegativeIsRejected() throws {
        let model = try GPTModel(config: GPTConfig(vocabSize: 5, context: 4, layers: 1, heads: 1, dModel: 4), seed: 1)
        #expect(try model.appendingVocabularyRows(0).params.array == model.params.array)
        #expect(throws: GPTModelError.self) { try model.appendingVocabularyRows(-1) }
    }
}
