/// The Conv1D-layout linear layer (Hugging Face GPT-2: weight stored in × out), its fused residual
/// variant and its backward.
extension Kernels {
    /// out[N, OC] = inp[N, IC] · weight[IC, OC] + bias (Hugging Face Conv1D layout: in × out).
    public static func linearForward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                                     weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                     N: Int, IC: Int, OC: Int) {
        if let bias {
            for i in 0..<N { (out + i * OC).update(from: bias, count: OC) }
        }
        BLAS.sgemm(m: N, n: OC, k: IC, a: inp, lda: IC, b: weight, ldb: OC, beta: bias == nil ? 0 : 1, c: out, ldc: OC)
    }

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

    /// dbias += Σₙ dout[n, :].
    static func biasBackward(dbias: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, N: Int, C: Int) {
        for i in 0..<N { let d = dout + i * C; for c in 0..<C { dbias[c] += d[c] } }
    }
}
