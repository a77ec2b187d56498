import Dispatch

/// Splits kernels and the parts of matrix products across worker threads. No kernel lets the
/// number of threads change its arithmetic: work is cut into pieces whose results are combined in
/// a fixed order (or written to disjoint places), so results are bit-identical for any count.
/// Work started from inside a worker runs inline on that worker (no nested fan-out).
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
    /// The range is cut into up to 4 chunks per thread, taken dynamically by the threads, so a
    /// thread that wakes late still finds work (chunk boundaries never change a result: the
    /// kernels work on disjoint rows).
    @inline(__always)
    public static func ranges(_ count: Int, minPerThread: Int, _ body: (Int, Int) -> Void) {
        let n = Swift.min(threads, count / Swift.max(minPerThread, 1))
        if n <= 1 || insideWorker { body(0, count); return }
        let chunks = Swift.min(4 * n, count / Swift.max(minPerThread, 1))
        withoutActuallyEscaping(body) { b in
            let box = UncheckedBox(value: b)
            DispatchQueue.concurrentPerform(iterations: chunks) { i in
                asWorker { box.value(count * i / chunks, count * (i + 1) / chunks) }
            }
        }
    }

    /// Calls `body(i)` for every i in 0 ..< count, each a unit the threads take dynamically;
    /// inline (in order) with one thread or inside a worker.
    @inline(__always)
    public static func tasks(_ count: Int, _ body: (Int) -> Void) {
        if threads <= 1 || count <= 1 || insideWorker { for i in 0..<count { body(i) }; return }
        withoutActuallyEscaping(body) { b in
            let box = UncheckedBox(value: b)
            DispatchQueue.concurrentPerform(iterations: count) { i in asWorker { box.value(i) } }
        }
    }

    /// Marks the current thread as a worker while `body` runs.
    private static let workerKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
    nonisolated(unsafe) private static let marker = UnsafeMutableRawPointer(bitPattern: 1)

    /// True on a thread that is running part of a parallel region.
    public static var insideWorker: Bool { pthread_getspecific(workerKey) != nil }

    @inline(__always)
    static func asWorker(_ body: () -> Void) {
        let previous = pthread_getspecific(workerKey)
        pthread_setspecific(workerKey, marker)
        body()
        pthread_setspecific(workerKey, previous)
    }
}

/// Carries a value into a concurrently executed closure; the kernels guarantee disjoint writes.
struct UncheckedBox<T>: @unchecked Sendable { let value: T }

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
