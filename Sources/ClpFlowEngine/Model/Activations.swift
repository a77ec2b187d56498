import ClpFlowKernels

/// The activations of one transformer block: named slices of an activation buffer, llm.c style.
/// The forward of a block writes them, its backward reads them; `GPTModel.Activations.layer(_:)`
/// makes the view of block l of a training forward, `KVCache` one over its own scratch rows.
/// Shapes for n rows: [n, C] unless noted.
struct LayerActivations {
    /// ln_1 output, and its per-row mean and 1/std ([n] each).
    var ln1: UnsafeMutablePointer<Float>, ln1Mean: UnsafeMutablePointer<Float>, ln1Rstd: UnsafeMutablePointer<Float>
    /// Fused q | k | v projection [n, 3C].
    var qkv: UnsafeMutablePointer<Float>
    /// Attention output (heads concatenated), before c_proj.
    var atty: UnsafeMutablePointer<Float>
    /// Attention probabilities [B, NH, L, L] (full sequences only; the cache keeps its own scores).
    var att: UnsafeMutablePointer<Float>?
    /// Residual stream after the attention half (may be the same memory as the block's input).
    var res2: UnsafeMutablePointer<Float>
    /// ln_2 output, and its per-row mean and 1/std ([n] each).
    var ln2: UnsafeMutablePointer<Float>, ln2Mean: UnsafeMutablePointer<Float>, ln2Rstd: UnsafeMutablePointer<Float>
    /// mlp.c_fc output [n, 4C] and its GELU [n, 4C].
    var fch: UnsafeMutablePointer<Float>, fchGelu: UnsafeMutablePointer<Float>
    /// tanh saved by the GELU for backward [n, 4C] (nil: not kept, inference only).
    var fchTanh: UnsafeMutablePointer<Float>?
    /// Residual stream after the MLP half: the block's output (may be the same memory as res2).
    var res3: UnsafeMutablePointer<Float>
}

extension GPTModel {
    /// Activation memory of one forward / backward of B sequences of T tokens after k prefix
    /// vectors (L = k + T rows each, N = B·L): offsets into one buffer, per kind for all layers.
    final class Activations {
        let B: Int, T: Int, k: Int, L: Int, N: Int
        let C: Int, NH: Int
        let buf: FloatBuffer
        // offsets into buf (per-layer kinds hold all layers, layer l at l · size)
        let encoded: Int, ln1: Int, ln1m: Int, ln1r: Int, qkv: Int, atty: Int, att: Int, res2: Int
        let ln2: Int, ln2m: Int, ln2r: Int, fch: Int, fchg: Int, fcht: Int, res3: Int
        let lnf: Int, lnfm: Int, lnfr: Int, lnfc: Int, logits: Int
        // backward scratch
        let dres: Int, dln: Int, dqkv: Int, datty: Int, dfch: Int, dfchg: Int, dlogits: Int, dlnfc: Int, attScratch: Int
        var tokens: [Int32] = []
        var hasPrefix = false

        /// Reuses `reuse` when it is large enough (activation memory only grows).
        init(config cfg: GPTConfig, B: Int, T: Int, k: Int, reuse: FloatBuffer? = nil) {
            self.B = B; self.T = T; self.k = k; L = k + T
            let C = cfg.dModel, NH = cfg.heads, V = cfg.vocabSize, NL = cfg.layers
            self.C = C; self.NH = NH
            let N = B * L, NT = B * T
            self.N = N
            var off = 0
            func take(_ n: Int) -> Int { let o = off; off += n; return o }
            encoded = take(N * C)
            ln1 = take(NL * N * C); ln1m = take(NL * N); ln1r = take(NL * N)
            qkv = take(NL * N * 3 * C); atty = take(NL * N * C); att = take(NL * B * NH * L * L)
            res2 = take(NL * N * C)
            ln2 = take(NL * N * C); ln2m = take(NL * N); ln2r = take(NL * N)
            fch = take(NL * N * 4 * C); fchg = take(NL * N * 4 * C); fcht = take(NL * N * 4 * C); res3 = take(NL * N * C)
            lnf = take(N * C); lnfm = take(N); lnfr = take(N)
            lnfc = k > 0 ? take(NT * C) : lnf
            logits = take(NT * V)
            dres = take(N * C); dln = take(N * C); dqkv = take(N * 3 * C); datty = take(N * C)
            dfch = take(N * 4 * C); dfchg = take(N * 4 * C); dlogits = take(NT * V)
            dlnfc = k > 0 ? take(NT * C) : dln
            attScratch = take(L * L)
            if let reuse, reuse.count >= off { buf = reuse } else { buf = FloatBuffer(count: off) }
        }

        /// The view of block l's activations.
        func layer(_ l: Int) -> LayerActivations {
            let x = buf.pointer
            return LayerActivations(
                ln1: x + ln1 + l * N * C, ln1Mean: x + ln1m + l * N, ln1Rstd: x + ln1r + l * N,
                qkv: x + qkv + l * N * 3 * C, atty: x + atty + l * N * C, att: x + att + l * B * NH * L * L,
                res2: x + res2 + l * N * C,
                ln2: x + ln2 + l * N * C, ln2Mean: x + ln2m + l * N, ln2Rstd: x + ln2r + l * N,
                fch: x + fch + l * N * 4 * C, fchGelu: x + fchg + l * N * 4 * C, fchTanh: x + fcht + l * N * 4 * C,
                res3: x + res3 + l * N * C)
        }

        /// Input of block l: the embeddings for l = 0, else the output of block l − 1.
        func blockInput(_ l: Int) -> UnsafeMutablePointer<Float> {
            l == 0 ? buf.pointer + encoded : buf.pointer + res3 + (l - 1) * N * C
        }
    }
}
