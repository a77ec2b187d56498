import Dispatch

/// Splits elementwise/row-wise kernels across worker threads (matrix products are threaded by
/// OpenBLAS itself). Results do not depend on the number of threads except for the order of
/// floating-point sums inside a reduction that crosses chunks (none of the kernels does).
public enum Parallel {
    nonisolated(unsafe) private static var _threads: Int = {
        if let s = getenv("CLP_FLOW_THREADS"), let n = Int(String(cString: s)), n >= 1 { return n }
        if let s = getenv("OPENBLAS_NUM_THREADS"), let n = Int(String(cString: s)), n >= 1 { return n }
        return Swift.max(1, Swift.min(2, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }()

    /// Worker threads used by the kernels (CLP_FLOW_THREADS, else OPENBLAS_NUM_THREADS, else min(2, cores)).
    public static var threads: Int {
        get { _threads }
        set { _threads = Swift.max(1, newValue) }
    }

    /// Calls `body(lo, hi)` on disjoint ranges covering 0 ..< count; runs inline when the work is
    /// small (count < minPerThread · 2) or one thread is configured.
    @inline(__always)
    public static func ranges(_ count: Int, minPerThread: Int, _ body: (Int, Int) -> Void) {
        let n = Swift.min(threads, count / Swift.max(minPerThread, 1))
        if n <= 1 { body(0, count); return }
        withoutActuallyEscaping(body) { b in
            let box = UncheckedBox(value: b)
            DispatchQueue.concurrentPerform(iterations: n) { i in
                box.value(count * i / n, count * (i + 1) / n)
            }
        }
    }
}

/// Carries a value into a concurrently executed closure; the kernels guarantee disjoint writes.
struct UncheckedBox<T>: @unchecked Sendable { let value: T }

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
