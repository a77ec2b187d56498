import Foundation

/// Checkpoints: the engine's own single-file format (safetensors with the config in the metadata)
/// and Hugging Face directories (`model.safetensors` + `config.json`, loadable by
/// `GPT2LMHeadModel.from_pretrained`).
extension GPTModel {
    static let configKey = "clp_flow_gpt_config"

    /// Named tensors in layout order.
    public func namedTensors() -> [(name: String, tensor: SafeTensors.Tensor)] {
        views.map { v in
            (v.name, SafeTensors.Tensor(shape: v.shape, values: params.values(ParamSlice(offset: v.offset, count: v.count))))
        }
    }

    /// Writes every parameter (Hugging Face names) to one safetensors file; the metadata holds the
    /// config as JSON under `clp_flow_gpt_config` plus `format: pt` and any extra entries.
    public func save(to url: URL, metadata: [String: String] = [:]) throws {
        var meta = metadata
        meta["format"] = "pt"
        meta[Self.configKey] = try configJSON()
        try SafeTensors.write(namedTensors(), metadata: meta, to: url)
    }

    func configJSON() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return String(decoding: try enc.encode(config), as: UTF8.self)
    }

    /// Loads a file written by `save(to:)` (the config comes from the metadata).
    public static func load(from url: URL) throws -> GPTModel {
        let file = try SafeTensors.read(url)
        guard let cfgText = file.metadata[configKey] else {
            throw GPTModelError.checkpoint("\(url.path): no \(configKey) metadata; for a Hugging Face directory use importHuggingFace(from:)")
        }
        let config: GPTConfig
        do { config = try JSONDecoder().decode(GPTConfig.self, from: Data(cfgText.utf8)) } catch {
            throw GPTModelError.checkpoint("\(url.path): unreadable \(configKey) metadata: \(error)")
        }
        return try fromTensors(file.tensors, config: config, source: url.path)
    }

    /// Builds a model from named tensors. Accepts names with or without the `transformer.` prefix,
    /// ignores the attention-mask buffers (`attn.bias`, `attn.masked_bias`) and, for a tied head,
    /// an `lm_head.weight` equal to wte.
    public static func fromTensors(_ tensors: [String: SafeTensors.Tensor], config: GPTConfig, source: String) throws -> GPTModel {
        try config.validate()
        let layout = GPTLayout(config)
        var canonical: [String: SafeTensors.Tensor] = [:]
        for (name, t) in tensors {
            if name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias") { continue }
            var n = name
            if n.hasPrefix("model.") { n.removeFirst("model.".count) }
            if !n.hasPrefix("transformer.") && n != "lm_head.weight" { n = "transformer." + n }
            canonical[n] = t
        }
        if config.tiedHead, let head = canonical.removeValue(forKey: "lm_head.weight"),
           let wte = canonical["transformer.wte.weight"], head != wte {
            throw GPTModelError.checkpoint("\(source): lm_head.weight differs from wte but the config says tie_word_embeddings = true")
        }
        var params = [Float](repeating: 0, count: layout.totalCount)
        var missing: [String] = []
        for v in layout.views {
            guard let t = canonical.removeValue(forKey: v.name) else { missing.append(v.name); continue }
            guard t.shape == v.shape else {
                throw GPTModelError.checkpoint("\(source): \(v.name) has shape \(t.shape), the config needs \(v.shape)")
            }
            params.replaceSubrange(v.offset ..< v.offset + v.count, with: t.values)
        }
        if !missing.isEmpty {
            throw GPTModelError.checkpoint("\(source): missing tensors \(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? " and \(missing.count - 5) more" : "")")
        }
        if !canonical.isEmpty {
            throw GPTModelError.checkpoint("\(source): unexpected tensors \(canonical.keys.sorted().prefix(5).joined(separator: ", ")) (not part of GPT-2 with this config)")
        }
        return try GPTModel(config: config, parameters: params)
    }

    // MARK: vocabulary growth

    /// A copy of the model with `count` more vocabulary ids (`vocabSize` grows by `count`). The new
    /// rows of `transformer.wte.weight` (and of an untied `lm_head.weight`) are each the mean of
    /// that tensor's existing rows, so a new token starts as an "average" token: tied logits for it
    /// are the mean of the old logits. Every other parameter is copied unchanged, and the logits of
    /// the old ids are unchanged. Used when a tokenizer appended `<|summary|>` to a GPT-2 vocabulary.
    public func appendingVocabularyRows(_ count: Int) throws -> GPTModel {
        guard count >= 0 else { throw GPTModelError.invalidInput("cannot append \(count) vocabulary rows") }
        if count == 0 { return copy() }
        var grown = config
        grown.vocabSize += count
        let V = config.vocabSize, C = config.dModel
        let target = GPTLayout(grown)
        let oldViews = Dictionary(uniqueKeysWithValues: layout.views.map { ($0.name, $0) })
        var values = [Float](repeating: 0, count: target.totalCount)
        let src = params.pointer
        values.withUnsafeMutableBufferPointer { dst in
            for v in target.views {
                let old = oldViews[v.name]!
                (dst.baseAddress! + v.offset).update(from: src + old.offset, count: old.count)
                guard v.count > old.count else { continue }  // wte, or an untied lm_head: [V, C] rows
                var mean = [Double](repeating: 0, count: C)
                for r in 0..<V { for c in 0..<C { mean[c] += Double(src[old.offset + r * C + c]) } }
                for k in 0..<count {
                    for c in 0..<C { dst[v.offset + (V + k) * C + c] = Float(mean[c] / Double(V)) }
                }
            }
        }
        return try GPTModel(config: grown, parameters: values)
    }

    // MARK: Hugging Face directories

    /// The `config.json` of a Hugging Face GPT-2 checkpoint for this model; `endOfText` becomes
    /// bos/eos_token_id (null when not given, since the model alone does not know its tokenizer).
    public func huggingFaceConfig(endOfText: Int32? = nil) -> [String: Any] {
        [
            "bos_token_id": endOfText.map { Int($0) as Any } ?? NSNull(),
            "eos_token_id": endOfText.map { Int($0) as Any } ?? NSNull(),
            "architectures": ["GPT2LMHeadModel"],
            "model_type": "gpt2",
            "vocab_size": config.vocabSize,
            "n_positions": config.context,
            "n_ctx": config.context,
            "n_embd": config.dModel,
            "n_layer": config.layers,
            "n_head": config.heads,
            "n_inner": NSNull(),
            "activation_function": "gelu_new",
            "layer_norm_epsilon": 1e-5,
            "initializer_range": 0.02,
            "resid_pdrop": 0.0,
            "embd_pdrop": 0.0,
            "attn_pdrop": 0.0,
            "scale_attn_weights": true,
            "tie_word_embeddings": config.tiedHead,
            "torch_dtype": "float32",
        ]
    }

    /// Writes `model.safetensors` and `config.json` into `dir` (created if needed). With a tied
    /// head, lm_head.weight is omitted (as `save_pretrained` does).
    public func exportHuggingFace(to dir: URL, endOfText: Int32? = nil) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try SafeTensors.write(namedTensors(), metadata: ["format": "pt", Self.configKey: try configJSON()],
                              to: dir.appendingPathComponent("model.safetensors"))
        let json = try JSONSerialization.data(withJSONObject: huggingFaceConfig(endOfText: endOfText), options: [.prettyPrinted, .sortedKeys])
        try json.write(to: dir.appendingPathComponent("config.json"), options: .atomic)
    }

    /// Reads a Hugging Face GPT-2 directory (`config.json` + `model.safetensors`), including real
    /// GPT-2 checkpoints.
    public static func importHuggingFace(from dir: URL) throws -> GPTModel {
        let cfgURL = dir.appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: cfgURL),
              let obj = try? JSONSerialization.jsonObject(with: data), let c = obj as? [String: Any] else {
            throw GPTModelError.checkpoint("\(cfgURL.path): missing or not a JSON object")
        }
        func int(_ key: String, _ alt: String? = nil) throws -> Int {
            if let v = c[key] as? NSNumber { return v.intValue }
            if let alt, let v = c[alt] as? NSNumber { return v.intValue }
            throw GPTModelError.checkpoint("\(cfgURL.path): missing integer field \(key)")
        }
        if let mt = c["model_type"] as? String, mt != "gpt2" {
            throw GPTModelError.checkpoint("\(cfgURL.path): model_type \(mt) is not supported (only gpt2)")
        }
        if let act = c["activation_function"] as? String, !["gelu_new", "gelu_pytorch_tanh"].contains(act) {
            throw GPTModelError.checkpoint("\(cfgURL.path): activation_function \(act) is not supported (gelu_new only)")
        }
        if let eps = c["layer_norm_epsilon"] as? NSNumber, abs(eps.doubleValue - 1e-5) > 1e-12 {
            throw GPTModelError.checkpoint("\(cfgURL.path): layer_norm_epsilon \(eps) is not supported (1e-5 only)")
        }
        if let inner = c["n_inner"] as? NSNumber, inner.intValue != 4 * (try int("n_embd")) {
            throw GPTModelError.checkpoint("\(cfgURL.path): n_inner \(inner) is not supported (4·n_embd only)")
        }
        let config = GPTConfig(vocabSize: try int("vocab_size"), context: try int("n_positions", "n_ctx"),
                               layers: try int("n_layer"), heads: try int("n_head"), dModel: try int("n_embd"),
                               tiedHead: (c["tie_word_embeddings"] as? Bool) ?? true)
        let st = dir.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: st.path) else {
            throw GPTModelError.checkpoint("\(dir.path): no model.safetensors (PyTorch .bin checkpoints are not read; re-save with safe_serialization=True)")
        }
        return try fromTensors(try SafeTensors.read(st).tensors, config: config, source: st.path)
    }
}
