import Testing
import ClpFlowCore
@testable import ClpFlowEngine

@Suite struct SamplingTests {
    static let cfg = GPTConfig(vocabSize: 17, context: 24, layers: 2, heads: 2, dModel: 16)

    func model(seed: UInt64, tied: Bool = true) throws -> GPTModel {
        var c = Self.cfg
        c.tiedHead = tied
        let m = try GPTModel(config: c, seed: seed)
        var rng = SeededRandom(seed: seed, stream: "spread")
        for i in 0..<m.parameterCount { m.params[i] += Float(rng.normal() * 0.2) }   // peaky, varied logits
        return m
    }

    @Test func kvCacheMatchesFullForward() throws {
        let m = try model(seed: 1)
        let seq: [Int32] = [3, 9, 1, 16, 4, 4, 0, 12, 7]
        let full = Array(try m.forward(tokens: seq, B: 1, T: seq.count))
        let cache = try KVCache(model: m, batch: 1, capacity: seq.count)
        var inc: [Float] = []
        inc += Array(try cache.step(tokens: Array(seq[0..<4]), S: 4))     // prefill 4 tokens
        for t in 4..<seq.count { inc += Array(try cache.step(tokens: [seq[t]], S: 1)) }
        #expect(inc.count == full.count)
        let diff = zip(inc, full).map { abs($0 - $1) }.max()!
        #expect(diff < 1e-4, "max diff \(diff)")
    }

    /// The cache runs the model's own blocks: a prompt processed in one step gives the logits of the
    /// full forward bit for bit (the products have the same shapes). Later single-token steps
    /// multiply a few rows through the small-row kernel while a full forward of more than
    /// `BLAS.smallRowLimit` rows goes through OpenBLAS, so they agree to float rounding only (the
    /// tests around this one).
    @Test func kvCachePrefillIsBitIdenticalToFullForward() throws {
        for (seed, tied) in [(UInt64(14), true), (UInt64(15), false)] {
            let m = try model(seed: seed, tied: tied)
            for T in [1, 5, 9, 24] {
                let seq = (0..<T).map { Int32(($0 * 5 + Int(seed)) % Self.cfg.vocabSize) }
                let full = Array(try m.forward(tokens: seq, B: 1, T: T))
                let cache = try KVCache(model: m, batch: 1, capacity: T)
                let pre = Array(try cache.step(tokens: seq, S: T))
                #expect(pre.map(\.bitPattern) == full.map(\.bitPattern), "T = \(T)")
            }
        }
    }

    @Test func kvCacheWithPaddingAndPrefixMatchesFullForward() throws {
        let m = try model(seed: 2, tied: false)
        let C = Self.cfg.dModel, V = Self.cfg.vocabSize
        let prefix = PrefixEmbeddings(count: 2, values: seededNormals(2 * C, seed: 3, scale: 0.5))
        let a: [Int32] = [5, 6, 7, 8, 9], b: [Int32] = [1, 2]
        // batch of two left-padded sequences, one chunk then two single steps
        let cache = try KVCache(model: m, batch: 2, capacity: 2 + 5 + 2, start: [0, 3], prefix: prefix)
        var toks = [Int32](repeating: 0, count: 2 * 7)
        for (j, t) in a.enumerated() { toks[2 + j] = t }
        for (j, t) in b.enumerated() { toks[7 + 2 + 3 + j] = t }
        let l0 = Array(try cache.step(tokens: toks, S: 7))
        let l1 = Array(try cache.step(tokens: [10, 11], S: 1))
        for (row, seq, pad) in [(0, a + [10], 0), (1, b + [11], 3)] {
            let full = Array(try m.forward(tokens: seq, B: 1, T: seq.count, prefix: prefix))
            for t in 0..<(seq.count - 1) {
                let slot = 2 + pad + t
                for v in 0..<V { #expect(abs(l0[(row * 7 + slot) * V + v] - full[t * V + v]) < 1e-4) }
            }
            for v in 0..<V { #expect(abs(l1[row * V + v] - full[(seq.count - 1) * V + v]) < 1e-4) }
        }
    }

    @Test func sameSeedSameSamples() throws {
        let m = try model(seed: 4)
        let prompts: [[Int32]] = [[1, 2, 3], [4], [5, 6]]
        let cfg = SamplingConfig(temperature: 1, maxNewTokens: 8, seed: 11)
        let r1 = try Generator.generate(models: [m], prompts: prompts, config: cfg)
        let r2 = try Generator.generate(models: [m], prompts: prompts, config: cfg)
        var other = cfg; other.seed = 12
        let r3 = try Generator.generate(models: [m], prompts: prompts, config: other)
        #expect(r1.tokens == r2.tokens)
        #expect(r1.samplingLogProbs == r2.samplingLogProbs)
        #expect(r1.tokens != r3.tokens)
        #expect(r1.tokens.allSatisfy { $0.count == 8 })
    }

    @Test func topKOneIsGreedy() throws {
        let m = try model(seed: 5)
        let prompts: [[Int32]] = [[1, 2, 3], [9, 9]]
        let greedy = try Generator.generate(models: [m], prompts: prompts, config: SamplingConfig(temperature: 0, maxNewTokens: 6, seed: 1))
        let top1 = try Generator.generate(models: [m], prompts: prompts, config: SamplingConfig(temperature: 1.3, topK: 1, maxNewTokens: 6, seed: 99))
        #expect(greedy.tokens == top1.tokens)
        // greedy really is argmax of the full forward
        for (b, p) in prompts.enumerated() {
            var seq = p
            for t in greedy.tokens[b] {
                let logits = Array(try m.forward(tokens: seq, B: 1, T: seq.count))
                let row = Array(logits[((seq.count - 1) * 17)...])
                #expect(Int32(row.indices.max { row[$0] < row[$1] }!) == t)
                seq.append(t)
            }
        }
    }

    @Test func logProbsAndScoringAgreeWithFullForward() throws {
        let m = try model(seed: 6), ref = try model(seed: 7)
        let prompts: [[Int32]] = [[1, 2, 3, 4], [8]]
        let r = try Generator.generate(models: [m], prompts: prompts,
                                       config: SamplingConfig(temperature: 1, maxNewTokens: 5, seed: 3),
                                       scoringModels: [m, ref])
        for b in 0..<2 {
            let seq = prompts[b] + r.tokens[b]
            let lpM = try m.logProbs(tokens: seq, B: 1, T: seq.count)
            let lpR = try ref.logProbs(tokens: seq, B: 1, T: seq.count)
            for j in 0..<r.tokens[b].count {
                let idx = prompts[b].count - 1 + j
                #expect(abs(r.policyLogProbs[b][j] - lpM[idx]) < 1e-4)
                #expect(abs(r.samplingLogProbs[b][j] - lpM[idx]) < 1e-4)  // temperature 1, no truncation
                #expect(abs(r.scoredLogProbs[0][b][j] - lpM[idx]) < 1e-4)
                #expect(abs(r.scoredLogProbs[1][b][j] - lpR[idx]) < 1e-4)
            }
        }
    }

    @Test func generationWithPrefixMatchesFullForward() throws {
        let m = try model(seed: 12)
        let prefix = PrefixEmbeddings(count: 3, values: seededNormals(3 * Self.cfg.dModel, seed: 13, scale: 0.5))
        let prompts: [[Int32]] = [[4, 5, 6], [7]]
        let r = try Generator.generate(models: [m], prompts: prompts, prefixes: [prefix],
                                       config: SamplingConfig(temperature: 1, maxNewTokens: 5, seed: 8),
                                       scoringModels: [m], scoringPrefixes: [prefix])
        let plain = try Generator.generate(models: [m], prompts: prompts,
                                           config: SamplingConfig(temperature: 1, maxNewTokens: 5, seed: 8))
        #expect(r.policyLogProbs != plain.policyLogProbs)   // the prefix changes the distribution
        for b in 0..<2 {
            let seq = prompts[b] + r.tokens[b]
            let lp = try m.logProbs(tokens: seq, B: 1, T: seq.count, prefix: prefix)
            for j in 0..<5 {
                #expect(abs(r.policyLogProbs[b][j] - lp[prompts[b].count - 1 + j]) < 1e-4)
                #expect(abs(r.scoredLogProbs[0][b][j] - lp[prompts[b].count - 1 + j]) < 1e-4)
            }
        }
    }

    @Test func truncationAndStop() throws {
        let m = try model(seed: 8)
        let r = try Generator.generate(models: [m], prompts: [[1], [2], [3], [4]],
                                       config: SamplingConfig(temperature: 1, topK: 3, topP: 0.9, maxNewTokens: 10, seed: 5))
        // the sampling distribution is renormalised over at most 3 tokens: each log p ≥ log of the smallest kept share
        for lps in r.samplingLogProbs { for lp in lps { #expect(lp <= 0 && lp > -20) } }
        for b in 0..<4 { for (j, lp) in r.samplingLogProbs[b].enumerated() { #expect(lp >= r.policyLogProbs[b][j] - 1e-5) } }
        // stop at end-of-text: pick the first generated token as EOT for a greedy run
        let g = try Generator.generate(models: [m], prompts: [[1]], config: SamplingConfig(temperature: 0, maxNewTokens: 10, seed: 1))
        let eot = g.tokens[0][2]
        let s = try Generator.generate(models: [m], prompts: [[1]], config: SamplingConfig(temperature: 0, maxNewTokens: 10, endOfText: eot, seed: 1))
        #expect(s.tokens[0].last == eot)
        #expect(s.tokens[0].count == g.tokens[0].firstIndex(of: eot)! + 1)
    }

    @Test func combiners() throws {
        let a = try model(seed: 9), ref = try model(seed: 10)
        let prompts: [[Int32]] = [[1, 2], [3]]
        let cfg = SamplingConfig(temperature: 1, maxNewTokens: 6, seed: 21)
        let single = try Generator.generate(models: [a], prompts: prompts, config: cfg)
        let dera1 = try Generator.generate(models: [a, ref], combiner: DeRaCombiner(lambda: 1), prompts: prompts, config: cfg)
        #expect(dera1.tokens == single.tokens)
        let mix = try Generator.generate(models: [a, ref], combiner: LogitMixCombiner(weights: [1, 0]), prompts: prompts, config: cfg)
        #expect(mix.tokens == single.tokens)
        // DeRa at λ = 0.5: policy log-probs equal log softmax of the averaged logits of both full forwards
        let half = try Generator.generate(models: [a, ref], combiner: DeRaCombiner(lambda: 0.5), prompts: prompts, config: cfg)
        let seq = prompts[0] + half.tokens[0]
        let la = Array(try a.forward(tokens: seq, B: 1, T: seq.count))
        let lr = Array(try ref.forward(tokens: seq, B: 1, T: seq.count))
        for j in 0..<half.tokens[0].count {
            let t = prompts[0].count - 1 + j
            let row = (0..<17).map { Double(0.5 * la[t * 17 + $0] + 0.5 * lr[t * 17 + $0]) }
            let lse = log(row.map { exp($0) }.reduce(0, +))
            #expect(abs(Double(half.policyLogProbs[0][j]) - (row[Int(half.tokens[0][j])] - lse)) < 1e-4)
        }
        #expect(throws: GPTModelError.self) {
            try Generator.generate(models: [a], combiner: DeRaCombiner(lambda: 0.5), prompts: prompts, config: cfg)
        }
        #expect {
            try Generator.generate(models: [a], prompts: [[1, 2, 3]], config: SamplingConfig(maxNewTokens: 22, seed: 1))
        } throws: { "\($0)".contains("exceeds n_positions 24") }
    }
}

#if canImport(Glibc)
import Glibc
#endif
