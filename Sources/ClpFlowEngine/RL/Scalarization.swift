#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

extension Double {
    var logarithm: Double { log(self) }
    var exponential: Double { exp(self) }
}

/// Turns a reward vector into one number for a weighting w.
///
/// - linear: Σ wᵢ rᵢ (the paper's).
/// - tchebycheff(τ): the smooth minimum −τ · log Σᵢ wᵢ · exp(−rᵢ/τ). For τ → ∞ it tends to the
///   linear scalarization; for τ → 0 to minᵢ{rᵢ : wᵢ > 0}; at a vertex eᵢ it equals rᵢ.
public struct Scalarizer: Sendable {
    public enum Rule: Sendable, Hashable {
        /// Σ wᵢ rᵢ.
        case linear
        /// Smooth Tchebycheff with temperature τ.
        case tchebycheff(temperature: Double)
    }

    public let kind: Rule
    public init(_ kind: Rule) { self.kind = kind }

    public func value(weights w: [Double], rewards r: [Double]) -> Double {
        precondition(w.count == r.count, "weights and rewards differ in length")
        switch kind {
        case .linear:
            var s = 0.0
            for i in 0..<w.count { s += w[i] * r[i] }
            return s
        case .tchebycheff(let tau):
            // log-sum-exp with the largest exponent factored out, over terms with wᵢ > 0.
            var xs: [Double] = [], ws: [Double] = []
            for i in 0..<w.count where w[i] > 0 { xs.append(-r[i] / tau); ws.append(w[i]) }
            guard let mx = xs.max() else { return 0 }
            var s = 0.0
            for j in 0..<xs.count { s += ws[j] * exp(xs[j] - mx) }
            return -tau * (mx + log(s))
        }
    }

    /// ∂s/∂rᵢ — used to attribute the scalarized reward to the individual rewards in logs.
    public func gradient(weights w: [Double], rewards r: [Double]) -> [Double] {
        switch kind {
        case .linear: return w
        case .tchebycheff(let tau):
            var e = [Double](repeating: 0, count: w.count)
            var mx = -Double.infinity
            for i in 0..<w.count where w[i] > 0 { mx = max(mx, -r[i] / tau) }
            var s = 0.0
            for i in 0..<w.count where w[i] > 0 { e[i] = w[i] * exp(-r[i] / tau - mx); s += e[i] }
            return s > 0 ? e.map { $0 / s } : e
        }
    }

    /// p dominates q (maximisation): p ≥ q everywhere and > somewhere.
    public static func dominates(_ p: [Double], _ q: [Double]) -> Bool {
        var strictly = false
        for i in 0..<p.count {
            if p[i] < q[i] { return false }
            if p[i] > q[i] { strictly = true }
        }
        return strictly
    }
}
