// Engine benchmarks: training step, achieved vs sgemm GFLOP/s, generation throughput.
// Build and run with `swift build -c release` (see bench/run.sh). Prints one JSON object per line.
import ClpFlowCore
import ClpFlowEngine
import ClpFlowKernels
import Foundation

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s[s.count / 2] }

var args = CommandLine.arguments.dropFirst()
var steps = 50, warmup = 5, B = 16, T = 64, genBatch = 16, promptLen = 8, newTokens = 56
var only: String? = nil
var shape: GPTConfig? = nil
while let a = args.popFirst() {
    switch a {
    case "--steps": steps = Int(args.popFirst()!)!
    case "--warmup": warmup = Int(args.popFirst()!)!
    case "--batch": B = Int(args.popFirst()!)!
    case "--gen-batch": genBatch = Int(args.popFirst()!)!
    case "--only": only = args.popFirst()
    case "--seq": T = Int(args.popFirst()!)!
    case "--shape":
        // layers,d_model,heads,vocab,context
        let v = args.popFirst()!.split(separator: ",").map { Int($0)! }
        shape = GPTConfig(vocabSize: v[3], context: v[4], layers: v[0], heads: v[2], dModel: v[1])
    default: fatalError("unknown argument \(a) (--steps N --warmup N --batch N --seq T --gen-batch N --shape L,C,H,V,P --only train|gemm|gen)")
    }
}
if let env = ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"], let n = Int(env) { BLAS.setThreads(n) }

let cfg = shape ?? GPTConfig.reference   // default: 2 layers, d_model 128, 4 heads, vocab 256, context 64
let C = cfg.dModel, V = cfg.vocabSize, NL = cfg.layers, NH = cfg.heads
let N = B * T

/// Matrix-multiply FLOPs of one forward at (B, T): linear layers, attention (both products), head.
func forwardFlops(B: Int, T: Int) -> Double {
    let N = Double(B * T), c = Double(C)
    let perLayer = 2 * N * c * (3 * c + c + 4 * c + 4 * c) + 2 * 2 * Double(B * NH) * Double(T * T) * (c / Double(NH))
    return Double(NL) * perLayer + 2 * N * c * Double(V)
}

func emit(_ d: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: d, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
    fflush(nil)
}

if only == nil || only == "train" {
    let model = try GPTModel(config: cfg, seed: 1)
    let opt = AdamW(count: model.parameterCount, lr: 3e-4, weightDecay: 0.01)
    var rng = SeededRandom(seed: 2)
    let tokens = (0..<N).map { _ in Int32(rng.next() % UInt64(V)) }
    let targets = (0..<N).map { _ in Int32(rng.next() % UInt64(V)) }
    let w = [Float](repeating: 1 / Float(N), count: N)
    var times: [Double] = [], fwdTimes: [Double] = [], bwdTimes: [Double] = []
    var loss: Float = 0
    for i in 0..<(warmup + steps) {
        let t0 = now()
        model.zeroGrads()
        try model.forward(tokens: tokens, B: B, T: T)
        let t1 = now()
        loss = try model.lossAndBackward(targets: targets, weights: w)
        let t2 = now()
        model.clipGradients(maxNorm: 1)
        opt.update(model)
        let t3 = now()
        if i >= warmup { times.append(t3 - t0); fwdTimes.append(t1 - t0); bwdTimes.append(t2 - t1) }
    }
    let ms = median(times) * 1000
    let flops = 3 * forwardFlops(B: B, T: T)
    emit(["bench": "train_step", "impl": "clp-flow", "ms_per_step": ms, "forward_ms": median(fwdTimes) * 1000,
          "backward_ms": median(bwdTimes) * 1000, "gflops_per_step": flops / 1e9, "achieved_gflops": flops / median(times) / 1e9,
          "params": model.parameterCount, "B": B, "T": T, "final_loss": Double(loss), "blas_threads": BLAS.threads])
}

if only == nil || only == "gemm" {
    // sgemm alone on the training step's shapes (forward products; backward ones have the same sizes)
    let shapes: [(String, Int, Int, Int)] = [("qkv", N, C, 3 * C), ("attn_proj", N, C, C), ("fc", N, C, 4 * C),
                                             ("fc_proj", N, 4 * C, C), ("head", N, C, V), ("attn_scores", T, T, C / NH)]
    var totalFlops = 0.0, totalTime = 0.0
    var rows: [[String: Any]] = []
    for (name, m, k, n) in shapes {
        let a = FloatBuffer(count: m * k), b = FloatBuffer(count: k * n), c = FloatBuffer(count: m * n)
        for i in 0..<a.count { a.pointer[i] = Float(i % 7) * 0.01 }
        for i in 0..<b.count { b.pointer[i] = Float(i % 5) * 0.01 }
        var ts: [Double] = []
        let reps = name == "attn_scores" ? 2000 : 100
        for _ in 0..<5 { BLAS.sgemm(m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer, ldb: n, c: c.pointer, ldc: n) }
        for _ in 0..<5 {
            let t0 = now()
            for _ in 0..<reps { BLAS.sgemm(m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer, ldb: n, c: c.pointer, ldc: n) }
            ts.append((now() - t0) / Double(reps))
        }
        let f = 2.0 * Double(m * n * k), t = median(ts)
        rows.append(["shape": "\(m)x\(k)x\(n)", "name": name, "us": t * 1e6, "gflops": f / t / 1e9])
        if name != "attn_scores" { totalFlops += f; totalTime += t }
    }
    emit(["bench": "sgemm", "impl": "openblas", "shapes": rows, "gflops_linear_shapes": totalFlops / totalTime / 1e9,
          "blas_threads": BLAS.threads])
}

if only == nil || only == "gen" {
    let model = try GPTModel(config: cfg, seed: 1)
    for gb in [1, genBatch] {
        var rng = SeededRandom(seed: 3)
        let prompts = (0..<gb).map { _ in (0..<promptLen).map { _ in Int32(rng.next() % UInt64(V)) } }
        let sc = SamplingConfig(temperature: 1, maxNewTokens: newTokens, seed: 4)
        _ = try Generator.generate(models: [model], prompts: prompts, config: sc)
        var ts: [Double] = []
        for _ in 0..<5 {
            let t0 = now()
            _ = try Generator.generate(models: [model], prompts: prompts, config: sc)
            ts.append(now() - t0)
        }
        let t = median(ts)
        emit(["bench": "generate", "impl": "clp-flow", "batch": gb, "prompt": promptLen, "new_tokens": newTokens,
              "seconds": t, "tokens_per_s": Double(gb * newTokens) / t])
    }
}
