
#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// Learning rate at a training step: linear warm-up over `warmup` steps, then the schedule
/// (cosine decay to 10% of the peak, linear decay to 0, or constant) over the remaining steps.
public struct LearningRateSchedule: Sendable, Hashable {
    public let peak: Double
    public let warmup: Int
    public let total: Int
    /// What follows the warm-up.
    public enum Shape: String, Sendable, Hashable, CaseIterable { case cosine, constant, linear }

    public let kind: Shape
    /// Cosine decays to this fraction of the peak.
    public static let cosineFloor = 0.1

    public init(peak: Double, warmup: Int, total: Int, kind: Shape) {
        self.peak = peak; self.warmup = max(0, warmup); self.total = max(1, total); self.kind = kind
    }

    /// `step` counts from 0.
    public func rate(at step: Int) -> Double {
        if step < warmup { return peak * Double(step + 1) / Double(warmup) }
        let span = max(1, total - warmup)
        let progress = min(1, Double(step - warmup) / Double(span))
        switch kind {
        case .constant: return peak
        case .linear: return peak * (1 - progress)
        case .cosine:
            let f = LearningRateSchedule.cosineFloor
            return peak * (f + (1 - f) * 0.5 * (1 + cos(Double.pi * progress)))
        }
    }
}
