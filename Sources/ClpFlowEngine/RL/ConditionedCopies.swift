/// CLP's parameter-space conditioning: m copies θ¹…θᵐ of a chosen subset C of a model's
/// parameters (a list of slices of its flat buffer). For a weighting w the model runs with
/// θ_C(w) = Σᵢ wᵢ θᵢ written into those slices; the other parameters are shared.
/// Because θ_C(w) is linear in the copies, ∂L/∂θᵢ = wᵢ · ∂L/∂θ_C evaluated at θ(w).
///
/// Copy i of slice s lives at `copies[i * width + packedOffset(s) ..< + s.count]`. The last
/// `frozen` copies are fixed: they take part in θ_C(w) but receive no gradient and no update
/// (the π_ref anchor of the `interpolate` KL encoding).
public struct ConditionedCopies: Sendable {
    public let slices: [ParamSlice]
    public let copyCount: Int
    /// Σ slice counts: the size of one copy.
    public let width: Int
    public var copies: [Float]
    public var grads: [Float]
    /// Trailing copies that are never trained.
    public var frozen: Int = 0 {
        didSet { precondition(frozen >= 0 && frozen < copyCount, "at least one copy must be trainable") }
    }
    /// Copies that receive gradients and updates (the first `trainableCount`).
    public var trainableCount: Int { copyCount - frozen }

    /// Every copy starts from the model's current values of the slices.
    public init(slices: [ParamSlice], copyCount m: Int, initialFrom params: UnsafePointer<Float>) {
        precondition(m >= 1)
        let width = slices.reduce(0) { $0 + $1.count }
        self.slices = slices
        self.copyCount = m
        self.width = width
        var c = [Float](repeating: 0, count: m * width)
        c.withUnsafeMutableBufferPointer { cp in
            for i in 0..<m {
                var o = i * width
                for s in slices {
                    (cp.baseAddress! + o).update(from: params + s.offset, count: s.count)
                    o += s.count
                }
            }
        }
        self.copies = c
        self.grads = [Float](repeating: 0, count: m * width)
    }

    /// Builds copies from separately stored values (e.g. Rewarded Soups from m SOFT buffers).
    public init(slices: [ParamSlice], copies: [[Float]]) {
        let width = slices.reduce(0) { $0 + $1.count }
        self.slices = slices
        self.copyCount = copies.count
        self.width = width
        precondition(copies.allSatisfy { $0.count == width }, "every copy must hold \(width) values")
        self.copies = copies.flatMap { $0 }
        self.grads = [Float](repeating: 0, count: copies.count * width)
    }

    /// Writes θ_C(w) = Σᵢ wᵢ θᵢ into the model's buffer.
    public func materialize(weights w: [Float], into params: UnsafeMutablePointer<Float>) {
        precondition(w.count == copyCount, "expected \(copyCount) weights, got \(w.count)")
        copies.withUnsafeBufferPointer { cp in
            var o = 0
            for s in slices {
                let dst = params + s.offset
                for j in 0..<s.count { dst[j] = 0 }
                for i in 0..<copyCount where w[i] != 0 {
                    let src = cp.baseAddress! + i * width + o
                    let wi = w[i]
                    for j in 0..<s.count { dst[j] += wi * src[j] }
                }
                o += s.count
            }
        }
    }

    /// Adds wᵢ · g_C to the gradient of copy i, where g_C is the model gradient on the slices
    /// (trainable copies only: a frozen copy's gradient stays 0).
    public mutating func accumulateGradients(weights w: [Float], from modelGrads: UnsafePointer<Float>) {
        precondition(w.count == copyCount)
        let width = self.width, slices = self.slices, m = trainableCount
        grads.withUnsafeMutableBufferPointer { gp in
            for i in 0..<m where w[i] != 0 {
                var o = 0
                let wi = w[i]
                for s in slices {
                    let dst = gp.baseAddress! + i * width + o
                    let src = modelGrads + s.offset
                    for j in 0..<s.count { dst[j] += wi * src[j] }
                    o += s.count
                }
            }
        }
    }

    public mutating func zeroGrads() {
        grads.withUnsafeMutableBufferPointer { g in
            for j in 0..<g.count { g[j] = 0 }
        }
    }

    /// One optimizer step on the trainable copies with their accumulated gradients (the
    /// optimizer holds `trainableCount × width` values; frozen copies are left as they are).
    public mutating func update(with optimizer: AdamW) {
        precondition(optimizer.m.count == trainableCount * width, "the optimizer must cover the trainable copies")
        copies.withUnsafeMutableBufferPointer { p in
            grads.withUnsafeBufferPointer { g in optimizer.update(params: p.baseAddress!, grads: g.baseAddress!) }
        }
    }

    /// Copy i as one packed vector.
    public func copy(_ i: Int) -> ArraySlice<Float> { copies[(i * width)..<((i + 1) * width)] }
}

/// Zeroes the model-gradient entries of the conditioned slices (they are trained through the
/// copies, not directly).
public func zeroSlices(_ slices: [ParamSlice], in buffer: UnsafeMutablePointer<Float>) {
    for s in slices { for j in 0..<s.count { buffer[s.offset + j] = 0 } }
}
