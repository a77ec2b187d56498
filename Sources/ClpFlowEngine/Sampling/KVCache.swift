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
        // The products run over all B·S rows at once: with few rows (token-by-token steps) they take
        // the small-row kernel, which streams each weight matrix once for the whole batch; their
        // column parts and the sequences' attention are spread over the worker threads, in fixed
        // pieces, so the numbers do not depend on the thread count.
        return try stepBody(tokens: tokens, S: S, N: N)
    }

    private func stepBody(tokens: [Int32], S: Int, N: Int) throws -> UnsafeMutableBufferPointer<Float> {
        let cfg = model.config
        let C = cfg.dModel, V = cfg.vocabSize
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
        let model = self.model, p = model.params.pointer, L = model.layout
        let starts = start, cap = capacity
        let keys = self.keys.map(\.pointer), values = self.values.map(\.pointer)
        let prefixValues = prefix?.values ?? []
        // embeddings: pad slots are zero, then prefix vectors, then tokens
        prefixValues.withUnsafeBufferPointer { pv in
            for b in 0..<B {
                for i in 0..<S {
                    let o = xs + (b * S + i) * C
                    let rel = slot0 + i - starts[b]
                    if rel < 0 { o.update(repeating: 0, count: C); continue }
                    let src = rel < k ? UnsafePointer(pv.baseAddress! + rel * C) : model.tokenEmbedding(tokens[b * S + i])
                    model.embedRow(o, source: src, position: rel)
                }
            }
        }
        // The model's blocks over all rows, in place on the residual stream xs; no activation is
        // kept but the keys and values the cache appends.
        let rows = LayerActivations(
            ln1: ln, ln1Mean: mean, ln1Rstd: rstd, qkv: qkv, atty: atty, att: nil,
            res2: xs, ln2: ln, ln2Mean: mean, ln2Rstd: rstd,
            fch: fch, fchGelu: fchg, fchTanh: nil, res3: xs)
        let append = Append(keys: keys, values: values, start: starts, capacity: cap, slot0: slot0, S: S,
                            sequences: 0..<B, scores: scoresBase, C: C, heads: cfg.heads)
        for l in 0..<cfg.layers {
            model.blockForward(l, input: xs, acts: rows, rows: N, attention: .cache(append))
        }
        Kernels.layerNormForward(out: lnf, mean: mean, rstd: rstd, inp: xs, weight: p + L.lnfw, bias: p + L.lnfb, N: N, C: C)
        model.logitsForward(out: logits, inp: lnf, rows: N)
        length += S
        return UnsafeMutableBufferPointer(start: base + N * 15 * C, count: N * V)
    }

    /// The cache side of one block's attention for a group of sequences: appends the keys and
    /// values of the new slots to the cache, then attends every new slot over the slots visible
    /// to it (its sequence's slots from `start[b]` up to itself), one head at a time.
    struct Append {
        let keys: [UnsafeMutablePointer<Float>], values: [UnsafeMutablePointer<Float>]
        let start: [Int], capacity: Int
        /// First new slot, and the number of new slots per sequence.
        let slot0: Int, S: Int
        /// The sequences of this group; their rows are (b − lowerBound)·S + i.
        let sequences: Range<Int>
        /// Score scratch, S · capacity floats per sequence (indexed by b).
        let scores: UnsafeMutablePointer<Float>
        let C: Int, heads: Int

        func attend(layer l: Int, qkv: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
            let hs = C / heads
            let scale = 1 / Float(hs).squareRoot()
            let K = keys[l], Vv = values[l], cap = capacity, b0 = sequences.lowerBound
            let S = self.S, slot0 = self.slot0, C = self.C, heads = self.heads, start = self.start, scores = self.scores
            // one sequence per unit: disjoint cache slots, scores and outputs
            Parallel.ranges(sequences.count, minPerThread: 1) { lo, hi in
                for b in (b0 + lo)..<(b0 + hi) {
                    for i in 0..<S {
                        let src = qkv + ((b - b0) * S + i) * 3 * C
                        (K + (b * cap + slot0 + i) * C).update(from: src + C, count: C)
                        (Vv + (b * cap + slot0 + i) * C).update(from: src + 2 * C, count: C)
                    }
                    let first = start[b]
                    let sc = scores + b * S * cap
                    for h in 0..<heads {
                        // query i (slot slot0 + i) sees the keys first ... slot0 + i
                        Kernels.attentionHeadForward(out: out + (b - b0) * S * C + h * hs, ldo: C, att: sc,
                                                     q: qkv + (b - b0) * S * 3 * C + h * hs, ldq: 3 * C,
                                                     k: K + (b * cap + first) * C + h * hs,
                                                     v: Vv + (b * cap + first) * C + h * hs, ldkv: C,
                                                     S: S, keys: slot0 + S - first, offset: slot0 - first,
                                                     hs: hs, scale: scale)
                    }
                }
            }
        }
    }
}
