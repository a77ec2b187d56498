extension Kernels {
    // MARK: causal multi-head attention

    /// Causal self-attention over a fused qkv tensor [B, T, 3C] (q | k | v, each split in NH heads
    /// of size C/NH). Writes out [B, T, C] and att [B, NH, T, T] (post-softmax probabilities, zero
    /// above the diagonal). Matrix products go through BLAS per (batch, head).
    public static func attentionForward(out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>,
                                        qkv: UnsafePointer<Float>, B: Int, T: Int, C: Int, NH: Int) {
        let hs = C / NH
        let scale = 1 / Float(hs).squareRoot()
        let C3 = 3 * C
        // Each (batch, head) is computed by its own unsplit products, whichever worker runs it, so
        // the numbers do not depend on the thread count.
        Parallel.ranges(B * NH, minPerThread: 1) { lo, hi in
        for bh in lo..<hi {
            let b = bh / NH, h = bh % NH
            let q = qkv + b * T * C3 + h * hs
            attentionHeadForward(out: out + b * T * C + h * hs, ldo: C, att: att + (b * NH + h) * T * T,
                                 q: q, ldq: C3, k: q + C, v: q + 2 * C, ldkv: C3,
                                 S: T, keys: T, offset: 0, hs: hs, scale: scale)
        }
        }
    }

    /// Causal attention of one head: S queries (rows of `q`, stride ldq) over `keys` keys and values
    /// (rows of `k` and `v`, stride ldkv); query i sees keys 0 ... offset + i. Writes the
    /// probabilities att [S, keys] (zero where masked) and out [S, hs] (row stride ldo); with no
    /// keys, out is zero. Full sequences (offset 0, keys = S, k and v in the fused qkv tensor) and
    /// cached generation (new queries over the keys and values stored so far) both run through it.
    public static func attentionHeadForward(out: UnsafeMutablePointer<Float>, ldo: Int, att: UnsafeMutablePointer<Float>,
                                            q: UnsafePointer<Float>, ldq: Int,
                                            k: UnsafePointer<Float>, v: UnsafePointer<Float>, ldkv: Int,
                                            S: Int, keys: Int, offset: Int, hs: Int, scale: Float) {
        if keys <= 0 {
            for i in 0..<S { (out + i * ldo).update(repeating: 0, count: hs) }
            return
        }
        // att = scale · q kᵀ, then the causal softmax of each row
        BLAS.whole(transB: true, m: S, n: keys, k: hs, alpha: scale, a: q, lda: ldq, b: k, ldb: ldkv, c: att, ldc: keys)
        for i in 0..<S { causalSoftmaxRow(att + i * keys, visible: offset + i + 1, width: keys) }
        // out = att · v
        BLAS.whole(m: S, n: hs, k: keys, a: att, lda: keys, b: v, ldb: ldkv, c: out, ldc: ldo)
    }

    /// Backward of `attentionForward`: dqkv += … (dqkv = … with `overwrite`); `scratch` holds T·T floats.
    public static func attentionBackward(dqkv: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                         dout: UnsafePointer<Float>, qkv: UnsafePointer<Float>,
                                         att: UnsafePointer<Float>, B: Int, T: Int, C: Int, NH: Int,
                                         overwrite: Bool = false) {
        let beta: Float = overwrite ? 0 : 1
        let hs = C / NH
        let scale = 1 / Float(hs).squareRoot()
        let C3 = 3 * C
        Parallel.ranges(B * NH, minPerThread: 1) { lo, hi in
        // the first worker uses the caller's scratch, the others their own
        let scratch = lo == 0 ? scratch : UnsafeMutablePointer<Float>.allocate(capacity: T * T)
        defer { if lo != 0 { scratch.deallocate() } }
        for bh in lo..<hi {
            let b = bh / NH, h = bh % NH
            do {
                let off = b * T * C3 + h * hs
                let q = qkv + off, k = q + C, v = q + 2 * C
                let dq = dqkv + off, dk = dq + C, dv = dq + 2 * C
                let a = att + (b * NH + h) * T * T
                let dy = dout + b * T * C + h * hs
                // datt = dy · vᵀ
                BLAS.whole(transB: true, m: T, n: T, k: hs, a: dy, lda: C, b: v, ldb: C3, c: scratch, ldc: T)
                // dv += attᵀ · dy
                BLAS.whole(transA: true, m: T, n: hs, k: T, a: a, lda: T, b: dy, ldb: C, beta: beta, c: dv, ldc: C3)
                // softmax backward (in place in scratch), causal part only
                for t in 0..<T { causalSoftmaxRowBackward(scratch + t * T, probs: a + t * T, visible: t + 1, width: T) }
                // dq += scale · dpre · k ; dk += scale · dpreᵀ · q
                BLAS.whole(m: T, n: hs, k: T, alpha: scale, a: scratch, lda: T, b: k, ldb: C3, beta: beta, c: dq, ldc: C3)
                BLAS.whole(transA: true, m: T, n: hs, k: T, alpha: scale, a: scratch, lda: T, b: q, ldb: C3, beta: beta, c: dk, ldc: C3)
            }
        }
        }
    }
}
