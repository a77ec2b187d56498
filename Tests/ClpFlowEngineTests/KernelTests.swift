import Testing
import ClpFlowCore
import ClpFlowKernels
#if canImport(Glibc)
import Glibc
#endif

/// Finite-difference check of a vector function: L(x) = Σ r·f(x) with random r, compared with
/// the analytic gradient `backward(x, r)`. Loss accumulated in Double.
func finiteDifferenceCheck(_ x0: [Float], eps: Float = 1e-2, rtol: Double = 2e-2, atol: Double = 2e-4, seed: UInt64 = 7,
                   forward: ([Float]) -> [Float], backward: ([Float], [Float]) -> [Float]) -> (maxErr: Double, ok: Bool) {
    var rng = SeededRandom(seed: seed)
    let out0 = forward(x0)
    let r = (0..<out0.count).map { _ in Float(rng.normal()) }
    func L(_ x: [Float]) -> Double {
        let y = forward(x)
        var s = 0.0
        for i in 0..<y.count { s += Double(r[i]) * Double(y[i]) }
        return s
    }
    let g = backward(x0, r)
    var ok = true, worst = 0.0
    for i in 0..<x0.count {
        var xp = x0, xm = x0
        xp[i] += eps; xm[i] -= eps
        let fd = (L(xp) - L(xm)) / Double(2 * eps)
        let err = abs(fd - Double(g[i]))
        worst = max(worst, err)
        if err > atol + rtol * max(abs(fd), abs(Double(g[i]))) { ok = false }
    }
    return (worst, ok)
}

func seededNormals(_ n: Int, seed: UInt64, scale: Double = 1) -> [Float] {
    var rng = SeededRandom(seed: seed)
    return (0..<n).map { _ in Float(rng.normal() * scale) }
}

@Suite struct KernelTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func sgemmAllTransposes(ta: Bool, tb: Bool) {
        let m = 5, n = 7, k = 3
        let A = seededNormals(m * k, seed: 1), B = seededNormals(k * n, seed: 2), C0 = seededNormals(m * n, seed: 3)
        var C = C0
        let lda = ta ? m : k, ldb = tb ? k : n
        A.withUnsafeBufferPointer { a in B.withUnsafeBufferPointer { b in C.withUnsafeMutableBufferPointer { c in
            BLAS.sgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: a.baseAddress!, lda: lda,
                       b: b.baseAddress!, ldb: ldb, beta: 2, c: c.baseAddress!, ldc: n)
        } } }
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for p in 0..<k {
                let av = ta ? A[p * m + i] : A[i * k + p]
                let bv = tb ? B[j * k + p] : B[p * n + j]
                s += Double(av) * Double(bv)
            }
            let want = 0.5 * s + 2 * Double(C0[i * n + j])
            #expect(abs(Double(C[i * n + j]) - want) < 1e-5)
        } }
    }

    @Test func fastExpAndTanhAccuracy() {
        var worst: Float = 0
        var x: Float = -80
        while x < 80 {
            let e = Kernels.exp(x), r = Float(Glibc.exp(Double(x)))
            worst = max(worst, abs(e - r) / r)
            x += 0.173
        }
        #expect(worst < 1e-6)
        for v in stride(from: Float(-9), through: 9, by: 0.01) {
            #expect(abs(Kernels.tanh(v) - Float(Glibc.tanh(Double(v)))) < 2e-7 + 1e-6 * abs(v))
        }
    }

    @Test func layerNormGradient() {
        let N = 3, C = 6
        let x0 = seededNormals(N * C, seed: 4) + seededNormals(C, seed: 5).map { 1 + 0.3 * $0 } + seededNormals(C, seed: 6)
        func fwd(_ v: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: N * C), mean = [Float](repeating: 0, count: N), rstd = mean
            Kernels.layerNormForward(out: &out, mean: &mean, rstd: &rstd, inp: v, weight: Array(v[(N * C)...]),
                                     bias: Array(v[(N * C + C)...]), N: N, C: C)
            return out
        }
        let res = finiteDifferenceCheck(x0, forward: fwd) { v, dout in
            var out = [Float](repeating: 0, count: N * C), mean = [Float](repeating: 0, count: N), rstd = mean
            let w = Array(v[(N * C)..<(N * C + C)]), b = Array(v[(N * C + C)...])
            Kernels.layerNormForward(out: &out, mean: &mean, rstd: &rstd, inp: v, weight: w, bias: b, N: N, C: C)
            var dx = [Float](repeating: 0, count: N * C), dw = [Float](repeating: 0, count: C), db = dw
            Kernels.layerNormBackward(dinp: &dx, dweight: &dw, dbias: &db, dout: dout, inp: v, weight: w,
                                      mean: mean, rstd: rstd, N: N, C: C)
            return dx + dw + db
        }
        #expect(res.ok, "max error \(res.maxErr)")
        // forward values against a Double reference
        let y = fwd(x0)
        for i in 0..<N {
            let row = (0..<C).map { Double(x0[i * C + $0]) }
            let m = row.reduce(0, +) / Double(C)
            let v = row.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(C)
            for c in 0..<C {
                let want = (row[c] - m) / (v + 1e-5).squareRoot() * Double(x0[N * C + c]) + Double(x0[N * C + C + c])
                #expect(abs(Double(y[i * C + c]) - want) < 1e-5)
            }
        }
    }

    @Test func geluGradientAndValues() {
        let x0 = seededNormals(40, seed: 8, scale: 2)
        let res = finiteDifferenceCheck(x0, eps: 1e-3, forward: { v in
            var o = [Float](repeating: 0, count: v.count); Kernels.geluForward(out: &o, inp: v, count: v.count); return o
        }, backward: { v, d in
            var o = [Float](repeating: 0, count: v.count), t = o, dx = o
            Kernels.geluForward(out: &o, savedTanh: &t, inp: v, count: v.count)
            Kernels.geluBackward(dinp: &dx, inp: v, savedTanh: t, dout: d, count: v.count); return dx
        })
        #expect(res.ok, "max error \(res.maxErr)")
        var o = [Float](repeating: 0, count: x0.count)
        Kernels.geluForward(out: &o, inp: x0, count: x0.count)
        for i in 0..<x0.count {
            let x = Double(x0[i])
            let want = 0.5 * x * (1 + Glibc.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
            #expect(abs(Double(o[i]) - want) < 1e-6)
        }
    }

    @Test func linearGradient() {
        let N = 4, IC = 3, OC = 5
        let x0 = seededNormals(N * IC + IC * OC + OC, seed: 10)
        func split(_ v: [Float]) -> ([Float], [Float], [Float]) {
            (Array(v[0..<(N * IC)]), Array(v[(N * IC)..<(N * IC + IC * OC)]), Array(v[(N * IC + IC * OC)...]))
        }
        let res = finiteDifferenceCheck(x0, forward: { v in
            let (x, w, b) = split(v)
            var o = [Float](repeating: 0, count: N * OC)
            Kernels.linearForward(out: &o, inp: x, weight: w, bias: b, N: N, IC: IC, OC: OC); return o
        }, backward: { v, d in
            let (x, w, _) = split(v)
            var dx = [Float](repeating: 0, count: N * IC), dw = [Float](repeating: 0, count: IC * OC)
            var db = [Float](repeating: 0, count: OC)
            Kernels.linearBackward(dinp: &dx, dweight: &dw, dbias: &db, dout: d, inp: x, weight: w, N: N, IC: IC, OC: OC)
            return dx + dw + db
        })
        #expect(res.ok, "max error \(res.maxErr)")
    }

    @Test func attentionGradientAndCausality() {
        let B = 2, T = 5, C = 8, NH = 2
        let x0 = seededNormals(B * T * 3 * C, seed: 11)
        func fwd(_ v: [Float]) -> [Float] {
            var o = [Float](repeating: 0, count: B * T * C), att = [Float](repeating: 0, count: B * NH * T * T)
            Kernels.attentionForward(out: &o, att: &att, qkv: v, B: B, T: T, C: C, NH: NH); return o
        }
        let res = finiteDifferenceCheck(x0, eps: 1e-3, forward: fwd, backward: { v, d in
            var o = [Float](repeating: 0, count: B * T * C), att = [Float](repeating: 0, count: B * NH * T * T)
            Kernels.attentionForward(out: &o, att: &att, qkv: v, B: B, T: T, C: C, NH: NH)
            var dq = [Float](repeating: 0, count: v.count), scratch = [Float](repeating: 0, count: T * T)
            Kernels.attentionBackward(dqkv: &dq, scratch: &scratch, dout: d, qkv: v, att: att, B: B, T: T, C: C, NH: NH)
            return dq
        })
        #expect(res.ok, "max error \(res.maxErr)")
        // causality: changing the last position leaves earlier outputs unchanged
        var x1 = x0
        for c in 0..<(3 * C) { x1[(T - 1) * 3 * C + c] += 1 }
        let y0 = fwd(x0), y1 = fwd(x1)
        for t in 0..<(T - 1) { for c in 0..<C { #expect(y0[t * C + c] == y1[t * C + c]) } }
        #expect(y0[(T - 1) * C] != y1[(T - 1) * C])
    }

    @Test func weightedCrossEntropyGradient() {
        let N = 4, V = 6
        let x0 = seededNormals(N * V, seed: 12, scale: 1.5)
        let targets: [Int32] = [2, 0, 5, -1]
        let weights: [Float] = [0.7, -0.4, 0, 1.3]
        func loss(_ v: [Float]) -> Float {
            Kernels.crossEntropyForwardBackward(dlogits: nil, logits: v, targets: targets, weights: weights, N: N, V: V)
        }
        let res = finiteDifferenceCheck(x0, eps: 1e-3, forward: { [loss($0)] }, backward: { v, d in
            var dl = [Float](repeating: 0, count: v.count)
            Kernels.crossEntropyForwardBackward(dlogits: &dl, logits: v, targets: targets, weights: weights, N: N, V: V)
            return dl.map { $0 * d[0] }
        })
        #expect(res.ok, "max error \(res.maxErr)")
        // value against a Double reference
        var want = 0.0
        for i in 0..<2 {
            let row = (0..<V).map { Double(x0[i * V + $0]) }
            let lse = Glibc.log(row.map { Glibc.exp($0) }.reduce(0, +))
            want += Double(weights[i]) * (lse - row[Int(targets[i])])
        }
        #expect(abs(Double(loss(x0)) - want) < 1e-5)
    }

    @Test func adamWMatchesReference() {
        var p: [Float] = [0.5, -1, 2], m = [Float](repeating: 0, count: 3), v = m
        let g: [Float] = [0.1, -0.3, 0.05]
        var pd = p.map(Double.init), md = [0.0, 0, 0], vd = md
        for step in 1...3 {
            Kernels.adamW(params: &p, grads: g, m: &m, v: &v, count: 3, lr: 0.01, weightDecay: 0.1, step: step)
            for i in 0..<3 {
                md[i] = 0.9 * md[i] + 0.1 * Double(g[i]); vd[i] = 0.999 * vd[i] + 0.001 * Double(g[i]) * Double(g[i])
                let mh = md[i] / (1 - Glibc.pow(0.9, Double(step))), vh = vd[i] / (1 - Glibc.pow(0.999, Double(step)))
                pd[i] -= 0.01 * (mh / (vh.squareRoot() + 1e-8) + 0.1 * pd[i])
            }
        }
        for i in 0..<3 { #expect(abs(Double(p[i]) - pd[i]) < 1e-6) }
    }

    @Test func gradientClipping() {
        var g: [Float] = [3, 4, 0]
        let n = Kernels.clipGradNorm(&g, count: 3, maxNorm: 1)
        #expect(abs(n - 5) < 1e-6)
        #expect(abs(g[0] - 0.6) < 1e-6 && abs(g[1] - 0.8) < 1e-6)
        var h: [Float] = [0.1, 0.2]
        Kernels.clipGradNorm(&h, count: 2, maxNorm: 1)
        #expect(h == [0.1, 0.2])
    }
}

@Suite struct KernelVariantTests {
    @Test func causalSoftmaxRowMasksAndNormalises() {
        let x = seededNormals(7, seed: 40, scale: 3)
        var row = x
        Kernels.causalSoftmaxRow(&row, visible: 4, width: 7)
        let ref = (0..<4).map { Glibc.exp(Double(x[$0])) }, z = ref.reduce(0, +)
        for j in 0..<4 { #expect(abs(Double(row[j]) - ref[j] / z) < 1e-6) }
        #expect(Array(row[4...]) == [0, 0, 0])
        // a query that sees no key (a pad slot of the cache) gets an all-zero row
        var pad = x
        Kernels.causalSoftmaxRow(&pad, visible: 0, width: 7)
        #expect(pad == [Float](repeating: 0, count: 7))
        var neg = x
        Kernels.causalSoftmaxRow(&neg, visible: -2, width: 7)
        #expect(neg == [Float](repeating: 0, count: 7))
        // backward: d ← p ⊙ (d − Σ p·d) on the visible part, zero after
        var d = seededNormals(7, seed: 41)
        let d0 = d
        Kernels.causalSoftmaxRowBackward(&d, probs: row, visible: 4, width: 7)
        let dot = (0..<4).reduce(0.0) { $0 + Double(row[$1]) * Double(d0[$1]) }
        for j in 0..<4 { #expect(abs(Double(d[j]) - Double(row[j]) * (Double(d0[j]) - dot)) < 1e-6) }
        #expect(Array(d[4...]) == [0, 0, 0])
    }

    /// The per-head kernel with keys and values outside the qkv tensor (as the KV cache stores
    /// them) gives the bits of training attention; queries appended later see exactly their prefix.
    @Test func attentionHeadOverStoredKeysMatchesTrainingAttention() {
        let T = 6, C = 8, NH = 2, hs = C / NH
        let qkv = seededNormals(T * 3 * C, seed: 42)
        var full = [Float](repeating: 0, count: T * C), att = [Float](repeating: 0, count: NH * T * T)
        Kernels.attentionForward(out: &full, att: &att, qkv: qkv, B: 1, T: T, C: C, NH: NH)
        // keys and values copied out to [T, C] each, as the cache holds them
        var K = [Float](repeating: 0, count: T * C), V = K
        for t in 0..<T { for c in 0..<C { K[t * C + c] = qkv[t * 3 * C + C + c]; V[t * C + c] = qkv[t * 3 * C + 2 * C + c] } }
        var out = [Float](repeating: 0, count: T * C), scores = [Float](repeating: 0, count: T * T)
        let scale = 1 / Float(hs).squareRoot()
        for h in 0..<NH {
            qkv.withUnsafeBufferPointer { q in K.withUnsafeBufferPointer { k in V.withUnsafeBufferPointer { v in
                out.withUnsafeMutableBufferPointer { o in scores.withUnsafeMutableBufferPointer { s in
                    Kernels.attentionHeadForward(out: o.baseAddress! + h * hs, ldo: C, att: s.baseAddress!,
                                                 q: q.baseAddress! + h * hs, ldq: 3 * C, k: k.baseAddress! + h * hs,
                                                 v: v.baseAddress! + h * hs, ldkv: C, S: T, keys: T, offset: 0, hs: hs, scale: scale)
                } }
            } } }
            #expect(scores == Array(att[(h * T * T)..<((h + 1) * T * T)]))
        }
        #expect(out == full)
        // the last two queries appended after four stored slots: same rows as the full attention
        var tail = [Float](repeating: 0, count: 2 * C), s2 = [Float](repeating: 0, count: 2 * T)
        for h in 0..<NH {
            qkv.withUnsafeBufferPointer { q in K.withUnsafeBufferPointer { k in V.withUnsafeBufferPointer { v in
                tail.withUnsafeMutableBufferPointer { o in s2.withUnsafeMutableBufferPointer { s in
                    Kernels.attentionHeadForward(out: o.baseAddress! + h * hs, ldo: C, att: s.baseAddress!,
                                                 q: q.baseAddress! + 4 * 3 * C + h * hs, ldq: 3 * C, k: k.baseAddress! + h * hs,
                                                 v: v.baseAddress! + h * hs, ldkv: C, S: 2, keys: T, offset: 4, hs: hs, scale: scale)
                } }
            } } }
            #expect(s2[5] == 0)                 // query 4 does not see key 5
        }
        for i in 0..<(2 * C) { #expect(abs(tail[i] - full[4 * C + i]) < 1e-6) }
        // no visible key at all: zero output
        var none = [Float](repeating: 7, count: 2 * C)
        Kernels.attentionHeadForward(out: &none, ldo: C, att: &s2, q: qkv, ldq: 3 * C, k: K, v: V, ldkv: C,
                                     S: 2, keys: 0, offset: -2, hs: hs, scale: scale)
        #expect(Array(none[0..<hs]) == [Float](repeating: 0, count: hs))
    }

    @Test func savedTanhGeluMatchesRecomputed() {
        let x = seededNormals(37, seed: 21, scale: 3), d = seededNormals(37, seed: 22)
        var o1 = [Float](repeating: 0, count: 37), o2 = o1, t = o1, g = [Float](repeating: 5, count: 37)
        Kernels.geluForward(out: &o1, inp: x, count: 37)
        Kernels.geluForward(out: &o2, savedTanh: &t, inp: x, count: 37)
        #expect(o1 == o2)
        Kernels.geluBackward(dinp: &g, inp: x, savedTanh: t, dout: d, count: 37)   // overwrites the 5s
        for i in 0..<37 {
            let xi = Double(x[i]), u = (2 / Double.pi).squareRoot() * (xi + 0.044715 * xi * xi * xi)
            let th = Glibc.tanh(u), du = (2 / Double.pi).squareRoot() * (1 + 3 * 0.044715 * xi * xi)
            let want = (0.5 * (1 + th) + 0.5 * xi * (1 - th * th) * du) * Double(d[i])
            #expect(abs(Double(g[i]) - want) < 1e-5 * max(1, abs(want)))
        }
    }

    @Test func overwriteVariantsEqualAccumulateFromZero() {
        let B = 1, T = 4, C = 4, NH = 2
        let qkv = seededNormals(B * T * 3 * C, seed: 30), dout = seededNormals(B * T * C, seed: 31)
        var o = [Float](repeating: 0, count: B * T * C), att = [Float](repeating: 0, count: B * NH * T * T)
        Kernels.attentionForward(out: &o, att: &att, qkv: qkv, B: B, T: T, C: C, NH: NH)
        var acc = [Float](repeating: 0, count: qkv.count), ow = [Float](repeating: 9, count: qkv.count)
        var s = [Float](repeating: 0, count: T * T)
        Kernels.attentionBackward(dqkv: &acc, scratch: &s, dout: dout, qkv: qkv, att: att, B: B, T: T, C: C, NH: NH)
        Kernels.attentionBackward(dqkv: &ow, scratch: &s, dout: dout, qkv: qkv, att: att, B: B, T: T, C: C, NH: NH, overwrite: true)
        #expect(acc == ow)
        let x = seededNormals(6, seed: 32), w = seededNormals(6, seed: 33), dy = seededNormals(9, seed: 34)
        var dx1 = [Float](repeating: 0, count: 6), dx2 = [Float](repeating: 3, count: 6)
        var dw = [Float](repeating: 0, count: 6)
        Kernels.linearBackward(dinp: &dx1, dweight: &dw, dbias: nil, dout: dy, inp: x, weight: w, N: 3, IC: 2, OC: 3)
        Kernels.linearBackward(dinp: &dx2, dweight: &dw, dbias: nil, dout: dy, inp: x, weight: w, N: 3, IC: 2, OC: 3, overwriteInput: true)
        #expect(dx1 == dx2)
    }
}
