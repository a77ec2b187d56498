extension Kernels {
    /// The causal softmax of one attention row, in place: softmax over row[0 ..< visible] (the keys
    /// the query may see), zeros over row[visible ..< width] (visible ≤ width). A row that sees no
    /// key (visible ≤ 0: a pad slot of the KV cache) becomes all zeros. The engine's only masked
    /// softmax: training attention and cached generation both run through it.
    @inline(__always)
    public static func causalSoftmaxRow(_ row: UnsafeMutablePointer<Float>, visible: Int, width: Int) {
        if visible <= 0 { row.update(repeating: 0, count: width); return }
        var mx = -Float.infinity
        for j in 0..<visible { mx = Swift.max(mx, row[j]) }
        var s: Float = 0
        for j in 0..<visible { let e = exp(row[j] - mx); row[j] = e; s += e }
        let inv = 1 / s
        for j in 0..<visible { row[j] *= inv }
        for j in visible..<width { row[j] = 0 }
    }

    /// Backward of `causalSoftmaxRow`, in place: d ← p ⊙ (d − Σ p·d) over the visible part, zeros
    /// over the rest, where p is the row of probabilities and d holds d(probabilities) on entry.
    @inline(__always)
    public static func causalSoftmaxRowBackward(_ d: UnsafeMutablePointer<Float>, probs p: UnsafePointer<Float>,
                                                visible: Int, width: Int) {
        var dot: Float = 0
        for j in 0..<visible { dot += p[j] * d[j] }
        for j in 0..<visible { d[j] = p[j] * (d[j] - dot) }
        for j in visible..<width { d[j] = 0 }
    }
}
