import ClpFlowKernels

/// AdamW state (first and second moments) for a run of parameters; decoupled weight decay.
public final class AdamW: @unchecked Sendable {
    public var lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public let m: FloatBuffer, v: FloatBuffer
    public private(set) var step = 0

    public init(count: Int, lr: Float, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0) {
        self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        m = FloatBuffer(count: count); v = FloatBuffer(count: count)
    }

    /// Sets the number of updates done so far (restoring a saved optimiser).
    public func restore(step: Int) { self.step = step }

    /// One update of params[0..<count] from grads[0..<count].
    public func update(params: UnsafeMutablePointer<Float>, grads: UnsafePointer<Float>) {
        step += 1
        Kernels.adamW(params: params, grads: grads, m: m.pointer, v: v.pointer, count: m.count, lr: lr,
                      beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay, step: step)
    }

    /// One update of a whole model.
    public func update(_ model: GPTModel) {
        precondition(model.parameterCount == m.count, "optimizer size \(m.count) ≠ model size \(model.parameterCount)")
        update(params: model.params.pointer, grads: model.grads.pointer)
    }
}
