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
        let V = model.config.vocabSize
        guard tokens.count == B * S, S >= 1 else {
            throw GPTModelError.invalidInput("KV cache step: \(tokens.count) tokens for B·S = \(B)·\(S)")
        }
        guard length + S <= capacity else {
            throw GPTModelError.invalidInput("KV cache full: \(length) + \(S) slots exceed capacity \(capacity)")
        }
        let k = prefix?.count ?? 0
        let N = B * S
        let slot0 = length
        for b in 0..<B {
            for i in 0..<S where slot0 + i - start[b] >= k {
                let t = tokens[b * S + i]
                guard t >= 0 && Int(t) < V else { throw GPTModelError.invalidInput("token id \(t) outside the vocabulary 0..<\(V)") }
            }
        }
        // Sequences are independent: they are cut into a fixed set of groups (a function of B only)
        // that run concurrently; within a group the products are not split further, so the numbers
        // do not depend on the thread count.
        return try stepBody(tokens: tokens, S: S, N: N)
    }

    private func stepBody(tokens: [Int32], S: Int, N: Int) throws -> UnsafeMutableBufferPointer<Float> {
        let cfg = model.config
        let C = cfg.dModel, V = cfg.vocabSize, NH = cfg.heads, hs = C / NH
        let k = prefix?.count ?? 0
        let slot0 = length
        if scratchS < S {
            // x, ln, qkv, atty, fch, fchg, lnf (15C per row), logits, mean/rstd, scores
            scratch = FloatBuffer(count: N * (15 * C + V + 2) + B * S * capacity)
            scratchS = S
        }
        let base = scratch!.pointer
        let xs = base, ln = xs + N * C, qkv = ln + N * C, atty = qkv + N * 3 * C
        let fch = atty + N * C, fchg = fch + N * 4 * C
        let lnf = fchg + N * 4 * C, logits = lnf + N * C, mean = logits + N * V, rstd = mean + N
        let scoresBase = rstd + N
        let p = model.params.pointer, L = model.layout
        let scale = 1 / Float(hs).squareRoot()
        let starts = start, cap = capacity
        let keys = self.keys.map(\.pointer), values = self.values.map(\.pointer)
        let prefixValues = prefix?.values ?? []
        let groups = Swift.min(B, BLAS.maxParts), batch = B
        Parallel.tasks(groups) { g in
            let bLo = batch * g / groups, bHi = batch * (g + 1) / groups
            let r0 = bLo * S, n = (bHi - bLo) * S      // rows of this group
            let xs = xs + r0 * C, ln = ln + r0 * C, qkv = qkv + r0 * 3 * C, atty = atty + r0 * C
            let fch = fch + r0 * 4 * C, fchg = fchg + r0 * 4 * C, lnf = lnf + r0 * C
            let logits = logits + r0 * V, mean = mean + r0, rstd = rstd + r0
            // embeddings
            for b in bLo..<bHi {
                for i in 0..<S {
                    let o = xs + ((b - bLo) * S + i) * C
                    let rel = slot0 + i - starts[b]
                    if rel < 0 { o.update(repeating: 0, count: C); continue }
                    let pos = p + L.wpe + rel * C
                    if rel < k {
                        prefixValues.withUnsafeBufferPointer { pv in
                            let src = pv.baseAddress! + rel * C
                            for c in 0..<C { o[c] = src[c] + pos[c] }
                        }
                    } else {
                        let tok = p + L.wte + Int(tokens[b * S + i]) * C
                        for c in 0..<C { o[c] = tok[c] + pos[c] }
                    }
                }
            }
            for (l, blk) in L.blocks.enumerated() {
                Kernels.layerNormForward(out: ln, mean: mean, rstd: rstd, inp: xs, weight: p + blk.ln1w, bias: p + blk.ln1b, N: n, C: C)
                Kernels.linearForward(out: qkv, inp: ln, weight: p + blk.qkvw, bias: p + blk.qkvb, N: n, IC: C, OC: 3 * C)
                let K = keys[l], Vv = values[l]
                for b in bLo..<bHi {
                    for i in 0..<S {
                        let src = qkv + ((b - bLo) * S + i) * 3 * C
                        (K + (b * cap + slot0 + i) * C).update(from: src + C, count: C)
                        (Vv + (b * cap + slot0 + i) * C).update(from: src + 2 * C, count: C)
                    }
                }
                for b in bLo..<bHi {
                    let first = starts[b]
                    let nk = slot0 + S - first
                    let scores = scoresBase + b * S * cap
                    for h in 0..<NH {
                        let outH = atty + (b - bLo) * S * C + h * hs
                        if nk <= 0 {
                            for i in 0..<S { (outH + i * C).update(repeating: 0, count: hs) }
                            continue
                        }
                        let q = qkv + (b - bLo) * S * 3 * C + h * hs
                        let kH = K + (b * cap + first) * C + h * hs
                        let vH = Vv + (b * cap + first) * C + h * hs
                        BLAS.whole(transB: true, m: S, n: nk, k: hs, alpha: scale, a: q, lda: 3 * C, b: kH, ldb: C, c: scores, ldc: nk)
                        for i in 0..<S {
                            let row = scores + i * nk
                            let last = slot0 + i - first   // last visible key index
                            if last < 0 { row.update(repeating: 0, count: nk); continue }
                            var mx = -Float.infinity
                            for j in 0...last { mx = Swift.max(mx, row[j]) }
                            var sum: Float = 0
                            for j in 0...last { let e = Kernels.exp(row[j] - mx); row[j] = e; sum += e }
                            let inv = 1 / sum
                            for j in 0...last { row[j] *= inv }
                            for j in (last + 1)..<nk { row[j] = 0 }
                        }
                        BLAS.whole(m: S, n: hs, k: nk, a: scores, lda: nk, b: vH, ldb: C, c: outH, ldc: C)
                    }
                }
                Kernels.residualLinearForward(out: xs, residual: xs, inp: atty, weight: p + blk.projw, bias: p + blk.projb, N: n, IC: C, OC: C)
                Kernels.layerNormForward(out: ln, mean: mean, rstd: rstd, inp: xs, weight: p + blk.ln2w, bias: p + blk.ln2b, N: n, C: C)
                Kernels.linearForward(out: fch, inp: ln, weight: p + blk.fcw, bias: p + blk.fcb, N: n, IC: C, OC: 4 * C)
                Kernels.geluForward(out: fchg, inp: fch, count: n * 4 * C)
                Kernels.residualLinearForward(out: xs, residual: xs, inp: fchg, weight: p + blk.fcprojw, bias: p + blk.fcprojb, N: n, IC: 4 * C, OC: C)
            }
            Kernels.layerNormForward(out: lnf, mean: mean, rstd: rstd, inp: xs, weight: p + L.lnfw, bias: p + L.lnfb, N: n, C: C)
            BLAS.sgemm(transB: true, m: n, n: V, k: C, a: lnf, lda: C, b: p + L.head, ldb: C, c: logits, ldc: V)
        }
        length += S
        return UnsafeMutableBufferPointer(start: base + N * 15 * C, count: N * V)
    }
}
