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

    final class Activations {
        let B: Int, T: Int, k: Int, L: Int
        let buf: FloatBuffer
        // offsets into buf
        let encoded: Int, ln1: Int, ln1m: Int, ln1r: Int, qkv: Int, atty: Int, att: Int, res2: Int
        let ln2: Int, ln2m: Int, ln2r: Int, fch: Int, fchg: Int, fcht: Int, res3: Int
        let lnf: Int, lnfm: Int, lnfr: Int, lnfc: Int, logits: Int
        // backward scratch
        let dres: Int, dln: Int, dqkv: Int, datty: Int, dfch: Int, dfchg: Int, dlogits: Int, dlnfc: Int, attScratch: Int
        var tokens: [Int32] = []
        var hasPrefix = false

        /// Reuses `reuse` when it is large enough (activation memory only grows).
        init(config cfg: GPTConfig, B: Int, T: Int, k: Int, reuse: FloatBuffer? = nil) {
            self.B = B; self.T = T; self.k = k; L = k + T
            let C = cfg.dModel, NH = cfg.heads, V = cfg.vocabSize, NL = cfg.layers
            let N = B * L, NT = B * T
            var off = 0
            func take(_ n: Int) -> Int { let o = off; off += n; return o }
            encoded = take(N * C)
            ln1 = take(NL * N * C); ln1m = take(NL * N); ln1r = take(NL * N)
            qkv = take(NL * N * 3 * C); atty = take(NL * N * C); att = take(NL * B * NH * L * L)
            res2 = take(NL * N * C)
            ln2 = take(NL * N * C); ln2m = take(NL * N); ln2r = take(NL * N)
            fch = take(NL * N * 4 * C); fchg = take(NL * N * 4 * C); fcht = take(NL * N * 4 * C); res3 = take(NL * N * C)
            lnf = take(N * C); lnfm = take(N); lnfr = take(N)
            lnfc = k > 0 ? take(NT * C) : lnf
            logits = take(NT * V)
            dres = take(N * C); dln = take(N * C); dqkv = take(N * 3 * C); datty = take(N * C)
            dfch = take(N * 4 * C); dfchg = take(N * 4 * C); dlogits = take(NT * V)
            dlnfc = k > 0 ? take(NT * C) : dln
            attScratch = take(L * L)
            if let reuse, reuse.count >= off { buf = reuse } else { buf = FloatBuffer(count: off) }
        }
    }

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
        let C = config.dModel, V = config.vocabSize, NH = config.heads
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
        let L = a.L, N = B * L
        let p = params.pointer, x = a.buf.pointer
        // encoder: encoded[b, s] = (s < k ? prefix[s] : wte[token]) + wpe[s]
        let enc = x + a.encoded
        for b in 0..<B {
            for s in 0..<L {
                let o = enc + (b * L + s) * C
                let pos = p + layout.wpe + s * C
                if s < k {
                    prefix!.values.withUnsafeBufferPointer { pv in
                        let src = pv.baseAddress! + s * C
                        for c in 0..<C { o[c] = src[c] + pos[c] }
                    }
                } else {
                    let tok = p + layout.wte + Int(tokens[b * T + s - k]) * C
                    for c in 0..<C { o[c] = tok[c] + pos[c] }
                }
            }
        }
        var resid = UnsafePointer(enc)
        for (l, blk) in layout.blocks.enumerated() {
            let ln1 = x + a.ln1 + l * N * C, qkv = x + a.qkv + l * N * 3 * C
            let atty = x + a.atty + l * N * C, att = x + a.att + l * B * NH * L * L
            let res2 = x + a.res2 + l * N * C, ln2 = x + a.ln2 + l * N * C
            let fch = x + a.fch + l * N * 4 * C, fchg = x + a.fchg + l * N * 4 * C
            let res3 = x + a.res3 + l * N * C
            Kernels.layerNormForward(out: ln1, mean: x + a.ln1m + l * N, rstd: x + a.ln1r + l * N, inp: resid,
                                     weight: p + blk.ln1w, bias: p + blk.ln1b, N: N, C: C)
            Kernels.linearForward(out: qkv, inp: ln1, weight: p + blk.qkvw, bias: p + blk.qkvb, N: N, IC: C, OC: 3 * C)
            Kernels.attentionForward(out: atty, att: att, qkv: qkv, B: B, T: L, C: C, NH: NH)
            Kernels.residualLinearForward(out: res2, residual: resid, inp: atty, weight: p + blk.projw,
                                          bias: p + blk.projb, N: N, IC: C, OC: C)
            Kernels.layerNormForward(out: ln2, mean: x + a.ln2m + l * N, rstd: x + a.ln2r + l * N, inp: res2,
                                     weight: p + blk.ln2w, bias: p + blk.ln2b, N: N, C: C)
            Kernels.linearForward(out: fch, inp: ln2, weight: p + blk.fcw, bias: p + blk.fcb, N: N, IC: C, OC: 4 * C)
            Kernels.geluForward(out: fchg, savedTanh: x + a.fcht + l * N * 4 * C, inp: fch, count: N * 4 * C)
            Kernels.residualLinearForward(out: res3, residual: res2, inp: fchg, weight: p + blk.fcprojw,
                                          bias: p + blk.fcprojb, N: N, IC: 4 * C, OC: C)
            resid = UnsafePointer(res3)
        }
        let lnf = x + a.lnf
        Kernels.layerNormForward(out: lnf, mean: x + a.lnfm, rstd: x + a.lnfr, inp: resid,
                                 weight: p + layout.lnfw, bias: p + layout.lnfb, N: N, C: C)
        let lnfc = x + a.lnfc
        if k > 0 {
            for b in 0..<B { (lnfc + b * T * C).update(from: lnf + (b * L + k) * C, count: T * C) }
        }
        // logits = lnf · headᵀ, head [V, C]
        let logits = x + a.logits
        BLAS.sgemm(transB: true, m: B * T, n: V, k: C, a: lnfc, lda: C, b: p + layout.head, ldb: C, c: logits, ldc: V)
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
        let B = a.B, T = a.T, k = a.k, L = a.L, N = B * L
        let C = config.dModel, V = config.vocabSize, NH = config.heads
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
        let lastResid = NL > 0 ? x + a.res3 + (NL - 1) * N * C : x + a.encoded
        Kernels.layerNormBackward(dinp: dres, dweight: g + layout.lnfw, dbias: g + layout.lnfb, dout: dln,
                                  inp: lastResid, weight: p + layout.lnfw, mean: x + a.lnfm, rstd: x + a.lnfr, N: N, C: C)
        let dqkv = x + a.dqkv, datty = x + a.datty, dfch = x + a.dfch, dfchg = x + a.dfchg
        for l in stride(from: NL - 1, through: 0, by: -1) {
            let blk = layout.blocks[l]
            let resid = l == 0 ? x + a.encoded : x + a.res3 + (l - 1) * N * C
            let ln1 = x + a.ln1 + l * N * C, qkv = x + a.qkv + l * N * 3 * C
            let atty = x + a.atty + l * N * C, att = x + a.att + l * B * NH * L * L
            let res2 = x + a.res2 + l * N * C, ln2 = x + a.ln2 + l * N * C
            let fch = x + a.fch + l * N * 4 * C, fchg = x + a.fchg + l * N * 4 * C
            // res3 = res2 + fchg · Wfcproj + b   (dres holds dres3, becomes dres2)
            Kernels.linearBackward(dinp: dfchg, dweight: g + blk.fcprojw, dbias: g + blk.fcprojb, dout: dres,
                                   inp: fchg, weight: p + blk.fcprojw, N: N, IC: 4 * C, OC: C, overwriteInput: true)
            // fchg = gelu(fch)
            Kernels.geluBackward(dinp: dfch, inp: fch, savedTanh: x + a.fcht + l * N * 4 * C, dout: dfchg, count: N * 4 * C)
            // fch = ln2 · Wfc + b
            Kernels.linearBackward(dinp: dln, dweight: g + blk.fcw, dbias: g + blk.fcb, dout: dfch,
                                   inp: ln2, weight: p + blk.fcw, N: N, IC: C, OC: 4 * C, overwriteInput: true)
            // ln2 = layernorm(res2)
            Kernels.layerNormBackward(dinp: dres, dweight: g + blk.ln2w, dbias: g + blk.ln2b, dout: dln, inp: res2,
                                      weight: p + blk.ln2w, mean: x + a.ln2m + l * N, rstd: x + a.ln2r + l * N, N: N, C: C)
            // res2 = resid + atty · Wproj + b   (dres holds dres2, becomes dresid)
            Kernels.linearBackward(dinp: datty, dweight: g + blk.projw, dbias: g + blk.projb, dout: dres,
                                   inp: atty, weight: p + blk.projw, N: N, IC: C, OC: C, overwriteInput: true)
            // atty = attention(qkv)
            Kernels.attentionBackward(dqkv: dqkv, scratch: x + a.attScratch, dout: datty, qkv: qkv, att: att,
                                      B: B, T: L, C: C, NH: NH, overwrite: true)
            // qkv = ln1 · Wqkv + b
            Kernels.linearBackward(dinp: dln, dweight: g + blk.qkvw, dbias: g + blk.qkvb, dout: dqkv,
                                   inp: ln1, weight: p + blk.qkvw, N: N, IC: C, OC: 3 * C, overwriteInput: true)
            // ln1 = layernorm(resid)
            Kernels.layerNormBackward(dinp: dres, dweight: g + blk.ln1w, dbias: g + blk.ln1b, dout: dln, inp: resid,
                                      weight: p + blk.ln1w, mean: x + a.ln1m + l * N, rstd: x + a.ln1r + l * N, N: N, C: C)
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

/// AdamW state (first and second moments) for a run of parameters; decoupled weight decay.
public final class AdamW: @unchecked Sendable {
    public var lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public let m: FloatBuffer, v: FloatBuffer
    public private(set) var step = 0

    public init(count: Int, lr: Float, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0) {
        self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        m = FloatBuffer(count: count); v = FloatBuffer(count: count)
    }

    /// Sets the number of updates done so far (restoring a saved optimiser).
    public func restore(step: Int) { self.step = step }

    /// One update of params[0..<count] from grads[0..<count].
    public func update(params: UnsafeMutablePointer<Float>, grads: UnsafePointer<Float>) {
        step += 1
        Kernels.adamW(params: params, grads: grads, m: m.pointer, v: v.pointer, count: m.count, lr: lr,
                      beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay, step: step)
    }

    /// One update of a whole model.
    public func update(_ model: GPTModel) {
        precondition(model.parameterCount == m.count, "optimizer size \(m.count) ≠ model size \(model.parameterCount)")
        update(params: model.params.pointer, grads: model.grads.pointer)
    }
}
