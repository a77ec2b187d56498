import Testing
import ClpFlowCore
import ClpFlowKernels
@testable import ClpFlowEngine

@Suite struct ModelTests {
    static let tiny = GPTConfig(vocabSize: 11, context: 8, layers: 2, heads: 2, dModel: 8, tiedHead: true)

    /// A model with larger-than-default weights so gradients are well above Float noise.
    func makeModel(tied: Bool, seed: UInt64 = 3) throws -> GPTModel {
        var cfg = Self.tiny
        cfg.tiedHead = tied
        let m = try GPTModel(config: cfg, seed: seed)
        var rng = SeededRandom(seed: seed, stream: "perturb")
        for i in 0..<m.parameterCount { m.params[i] += Float(rng.normal() * 0.15) }
        return m
    }

    /// Finite differences of the weighted loss on a random subset of parameters (and the prefix).
    func checkModelGradients(tied: Bool, prefixCount: Int) throws {
        let model = try makeModel(tied: tied)
        let B = 2, T = 5, C = model.config.dModel
        var rng = SeededRandom(seed: 99)
        let tokens = (0..<(B * T)).map { _ in Int32(rng.next() % 11) }
        let targets = (0..<(B * T)).map { i in i % 5 == 4 ? Int32(-1) : Int32(rng.next() % 11) }
        let weights: [Float] = [0.5, -0.3, 0, 1, 0.2, 0.7, 0.4, -0.6, 0.9, 0.1]
        var prefix: PrefixEmbeddings? = prefixCount > 0
            ? PrefixEmbeddings(count: prefixCount, values: seededNormals(prefixCount * C, seed: 5, scale: 0.5)) : nil
        func loss() throws -> Double {
            try model.forward(tokens: tokens, B: B, T: T, prefix: prefix)
            return Double(try model.loss(targets: targets, weights: weights))
        }
        model.zeroGrads()
        try model.forward(tokens: tokens, B: B, T: T, prefix: prefix)
        let l0 = try model.lossAndBackward(targets: targets, weights: weights)
        #expect(abs(Double(l0) - (try loss())) < 1e-6)
        let analytic = model.grads.array
        let eps: Float = 1e-2
        var failures = 0, checked = 0
        // every tensor gets at least a few probes
        var indices: [Int] = []
        for v in model.views { for _ in 0..<4 { indices.append(v.offset + Int(rng.next() % UInt64(v.count))) } }
        for i in indices {
            let old = model.params[i]
            model.params[i] = old + eps; let lp = try loss()
            model.params[i] = old - eps; let lm = try loss()
            model.params[i] = old
            let fd = (lp - lm) / Double(2 * eps)
            let an = Double(analytic[i])
            checked += 1
            if abs(fd - an) > 2e-4 + 3e-2 * max(abs(fd), abs(an)) {
                failures += 1
                Issue.record("param \(i) (\(model.views.last { $0.offset <= i }!.name)): fd \(fd) vs analytic \(an)")
            }
        }
        if let p0 = prefix {
            let pg = model.prefixGrads
            #expect(pg.count == p0.values.count)
            for j in stride(from: 0, to: p0.values.count, by: 3) {
                var pp = p0, pm = p0
                pp.values[j] += eps; pm.values[j] -= eps
                prefix = pp; let lp = try loss()
                prefix = pm; let lm = try loss()
                prefix = p0
                let fd = (lp - lm) / Double(2 * eps)
                if abs(fd - Double(pg[j])) > 2e-4 + 3e-2 * max(abs(fd), abs(Double(pg[j]))) {
                    failures += 1
                    Issue.record("prefix \(j): fd \(fd) vs analytic \(pg[j])")
                }
            }
        }
        #expect(failures == 0)
        #expect(checked >= 4 * model.views.count)
        // gradients are not trivially zero
        #expect(model.gradNorm() > 1e-3)
    }

    @Test func gradientsTied() throws { try checkModelGradients(tied: true, prefixCount: 0) }
    @Test func gradientsUntied() throws { try checkModelGradients(tied: false, prefixCount: 0) }
    @Test func gradientsTiedWithPrefix() throws { try checkModelGradients(tied: true, prefixCount: 2) }
    @Test func gradientsUntiedWithPrefix() throws { try checkModelGradients(tied: false, prefixCount: 3) }

    @Test func checkerDetectsWrongGradient() {
        let x0 = seededNormals(10, seed: 1)
        let res = finiteDifferenceCheck(x0, forward: { $0.map { $0 * $0 } }, backward: { x, d in
            (0..<x.count).map { 2 * x[$0] * d[$0] * 1.1 }
        })
        #expect(!res.ok)
    }

    @Test func layoutUsesHuggingFaceNamesAndShapes() throws {
        var cfg = Self.tiny
        cfg.tiedHead = false
        let m = try GPTModel(config: cfg, seed: 1)
        let names = m.views.map(\.name)
        #expect(names.first == "transformer.wte.weight")
        #expect(names.contains("transformer.h.1.attn.c_attn.weight"))
        #expect(m.view(named: "transformer.h.0.attn.c_attn.weight")?.shape == [8, 24])
        #expect(m.view(named: "transformer.h.0.mlp.c_proj.weight")?.shape == [32, 8])
        #expect(m.view(named: "lm_head.weight")?.shape == [11, 8])
        #expect(names.last == "lm_head.weight")
        // contiguous, no gaps
        var off = 0
        for v in m.views { #expect(v.offset == off); off += v.count }
        #expect(off == m.parameterCount)
        // untied head starts as a copy of wte
        let wte = m.view(named: "transformer.wte.weight")!, head = m.view(named: "lm_head.weight")!
        #expect(m.params.values(ParamSlice(offset: wte.offset, count: wte.count))
                == m.params.values(ParamSlice(offset: head.offset, count: head.count)))
        let tied = try GPTModel(config: Self.tiny, seed: 1)
        #expect(tied.view(named: "lm_head.weight") == nil)
        #expect(tied.parameterCount == m.parameterCount - 88)
    }

    @Test func parameterGroups() throws {
        let m = try GPTModel(config: Self.tiny, seed: 1)
        let C = 8
        #expect(m.parameterGroup(.all) == [ParamSlice(offset: 0, count: m.parameterCount)])
        #expect(m.parameterGroup(.logitHead) == [ParamSlice(offset: 0, count: 11 * C)])
        let both = m.parameterGroup(.attention(matrices: [.qkv, .proj]))
        #expect(both.count == 2)   // qkv and proj are adjacent in each block
        #expect(both[0] == ParamSlice(offset: m.view(named: "transformer.h.0.attn.c_attn.weight")!.offset,
                                      count: 3 * C * C + 3 * C + C * C + C))
        let qkv = m.parameterGroup(.attention(matrices: [.qkv]))
        #expect(qkv.map(\.count) == [3 * C * C + 3 * C, 3 * C * C + 3 * C])
        let withLN = m.parameterGroup(.attention(matrices: [.proj], includeLayerNorm: true))
        #expect(withLN.count == 4)
        #expect(withLN[0].offset == m.view(named: "transformer.h.0.ln_1.weight")!.offset)
        let untied = try GPTModel(config: GPTConfig(vocabSize: 11, context: 8, layers: 2, heads: 2, dModel: 8, tiedHead: false), seed: 1)
        #expect(untied.parameterGroup(.logitHead) == [ParamSlice(offset: untied.view(named: "lm_head.weight")!.offset, count: 88)])
    }

    @Test func initIsSeededAndFollowsGPT2() throws {
        let cfg = GPTConfig(vocabSize: 64, context: 16, layers: 4, heads: 2, dModel: 32)
        let a = try GPTModel(config: cfg, seed: 42), b = try GPTModel(config: cfg, seed: 42), c = try GPTModel(config: cfg, seed: 43)
        #expect(a.params.array == b.params.array)
        #expect(a.params.array != c.params.array)
        func std(_ name: String) -> Double {
            let v = a.view(named: name)!
            let xs = a.params.values(ParamSlice(offset: v.offset, count: v.count)).map(Double.init)
            let m = xs.reduce(0, +) / Double(xs.count)
            return (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count)).squareRoot()
        }
        #expect(abs(std("transformer.wte.weight") - 0.02) < 0.002)
        #expect(abs(std("transformer.h.0.mlp.c_fc.weight") - 0.02) < 0.002)
        #expect(abs(std("transformer.h.0.mlp.c_proj.weight") - 0.02 / 8.0.squareRoot()) < 0.001)
        #expect(a.params.values(ParamSlice(offset: a.view(named: "transformer.ln_f.weight")!.offset, count: 32)).allSatisfy { $0 == 1 })
    }

    @Test func logProbsMatchLogits() throws {
        let m = try makeModel(tied: true)
        let tokens: [Int32] = [1, 4, 2, 7, 3, 0, 9, 9]
        let lp = try m.logProbs(tokens: tokens, B: 2, T: 4)
        #expect(lp.count == 6)
        let logits = Array(try m.forward(tokens: tokens, B: 2, T: 4))
        let row = Array(logits[(4 + 1) * 11 ..< (4 + 2) * 11]).map(Double.init)
        let lse = log(row.map { exp($0) }.reduce(0, +))
        #expect(abs(Double(lp[3 + 1]) - (row[9] - lse)) < 1e-5)
        #expect(lp.allSatisfy { $0 < 0 })
    }

    @Test func rejectsBadInputs() throws {
        let m = try GPTModel(config: Self.tiny, seed: 1)
        #expect(throws: GPTModelError.self) { try m.forward(tokens: [1, 2, 3], B: 2, T: 2) }
        #expect(throws: GPTModelError.self) { try m.forward(tokens: [1, 11], B: 1, T: 2) }
        #expect(throws: GPTModelError.self) { try m.forward(tokens: Array(repeating: 1, count: 9), B: 1, T: 9) }
        #expect(throws: GPTModelError.self) {
            try GPTModel(config: GPTConfig(vocabSize: 5, context: 4, layers: 1, heads: 3, dModel: 8), seed: 1)
        }
    }

    @Test func trainingReducesLoss() throws {
        let cfg = GPTConfig(vocabSize: 16, context: 16, layers: 2, heads: 2, dModel: 16)
        let m = try GPTModel(config: cfg, seed: 5)
        let opt = AdamW(count: m.parameterCount, lr: 1e-2, weightDecay: 0.01)
        // learn to continue a fixed cyclic pattern
        let tokens = (0..<32).map { Int32($0 % 8) }
        let targets = (0..<32).map { Int32(($0 + 1) % 8) }
        let w = [Float](repeating: 1.0 / 32, count: 32)
        var first: Float = 0, last: Float = 0
        for step in 0..<60 {
            m.zeroGrads()
            try m.forward(tokens: tokens, B: 2, T: 16)
            let l = try m.lossAndBackward(targets: targets, weights: w)
            m.clipGradients(maxNorm: 1)
            opt.update(m)
            if step == 0 { first = l }
            last = l
        }
        #expect(first > 2)
        #expect(last < 0.2 * first)
    }
}

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ModelThreadingTests {
    @Test func resultsDoNotDependOnThreadCount() throws {
        let cfg = GPTConfig(vocabSize: 40, context: 32, layers: 2, heads: 4, dModel: 32)
        let tokens = (0..<(8 * 32)).map { Int32($0 * 7 % 40) }
        let targets = (0..<(8 * 32)).map { Int32($0 * 3 % 40) }
        let w = (0..<(8 * 32)).map { Float($0 % 5) / 100 - 0.01 }
        // OpenBLAS's own thread count is held fixed (other tests running concurrently change it):
        // this test is about the kernels' worker threads.
        func run(threads: Int) throws -> (Float, [Float]) {
            try BLAS.withThreads(nil) {
                let saved = Parallel.threads
                Parallel.threads = threads
                defer { Parallel.threads = saved }
                let m = try GPTModel(config: cfg, seed: 3)
                try m.forward(tokens: tokens, B: 8, T: 32)
                let l = try m.lossAndBackward(targets: targets, weights: w)
                return (l, m.grads.array)
            }
        }
        let (l1, g1) = try run(threads: 1), (l2, g2) = try run(threads: 2)
        #expect(l1 == l2)
        #expect(g1 == g2)
    }
}

@Suite struct ModelBufferReuseTests {
    @Test func changingShapesReusesBuffersWithoutStaleState() throws {
        let cfg = GPTConfig(vocabSize: 19, context: 12, layers: 2, heads: 2, dModel: 8)
        let big = (0..<16).map { Int32($0 % 19) }, small = [Int32](arrayLiteral: 3, 1, 4)
        let prefix = PrefixEmbeddings(count: 2, values: seededNormals(16, seed: 4))
        func gradsFresh(_ tokens: [Int32], B: Int, T: Int, prefix: PrefixEmbeddings?) throws -> ([Float], [Float]) {
            let m = try GPTModel(config: cfg, seed: 2)
            let logits = Array(try m.forward(tokens: tokens, B: B, T: T, prefix: prefix))
            try m.lossAndBackward(targets: tokens.map { ($0 + 1) % 19 }, weights: [Float](repeating: 0.1, count: B * T))
            return (logits, m.grads.array)
        }
        let m = try GPTModel(config: cfg, seed: 2)
        var results: [([Float], [Float])] = []
        for (tokens, B, T, p) in [(big, 2, 8, nil), (small, 1, 3, prefix), (big, 2, 8, nil), (small, 1, 3, nil)] as [([Int32], Int, Int, PrefixEmbeddings?)] {
            m.zeroGrads()
            let logits = Array(try m.forward(tokens: tokens, B: B, T: T, prefix: p))
            try m.lossAndBackward(targets: tokens.map { ($0 + 1) % 19 }, weights: [Float](repeating: 0.1, count: B * T))
            results.append((logits, m.grads.array))
            let fresh = try gradsFresh(tokens, B: B, T: T, prefix: p)
            #expect(logits == fresh.0)
            #expect(m.grads.array == fresh.1)
        }
        #expect(results[0].0 == results[2].0)
    }
}
