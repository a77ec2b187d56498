import Testing
import Foundation
@testable import ClpFlowEngine

@Suite struct CheckpointTests {
    func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("clpflow-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    @Test func safetensorsHeaderLayout() throws {
        let data = try SafeTensors.encode([("a", .init(shape: [2], values: [1, 2])), ("b", .init(shape: [1, 1], values: [3]))],
                                          metadata: ["k": "v\"q"])
        let n = Int(data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | (UInt64($1.element) << (8 * UInt64($1.offset))) })
        #expect(n % 8 == 0)
        #expect(data.count == 8 + n + 12)
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8 ..< 8 + n)) as! [String: Any]
        let a = header["a"] as! [String: Any]
        #expect(a["dtype"] as? String == "F32")
        #expect(a["data_offsets"] as? [Int] == [0, 8])
        #expect((header["b"] as! [String: Any])["data_offsets"] as? [Int] == [8, 12])
        #expect((header["__metadata__"] as! [String: String])["k"] == "v\"q")
        let back = try SafeTensors.decode(data)
        #expect(back.tensors["a"]?.values == [1, 2])
        #expect(back.tensors["b"]?.shape == [1, 1])
        #expect(back.order == ["a", "b"])
        #expect(back.metadata["k"] == "v\"q")
    }

    @Test func readsHalfPrecision() throws {
        // header for one F16 and one BF16 tensor written by hand
        let header = #"{"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[6,10]}}"#
        var bytes = Array(header.utf8)
        while bytes.count % 8 != 0 { bytes.append(0x20) }
        var data = Data()
        var n = UInt64(bytes.count).littleEndian
        withUnsafeBytes(of: &n) { data.append(contentsOf: $0) }
        data.append(contentsOf: bytes)
        // F16: 1.0 = 0x3C00, -2.0 = 0xC000, 0.5 = 0x3800; BF16: 1.0 = 0x3F80, -3.0 = 0xC040
        for h: UInt16 in [0x3C00, 0xC000, 0x3800, 0x3F80, 0xC040] { data.append(UInt8(h & 0xFF)); data.append(UInt8(h >> 8)) }
        let f = try SafeTensors.decode(data)
        #expect(f.tensors["h"]?.values == [1, -2, 0.5])
        #expect(f.tensors["b"]?.values == [1, -3])
    }

    @Test func rejectsCorruptFiles() {
        #expect(throws: GPTModelError.self) { try SafeTensors.decode(Data([1, 2, 3])) }
        var d = Data()
        var n = UInt64(1000).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array("{}".utf8))
        #expect(throws: GPTModelError.self) { try SafeTensors.decode(d) }
    }

    @Test(arguments: [true, false])
    func engineCheckpointRoundTrip(tied: Bool) throws {
        let cfg = GPTConfig(vocabSize: 13, context: 6, layers: 2, heads: 2, dModel: 8, tiedHead: tied)
        let m = try GPTModel(config: cfg, seed: 9)
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("m.safetensors")
        try m.save(to: url, metadata: ["step": "12"])
        let back = try GPTModel.load(from: url)
        #expect(back.config == cfg)
        #expect(back.params.array == m.params.array)
        #expect(try SafeTensors.read(url).metadata["step"] == "12")
    }

    @Test(arguments: [true, false])
    func huggingFaceDirectoryRoundTrip(tied: Bool) throws {
        let cfg = GPTConfig(vocabSize: 13, context: 6, layers: 1, heads: 2, dModel: 8, tiedHead: tied)
        let m = try GPTModel(config: cfg, seed: 4)
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try m.exportHuggingFace(to: dir)
        let c = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("config.json"))) as! [String: Any]
        #expect(c["model_type"] as? String == "gpt2")
        #expect(c["architectures"] as? [String] == ["GPT2LMHeadModel"])
        #expect(c["activation_function"] as? String == "gelu_new")
        #expect(c["tie_word_embeddings"] as? Bool == tied)
        #expect(c["n_embd"] as? Int == 8)
        #expect(c["eos_token_id"] is NSNull)
        try m.exportHuggingFace(to: dir, endOfText: 12)
        let c2 = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("config.json"))) as! [String: Any]
        #expect(c2["eos_token_id"] as? Int == 12 && c2["bos_token_id"] as? Int == 12)
        let names = try SafeTensors.read(dir.appendingPathComponent("model.safetensors")).tensors.keys
        #expect(names.contains("lm_head.weight") == !tied)
        let back = try GPTModel.importHuggingFace(from: dir)
        #expect(back.config == cfg)
        #expect(back.params.array == m.params.array)
    }

    @Test func importsOriginalGPT2Naming() throws {
        // Original GPT-2 checkpoints: no "transformer." prefix, attention-mask buffers, tied head stored.
        let cfg = GPTConfig(vocabSize: 7, context: 4, layers: 1, heads: 1, dModel: 4)
        let m = try GPTModel(config: cfg, seed: 2)
        var tensors: [(String, SafeTensors.Tensor)] = m.namedTensors().map { ($0.name.replacingOccurrences(of: "transformer.", with: ""), $0.tensor) }
        tensors.append(("h.0.attn.bias", .init(shape: [1, 1, 4, 4], values: [Float](repeating: 1, count: 16))))
        tensors.append(("h.0.attn.masked_bias", .init(shape: [], values: [-1e4])))
        tensors.append(("lm_head.weight", m.namedTensors()[0].tensor))
        let file = try SafeTensors.decode(try SafeTensors.encode(tensors.map { (name: $0.0, tensor: $0.1) }))
        let back = try GPTModel.fromTensors(file.tensors, config: cfg, source: "test")
        #expect(back.params.array == m.params.array)
        // a missing tensor is reported by name
        var partial = file.tensors
        partial.removeValue(forKey: "h.0.mlp.c_fc.bias")
        #expect {
            try GPTModel.fromTensors(partial, config: cfg, source: "test")
        } throws: { error in
            "\(error)".contains("transformer.h.0.mlp.c_fc.bias")
        }
        // a wrong shape is reported
        var wrong = file.tensors
        wrong["ln_f.weight"] = .init(shape: [5], values: [1, 1, 1, 1, 1])
        #expect(throws: GPTModelError.self) { try GPTModel.fromTensors(wrong, config: cfg, source: "test") }
    }

    @Test func rejectsUnsupportedHuggingFaceConfigs() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let m = try GPTModel(config: GPTConfig(vocabSize: 7, context: 4, layers: 1, heads: 1, dModel: 4), seed: 1)
        try m.exportHuggingFace(to: dir)
        var c = m.huggingFaceConfig()
        c["activation_function"] = "relu"
        try JSONSerialization.data(withJSONObject: c).write(to: dir.appendingPathComponent("config.json"))
        #expect(throws: GPTModelError.self) { try GPTModel.importHuggingFace(from: dir) }
    }
}
