extension Kernels {
    static let geluScale: Float = 0.7978845608028654  // sqrt(2/pi)

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
}
