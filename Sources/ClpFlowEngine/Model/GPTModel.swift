import ClpFlowCore
import ClpFlowKernels

/// Extra input vectors placed before the token embeddings (positions 0 ..< count), shared across
/// the batch; used for soft-token conditioning. `values` is [count, C] row-major.
public struct PrefixEmbeddings: Sendable {
    public var count: Int
    public var values: [Float]
    public init(count: Int, values: [Float]) { self.count = count; self.values = values }
}

/// GPT-2 (Hugging Face `GPT2LMHeadModel` semantics) with every parameter in one flat buffer.
/// Shapes: B batch, T tokens per sequence, k prefix vectors, L = k + T, C width, NH heads, V vocab.
public final class GPTModel: @unchecked Sendable {
    public let config: GPTConfig
    public let layout: GPTLayout
    /// All parameters (layout: `views`).
    public let params: FloatBuffer
    /// Gradients, same layout as `params`; backward ACCUMULATES into them (call `zeroGrads()`).
    public let grads: FloatBuffer
    /// Gradient of the prefix embeddings from the last `lossAndBackward` ([k, C], overwritten).
    public private(set) var prefixGrads: [Float] = []

    public var views: [ParamView] { layout.views }
    public var parameterCount: Int { layout.totalCount }

    var acts: Activations?

    /// GPT-2 initialisation from `seed`: weights and embeddings ~ N(0, 0.02), residual output
    /// projections (attn.c_proj, mlp.c_proj) ~ N(0, 0.02/√(2·layers)), biases 0, layer norms
    /// weight 1 / bias 0; an untied lm_head starts as a copy of wte.
    public init(config: GPTConfig, seed: UInt64) throws {
        try config.validate()
        self.config = config
        layout = GPTLayout(config)
        params = FloatBuffer(count: layout.totalCount)
        grads = FloatBuffer(count: layout.totalCount)
        var rng = SeededRandom(seed: seed, stream: "gpt-init")
        let p = params.pointer
        func normal(_ off: Int, _ n: Int, _ std: Double) {
            for i in 0..<n { p[off + i] = Float(rng.normal() * std) }
        }
        func fill(_ off: Int, _ n: Int, _ v: Float) { (p + off).update(repeating: v, count: n) }
        let C = config.dModel, V = config.vocabSize
        let projStd = 0.02 / (2.0 * Double(Swift.max(config.layers, 1))).squareRoot()
        normal(layout.wte, V * C, 0.02)
        normal(layout.wpe, config.context * C, 0.02)
        for b in layout.blocks {
            fill(b.ln1w, C, 1)
            normal(b.qkvw, 3 * C * C, 0.02)
            normal(b.projw, C * C, projStd)
            fill(b.ln2w, C, 1)
            normal(b.fcw, 4 * C * C, 0.02)
            normal(b.fcprojw, 4 * C * C, projStd)
        }
        fill(layout.lnfw, C, 1)
        if let h = layout.lmHead { (p + h).update(from: p + layout.wte, count: V * C) }
    }

    /// A model with the given parameters (count must match the layout).
    public init(config: GPTConfig, parameters: [Float]) throws {
        try config.validate()
        self.config = config
        layout = GPTLayout(config)
        guard parameters.count == layout.totalCount else {
            throw GPTModelError.invalidInput("expected \(layout.totalCount) parameters, got \(parameters.count)")
        }
        params = FloatBuffer(parameters)
        grads = FloatBuffer(count: layout.totalCount)
    }

    public func view(named name: String) -> ParamView? { layout.views.first { $0.name == name } }
    public func parameterGroup(_ group: ParameterGroup) -> [ParamSlice] { layout.slices(group) }
    public func zeroGrads() { grads.zero() }

    /// A deep copy (parameters only).
    public func copy() -> GPTModel {
        try! GPTModel(config: config, parameters: params.array)
    }

    // MARK: activations

    func activations(B: Int, T: Int, k: Int) -> Activations {
        if let a = acts, a.B == B, a.T == T, a.k == k { return a }
        let a = Activations(config: config, B: B, T: T, k: k, reuse: acts?.buf)
        acts = a
        return a
    }

    // MARK: forward

    /// Runs the model on tokens [B, T] (optionally after k prefix vectors) and returns the logits
    /// of the token positions, [B, T, V] row-major: logits[b, t] predicts token t + 1.
    /// The returned buffer is owned by the model and valid until the next forward.
    @discardableResult
    public func forward(tokens: [Int32], B: Int, T: Int, prefix: PrefixEmbeddings? = nil) throws -> UnsafeMutableBufferPointer<Float> {
        let C = config.dModel, V = config.vocabSize
        let k = prefix?.count ?? 0
        guard B >= 1, T >= 1, tokens.count == B * T else {
            throw GPTModelError.invalidInput("tokens has \(tokens.count) entries, expected B·T = \(B)·\(T)")
        }
        guard k + T <= config.context else {
            throw GPTModelError.invalidInput("sequence length \(k + T) (prefix \(k) + tokens \(T)) exceeds n_positions \(config.context)")
        }
        if let prefix, prefix.values.count != k * C {
            throw GPTModelError.invalidInput("prefix has \(prefix.values.count) values, expected \(k)·\(C)")
        }
        for t in tokens where t < 0 || Int(t) >= V {
            throw GPTModelError.invalidInput("token id \(t) outside the vocabulary 0..<\(V)")
        }
        let a = activations(B: B, T: T, k: k)
        a.tokens = tokens
        a.hasPrefix = prefix != nil
        let L = a.L, N = a.N
        let x = a.buf.pointer
        // encoder: encoded[b, s] = (s < k ? prefix[s] : wte[token]) + wpe[s]
        let enc = x + a.encoded
        (prefix?.values ?? []).withUnsafeBufferPointer { pv in
            for b in 0..<B {
                for s in 0..<L {
                    let src = s < k ? UnsafePointer(pv.baseAddress! + s * C) : tokenEmbedding(tokens[b * T + s - k])
                    embedRow(enc + (b * L + s) * C, source: src, position: s)
                }
            }
        }
        for l in 0..<config.layers {
            blockForward(l, input: a.blockInput(l), acts: a.layer(l), rows: N, attention: .sequences(B: B, L: L))
        }
        let resid = a.blockInput(config.layers)
        let p = params.pointer
        let lnf = x + a.lnf
        Kernels.layerNormForward(out: lnf, mean: x + a.lnfm, rstd: x + a.lnfr, inp: resid,
                                 weight: p + layout.lnfw, bias: p + layout.lnfb, N: N, C: C)
        let lnfc = x + a.lnfc
        if k > 0 {
            for b in 0..<B { (lnfc + b * T * C).update(from: lnf + (b * L + k) * C, count: T * C) }
        }
        // logits = lnf · headᵀ, head [V, C]
        let logits = x + a.logits
        logitsForward(out: logits, inp: lnfc, rows: B * T)
        return UnsafeMutableBufferPointer(start: logits, count: B * T * V)
    }

    /// The logits of the last forward, [B, T, V].
    public var logits: UnsafeMutableBufferPointer<Float>? {
        guard let a = acts else { return nil }
        return UnsafeMutableBufferPointer(start: a.buf.pointer + a.logits, count: a.B * a.T * config.vocabSize)
    }

    // MARK: loss and backward

    /// Weighted cross-entropy over the logits of the last forward, then backward into `grads`
    /// (accumulating) and `prefixGrads` (overwritten).
    /// loss = Σ_{b,t} weights[b,t] · (−log softmax(logits[b,t])[targets[b,t]]); entries with weight 0
    /// or target < 0 are ignored. No normalisation: pass weights already divided by the count you want.
    @discardableResult
    public func lossAndBackward(targets: [Int32], weights: [Float]) throws -> Float {
        guard let a = acts, !a.tokens.isEmpty else {
            throw GPTModelError.invalidInput("lossAndBackward called before forward")
        }
        let B = a.B, T = a.T, k = a.k, L = a.L, N = a.N
        let C = config.dModel, V = config.vocabSize
        guard targets.count == B * T, weights.count == B * T else {
            throw GPTModelError.invalidInput("targets/weights need B·T = \(B * T) entries (got \(targets.count)/\(weights.count))")
        }
        for t in targets where Int(t) >= V {
            throw GPTModelError.invalidInput("target id \(t) outside the vocabulary 0..<\(V)")
        }
        let p = params.pointer, g = grads.pointer, x = a.buf.pointer
        let dlogits = x + a.dlogits
        let loss = targets.withUnsafeBufferPointer { tp in
            weights.withUnsafeBufferPointer { wp in
                Kernels.crossEntropyForwardBackward(dlogits: dlogits, logits: x + a.logits, targets: tp.baseAddress!,
                                                    weights: wp.baseAddress!, N: B * T, V: V)
            }
        }
        // head: logits = lnfc · Hᵀ  →  dlnfc = dlogits · H ; dH += dlogitsᵀ · lnfc
        let dlnfc = x + a.dlnfc
        BLAS.sgemm(m: B * T, n: C, k: V, a: dlogits, lda: V, b: p + layout.head, ldb: C, c: dlnfc, ldc: C)
        BLAS.sgemm(transA: true, m: V, n: C, k: B * T, a: dlogits, lda: V, b: x + a.lnfc, ldb: C, beta: 1,
                   c: g + layout.head, ldc: C)
        let dln = x + a.dln
        if k > 0 {
            dln.update(repeating: 0, count: N * C)
            for b in 0..<B { (dln + (b * L + k) * C).update(from: dlnfc + b * T * C, count: T * C) }
        }
        let dres = x + a.dres
        dres.update(repeating: 0, count: N * C)
        let NL = config.layers
        Kernels.layerNormBackward(dinp: dres, dweight: g + layout.lnfw, dbias: g + layout.lnfb, dout: dln,
                                  inp: a.blockInput(NL), weight: p + layout.lnfw, mean: x + a.lnfm, rstd: x + a.lnfr,
                                  N: N, C: C)
        for l in stride(from: NL - 1, through: 0, by: -1) {
            blockBackward(l, input: a.blockInput(l), acts: a.layer(l), scratch: a)
        }
        // encoder: encoded[b, s] = (prefix[s] | wte[token]) + wpe[s]
        var dprefix = [Float](repeating: 0, count: k * C)
        for b in 0..<B {
            for s in 0..<L {
                let d = dres + (b * L + s) * C
                let dpos = g + layout.wpe + s * C
                for c in 0..<C { dpos[c] += d[c] }
                if s < k {
                    for c in 0..<C { dprefix[s * C + c] += d[c] }
                } else {
                    let dtok = g + layout.wte + Int(a.tokens[b * T + s - k]) * C
                    for c in 0..<C { dtok[c] += d[c] }
                }
            }
        }
        prefixGrads = dprefix
        return loss
    }

    /// Weighted cross-entropy of the logits of the last forward, without backward.
    public func loss(targets: [Int32], weights: [Float]) throws -> Float {
        guard let a = acts, !a.tokens.isEmpty else { throw GPTModelError.invalidInput("loss called before forward") }
        guard targets.count == a.B * a.T, weights.count == a.B * a.T else {
            throw GPTModelError.invalidInput("targets/weights need B·T = \(a.B * a.T) entries")
        }
        return targets.withUnsafeBufferPointer { tp in
            weights.withUnsafeBufferPointer { wp in
                Kernels.crossEntropyForwardBackward(dlogits: nil, logits: a.buf.pointer + a.logits, targets: tp.baseAddress!,
                                                    weights: wp.baseAddress!, N: a.B * a.T, V: config.vocabSize)
            }
        }
    }

    /// log π(tokens[b, t+1] | tokens[b, ≤t]) for t in 0 ..< T−1: [B, T−1] row-major.
    public func logProbs(tokens: [Int32], B: Int, T: Int, prefix: PrefixEmbeddings? = nil) throws -> [Float] {
        let logits = try forward(tokens: tokens, B: B, T: T, prefix: prefix)
        let V = config.vocabSize
        var out = [Float](repeating: 0, count: B * Swift.max(T - 1, 0))
        for b in 0..<B {
            for t in 0..<(T - 1) {
                let row = logits.baseAddress! + (b * T + t) * V
                let tok = Int(tokens[b * T + t + 1])
                out[b * (T - 1) + t] = row[tok] - Kernels.logSumExp(row, V)
            }
        }
        return out
    }

    // MARK: gradient utilities

    /// Global L2 norm of the gradients.
    public func gradNorm() -> Float { Float(Kernels.sumOfSquares(grads.pointer, count: grads.count).squareRoot()) }

    /// Clips the global gradient norm; returns the norm before clipping.
    @discardableResult
    public func clipGradients(maxNorm: Float) -> Float {
        Kernels.clipGradNorm(grads.pointer, count: grads.count, maxNorm: maxNorm)
    }
}
