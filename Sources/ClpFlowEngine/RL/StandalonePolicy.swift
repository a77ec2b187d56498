import ClpFlowCore
import Foundation

/// θ(c) outside the policy: a model of its own for one conditioning input, so that several
/// weightings can be served at once and a weighting can be exported. `ConditionedPolicy.activate`
/// writes θ(c) into the policy's shared network; the functions here only read it.
extension ConditionedPolicy {
    /// The network at c and the soft-token prefix (nil for other mechanisms).
    ///
    /// With conditioned copies (full, attn, logit) the result is a fresh model holding the shared
    /// parameters and Σᵢ cᵢ θᵢ in the conditioned slices — the values `activate(c)` writes. Without
    /// copies (prompt, soft-token, none) the network does not depend on c and `model` itself is
    /// returned. Neither path writes to `model`, so concurrent calls are safe as long as nothing
    /// calls `activate` at the same time.
    public func standalone(_ c: ConditioningInput) throws -> (model: GPTModel, prefix: PrefixEmbeddings?) {
        let coeff = try coefficients(c)
        var network = model
        if let copies {
            network = try GPTModel(config: model.config, parameters: model.params.array)
            copies.materialize(weights: coeff.map(Float.init), into: network.params.pointer)
        }
        guard softTokenCount > 0 else { return (network, nil) }
        let n = softTokenCount * model.config.dModel
        var mixed = [Float](repeating: 0, count: n)
        for i in 0..<copyCount where coeff[i] != 0 {
            let wi = Float(coeff[i])
            for j in 0..<n { mixed[j] += wi * softTokens[i * n + j] }
        }
        return (network, PrefixEmbeddings(count: softTokenCount, values: mixed))
    }
}

/// A conditioned policy (CLP variants, prompt, soft-token, none) or a Rewarded Soup that may be
/// called from several threads at once: every call builds θ(c) in a model of its own
/// (`ConditionedPolicy.standalone`) instead of writing it into the shared network, so two
/// requests with different weightings never see each other's parameters. Its generations are the
/// same as `PolicyMethod`'s for the same inputs and seed.
public final class IsolatedPolicyMethod: SteerableMethod, @unchecked Sendable {
    public let name: String
    public let policy: ConditionedPolicy
    public let builder: PromptBuilder
    public var forwardPassesPerToken: Int { 1 }

    public init(name: String, policy: ConditionedPolicy, builder: PromptBuilder) {
        self.name = name; self.policy = policy; self.builder = builder
    }

    public convenience init(_ method: PolicyMethod) {
        self.init(name: method.name, policy: method.policy, builder: method.builder)
    }

    public func generate(_ examples: [RLExample], conditioning c: ConditioningInput, settings: GenerationSettings,
                         seed: UInt64) throws -> (tokens: [[Int32]], logProbs: [Double]) {
        let (network, prefix) = try policy.standalone(c)
        let prompts = examples.map {
            builder.tokens($0, conditioning: c, textual: policy.mechanism == .prompt, prefixVectors: prefix?.count ?? 0)
        }
        let r = try Generator.generate(models: [network], prompts: prompts, prefixes: [prefix],
                                       config: samplingConfig(settings, eot: builder.codec.endOfText, seed: seed))
        return (r.tokens, r.policyLogProbs.map { $0.reduce(0.0) { $0 + Double($1) } })
    }
}

/// Tokenizer files that Hugging Face `transformers` loads as a GPT-2 tokenizer
/// (`AutoTokenizer.from_pretrained`): `vocab.json`, `merges.txt`, `tokenizer_config.json` and
/// `special_tokens_map.json`, with `<|endoftext|>` and `<|summary|>` as special tokens at their
/// clp-flow ids. The byte tokenizer is written as a byte-level BPE without merges, which encodes
/// every text to the same ids (one per UTF-8 byte).
public enum HuggingFaceTokenizerFiles {
    public static func write(_ tokenizer: any Tokenizer, context: Int, to dir: URL) throws {
        let bpe: BPETokenizer
        if let t = tokenizer as? BPETokenizer {
            bpe = t
        } else if tokenizer is ByteTokenizer {
            bpe = BPETokenizer(bytesOf: (0..<256).map { [UInt8($0)] } + [[], []],
                               specials: [SpecialTokens.endOfTextId: SpecialTokens.endOfText,
                                          SpecialTokens.summaryId: SpecialTokens.summary],
                               merges: [])
        } else {
            throw TokenizerError.malformed(file: dir.path, line: nil, message: "no Hugging Face form for tokenizer \(type(of: tokenizer))")
        }
        try bpe.save(to: dir)
        let eot = bpe.tokenString(bpe.eotId), sep = bpe.tokenString(bpe.sepId)
        func added(_ content: String) -> [String: Any] {
            ["content": content, "lstrip": false, "rstrip": false, "normalized": false, "single_word": false, "special": true]
        }
        let config: [String: Any] = [
            "tokenizer_class": "GPT2Tokenizer",
            "model_max_length": context,
            "add_prefix_space": false,
            "add_bos_token": false,
            "bos_token": eot, "eos_token": eot, "unk_token": eot,
            "additional_special_tokens": [sep],
            "added_tokens_decoder": ["\(bpe.eotId)": added(eot), "\(bpe.sepId)": added(sep)],
            "clean_up_tokenization_spaces": false,
        ]
        let specials: [String: Any] = ["bos_token": eot, "eos_token": eot, "unk_token": eot, "additional_special_tokens": [sep]]
        for (name, obj) in [("tokenizer_config.json", config), ("special_tokens_map.json", specials)] {
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: dir.appendingPathComponent(name), options: .atomic)
        }
    }
}
