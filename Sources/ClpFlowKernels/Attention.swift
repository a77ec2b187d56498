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
            do {
                let q = qkv + b * T * C3 + h * hs
                let k = q + C, v = q + 2 * C
                let a = att + (b * NH + h) * T * T
                // a = scale · q kᵀ
                BLAS.whole(transB: true, m: T, n: T, k: hs, alpha: scale, a: q, lda: C3, b: k, ldb: C3, c: a, ldc: T)
                for t in 0..<T {
                    let row = a + t * T
                    var mx = -Float.infinity
                    for j in 0...t { mx = Swift.max(mx, row[j]) }
                    var s: Float = 0
                    for j in 0...t { let e = exp(row[j] - mx); row[j] = e; s += e }
                    let inv = 1 / s
                    for j in 0...t { row[j] *= inv }
                    for j in (t + 1)..<T { row[j] = 0 }
                }
                // out_h = a · v
                BLAS.whole(m: T, n: hs, k: T, a: a, lda: T, b: v, ldb: C3, c: out + b * T * C + h * hs, ldc: C)
            }
        }
        }
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
                for t in 0..<T {
                    let p = a + t * T, d = scratch + t * T
                    var dot: Float = 0
                    for j in 0...t { dot += p[j] * d[j] }
                    for j in 0...t { d[j] = p[j] * (d[j] - dot) }
                    for j in (t + 1)..<T { d[j] = 0 }
                }
                // dq += scale · dpre · k ; dk += scale · dpreᵀ · q
                BLAS.whole(m: T, n: hs, k: T, alpha: scale, a: scratch, lda: T, b: k, ldb: C3, beta: beta, c: dq, ldc: C3)
                BLAS.whole(transA: true, m: T, n: hs, k: T, alpha: scale, a: scratch, lda: T, b: q, ldb: C3, beta: beta, c: dk, ldc: C3)
            }
        }
        }
    }
}
