import ClpFlowKernels

/// Incremental-decoding state of one model for a batch of B sequences: per layer, the keys and
/// values of every slot processed so far ([B, capacity, C] each). Sequences of different lengths
/// are left-padded: sequence b starts at slot `start[b]`; its slot s has position s − start[b];
/// pad slots are never attended to. Optional prefix vectors occupy positions 0 ..< k of every
/// sequence (right after its padding).
public final class KVCache {
    public let model: GPTModel
    public let B: Int
    public let capacity: Int
    public let start: [Int]
    public let prefix: PrefixEmbeddings?
    /// Number of slots filled so far (the same for every sequence).
    public private(set) var length = 0
    let keys: [FloatBuffer], values: [FloatBuffer]
    var scratch: FloatBuffer? = nil
    var scratchS = 0

    public init(model: GPTModel, batch B: Int, capacity: Int, start: [Int]? = nil, prefix: PrefixEmbeddings? = nil) throws {
        let C = model.config.dModel
        let k = prefix?.count ?? 0
        let st = start ?? [Int](repeating: 0, count: B)
        guard st.count == B, st.allSatisfy({ $0 >= 0 && $0 <= capacity }) else {
            throw GPTModelError.invalidInput("KV cache: start offsets must be B = \(B) values in 0...\(capacity)")
        }
        guard capacity - (st.min() ?? 0) <= model.config.context else {
            throw GPTModelError.invalidInput("KV cache: \(capacity - (st.min() ?? 0)) positions exceed n_positions \(model.config.context)")
        }
        if let prefix, prefix.values.count != k * C {
            throw GPTModelError.invalidInput("prefix has \(prefix.values.count) values, expected \(k)·\(C)")
        }
        self.model = model; self.B = B; self.capacity = capacity; self.start = st; self.prefix = prefix
        keys = (0..<model.config.layers).map { _ in FloatBuffer(count: B * capacity * C) }
        values = (0..<model.config.layers).map { _ in FloatBuffer(count: B * capacity * C) }
    }

    /// Forgets every slot (keeps the allocation).
    public func reset() { length = 0 }

    /// Processes S new slots per sequence (tokens [B, S] row-major; entries at pad or prefix slots
    /// are ignored) and returns their logits [B, S, V], owned by the cache until the next call.
    @discardableResult
    public func step(tokens: [Int32], S: Int) throws -> UnsafeMutableBufferPointer<Float> {
        let cfg = model.config
        let C = cfg.dModel, V = cfg.vocabSize, NH = cfg.heads, hs = C / NH
        guard tokens.count == B * S, S >= 1 else {
            throw GPTModelError.invalidInput("KV cache step: \(tokens.count) tokens for B·S = \(B)·\(S)")
        }
        guard length + S <= capacity else {
            throw GPTModelError.invalidInput("KV cache full: \(length) + \(S) slots exceed capacity \(capacity)")
        }
        let k = prefix?.count ?? 0
        let N = B * S
        // Decoding steps multiply a few rows only: BLAS worker threads cost more than they save.
        let savedThreads = BLAS.threads
        let singleThreaded = savedThreads > 1 && N * C * C * 4 < 8_000_000
        if singleThreaded { BLAS.setThreads(1) }
        defer { if singleThreaded { BLAS.setThreads(savedThreads) } }
        if scratchS < S {
            // x, ln, qkv, atty, fch, fchg, lnf, logits, scores
            scratch = FloatBuffer(count: N * (C * 4 + 3 * C + 8 * C) + N * V + S * capacity)
            scratchS = S
        }
        let base = scratch!.pointer
        let xs = base, ln = xs + N * C, qkv = ln + N * C, atty = qkv + N * 3 * C
        let fch = atty + N * C, fchg = fch + N * 4 * C
        let lnf = fchg + N * 4 * C, logits = lnf + N * C, scores = logits + N * V
        let p = model.params.pointer, L = model.layout
        let slot0 = length
        // embeddings
        for b in 0..<B {
            for i in 0..<S {
                let o = xs + (b * S + i) * C
                let rel = slot0 + i - start[b]
                if rel < 0 { o.update(repeating: 0, count: C); continue }
                let pos = p + L.wpe + rel * C
                if rel < k {
                    prefix!.values.withUnsafeBufferPointer { pv in
                        let src = pv.baseAddress! + rel * C
                        for c in 0..<C { o[c] = src[c] + pos[c] }
                    }
                } else {
                    let t = Int(tokens[b * S + i])
                    guard t >= 0 && t < V else { throw GPTModelError.invalidInput("token id \(t) outside the vocabulary 0..<\(V)") }
                    let tok = p + L.wte + t * C
                    for c in 0..<C { o[c] = tok[c] + pos[c] }
                }
            }
        }
        let mean = UnsafeMutablePointer<Float>.allocate(capacity: 2 * N)
        defer { mean.deallocate() }
        let rstd = mean + N
        let scale = 1 / Float(hs).squareRoot()
        for (l, blk) in L.blocks.enumerated() {
            Kernels.layerNormForward(out: ln, mean: mean, rstd: rstd, inp: xs, weight: p + blk.ln1w, bias: p + blk.ln1b, N: N, C: C)
            Kernels.linearForward(out: qkv, inp: ln, weight: p + blk.qkvw, bias: p + blk.qkvb, N: N, IC: C, OC: 3 * C)
            let K = keys[l].pointer, Vv = values[l].pointer
            for b in 0..<B {
                for i in 0..<S {
                    let src = qkv + (b * S + i) * 3 * C
                    (K + (b * capacity + slot0 + i) * C).update(from: src + C, count: C)
                    (Vv + (b * capacity + slot0 + i) * C).update(from: src + 2 * C, count: C)
                }
            }
            for b in 0..<B {
                let first = start[b]
                let nk = slot0 + S - first
                for h in 0..<NH {
                    let outH = atty + b * S * C + h * hs
                    if nk <= 0 {
                        for i in 0..<S { (outH + i * C).update(repeating: 0, count: hs) }
                        continue
                    }
                    let q = qkv + b * S * 3 * C + h * hs
                    let kH = K + (b * capacity + first) * C + h * hs
                    let vH = Vv + (b * capacity + first) * C + h * hs
                    BLAS.sgemm(transB: true, m: S, n: nk, k: hs, alpha: scale, a: q, lda: 3 * C, b: kH, ldb: C, c: scores, ldc: nk)
                    for i in 0..<S {
                        let row = scores + i * nk
                        let last = slot0 + i - first   // last visible key index
                        if last < 0 { row.update(repeating: 0, count: nk); continue }
                        var mx = -Float.infinity
                        for j in 0...last { mx = Swift.max(mx, row[j]) }
                        var s: Float = 0
                        for j in 0...last { let e = Kernels.exp(row[j] - mx); row[j] = e; s += e }
                        let inv = 1 / s
                        for j in 0...last { row[j] *= inv }
                        for j in (last + 1)..<nk { row[j] = 0 }
                    }
                    BLAS.sgemm(m: S, n: hs, k: nk, a: scores, lda: nk, b: vH, ldb: C, c: outH, ldc: C)
                }
            }
            Kernels.residualLinearForward(out: xs, residual: xs, inp: atty, weight: p + blk.projw, bias: p + blk.projb, N: N, IC: C, OC: C)
            Kernels.layerNormForward(out: ln, mean: mean, rstd: rstd, inp: xs, weight: p + blk.ln2w, bias: p + blk.ln2b, N: N, C: C)
            Kernels.linearForward(out: fch, inp: ln, weight: p + blk.fcw, bias: p + blk.fcb, N: N, IC: C, OC: 4 * C)
            Kernels.geluForward(out: fchg, inp: fch, count: N * 4 * C)
            Kernels.residualLinearForward(out: xs, residual: xs, inp: fchg, weight: p + blk.fcprojw, bias: p + blk.fcprojb, N: N, IC: 4 * C, OC: C)
        }
        Kernels.layerNormForward(out: lnf, mean: mean, rstd: rstd, inp: xs, weight: p + L.lnfw, bias: p + L.lnfb, N: N, C: C)
        BLAS.sgemm(transB: true, m: N, n: V, k: C, a: lnf, lda: C, b: p + L.head, ldb: C, c: logits, ldc: V)
        length += S
        return UnsafeMutableBufferPointer(start: logits, count: N * V)
    }
}
