import ClpFlowCore
import Foundation

/// Anything that can generate a response for a document at a conditioning input: the methods
/// compared by `evaluate` and used by `generate`.
public protocol SteerableMethod: AnyObject {
    /// Name shown in results (e.g. `clp-attn`, `rewarded-soups`).
    var name: String { get }
    /// Forward passes of a transformer per generated token.
    var forwardPassesPerToken: Int { get }
    /// Generates one response per prompt at c. Returns tokens (end-of-text included when drawn) and
    /// each response's log-probability under the method's own sampling distribution at
    /// temperature 1 (for the KL to π_ref).
    func generate(_ examples: [RLExample], conditioning c: ConditioningInput, settings: GenerationSettings,
                  seed: UInt64) throws -> (tokens: [[Int32]], logProbs: [Double])
    /// Builds the token sequences the method's models read.
    var builder: PromptBuilder { get }
    /// The tokens the method's model reads for `ex` at c (default: the document and the
    /// separator; prompt conditioning writes the weighting before the document).
    func inputTokens(_ ex: RLExample, conditioning c: ConditioningInput) -> [Int32]
    /// Learned prefix vectors placed before the tokens (soft-token conditioning), else 0.
    var prefixVectorCount: Int { get }
}

extension SteerableMethod {
    public func inputTokens(_ ex: RLExample, conditioning c: ConditioningInput) -> [Int32] {
        builder.tokens(ex, conditioning: nil, textual: false)
    }
    public var prefixVectorCount: Int { 0 }

    /// The model's input as text: special tokens written out (`…<|summary|>`), prefix vectors
    /// shown as `⟨k learned prefix vectors⟩`.
    public func inputText(_ ex: RLExample, conditioning c: ConditioningInput) -> String {
        var tokens = inputTokens(ex, conditioning: c)
        var tail = ""
        if tokens.last == builder.codec.separator { tokens.removeLast(); tail = SpecialTokens.summary }
        let k = prefixVectorCount
        let head = k > 0 ? "⟨\(k) learned prefix vector\(k == 1 ? "" : "s")⟩ " : ""
        return head + builder.codec.decodeTokens(tokens) + tail
    }
}

/// A conditioned policy (CLP variants, prompt, soft-token, none) or a Rewarded Soup.
public final class PolicyMethod: SteerableMethod {
    public let name: String
    public let policy: ConditionedPolicy
    public let builder: PromptBuilder
    public var forwardPassesPerToken: Int { 1 }

    public init(name: String, policy: ConditionedPolicy, builder: PromptBuilder) {
        self.name = name; self.policy = policy; self.builder = builder
    }

    public func inputTokens(_ ex: RLExample, conditioning c: ConditioningInput) -> [Int32] {
        builder.tokens(ex, conditioning: c, textual: policy.mechanism == .prompt, prefixVectors: policy.softTokenCount)
    }

    public var prefixVectorCount: Int { policy.softTokenCount }

    public func generate(_ examples: [RLExample], conditioning c: ConditioningInput, settings: GenerationSettings,
                         seed: UInt64) throws -> (tokens: [[Int32]], logProbs: [Double]) {
        let prefix = try policy.activate(c)
        let prompts = examples.map {
            builder.tokens($0, conditioning: c, textual: policy.mechanism == .prompt, prefixVectors: prefix?.count ?? 0)
        }
        let r = try Generator.generate(models: [policy.model], prompts: prompts, prefixes: [prefix],
                                       config: samplingConfig(settings, eot: builder.codec.endOfText, seed: seed))
        return (r.tokens, r.policyLogProbs.map { $0.reduce(0.0) { $0 + Double($1) } })
    }
}

/// A fixed model (π_ref, or one SOFT policy) — not steerable: the conditioning is ignored.
public final class FixedModelMethod: SteerableMethod {
    public let name: String
    public let model: GPTModel
    public let builder: PromptBuilder
    public var forwardPassesPerToken: Int { 1 }

    public init(name: String, model: GPTModel, builder: PromptBuilder) {
        self.name = name; self.model = model; self.builder = builder
    }

    public func generate(_ examples: [RLExample], conditioning c: ConditioningInput, settings: GenerationSettings,
                         seed: UInt64) throws -> (tokens: [[Int32]], logProbs: [Double]) {
        let prompts = examples.map { builder.tokens($0, conditioning: nil, textual: false) }
        let r = try Generator.generate(models: [model], prompts: prompts,
                                       config: samplingConfig(settings, eot: builder.codec.endOfText, seed: seed))
        return (r.tokens, r.policyLogProbs.map { $0.reduce(0.0) { $0 + Double($1) } })
    }
}

/// Logit mixing of SOFT policies: next-token scores Σᵢ wᵢ log πᵢ (m forward passes per token).
public final class LogitMixingMethod: SteerableMethod {
    public let name: String
    public let soft: [GPTModel]
    public let builder: PromptBuilder
    public var forwardPassesPerToken: Int { soft.count }

    public init(name: String = "logit-mixing", soft: [GPTModel], builder: PromptBuilder) {
        self.name = name; self.soft = soft; self.builder = builder
    }

    public func generate(_ examples: [RLExample], conditioning c: ConditioningInput, settings: GenerationSettings,
                         seed: UInt64) throws -> (tokens: [[Int32]], logProbs: [Double]) {
        guard c.weights.count == soft.count else {
            throw PolicyError.invalid("expected \(soft.count) weights, got \(c.weights.count)")
        }
        let prompts = examples.map { builder.tokens($0, conditioning: nil, textual: false) }
        let r = try Generator.generate(models: soft, combiner: LogitMixCombiner(weights: c.weights.map(Float.init)),
                                       prompts: prompts,
                                       config: samplingConfig(settings, eot: builder.codec.endOfText, seed: seed))
        return (r.tokens, r.policyLogProbs.map { $0.reduce(0.0) { $0 + Double($1) } })
    }
}

/// DeRa: logits λ·h_aligned + (1−λ)·h_ref with λ = α_aligned/α, the aligned model trained at the
/// smallest KL weight α_aligned (two forward passes per token).
public final class DeRaMethod: SteerableMethod {
    public let name: String
    public let aligned: GPTModel
    public let reference: GPTModel
    public let alignedAlpha: Double
    public let builder: PromptBuilder
    public var forwardPassesPerToken: Int { 2 }

    public init(name: String = "dera", aligned: GPTModel, reference: GPTModel, alignedAlpha: Double, builder: PromptBuilder) {
        self.name = name; self.aligned = aligned; self.reference = reference; self.alignedAlpha = alignedAlpha
        self.builder = builder
    }

    public func lambda(for alpha: Double) -> Double { alignedAlpha / alpha }

    public func generate(_ examples: [RLExample], conditioning c: ConditioningInput, settings: GenerationSettings,
                         seed: UInt64) throws -> (tokens: [[Int32]], logProbs: [Double]) {
        guard let alpha = c.alpha, alpha > 0 else { throw PolicyError.invalid("DeRa needs the KL weight α > 0") }
        let prompts = examples.map { builder.tokens($0, conditioning: nil, textual: false) }
        let r = try Generator.generate(models: [aligned, reference], combiner: DeRaCombiner(lambda: Float(lambda(for: alpha))),
                                       prompts: prompts,
                                       config: samplingConfig(settings, eot: builder.codec.endOfText, seed: seed))
        return (r.tokens, r.policyLogProbs.map { $0.reduce(0.0) { $0 + Double($1) } })
    }
}

func samplingConfig(_ s: GenerationSettings, eot: Int32, seed: UInt64) -> SamplingConfig {
    SamplingConfig(temperature: Float(s.temperature), topK: s.topK, topP: Float(s.topP), maxNewTokens: s.maxNewTokens,
                   endOfText: eot, seed: seed)
}
