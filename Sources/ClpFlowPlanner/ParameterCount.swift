import ClpFlowCore
import ClpFlowWorkflow

/// Parameter counts of the GPT-2-style models the engine builds (docs/planner.md).
///
/// With vocabulary V, context T, layers L and width C, a GPT-2 with a tied logit head has
/// `V·C + T·C + L·(12C² + 13C) + 2C` parameters: token and position embeddings, per layer two
/// layer norms (4C), the fused QKV projection (3C² + 3C), the attention output projection
/// (C² + C) and the 4× MLP (8C² + 5C), and the final layer norm (2C). An untied head adds V·C.
public enum ParameterCount {
    /// Special tokens every tokenizer carries: `<|endoftext|>` and the summary separator.
    public static let specialTokens = 2

    /// Vocabulary size of a tokenizer spec: the BPE vocabulary size (which includes the 256 byte
    /// tokens and the specials), or 256 bytes + specials for the byte tokenizer.
    public static func vocabulary(_ tokenizer: TokenizerSpec) -> Int {
        switch tokenizer.kind {
        case .bpe: return tokenizer.vocabSize
        case .byte: return 256 + specialTokens
        }
    }

    public static func gpt2(vocabulary v: Int, context t: Int, layers l: Int, dModel c: Int, tiedHead: Bool = true) -> Int {
        v * c + t * c + l * (12 * c * c + 13 * c) + 2 * c + (tiedHead ? 0 : v * c)
    }
}

/// One model shape used by a plan, with its parameter count (printed by `clp-flow plan`).
public struct PlannedModel: Codable, Sendable, Hashable {
    /// The preset name (`micro`, …), with `+overrides` when explicit fields change its shape, or
    /// `checkpoint` when the shape comes from `model.init`.
    public var name: String
    public var layers: Int
    public var dModel: Int
    public var heads: Int
    public var context: Int
    public var vocabulary: Int
    public var tiedHead: Bool
    public var parameters: Int

    public init(name: String, layers: Int, dModel: Int, heads: Int, context: Int, vocabulary: Int, tiedHead: Bool) {
        self.name = name; self.layers = layers; self.dModel = dModel; self.heads = heads
        self.context = context; self.vocabulary = vocabulary; self.tiedHead = tiedHead
        self.parameters = ParameterCount.gpt2(vocabulary: vocabulary, context: context, layers: layers,
                                              dModel: dModel, tiedHead: tiedHead)
    }

    enum CodingKeys: String, CodingKey {
        case name, layers, heads, context, vocabulary, parameters
        case dModel = "d_model", tiedHead = "tied_head"
    }

    /// The model a workflow's `model` section describes (preset shape with explicit overrides).
    /// The logit head is untied when the conditioning mechanism is `logit` (its head is one of
    /// the conditioned parameter sets).
    public static func from(model: ModelSpec, conditioning: ConditioningMechanism) -> PlannedModel {
        let shape = model.shape
        let overridden = [model.layers, model.dModel, model.heads, model.context].contains { $0 != nil }
        return PlannedModel(name: model.size.rawValue + (overridden ? "+overrides" : ""),
                            layers: shape.layers, dModel: shape.dModel, heads: shape.heads, context: shape.context,
                            vocabulary: ParameterCount.vocabulary(model.tokenizer),
                            tiedHead: conditioning != .logit)
    }

    /// The model of a GPT-2 `config.json` (HF field names), nil when fields are missing.
    public static func from(checkpointConfig c: JSONValue, conditioning: ConditioningMechanism) -> PlannedModel? {
        guard let v = c["vocab_size"]?.intValue, let t = c["n_positions"]?.intValue,
              let l = c["n_layer"]?.intValue, let d = c["n_embd"]?.intValue, let h = c["n_head"]?.intValue
        else { return nil }
        let tiedInFile = c["tie_word_embeddings"]?.boolValue ?? true
        return PlannedModel(name: "checkpoint", layers: l, dModel: d, heads: h, context: t, vocabulary: v,
                            tiedHead: tiedInFile && conditioning != .logit)
    }
}
