extension Kernels {
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
}
