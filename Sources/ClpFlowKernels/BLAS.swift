import COpenBLAS
import ClpFlowSmallGemm
#if canImport(Glibc)
import Glibc
#endif

/// Thin wrappers over OpenBLAS. Every matrix product in clp-flow goes through `sgemm`.
/// All matrices are row-major.
///
/// Determinism across thread counts: OpenBLAS runs single-threaded, always. A large product is cut
/// into a fixed set of parts (row or column blocks of C) that depends only on its shape (m, n, k);
/// each part is one single-threaded OpenBLAS call, and the parts are spread over `Parallel.threads`
/// workers. Every element of C is therefore computed by the same call with the same operands
/// whatever the number of threads, so results are bit-identical with 1, 2 or 64 threads.
///
/// Products with few rows (see `usesSmallRows`; A not transposed: the token-by-token steps of
/// generation) skip OpenBLAS, which would pack the whole weight matrix for each of them: the
/// small-row kernel (`ClpFlowSmallGemm`) streams it once, computing every element by one fixed
/// sequence of operations (so neither the column parts nor the row count change its bits).
public enum BLAS {
    /// OpenBLAS's own threading is switched off once, before the first product.
    private static let singleThreaded: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// A product of fewer multiply-adds than this is one call.
    public static let splitThreshold = 1 << 20
    /// Upper bound on the number of parts of one product (enough for 8 workers).
    public static let maxParts = 8
    /// Smallest extent of a part along the split dimension.
    public static let minPartExtent = 32

    /// Products with at most `smallRowLimit` rows (A not transposed) take the small-row kernel when
    /// B is transposed (C = A·Bᵀ, as the output head: the kernel reads B's rows contiguously) or has
    /// at most `smallWeightLimit` elements; with at most `smallRowLimitLargeWeights` rows whatever
    /// B. Measured against OpenBLAS (one thread, GFLOP/s per CPU second, AVX2; small / OpenBLAS):
    /// - B of up to 1 MB: 128×384 at 1 row 28 / 7, 16 rows 88 / 57; 256×768 at 4 rows 30 / 19,
    ///   16 rows 42 / 39;
    /// - A·Bᵀ: 256 × 4,096 at 4 rows 27 / 12, 16 rows 48 / 30;
    /// - larger B, read in column strips that miss the caches: 384×1536 at 4 rows 24 / 25, 16 rows
    ///   31 / 47; 768×2304 (GPT-2 small) at 1 row 8.8 / 5.0, 4 rows 15 / 22, 16 rows 37 / 45.
    public static let smallRowLimit = 16
    public static let smallWeightLimit = 1 << 18
    public static let smallRowLimitLargeWeights = 2

    /// Whether an m×n×k product takes the small-row kernel.
    @inline(__always)
    public static func usesSmallRows(transA: Bool, transB: Bool, m: Int, n: Int, k: Int) -> Bool {
        !transA && (m <= smallRowLimitLargeWeights || (m <= smallRowLimit && (transB || n * k <= smallWeightLimit)))
    }

    /// A small-row product of fewer multiply-adds than this is one call; larger ones are cut into
    /// column parts of at least `smallMinPartColumns` columns (a function of the shape only).
    public static let smallSplitThreshold = 1 << 18
    public static let smallMinPartColumns = 64
    /// Column parts of a streamed product (≤ 2 rows, weights over `smallWeightLimit` floats).
    public static let streamParts = 2

    /// Whether an m×n×k product takes the small-row kernel.
    @inline(__always)
    public static func usesSmallRows(transA: Bool, m: Int, n: Int, k: Int) -> Bool {
        !transA && (m <= smallRowLimitLargeWeights || (m <= smallRowLimit && n * k <= smallWeightLimit))
    }

    /// The fixed number of column parts of a small-row m×n×k product (a function of the shape).
    @inline(__always)
    public static func smallPartition(m: Int, n: Int, k: Int) -> Int {
        let work = m * n * k
        if work < smallSplitThreshold { return 1 }
        let parts = Swift.max(1, Swift.min(maxParts, n / smallMinPartColumns, work / (smallSplitThreshold / 2)))
        // One or two rows against a weight matrix over 1 MB are streamed through B in memory order
        // (`nn_stream` in ClpFlowSmallGemm): narrow column parts would cut each row of B into
        // short runs a row stride apart, which is what streaming avoids, so at most 2 parts.
        if m <= smallRowLimitLargeWeights && n * k > smallWeightLimit { return Swift.min(parts, streamParts) }
        return parts
    }

    /// The fixed partition of an m×n×k product: along the rows of C (`rows` true) or its columns,
    /// into `count` parts. A function of the shape only.
    @inline(__always)
    public static func partition(m: Int, n: Int, k: Int) -> (rows: Bool, count: Int) {
        let work = m * n * k
        if work < splitThreshold { return (true, 1) }
        let rows = m >= n
        let extent = rows ? m : n
        let count = Swift.max(1, Swift.min(maxParts, extent / minPartExtent, work / (splitThreshold / 2)))
        return (rows, count)
    }

    /// C = alpha · op(A) · op(B) + beta · C, with op(A) of shape m×k and op(B) of shape k×n.
    /// `transA` / `transB` select op(X) = Xᵀ; `lda`, `ldb`, `ldc` are the row strides of the
    /// matrices as stored (so strided views such as one head of a fused qkv tensor work directly).
    /// Large products run their fixed parts on the kernel worker threads (serially when called
    /// from inside a worker).
    @inline(__always)
    public static func sgemm(transA: Bool = false, transB: Bool = false,
                             m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0,
                             c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if usesSmallRows(transA: transA, transB: transB, m: m, n: n, k: k) {
            let count = smallPartition(m: m, n: n, k: k)
            if count == 1 {
                small(transB: transB, m: m, n0: 0, n1: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                      beta: beta, c: c, ldc: ldc)
            } else {
                Parallel.tasks(count) { part in
                    // column parts on multiples of 32 columns (the kernel's widest tile)
                    let lo = (n * part / count) & ~31, hi = part == count - 1 ? n : (n * (part + 1) / count) & ~31
                    small(transB: transB, m: m, n0: lo, n1: hi, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                          beta: beta, c: c, ldc: ldc)
                }
            }
            return
        }
        let (rows, count) = partition(m: m, n: n, k: k)
        if count == 1 {
            whole(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                  b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        let extent = rows ? m : n
        Parallel.tasks(count) { part in
            let lo = extent * part / count, hi = extent * (part + 1) / count
            if rows {
                // rows lo..<hi of op(A): row offset of A, or column offset of a transposed A
                let ap = transA ? a + lo : a + lo * lda
                whole(transA: transA, transB: transB, m: hi - lo, n: n, k: k, alpha: alpha, a: ap, lda: lda,
                      b: b, ldb: ldb, beta: beta, c: c + lo * ldc, ldc: ldc)
            } else {
                // columns lo..<hi of op(B): column offset of B, or row offset of a transposed B
                let bp = transB ? b + lo * ldb : b + lo
                whole(transA: transA, transB: transB, m: m, n: hi - lo, k: k, alpha: alpha, a: a, lda: lda,
                      b: bp, ldb: ldb, beta: beta, c: c + lo, ldc: ldc)
            }
        }
    }

    /// One single-threaded OpenBLAS call, never split (for products made inside a worker that
    /// already owns its share of the work, such as one attention head).
    @inline(__always)
    public static func whole(transA: Bool = false, transB: Bool = false,
                             m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0,
                             c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if usesSmallRows(transA: transA, transB: transB, m: m, n: n, k: k) {
            small(transB: transB, m: m, n0: 0, n1: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                  beta: beta, c: c, ldc: ldc)
            return
        }
        _ = singleThreaded
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Columns n0 ..< n1 of a small-row product (`ClpFlowSmallGemm`), on the calling thread.
    /// `variant`: nil for the best the CPU supports (what `sgemm` uses), 0 portable C, 1 AVX2 + FMA
    /// (tests compare them; an unavailable variant falls back to the best).
    @inline(__always)
    public static func small(variant: Int? = nil, transB: Bool, m: Int, n0: Int, n1: Int, k: Int, alpha: Float,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        clp_small_gemm(Int32(variant ?? -1), transB ? 1 : 0, m, n0, n1, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// The small-row variants this CPU runs (0 portable C, and 1 with AVX2 + FMA).
    public static var smallVariants: [Int] { [0, 1].filter { clp_small_gemm_variant_available(Int32($0)) != 0 } }
    /// The variant `sgemm` uses for small-row products.
    public static var smallBestVariant: Int { Int(clp_small_gemm_best_variant()) }

    /// Number of worker threads the products and kernels use (`Parallel.threads`). Results do
    /// not depend on it.
    public static func setThreads(_ n: Int) { Parallel.threads = n }
    public static var threads: Int { Parallel.threads }

    /// Serialises changes of the process-wide worker count (recursive, so nested regions of one
    /// thread do not block).
    nonisolated(unsafe) private static let threadLock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        var attr = pthread_mutexattr_t()
        pthread_mutexattr_init(&attr)
        pthread_mutexattr_settype(&attr, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(m, &attr)
        pthread_mutexattr_destroy(&attr)
        return m
    }()

    /// Runs `body` with `n` worker threads (nil: the current count, held fixed), then restores the
    /// previous count.
    public static func withThreads<T>(_ n: Int?, _ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(threadLock)
        defer { pthread_mutex_unlock(threadLock) }
        let saved = threads
        if let n, n != saved { setThreads(n) }
        defer { if let n, n != saved { setThreads(saved) } }
        return try body()
    }
}
