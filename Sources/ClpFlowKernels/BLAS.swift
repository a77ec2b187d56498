import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// Thin wrappers over OpenBLAS. Every matrix product in clp-flow goes through `sgemm`.
/// All matrices are row-major.
public enum BLAS {
    /// C = alpha · op(A) · op(B) + beta · C, with op(A) of shape m×k and op(B) of shape k×n.
    /// `transA` / `transB` select op(X) = Xᵀ; `lda`, `ldb`, `ldc` are the row strides of the
    /// matrices as stored (so strided views such as one head of a fused qkv tensor work directly).
    @inline(__always)
    public static func sgemm(transA: Bool = false, transB: Bool = false,
                             m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0,
                             c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// y = alpha · op(A) · x + beta · y where A is m×n row-major (op(A) = Aᵀ if `trans`).
    @inline(__always)
    public static func sgemv(trans: Bool = false, m: Int, n: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>, incx: Int = 1,
                             beta: Float = 0, y: UnsafeMutablePointer<Float>, incy: Int = 1) {
        if m == 0 || n == 0 { return }
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha,
                    a, Int32(lda), x, Int32(incx), beta, y, Int32(incy))
    }

    /// Sets the number of OpenBLAS worker threads.
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Serialises changes of the process-wide OpenBLAS thread count (recursive, so nested regions
    /// of one thread do not block). OpenBLAS results depend on its thread count: code that changes
    /// it does so only inside `withThreads`, and code that needs a fixed count for a whole
    /// computation wraps it the same way.
    nonisolated(unsafe) private static let threadLock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        var attr = pthread_mutexattr_t()
        pthread_mutexattr_init(&attr)
        pthread_mutexattr_settype(&attr, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(m, &attr)
        pthread_mutexattr_destroy(&attr)
        return m
    }()

    /// Runs `body` with OpenBLAS set to `n` threads (nil: the current count, held fixed), then
    /// restores the previous count.
    public static func withThreads<T>(_ n: Int?, _ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(threadLock)
        defer { pthread_mutex_unlock(threadLock) }
        let saved = threads
        if let n, n != saved { setThreads(n) }
        defer { if let n, n != saved { setThreads(saved) } }
        return try body()
    }
}
