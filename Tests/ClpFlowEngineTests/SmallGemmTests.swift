import Testing
import ClpFlowKernels
#if canImport(Glibc)
import Glibc
#endif

/// The small-row product path (`BLAS.small`, taken by `BLAS.sgemm` for products of at most
/// `BLAS.smallRowLimit` rows): right against a double-precision reference in every variant the CPU
/// runs, and computing every element by one fixed sequence of operations, so that neither the row
/// count nor the column split nor the thread count changes a bit.
@Suite struct SmallGemmTests {
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (1, 37, 13), (2, 64, 128), (3, 45, 9), (4, 384, 128), (5, 100, 70), (7, 33, 31),
        (16, 129, 40), (13, 8, 200), (16, 512, 128),
    ]

    /// C = alpha·A·op(B) + beta·C with `BLAS.small` over columns n0 ..< n1 (C outside them untouched).
    func product(variant: Int?, transB: Bool, m: Int, n: Int, k: Int, n0: Int = 0, n1: Int? = nil,
                 alpha: Float, beta: Float, a: [Float], b: [Float], c0: [Float]) -> [Float] {
        var c = c0
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            BLAS.small(variant: variant, transB: transB, m: m, n0: n0, n1: n1 ?? n, k: k, alpha: alpha,
                       a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: transB ? k : n, beta: beta,
                       c: cp.baseAddress!, ldc: n)
        } } }
        return c
    }

    @Test func matchesADoublePrecisionReferenceInEveryVariant() {
        #expect(BLAS.smallVariants.contains(0))
        for variant in BLAS.smallVariants {
            for (m, n, k) in Self.shapes {
                for transB in [false, true] {
                    for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1), (-2, 0.25)] {
                        let a = seededNormals(m * k, seed: 1), b = seededNormals(k * n, seed: 2)
                        // with beta 0, C is not read: NaN there must not leak into the result
                        let c0 = beta == 0 ? [Float](repeating: .nan, count: m * n) : seededNormals(m * n, seed: 3)
                        let c = product(variant: variant, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
                                        a: a, b: b, c0: c0)
                        var worst = 0.0
                        for i in 0..<m { for j in 0..<n {
                            var dot = 0.0, mag = 0.0
                            for p in 0..<k {
                                let x = Double(a[i * k + p]) * Double(transB ? b[j * k + p] : b[p * n + j])
                                dot += x; mag += abs(x)
                            }
                            let want = Double(alpha) * dot + (beta == 0 ? 0 : Double(beta) * Double(c0[i * n + j]))
                            let err = abs(Double(c[i * n + j]) - want) / (1 + abs(Double(alpha)) * mag)
                            worst = max(worst, err.isNaN ? .infinity : err)
                        } }
                        // float rounding: at most a few ulps of the sum of magnitudes
                        #expect(worst < 4e-7 * Double(k).squareRoot() + 1e-7,
                                "variant \(variant) \(m)×\(n)×\(k) transB \(transB) alpha \(alpha) beta \(beta): \(worst)")
                    }
                }
            }
        }
    }

    /// Each row of C gets the same bits whether it is computed alone or with others, and each
    /// column whatever column range the call covers.
    @Test func rowsAndColumnRangesDoNotChangeBits() {
        for variant in BLAS.smallVariants {
            for transB in [false, true] {
                let m = 16, n = 203, k = 77
                let a = seededNormals(m * k, seed: 4), b = seededNormals(k * n, seed: 5), c0 = seededNormals(m * n, seed: 6)
                let all = product(variant: variant, transB: transB, m: m, n: n, k: k, alpha: 0.7, beta: 1, a: a, b: b, c0: c0)
                for i in [0, 5, 15] {
                    for rows in [1, 2, 3, m - i] where i + rows <= m {
                        let sub = product(variant: variant, transB: transB, m: rows, n: n, k: k, alpha: 0.7, beta: 1,
                                          a: Array(a[(i * k)...]), b: b, c0: Array(c0[(i * n)..<((i + rows) * n)]))
                        #expect(Array(sub[0..<n]) == Array(all[(i * n)..<((i + 1) * n)]),
                                "variant \(variant) transB \(transB) row \(i) in a block of \(rows)")
                    }
                }
                // columns in uneven pieces: the same bits, and nothing outside the range is written
                var pieces = c0
                for (lo, hi) in [(0, 5), (5, 96), (96, 97), (97, 203)] {
                    let part = product(variant: variant, transB: transB, m: m, n: n, k: k, n0: lo, n1: hi,
                                       alpha: 0.7, beta: 1, a: a, b: b, c0: c0)
                    for i in 0..<m {
                        for j in 0..<n where j < lo || j >= hi { #expect(part[i * n + j] == c0[i * n + j]) }
                        for j in lo..<hi { pieces[i * n + j] = part[i * n + j] }
                    }
                }
                #expect(pieces == all, "variant \(variant) transB \(transB)")
            }
        }
    }

    /// One or two rows against a weight matrix larger than 1 MB are streamed through B in memory
    /// order (`nn_stream`); every element keeps the bits the column-strip kernel gives it as a row
    /// of a larger block, whatever column range the call covers.
    @Test func streamedRowsMatchTheStripKernelBitForBit() {
        for variant in BLAS.smallVariants {
            // B of 260 × 2,100 floats (2.2 MB): n is not a multiple of 8 and crosses a 2,048-column block
            let m = 5, n = 2_100, k = 260
            let a = seededNormals(m * k, seed: 14), b = seededNormals(k * n, seed: 15), c0 = seededNormals(m * n, seed: 16)
            let all = product(variant: variant, transB: false, m: m, n: n, k: k, alpha: 0.7, beta: 1, a: a, b: b, c0: c0)
            for (i, rows) in [(0, 1), (3, 2), (4, 1)] {
                let sub = product(variant: variant, transB: false, m: rows, n: n, k: k, alpha: 0.7, beta: 1,
                                  a: Array(a[(i * k)...]), b: b, c0: Array(c0[(i * n)..<((i + rows) * n)]))
                #expect(sub == Array(all[(i * n)..<((i + rows) * n)]), "variant \(variant) rows \(i)..<\(i + rows)")
            }
            var pieces = c0
            for (lo, hi) in [(0, 3), (3, 2_060), (2_060, 2_100)] {
                let part = product(variant: variant, transB: false, m: 1, n: n, k: k, n0: lo, n1: hi,
                                   alpha: 0.7, beta: 1, a: a, b: b, c0: Array(c0[0..<n]))
                for j in 0..<n where j < lo || j >= hi { #expect(part[j] == c0[j]) }
                for j in lo..<hi { pieces[j] = part[j] }
            }
            #expect(Array(pieces[0..<n]) == Array(all[0..<n]), "variant \(variant): column pieces")
        }
    }

    /// The variants differ only by rounding (the portable one has no fused multiply-add).
    @Test func variantsAgreeToRounding() {
        let m = 9, n = 150, k = 300
        let a = seededNormals(m * k, seed: 7), b = seededNormals(k * n, seed: 8), c0 = seededNormals(m * n, seed: 9)
        for transB in [false, true] {
            let results = BLAS.smallVariants.map {
                product(variant: $0, transB: transB, m: m, n: n, k: k, alpha: 1, beta: 1, a: a, b: b, c0: c0)
            }
            for r in results.dropFirst() {
                let diff = zip(r, results[0]).map { abs($0 - $1) }.max()!
                #expect(diff < 1e-4, "transB \(transB): \(diff)")
            }
        }
    }

    /// `BLAS.sgemm` routes products of at most `smallRowLimit` rows (A not transposed) to the
    /// small-row kernel and others to OpenBLAS.
    @Test func sgemmTakesTheSmallRowPathForFewRows() {
        #expect(BLAS.usesSmallRows(transA: false, transB: false, m: BLAS.smallRowLimit, n: 512, k: 128))
        #expect(!BLAS.usesSmallRows(transA: false, transB: false, m: BLAS.smallRowLimit + 1, n: 512, k: 128))
        #expect(!BLAS.usesSmallRows(transA: true, transB: false, m: 1, n: 512, k: 128))
        // large weight matrices: only the fewest rows
        #expect(BLAS.usesSmallRows(transA: false, transB: false, m: BLAS.smallRowLimitLargeWeights, n: 2304, k: 768))
        #expect(!BLAS.usesSmallRows(transA: false, transB: false, m: BLAS.smallRowLimitLargeWeights + 1, n: 2304, k: 768))
        #expect(BLAS.usesSmallRows(transA: false, transB: true, m: BLAS.smallRowLimit, n: 50257, k: 768))
        for transB in [false, true] {
            let m = 6, n = 300, k = 50
            let a = seededNormals(m * k, seed: 10), b = seededNormals(k * n, seed: 11), c0 = seededNormals(m * n, seed: 12)
            var c = c0
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                BLAS.sgemm(transB: transB, m: m, n: n, k: k, alpha: 0.5, a: ap.baseAddress!, lda: k,
                           b: bp.baseAddress!, ldb: transB ? k : n, beta: 1, c: cp.baseAddress!, ldc: n)
            } } }
            let want = product(variant: nil, transB: transB, m: m, n: n, k: k, alpha: 0.5, beta: 1, a: a, b: b, c0: c0)
            #expect(c == want)
        }
    }

    /// Small-row products large enough to be cut into column parts give the same bits with 1, 2
    /// and 3 worker threads.
    @Test func splitSmallRowProductsAreBitIdenticalAcrossThreadCounts() {
        for (m, n, k) in [(16, 1536, 128), (4, 2048, 128), (1, 5000, 200), (2, 2304, 768)] {
            #expect(BLAS.smallPartition(m: m, n: n, k: k) > 1)
            for transB in [false, true] {
                #expect(BLAS.usesSmallRows(transA: false, transB: transB, m: m, n: n, k: k))
                let a = seededNormals(m * k, seed: 13), b = seededNormals(k * n, seed: 14)
                var results: [[Float]] = []
                for threads in [1, 2, 3] {
                    var c = seededNormals(m * n, seed: 15)
                    BLAS.withThreads(threads) {
                        BLAS.sgemm(transB: transB, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: transB ? k : n,
                                   beta: 1, c: &c, ldc: n)
                    }
                    results.append(c)
                }
                #expect(results[0] == results[1] && results[1] == results[2], "\(m)×\(n)×\(k) transB \(transB)")
            }
        }
    }
}

/// GELU forward in C (`clp_gelu_forward`): float-rounding accuracy against the double-precision
/// formula in every variant, and no dependence on where an element lies or on the thread count.
@Suite struct GeluKernelTests {
    @Test func matchesTheDoublePrecisionFormulaInEveryVariant() {
        let n = 20_003
        let x = (0..<n).map { Float(-12 + 24 * Double($0) / Double(n)) }
        for variant in BLAS.smallVariants {
            var out = [Float](repeating: 0, count: n), t = out
            Kernels.geluForward(variant: variant, out: &out, savedTanh: &t, inp: x, count: n)
            var worstT = 0.0, worstOut = 0.0
            for i in 0..<n {
                let xd = Double(x[i]), u = (2 / Double.pi).squareRoot() * (xd + 0.044715 * xd * xd * xd)
                let th = Glibc.tanh(u), want = 0.5 * xd * (1 + th)
                worstT = max(worstT, abs(Double(t[i]) - th))
                worstOut = max(worstOut, abs(Double(out[i]) - want) / max(1, abs(want)))
            }
            // libm's tanhf on the float argument is off by up to 1.3e-7 here
            #expect(worstT < 5e-7, "variant \(variant): tanh \(worstT)")
            #expect(worstOut < 1e-6, "variant \(variant): gelu \(worstOut)")
        }
    }

    @Test func elementsDoNotDependOnTheirPositionOrTheThreadCount() {
        let n = 40_000 + 13
        let x = seededNormals(n, seed: 31, scale: 3)
        for variant in BLAS.smallVariants {
            var whole = [Float](repeating: 0, count: n), wholeT = whole
            Kernels.geluForward(variant: variant, out: &whole, savedTanh: &wholeT, inp: x, count: n)
            // in uneven pieces (the last partial vector of each goes through the padded path)
            var pieces = [Float](repeating: 0, count: n), piecesT = pieces
            var lo = 0
            for len in [1, 7, 9, 8, 100, 3] + [n] {
                let hi = min(n, lo + len)
                x.withUnsafeBufferPointer { xp in pieces.withUnsafeMutableBufferPointer { o in piecesT.withUnsafeMutableBufferPointer { t in
                    Kernels.geluForward(variant: variant, out: o.baseAddress! + lo, savedTanh: t.baseAddress! + lo,
                                        inp: xp.baseAddress! + lo, count: hi - lo)
                } } }
                lo = hi
                if lo == n { break }
            }
            #expect(pieces == whole && piecesT == wholeT, "variant \(variant)")
        }
        var results: [[Float]] = []
        for threads in [1, 2, 3] {
            var o = [Float](repeating: 0, count: n)
            BLAS.withThreads(threads) { Kernels.geluForward(out: &o, inp: x, count: n) }
            results.append(o)
        }
        #expect(results[0] == results[1] && results[1] == results[2])
    }
}
