#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Kernels {
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
}
