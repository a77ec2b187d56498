extension Kernels {
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
