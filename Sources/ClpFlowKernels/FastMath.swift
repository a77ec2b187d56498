#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Kernels {
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

    /// log Σ exp over one row of width V (numerically stable).
    @inlinable @inline(__always)
    public static func logSumExp(_ x: UnsafePointer<Float>, _ V: Int) -> Float {
        var mx = -Float.infinity
        for v in 0..<V { mx = Swift.max(mx, x[v]) }
        var s: Float = 0
        for v in 0..<V { s += exp(x[v] - mx) }
        return mx + logf(s)
    }
}
