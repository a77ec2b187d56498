import ClpFlowCore
import ClpFlowKernels

/// How tokens are drawn from the (combined) logits of each step.
public struct SamplingConfig: Sendable, Equatable {
    /// Softmax temperature; 0 means greedy (argmax).
    public var temperature: Float
    /// Keep only the k most likely tokens (0 = no limit).
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches topP (1 = no limit).
    public var topP: Float
    public var maxNewTokens: Int
    /// Generation of a sequence stops after this token (it is included in the output).
    public var endOfText: Int32?
    public var seed: UInt64

    public init(temperature: Float = 1, topK: Int = 0, topP: Float = 1, maxNewTokens: Int,
                endOfText: Int32? = nil, seed: UInt64) {
        self.temperature = temperature; self.topK = topK; self.topP = topP
        self.maxNewTokens = maxNewTokens; self.endOfText = endOfText; self.seed = seed
    }
}

/// Turns the per-model logits of one step (one row of V each) into the logits sampled from.
public protocol LogitCombiner: Sendable {
    /// Number of models whose logits are combined.
    var modelCount: Int { get }
    func combine(_ logits: [UnsafePointer<Float>], into out: UnsafeMutablePointer<Float>, V: Int)
}

/// One model: its logits unchanged.
public struct SingleModelCombiner: LogitCombiner {
    public init() {}
    public var modelCount: Int { 1 }
    public func combine(_ logits: [UnsafePointer<Float>], into out: UnsafeMutablePointer<Float>, V: Int) {
        out.update(from: logits[0], count: V)
    }
}

/// Decoding-time realignment (DeRa): λ·h_aligned + (1 − λ)·h_ref, models ordered [aligned, ref].
public struct DeRaCombiner: LogitCombiner {
    public var lambda: Float
    public init(lambda: Float) { self.lambda = lambda }
    public var modelCount: Int { 2 }
    public func combine(_ logits: [UnsafePointer<Float>], into out: UnsafeMutablePointer<Float>, V: Int) {
        let a = logits[0], r = logits[1], l = lambda, m = 1 - lambda
        for v in 0..<V { out[v] = l * a[v] + m * r[v] }
    }
}

/// Logit mixing: Σᵢ wᵢ · log softmax(hᵢ).
public struct LogitMixCombiner: LogitCombiner {
    public var weights: [Float]
    public init(weights: [Float]) { self.weights = weights }
    public var modelCount: Int { weights.count }
    public func combine(_ logits: [UnsafePointer<Float>], into out: UnsafeMutablePointer<Float>, V: Int) {
        out.update(repeating: 0, count: V)
        for (i, w) in weights.enumerated() {
            let h = logits[i]
            let lse = Kernels.logSumExp(h, V)
            for v in 0..<V { out[v] += w * (h[v] - lse) }
        }
    }
}

/// Output of `Generator.generate`.
public struct GenerationResult: Sendable {
    /// Generated tokens per sequence (prompt excluded; ends with endOfText if it was drawn).
    public var tokens: [[Int32]]
    /// log-probability of each generated token under the distribution it was drawn from
    /// (after temperature, top-k and top-p; 0 for greedy).
    public var samplingLogProbs: [[Float]]
    /// log softmax of the combined logits at temperature 1 without truncation, at each generated token.
    public var policyLogProbs: [[Float]]
    /// Teacher-forced log-probabilities of the generated tokens under each scoring model.
    public var scoredLogProbs: [[[Float]]]
}

/// Batched autoregressive generation with KV caches, for one model or several combined per token.
public enum Generator {
    /// Generates continuations of `prompts` (each non-empty). `models` are combined per token by
    /// `combiner` (one forward per model per step); `prefixes[i]` optionally gives model i prefix
    /// embeddings; `scoringModels` are evaluated teacher-forced on the generated tokens.
    public static func generate(models: [GPTModel], combiner: any LogitCombiner = SingleModelCombiner(),
                                prompts: [[Int32]], prefixes: [PrefixEmbeddings?]? = nil,
                                config: SamplingConfig,
                                scoringModels: [GPTModel] = [], scoringPrefixes: [PrefixEmbeddings?]? = nil) throws -> GenerationResult {
        guard !models.isEmpty, models.count == combiner.modelCount else {
            throw GPTModelError.invalidInput("the combiner expects \(combiner.modelCount) models, got \(models.count)")
        }
        let V = models[0].config.vocabSize
        guard models.allSatisfy({ $0.config.vocabSize == V }) else {
            throw GPTModelError.invalidInput("combined models must share the vocabulary size")
        }
        guard !prompts.isEmpty, prompts.allSatisfy({ !$0.isEmpty }) else {
            throw GPTModelError.invalidInput("every prompt needs at least one token")
        }
        guard config.maxNewTokens >= 0, config.temperature >= 0, config.topK >= 0, config.topP > 0, config.topP <= 1 else {
            throw GPTModelError.invalidInput("sampling: need maxNewTokens ≥ 0, temperature ≥ 0, topK ≥ 0, 0 < topP ≤ 1")
        }
        let B = prompts.count
        let P = prompts.map(\.count).max()!
        let pre = prefixes ?? [PrefixEmbeddings?](repeating: nil, count: models.count)
        guard pre.count == models.count else { throw GPTModelError.invalidInput("prefixes: one entry per model") }
        // Left-pad prompts to P tokens; per model, slots are [pad | prefix | prompt | generated].
        var caches: [KVCache] = []
        for (i, m) in models.enumerated() {
            let k = pre[i]?.count ?? 0
            guard k + P + config.maxNewTokens <= m.config.context else {
                throw GPTModelError.invalidInput("prefix (\(k)) + longest prompt (\(P)) + max new tokens (\(config.maxNewTokens)) = \(k + P + config.maxNewTokens) exceeds n_positions \(m.config.context); shorten the prompts or lower max_new_tokens")
            }
            let starts = prompts.map { P - $0.count }
            caches.append(try KVCache(model: m, batch: B, capacity: k + P + config.maxNewTokens, start: starts, prefix: pre[i]))
        }
        var rng = SeededRandom(seed: config.seed, stream: "sampling")
        var out = [[Int32]](repeating: [], count: B)
        var sampLP = [[Float]](repeating: [], count: B), polLP = [[Float]](repeating: [], count: B)
        var done = [Bool](repeating: false, count: B)
        var combined = [Float](repeating: 0, count: V)
        var work = [Float](repeating: 0, count: V)
        var order = [Int32](repeating: 0, count: V)
        // prefill: prefix slots + prompt slots (same S for every sequence because of padding)
        var last: [UnsafeMutableBufferPointer<Float>] = []
        var lastS: [Int] = []
        for (i, cache) in caches.enumerated() {
            let k = pre[i]?.count ?? 0
            let S = k + P
            var toks = [Int32](repeating: 0, count: B * S)
            for b in 0..<B {
                let pad = P - prompts[b].count
                for (j, t) in prompts[b].enumerated() { toks[b * S + k + pad + j] = t }
            }
            last.append(try cache.step(tokens: toks, S: S)); lastS.append(S)
        }
        var step = 0
        while step < config.maxNewTokens && done.contains(false) {
            var next = [Int32](repeating: 0, count: B)
            for b in 0..<B where !done[b] {
                let rows = (0..<models.count).map { i in UnsafePointer(last[i].baseAddress! + (b * lastS[i] + lastS[i] - 1) * V) }
                combined.withUnsafeMutableBufferPointer { cp in combiner.combine(rows, into: cp.baseAddress!, V: V) }
                let (tok, lp, plp) = sample(&combined, work: &work, order: &order, V: V, config: config, rng: &rng)
                next[b] = tok
                out[b].append(tok); sampLP[b].append(lp); polLP[b].append(plp)
                if let eot = config.endOfText, tok == eot { done[b] = true }
            }
            step += 1
            if step == config.maxNewTokens || !done.contains(false) { break }
            last = []; lastS = []
            for cache in caches { last.append(try cache.step(tokens: next, S: 1)); lastS.append(1) }
        }
        var scored: [[[Float]]] = []
        let sp = scoringPrefixes ?? [PrefixEmbeddings?](repeating: nil, count: scoringModels.count)
        for (i, m) in scoringModels.enumerated() {
            scored.append(try score(model: m, prompts: prompts, continuations: out, prefix: sp.count > i ? sp[i] : nil))
        }
        return GenerationResult(tokens: out, samplingLogProbs: sampLP, policyLogProbs: polLP, scoredLogProbs: scored)
    }

    /// Teacher-forced log π(continuation tokens | prompt) under `model`, one array per sequence.
    public static func score(model: GPTModel, prompts: [[Int32]], continuations: [[Int32]],
                             prefix: PrefixEmbeddings? = nil) throws -> [[Float]] {
        guard prompts.count == continuations.count, !prompts.isEmpty else {
            throw GPTModelError.invalidInput("score: one continuation per prompt")
        }
        guard prompts.allSatisfy({ !$0.isEmpty }) else { throw GPTModelError.invalidInput("score: empty prompt") }
        let B = prompts.count, V = model.config.vocabSize
        let full = zip(prompts, continuations).map { $0 + $1 }
        let Lmax = full.map(\.count).max()!
        let k = prefix?.count ?? 0
        let S = k + Lmax
        let cache = try KVCache(model: model, batch: B, capacity: S, start: full.map { Lmax - $0.count }, prefix: prefix)
        var toks = [Int32](repeating: 0, count: B * S)
        for b in 0..<B { let pad = Lmax - full[b].count; for (j, t) in full[b].enumerated() { toks[b * S + k + pad + j] = t } }
        let logits = try cache.step(tokens: toks, S: S)
        var result: [[Float]] = []
        for b in 0..<B {
            let pad = Lmax - full[b].count
            var lps: [Float] = []
            for j in 0..<continuations[b].count {
                let predSlot = k + pad + prompts[b].count - 1 + j   // slot whose logits predict token j
                let row = logits.baseAddress! + (b * S + predSlot) * V
                let t = Int(continuations[b][j])
                lps.append(row[t] - Kernels.logSumExp(row, V))
            }
            result.append(lps)
        }
        return result
    }

    /// Draws one token from `logits` (modified in place). Returns (token, log p under the sampling
    /// distribution, log softmax at temperature 1).
    static func sample(_ logits: inout [Float], work: inout [Float], order: inout [Int32], V: Int,
                       config: SamplingConfig, rng: inout SeededRandom) -> (Int32, Float, Float) {
        var best = 0
        for v in 1..<V where logits[v] > logits[best] { best = v }
        let lse = logits.withUnsafeBufferPointer { Kernels.logSumExp($0.baseAddress!, V) }
        if config.temperature == 0 || config.topK == 1 {
            return (Int32(best), 0, logits[best] - lse)
        }
        let invT = 1 / config.temperature
        let mx = logits[best]
        var s: Float = 0
        for v in 0..<V { let e = Kernels.exp((logits[v] - mx) * invT); work[v] = e; s += e }
        for v in 0..<V { work[v] /= s }
        let truncate = (config.topK > 0 && config.topK < V) || config.topP < 1
        if truncate {
            for v in 0..<V { order[v] = Int32(v) }
            order.sort { work[Int($0)] > work[Int($1)] || (work[Int($0)] == work[Int($1)] && $0 < $1) }
            var keep = config.topK > 0 ? Swift.min(config.topK, V) : V
            if config.topP < 1 {
                var cum: Float = 0
                for i in 0..<keep {
                    cum += work[Int(order[i])]
                    if cum >= config.topP { keep = i + 1; break }
                }
            }
            var kept: Float = 0
            for i in 0..<keep { kept += work[Int(order[i])] }
            for i in keep..<V { work[Int(order[i])] = 0 }
            for v in 0..<V { work[v] /= kept }
        }
        let u = Float(rng.uniform())
        var cum: Float = 0
        var pick = -1
        for v in 0..<V where work[v] > 0 {
            cum += work[v]
            pick = v
            if u < cum { break }
        }
        return (Int32(pick), logf(work[pick]), logits[pick] - lse)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
