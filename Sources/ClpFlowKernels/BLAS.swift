import COpenBLAS

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

    /// Before a region whose small products each run on one worker (attention): switches BLAS to
    /// one thread and returns the previous setting for `restoreThreads` (nil when it already was
    /// 1). OpenBLAS results depend on its thread count, so these products always run
    /// single-threaded: the numbers do not depend on `Parallel.threads`.
    public static func singleThreadedIfParallel(_ count: Int) -> Int? {
        let t = threads
        if t > 1 { setThreads(1); return t }
        return nil
    }

    public static func restoreThreads(_ saved: Int?) { if let saved { setThreads(saved) } }
}
