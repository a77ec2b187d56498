import ClpFlowSmallGemm

extension Kernels {
    static let geluScale: Float = 0.7978845608028654  // sqrt(2/pi)

    // MARK: GELU (tanh approximation, "gelu_new")

    /// out = 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))) over `count` elements (`clp_gelu_forward`:
    /// AVX2 + FMA code chosen at run time, or portable C; tanh through an exp-based formula, no libm
    /// call). Every element is computed alike wherever it lies, so the split over threads changes no bit.
    public static func geluForward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
        Parallel.ranges(count, minPerThread: 8192) { lo, hi in
            clp_gelu_forward(-1, out + lo, nil, inp + lo, hi - lo)
        }
    }

    /// `geluForward` that also stores tanh(√(2/π)(x + 0.044715x³)) for `geluBackward(savedTanh:)`.
    public static func geluForward(out: UnsafeMutablePointer<Float>, savedTanh: UnsafeMutablePointer<Float>,
                                   inp: UnsafePointer<Float>, count: Int) {
        Parallel.ranges(count, minPerThread: 8192) { lo, hi in
            clp_gelu_forward(-1, out + lo, savedTanh + lo, inp + lo, hi - lo)
        }
    }

    /// `geluForward(out:savedTanh:inp:count:)` in a given variant (0 portable C, 1 AVX2 + FMA; an
    /// unavailable one falls back to the best), on the calling thread. For tests.
    public static func geluForward(variant: Int, out: UnsafeMutablePointer<Float>, savedTanh: UnsafeMutablePointer<Float>?,
                                   inp: UnsafePointer<Float>, count: Int) {
        clp_gelu_forward(Int32(variant), out, savedTanh, inp, count)
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
