/// Shape of a GPT-2 style model (Hugging Face `GPT2Config` subset).
public struct GPTConfig: Codable, Equatable, Hashable, Sendable {
    /// V: vocabulary size.
    public var vocabSize: Int
    /// Maximum sequence length (`n_positions`), including any prefix embeddings.
    public var context: Int
    /// Number of transformer blocks (`n_layer`).
    public var layers: Int
    /// Number of attention heads (`n_head`).
    public var heads: Int
    /// C: model width (`n_embd`).
    public var dModel: Int
    /// true: logits = h · wteᵀ (GPT-2 default); false: a separate `lm_head.weight` [V, C].
    public var tiedHead: Bool

    public init(vocabSize: Int, context: Int, layers: Int, heads: Int, dModel: Int, tiedHead: Bool = true) {
        self.vocabSize = vocabSize
        self.context = context
        self.layers = layers
        self.heads = heads
        self.dModel = dModel
        self.tiedHead = tiedHead
    }

    /// The benchmark reference model: 2 layers, d_model 128, 4 heads, vocab 256, context 64.
    public static let reference = GPTConfig(vocabSize: 256, context: 64, layers: 2, heads: 4, dModel: 128)

    /// Throws a readable error if the shape is not usable.
    public func validate() throws {
        func bad(_ s: String) -> GPTModelError { .invalidConfig(s) }
        if vocabSize < 1 { throw bad("vocab_size must be ≥ 1 (got \(vocabSize))") }
        if context < 1 { throw bad("n_positions must be ≥ 1 (got \(context))") }
        if layers < 0 { throw bad("n_layer must be ≥ 0 (got \(layers))") }
        if heads < 1 { throw bad("n_head must be ≥ 1 (got \(heads))") }
        if dModel < 1 || dModel % heads != 0 {
            throw bad("n_embd (\(dModel)) must be a positive multiple of n_head (\(heads))")
        }
    }

    /// Total number of parameters in the flat buffer.
    public var parameterCount: Int { GPTLayout(self).totalCount }
}

public enum GPTModelError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    case invalidInput(String)
    case checkpoint(String)

    public var description: String {
        switch self {
        case .invalidConfig(let s): return "invalid model config: \(s)"
        case .invalidInput(let s): return "invalid model input: \(s)"
        case .checkpoint(let s): return "checkpoint: \(s)"
        }
    }
}

/// A named tensor inside the flat parameter buffer (Hugging Face name and layout).
public struct ParamView: Equatable, Hashable, Sendable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
}

/// A contiguous run of the flat buffer: elements offset ..< offset + count.
public struct ParamSlice: Equatable, Hashable, Sendable, Codable {
    public let offset: Int
    public let count: Int
    public init(offset: Int, count: Int) { self.offset = offset; self.count = count }
}

/// Attention matrices that can be conditioned.
public enum AttnMatrix: String, Hashable, Codable, Sendable, CaseIterable {
    /// The fused q/k/v projection `attn.c_attn` (weight and bias).
    case qkv
    /// The output projection `attn.c_proj` (weight and bias).
    case proj
}

/// Named parameter groups (lists of slices of the flat buffer).
public enum ParameterGroup: Hashable, Sendable {
    /// Every parameter.
    case all
    /// The chosen attention matrices (weights and biases) of every block, optionally with ln_1.
    case attention(matrices: Set<AttnMatrix>, includeLayerNorm: Bool = false)
    /// The output head: `lm_head.weight` when untied, `transformer.wte.weight` when tied.
    case logitHead
}

/// Offsets of every tensor in the flat buffer, in Hugging Face `state_dict` order.
public struct GPTLayout: Sendable {
    public struct Block: Sendable {
        public var ln1w = 0, ln1b = 0, qkvw = 0, qkvb = 0, projw = 0, projb = 0
        public var ln2w = 0, ln2b = 0, fcw = 0, fcb = 0, fcprojw = 0, fcprojb = 0
    }
    public let config: GPTConfig
    public var wte = 0, wpe = 0, lnfw = 0, lnfb = 0
    public var lmHead: Int? = nil
    public var blocks: [Block] = []
    public var views: [ParamView] = []
    public var totalCount = 0

    public init(_ config: GPTConfig) {
        self.config = config
        let V = config.vocabSize, C = config.dModel, T = config.context
        var off = 0
        var views: [ParamView] = []
        func add(_ name: String, _ shape: [Int]) -> Int {
            let o = off
            views.append(ParamView(name: name, shape: shape, offset: o))
            off += shape.reduce(1, *)
            return o
        }
        wte = add("transformer.wte.weight", [V, C])
        wpe = add("transformer.wpe.weight", [T, C])
        for i in 0..<config.layers {
            let p = "transformer.h.\(i)."
            var b = Block()
            b.ln1w = add(p + "ln_1.weight", [C])
            b.ln1b = add(p + "ln_1.bias", [C])
            b.qkvw = add(p + "attn.c_attn.weight", [C, 3 * C])
            b.qkvb = add(p + "attn.c_attn.bias", [3 * C])
            b.projw = add(p + "attn.c_proj.weight", [C, C])
            b.projb = add(p + "attn.c_proj.bias", [C])
            b.ln2w = add(p + "ln_2.weight", [C])
            b.ln2b = add(p + "ln_2.bias", [C])
            b.fcw = add(p + "mlp.c_fc.weight", [C, 4 * C])
            b.fcb = add(p + "mlp.c_fc.bias", [4 * C])
            b.fcprojw = add(p + "mlp.c_proj.weight", [4 * C, C])
            b.fcprojb = add(p + "mlp.c_proj.bias", [C])
            blocks.append(b)
        }
        lnfw = add("transformer.ln_f.weight", [C])
        lnfb = add("transformer.ln_f.bias", [C])
        if !config.tiedHead { lmHead = add("lm_head.weight", [V, C]) }
        self.views = views
        totalCount = off
    }

    /// Offset of the output head matrix [V, C].
    public var head: Int { lmHead ?? wte }

    /// Slices of a parameter group, sorted by offset, adjacent runs merged.
    public func slices(_ group: ParameterGroup) -> [ParamSlice] {
        let C = config.dModel, V = config.vocabSize
        var out: [ParamSlice] = []
        switch group {
        case .all:
            out = [ParamSlice(offset: 0, count: totalCount)]
        case .logitHead:
            out = [ParamSlice(offset: head, count: V * C)]
        case .attention(let matrices, let ln):
            for b in blocks {
                if ln { out.append(ParamSlice(offset: b.ln1w, count: 2 * C)) }
                if matrices.contains(.qkv) { out.append(ParamSlice(offset: b.qkvw, count: 3 * C * C + 3 * C)) }
                if matrices.contains(.proj) { out.append(ParamSlice(offset: b.projw, count: C * C + C)) }
            }
        }
        var merged: [ParamSlice] = []
        for s in out.sorted(by: { $0.offset < $1.offset }) {
            if let last = merged.last, last.offset + last.count == s.offset {
                merged[merged.count - 1] = ParamSlice(offset: last.offset, count: last.count + s.count)
            } else {
                merged.append(s)
            }
        }
        return merged
    }
}
