import ClpFlowPlanner
import Foundation

/// The environment variables that change the numbers a step computes, set identically for every
/// executor (docs/runner.md, "Bit-identity").
///
/// * Thread counts: `CLP_FLOW_THREADS` (the engine's kernels) and the BLAS thread variables
///   `OPENBLAS_NUM_THREADS`, `GOTO_NUM_THREADS`, `OMP_NUM_THREADS` (an OpenMP build of OpenBLAS
///   reads the last). All four are the step's thread count: `CLP_FLOW_THREADS` of the runner's
///   environment when set, else the step's `resources.cpus`.
/// * `OPENBLAS_CORETYPE`: which kernel set a DYNAMIC_ARCH OpenBLAS uses. Passed on as it is in the
///   runner's environment, and explicitly unset when the runner has none, so that every step of a
///   run uses the same kernels whatever the compute node's login environment sets.
public enum NumericsEnvironment {
    public static let threadVariables = ["CLP_FLOW_THREADS", "OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"]
    public static let passedOn = ["OPENBLAS_CORETYPE"]
    /// Every variable the runner fixes for a step, in the order batch scripts write them.
    public static var names: [String] { threadVariables + passedOn }

    /// The thread count of `step` given the runner's environment: CLP_FLOW_THREADS when the user
    /// set it, else the step's `cpus`, or `share` (the local executor's fair share of idle cores)
    /// when that is more. Results do not depend on it (docs/runner.md).
    public static func threads(for step: PlannedStep, environment: [String: String], share: Int = 1) -> Int {
        if let s = environment["CLP_FLOW_THREADS"], let n = Int(s.trimmingCharacters(in: .whitespaces)), n >= 1 { return n }
        return max(1, step.resources.cpus, share)
    }

    /// name → value for `step`; nil means the variable must be unset.
    public static func values(for step: PlannedStep, environment: [String: String], share: Int = 1) -> [String: String?] {
        let n = String(threads(for: step, environment: environment, share: share))
        var out: [String: String?] = [:]
        for v in threadVariables { out[v] = .some(n) }
        for v in passedOn {
            if let x = environment[v], !x.isEmpty { out[v] = .some(x) } else { out[v] = .some(nil) }
        }
        return out
    }

    /// `environment` with the numerics variables of `step` applied (set or removed).
    public static func apply(to environment: [String: String], for step: PlannedStep, share: Int = 1) -> [String: String] {
        var env = environment
        for (k, v) in values(for: step, environment: environment, share: share) { env[k] = v }
        return env
    }

    /// Shell lines that give a batch job exactly the numerics variables of `environment`:
    /// `export NAME='value'` for those set, `unset NAME` for the others.
    public static func shellLines(_ environment: [String: String]) -> String {
        var s = ""
        for k in names {
            if let v = environment[k] { s += "export \(k)=\(shellQuote(v))\n" } else { s += "unset \(k)\n" }
        }
        return s
    }
}
