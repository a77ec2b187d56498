/// Elementwise and row-wise kernels over raw Float pointers (llm.c style: each forward sits next
/// to its backward). Shapes: N rows of width C unless noted. Backward kernels ACCUMULATE (+=) into
/// the gradients of their inputs and parameters, so callers zero gradients once per step.
public enum Kernels {
    public static let layerNormEps: Float = 1e-5
    static let geluScale: Float = 0.7978845608028654  // sqrt(2/pi)

    // MARK: fast exp

    /// e^x for Float, vectorisable (no libm call): Cody–Waite range reduction and a degree-6
    /// polynomial; relative error ≈ 2e-7 over the whole range; clamps to [-87.3, 88.3].
    @inlinable @inline(__always)
    public static func exp(_ x: Float) -> Float {
        let xc = Swift.min(Swift.max(x, -87.3), 88.3)
        let k = xc * 1.442695041 + 12582912.0            // round(x·log2 e) in the low mantissa bits
        let n = k - 12582912.0
        let r = (xc - n * 0.693145751953125) - n * 1.428606765330187e-06
        let p: Float = 1 + r * (1 + r * (0.5 + r * (0.16666667 + r * (0.041666668 + r * (0.008333334 + r * 0.0013888889)))))
        let bits = (k.bitPattern &- 0x4B40_0000 &+ 127) &<< 23
        return p * Float(bitPattern: bits)
    }

    /// tanh(x) = 1 − 2 / (e^{2x} + 1), through the vectorisable `exp`.
    @inlinable @inline(__always)
    public static func tanh(_ x: Float) -> Float {
        1 - 2 / (exp(2 * x) + 1)
    }

    // MARK: layer norm

    /// out = (x − mean) · rstd · weight + bias per row; stores mean and rstd (per row) for backward.
    public static func layerNormForward(out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                                        rstd: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                                        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, N: Int, C: Int) {
        let invC = 1 / Float(C)
        Parallel.ranges(N, minPerThread: 64) { lo, hi in
        for i in lo..<hi {
            let x = inp + i * C
            var s: Float = 0
            for c in 0..<C { s += x[c] }
            let m = s * invC
            var v: Float = 0
            for c in 0..<C { let d = x[c] - m; v += d * d }
            let rs = 1 / (v * invC + layerNormEps).squareRoot()
            let o = out + i * C
            for c in 0..<C { o[c] = (x[c] - m) * rs * weight[c] + bias[c] }
            mean[i] = m; rstd[i] = rs
        }
        }
    }

    /// Backward of `layerNormForward`: dinp += …, dweight += dout·x̂, dbias += dout.
    public static func layerNormBackward(dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>,
                                         dbias: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                         inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                         mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, N: Int, C: Int) {
        let invC = 1 / Float(C)
        Parallel.ranges(N, minPerThread: 64) { lo, hi in
        for i in lo..<hi {
            let x = inp + i * C, dy = dout + i * C, dx = dinp + i * C
            let m = mean[i], rs = rstd[i]
            var dnormMean: Float = 0, dnormNormMean: Float = 0
            for c in 0..<C {
                let xhat = (x[c] - m) * rs
                let dnorm = weight[c] * dy[c]
                dnormMean += dnorm
                dnormNormMean += dnorm * xhat
            }
            dnormMean *= invC; dnormNormMean *= invC
            for c in 0..<C {
                let xhat = (x[c] - m) * rs
                let dnorm = weight[c] * dy[c]
                dx[c] += (dnorm - dnormMean - xhat * dnormNormMean) * rs
            }
        }
        }
        // parameter gradients: split over columns so every sum runs over rows in order
        Parallel.ranges(C, minPerThread: 16) { lo, hi in
            for i in 0..<N {
                let x = inp + i * C, dy = dout + i * C
                let m = mean[i], rs = rstd[i]
                for c in lo..<hi {
                    dbias[c] += dy[c]
                    dweight[c] += (x[c] - m) * rs * dy[c]
                }
            }
        }
    }

    // MARK: GELU (tanh approximation, "gelu_new")

    /// out = 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))) over `count` elements.
    public static func geluForward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        Parallel.ranges(count, minPerThread: 8192) { lo, hi in
        for i in lo..<hi {
            let x = inp[i]
            let u = geluScale * (x + 0.044715 * x * x * x)
            out[i] = 0.5 * x * (1 + tanh(u))
        }
        }
    }

    /// `geluForward` that also stores tanh(√(2/π)(x + 0.044715x³)) for `geluBackward(savedTanh:)`.
    public static func geluForward(out: UnsafeMutablePointer<Float>, savedTanh: UnsafeMutablePointer<Float>,
                                   inp: UnsafePointer<Float>, count: Int) {
        Parallel.ranges(count, minPerThread: 8192) { lo, hi in
        for i in lo..<hi {
            let x = inp[i]
            let t = tanh(geluScale * (x + 0.044715 * x * x * x))
            savedTanh[i] = t
            out[i] = 0.5 * x * (1 + t)
        }
        }
    }

    /// dinp = dout · gelu'(inp) (overwrites) using the tanh values saved by the forward.
    public static func geluBackward(dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                                    savedTanh: UnsafePointer<Float>, dout: UnsafePointer<Float>, count: Int) {
        Parallel.ranges(count, minPerThread: 8192) { lo, hi in
        for i in lo..<hi {
            let x = inp[i], t = savedTanh[i]
            let du = geluScale * (1 + 3 * 0.044715 * x * x)
            dinp[i] = (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du) * dout[i]
        }
        }
    }

    /// dinp += dout · gelu'(inp).
    public static func geluBackward(dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                                    dout: UnsafePointer<Float>, count: Int) {
        for i in 0..<count {
            let x = inp[i]
            let x2 = x * x
            let u = geluScale * (x + 0.044715 * x2 * x)
            let t = tanh(u)
            let du = geluScale * (1 + 3 * 0.044715 * x2)
            let g = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
            dinp[i] += g * dout[i]
        }
    }

    // MARK: softmax

    /// Row-wise softmax of N rows of width V (in place allowed: out may equal inp).
    public static func softmaxForward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, N: Int, V: Int) {
        Parallel.ranges(N, minPerThread: 32) { lo, hi in
        for i in lo..<hi {
            let x = inp + i * V, o = out + i * V
            var mx = -Float.infinity
            for v in 0..<V { mx = Swift.max(mx, x[v]) }
            var s: Float = 0
            for v in 0..<V { let e = exp(x[v] - mx); o[v] = e; s += e }
            let inv = 1 / s
            for v in 0..<V { o[v] *= inv }
        }
        }
    }

    /// dinp += p ⊙ (dout − Σ p·dout) per row, where p is the softmax output.
    public static func softmaxBackward(dinp: UnsafeMutablePointer<Float>, probs: UnsafePointer<Float>,
                                       dout: UnsafePointer<Float>, N: Int, V: Int) {
        for i in 0..<N {
            let p = probs + i * V, dy = dout + i * V, dx = dinp + i * V
            var dot: Float = 0
            for v in 0..<V { dot += p[v] * dy[v] }
            for v in 0..<V { dx[v] += p[v] * (dy[v] - dot) }
        }
    }

    /// log Σ exp over one row of width V (numerically stable).
    @inlinable @inline(__always)
    public static func logSumExp(_ x: UnsafePointer<Float>, _ V: Int) -> Float {
        var mx = -Float.infinity
        for v in 0..<V { mx = Swift.max(mx, x[v]) }
        var s: Float = 0
        for v in 0..<V { s += exp(x[v] - mx) }
        return mx + logf(s)
    }

    // MARK: cross-entropy with per-position weights

    /// loss = Σᵢ wᵢ · (−log softmax(logitsᵢ)[targetᵢ]) over N rows of width V; positions with
    /// weight 0 or target < 0 are skipped. Writes dlogits = wᵢ (softmax(logitsᵢ) − onehot(targetᵢ))
    /// (overwrites, rows skipped are set to 0). Weights may be negative (REINFORCE).
    @discardableResult
    public static func crossEntropyForwardBackward(dlogits: UnsafeMutablePointer<Float>?, logits: UnsafePointer<Float>,
                                                   targets: UnsafePointer<Int32>, weights: UnsafePointer<Float>,
                                                   N: Int, V: Int) -> Float {
        for i in 0..<N {
            precondition(Int(targets[i]) < V, "cross-entropy: target \(targets[i]) outside the vocabulary of size \(V)")
        }
        let rowLoss = UnsafeMutablePointer<Double>.allocate(capacity: Swift.max(N, 1))
        defer { rowLoss.deallocate() }
        rowLoss.initialize(repeating: 0, count: Swift.max(N, 1))
        Parallel.ranges(N, minPerThread: 32) { lo, hi in
        for i in lo..<hi {
            let x = logits + i * V
            let w = weights[i]
            let tgt = Int(targets[i])
            if w == 0 || tgt < 0 {
                if let d = dlogits { (d + i * V).update(repeating: 0, count: V) }
                continue
            }
            var mx = -Float.infinity
            for v in 0..<V { mx = Swift.max(mx, x[v]) }
            if let d = dlogits {
                let dr = d + i * V
                var s: Float = 0
                for v in 0..<V { let e = exp(x[v] - mx); dr[v] = e; s += e }
                let inv = w / s
                for v in 0..<V { dr[v] *= inv }
                dr[tgt] -= w
                rowLoss[i] = Double(w) * Double(mx + logf(s) - x[tgt])
            } else {
                var s: Float = 0
                for v in 0..<V { s += exp(x[v] - mx) }
                rowLoss[i] = Double(w) * Double(mx + logf(s) - x[tgt])
            }
        }
        }
        var loss: Double = 0
        for i in 0..<N { loss += rowLoss[i] }
        return Float(loss)
    }

    // MARK: bias, residual

    /// out[n, :] += bias for N rows of width C.
    public static func addBias(_ out: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, N: Int, C: Int) {
        for i in 0..<N { let o = out + i * C; for c in 0..<C { o[c] += bias[c] } }
    }

    /// dbias += Σₙ dout[n, :].
    public static func biasBackward(dbias: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, N: Int, C: Int) {
        for i in 0..<N { let d = dout + i * C; for c in 0..<C { dbias[c] += d[c] } }
    }

    /// out = a + b elementwise.
    public static func residualForward(out: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>,
                                       b: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = a[i] + b[i] }
    }

    /// y += alpha · x.
    public static func axpy(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, alpha: Float = 1, count: Int) {
        for i in 0..<count { y[i] += alpha * x[i] }
    }

    // MARK: Conv1D-layout linear layer

    /// out[N, OC] = inp[N, IC] · weight[IC, OC] + bias (Hugging Face Conv1D layout: in × out).
    public static func linearForward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                                     weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                     N: Int, IC: Int, OC: Int) {
        if let bias {
            for i in 0..<N { (out + i * OC).update(from: bias, count: OC) }
        }
        BLAS.sgemm(m: N, n: OC, k: IC, a: inp, lda: IC, b: weight, ldb: OC, beta: bias == nil ? 0 : 1, c: out, ldc: OC)
    }

    /// Backward of `linearForward`: dinp += dout·Wᵀ, dweight += inpᵀ·dout, dbias += Σ dout.
    /// With `overwriteInput`, dinp is written (dinp = dout·Wᵀ) instead of accumulated.
    public static func linearBackward(dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>,
                                      dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                                      inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                      N: Int, IC: Int, OC: Int, overwriteInput: Bool = false) {
        if let dinp {
            BLAS.sgemm(transB: true, m: N, n: IC, k: OC, a: dout, lda: OC, b: weight, ldb: OC,
                       beta: overwriteInput ? 0 : 1, c: dinp, ldc: IC)
        }
        BLAS.sgemm(transA: true, m: IC, n: OC, k: N, a: inp, lda: IC, b: dout, ldb: OC, beta: 1, c: dweight, ldc: OC)
        if let dbias { biasBackward(dbias: dbias, dout: dout, N: N, C: OC) }
    }

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

    // MARK: optimiser

    /// AdamW with decoupled weight decay over `count` parameters; `step` is 1-based.
    /// p ← p − lr·( m̂/(√v̂ + eps) + weightDecay·p ).
    public static func adamW(params: UnsafeMutablePointer<Float>, grads: UnsafePointer<Float>,
                             m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, count: Int,
                             lr: Float, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
                             weightDecay: Float = 0, step: Int) {
        let bc1 = 1 - Float(powDouble(Double(beta1), step))
        let bc2 = 1 - Float(powDouble(Double(beta2), step))
        let ib1 = 1 - beta1, ib2 = 1 - beta2
        let rb1 = 1 / bc1, rb2 = 1 / bc2
        Parallel.ranges(count, minPerThread: 16384) { lo, hi in
        for i in lo..<hi {
            let g = grads[i]
            let mi = beta1 * m[i] + ib1 * g
            let vi = beta2 * v[i] + ib2 * g * g
            m[i] = mi; v[i] = vi
            let mhat = mi * rb1, vhat = vi * rb2
            params[i] -= lr * (mhat / (vhat.squareRoot() + eps) + weightDecay * params[i])
        }
        }
    }

    static func powDouble(_ x: Double, _ n: Int) -> Double {
        var r = 1.0
        for _ in 0..<n { r *= x; if r == 0 { break } }
        return r
    }

    /// Σ g² over `count` elements (accumulated in Float blocks, summed in Double).
    public static func sumOfSquares(_ g: UnsafePointer<Float>, count: Int) -> Double {
        var total: Double = 0
        var i = 0
        while i < count {
            let n = Swift.min(4096, count - i)
            var s: Float = 0
            let p = g + i
            for j in 0..<n { s += p[j] * p[j] }
            total += Double(s)
            i += n
        }
        return total
    }

    /// Scales g in place.
    public static func scale(_ g: UnsafeMutablePointer<Float>, by a: Float, count: Int) {
        for i in 0..<count { g[i] *= a }
    }

    /// Clips the global L2 norm of `g` to `maxNorm`; returns the norm before clipping.
    @discardableResult
    public static func clipGradNorm(_ g: UnsafeMutablePointer<Float>, count: Int, maxNorm: Float) -> Float {
        let norm = Float(sumOfSquares(g, count: count).squareRoot())
        if norm > maxNorm && norm > 0 { scale(g, by: maxNorm / norm, count: count) }
        return norm
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Kernels {
    /// out[N, OC] = residual[N, OC] + inp[N, IC] · weight[IC, OC] + bias: a linear layer fused
    /// with the residual add that follows it (out may alias residual).
    public static func residualLinearForward(out: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>,
                                             inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                             bias: UnsafePointer<Float>, N: Int, IC: Int, OC: Int) {
        for i in 0..<N {
            let o = out + i * OC, r = residual + i * OC
            for c in 0..<OC { o[c] = r[c] + bias[c] }
        }
        BLAS.sgemm(m: N, n: OC, k: IC, a: inp, lda: IC, b: weight, ldb: OC, beta: 1, c: out, ldc: OC)
    }
}
