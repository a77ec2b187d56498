extension Kernels {
    public static let layerNormEps: Float = 1e-5

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
}
