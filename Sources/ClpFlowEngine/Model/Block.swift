import ClpFlowKernels

extension GPTModel {
    /// How a block attends: over whole causal sequences (training, scoring), or from new slots
    /// over the keys and values of a KV cache (generation).
    enum BlockAttention {
        /// B sequences of L rows each; the probabilities are kept in the view's `att` for backward.
        case sequences(B: Int, L: Int)
        /// New slots of a group of cached sequences: their keys and values are appended to the
        /// cache and each attends over the slots visible to it.
        case cache(KVCache.Append)
    }

    /// The transformer block l over n rows of the residual stream `input`, writing the view `a`
    /// (its `res3` is the block's output). The only block implementation: `forward` runs it over
    /// whole sequences, `KVCache.step` over new slots.
    /// ln_1 → c_attn → attention → c_proj (+ residual) → ln_2 → c_fc → GELU → c_proj (+ residual).
    func blockForward(_ l: Int, input: UnsafePointer<Float>, acts a: LayerActivations, rows n: Int,
                      attention: BlockAttention) {
        let C = config.dModel, NH = config.heads
        let p = params.pointer, blk = layout.blocks[l]
        Kernels.layerNormForward(out: a.ln1, mean: a.ln1Mean, rstd: a.ln1Rstd, inp: input,
                                 weight: p + blk.ln1w, bias: p + blk.ln1b, N: n, C: C)
        Kernels.linearForward(out: a.qkv, inp: a.ln1, weight: p + blk.qkvw, bias: p + blk.qkvb, N: n, IC: C, OC: 3 * C)
        switch attention {
        case .sequences(let B, let L):
            Kernels.attentionForward(out: a.atty, att: a.att!, qkv: a.qkv, B: B, T: L, C: C, NH: NH)
        case .cache(let append):
            append.attend(layer: l, qkv: a.qkv, out: a.atty)
        }
        Kernels.residualLinearForward(out: a.res2, residual: input, inp: a.atty, weight: p + blk.projw,
                                      bias: p + blk.projb, N: n, IC: C, OC: C)
        Kernels.layerNormForward(out: a.ln2, mean: a.ln2Mean, rstd: a.ln2Rstd, inp: a.res2,
                                 weight: p + blk.ln2w, bias: p + blk.ln2b, N: n, C: C)
        Kernels.linearForward(out: a.fch, inp: a.ln2, weight: p + blk.fcw, bias: p + blk.fcb, N: n, IC: C, OC: 4 * C)
        if let t = a.fchTanh {
            Kernels.geluForward(out: a.fchGelu, savedTanh: t, inp: a.fch, count: n * 4 * C)
        } else {
            Kernels.geluForward(out: a.fchGelu, inp: a.fch, count: n * 4 * C)
        }
        Kernels.residualLinearForward(out: a.res3, residual: a.res2, inp: a.fchGelu, weight: p + blk.fcprojw,
                                      bias: p + blk.fcprojb, N: n, IC: 4 * C, OC: C)
    }

    /// Backward of `blockForward` over the whole sequences of `s` (view `a`, input `input`):
    /// `s.dres` holds d(block output) on entry and d(block input) on return; parameter gradients
    /// accumulate into `grads`. Uses the backward scratch of `s`.
    func blockBackward(_ l: Int, input: UnsafePointer<Float>, acts a: LayerActivations, scratch s: Activations) {
        let C = config.dModel, NH = config.heads, N = s.N
        let p = params.pointer, g = grads.pointer, x = s.buf.pointer, blk = layout.blocks[l]
        let dres = x + s.dres, dln = x + s.dln, dqkv = x + s.dqkv, datty = x + s.datty
        let dfch = x + s.dfch, dfchg = x + s.dfchg
        // res3 = res2 + fchg · Wfcproj + b   (dres holds dres3, becomes dres2)
        Kernels.linearBackward(dinp: dfchg, dweight: g + blk.fcprojw, dbias: g + blk.fcprojb, dout: dres,
                               inp: a.fchGelu, weight: p + blk.fcprojw, N: N, IC: 4 * C, OC: C, overwriteInput: true)
        // fchg = gelu(fch)
        Kernels.geluBackward(dinp: dfch, inp: a.fch, savedTanh: a.fchTanh!, dout: dfchg, count: N * 4 * C)
        // fch = ln2 · Wfc + b
        Kernels.linearBackward(dinp: dln, dweight: g + blk.fcw, dbias: g + blk.fcb, dout: dfch,
                               inp: a.ln2, weight: p + blk.fcw, N: N, IC: C, OC: 4 * C, overwriteInput: true)
        // ln2 = layernorm(res2)
        Kernels.layerNormBackward(dinp: dres, dweight: g + blk.ln2w, dbias: g + blk.ln2b, dout: dln, inp: a.res2,
                                  weight: p + blk.ln2w, mean: a.ln2Mean, rstd: a.ln2Rstd, N: N, C: C)
        // res2 = input + atty · Wproj + b   (dres holds dres2, becomes dinput)
        Kernels.linearBackward(dinp: datty, dweight: g + blk.projw, dbias: g + blk.projb, dout: dres,
                               inp: a.atty, weight: p + blk.projw, N: N, IC: C, OC: C, overwriteInput: true)
        // atty = attention(qkv)
        Kernels.attentionBackward(dqkv: dqkv, scratch: x + s.attScratch, dout: datty, qkv: a.qkv, att: a.att!,
                                  B: s.B, T: s.L, C: C, NH: NH, overwrite: true)
        // qkv = ln1 · Wqkv + b
        Kernels.linearBackward(dinp: dln, dweight: g + blk.qkvw, dbias: g + blk.qkvb, dout: dqkv,
                               inp: a.ln1, weight: p + blk.qkvw, N: N, IC: C, OC: 3 * C, overwriteInput: true)
        // ln1 = layernorm(input)
        Kernels.layerNormBackward(dinp: dres, dweight: g + blk.ln1w, dbias: g + blk.ln1b, dout: dln, inp: input,
                                  weight: p + blk.ln1w, mean: a.ln1Mean, rstd: a.ln1Rstd, N: N, C: C)
    }

    /// One row of the encoder: out = source + wpe[position], where source is a prefix vector or a
    /// token's wte row (`tokenEmbedding`).
    @inline(__always)
    func embedRow(_ out: UnsafeMutablePointer<Float>, source: UnsafePointer<Float>, position: Int) {
        let C = config.dModel
        let pos = params.pointer + layout.wpe + position * C
        for c in 0..<C { out[c] = source[c] + pos[c] }
    }

    /// The wte row of token t.
    @inline(__always)
    func tokenEmbedding(_ t: Int32) -> UnsafePointer<Float> {
        UnsafePointer(params.pointer + layout.wte + Int(t) * config.dModel)
    }

    /// logits[rows, V] = z[rows, C] · Hᵀ, with H the output head [V, C] (lm_head, or wte when tied).
    func logitsForward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, rows: Int) {
        let C = config.dModel, V = config.vocabSize
        BLAS.sgemm(transB: true, m: rows, n: V, k: C, a: inp, lda: C, b: params.pointer + layout.head, ldb: C,
                   c: out, ldc: V)
    }
}
