// Engine benchmarks: training step, achieved vs sgemm GFLOP/s, generation throughput and a full
// REINFORCE step, at any model shape. Build with `swift build -c release` (see bench/run.sh).
// Prints one JSON object per line; each carries the process's peak resident set size so far
// (getrusage ru_maxrss), so run one configuration per process to attribute the peak to it.
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

/// CPU time of the process (all threads): unlike wall time it does not grow when other processes
/// take the cores, so at one thread it measures the work of a step even on a busy machine.
func cpuNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func peakRSSMegabytes() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_maxrss) / 1024   // kilobytes on Linux
}

let usage = "arguments: --only train|gemm|gen|rl --shape L,C,H,V,P --batch N --seq T --steps N --warmup N "
    + "--gen-batches 1,16 --prompt N --new-tokens N --rl-prompts N --rl-samples N"
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("clp-flow-bench: \(message)\n\(usage)\n".utf8))
    exit(2)
}

var args = CommandLine.arguments.dropFirst()
var steps = 50, warmup = 5, B = 16, T = 64, promptLen = 8, newTokens = 56, rlPrompts = 8, rlSamples = 4
var genBatches = [1, 16]
var only: String? = nil
var shape: GPTConfig? = nil
@MainActor func intArg(_ name: String) -> Int {
    guard let s = args.popFirst(), let v = Int(s), v >= 0 else { fail("\(name) needs a non-negative integer") }
    return v
}
while let a = args.popFirst() {
    switch a {
    case "--steps": steps = max(1, intArg(a))
    case "--warmup": warmup = intArg(a)
    case "--batch": B = max(1, intArg(a))
    case "--seq": T = max(1, intArg(a))
    case "--gen-batch": genBatches = [1, max(1, intArg(a))]
    case "--gen-batches":
        guard let s = args.popFirst() else { fail("--gen-batches needs a list") }
        genBatches = s.split(separator: ",").map { guard let v = Int($0), v > 0 else { fail("bad batch \($0)") }; return v }
    case "--prompt": promptLen = max(1, intArg(a))
    case "--new-tokens": newTokens = max(1, intArg(a))
    case "--rl-prompts": rlPrompts = max(1, intArg(a))
    case "--rl-samples": rlSamples = max(2, intArg(a))
    case "--only":
        only = args.popFirst()
        guard ["train", "gemm", "gen", "rl"].contains(only ?? "") else { fail("--only takes train, gemm, gen or rl") }
    case "--shape":
        // layers,d_model,heads,vocab,context
        guard let s = args.popFirst() else { fail("--shape needs L,C,H,V,P") }
        let v = s.split(separator: ",").compactMap { Int($0) }
        guard v.count == 5 else { fail("--shape needs five integers L,C,H,V,P, got \(s)") }
        shape = GPTConfig(vocabSize: v[3], context: v[4], layers: v[0], heads: v[2], dModel: v[1])
    default: fail("unknown argument \(a)")
    }
}
if let env = ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"], let n = Int(env) { BLAS.setThreads(n) }
if let env = ProcessInfo.processInfo.environment["CLP_FLOW_THREADS"], let n = Int(env) { BLAS.setThreads(n) }

let cfg = shape ?? GPTConfig.reference   // default: 2 layers, d_model 128, 4 heads, vocab 256, context 64
let C = cfg.dModel, V = cfg.vocabSize, NL = cfg.layers, NH = cfg.heads
let N = B * T
let shapeText = "\(NL),\(C),\(NH),\(V),\(cfg.context)"
guard T <= cfg.context else { fail("--seq \(T) exceeds the context \(cfg.context)") }

/// Matrix-multiply FLOPs of one forward at (B, T): linear layers, attention (both products), head.
func forwardFlops(B: Int, T: Int) -> Double {
    let N = Double(B * T), c = Double(C)
    let perLayer = 2 * N * c * (3 * c + c + 4 * c + 4 * c) + 2 * 2 * Double(B * NH) * Double(T * T) * (c / Double(NH))
    return Double(NL) * perLayer + 2 * N * c * Double(V)
}

func emit(_ mode: String, _ d: [String: Any]) {
    var d = d
    d["side"] = "clp-flow"; d["impl"] = "clp-flow"; d["mode"] = mode; d["shape"] = shapeText
    d["threads"] = BLAS.threads; d["peak_rss_mb"] = peakRSSMegabytes()
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
    var times: [Double] = [], fwdTimes: [Double] = [], bwdTimes: [Double] = [], updTimes: [Double] = []
    var loss: Float = 0, cpu: [Double] = []
    for i in 0..<(warmup + steps) {
        let c0 = cpuNow()
        let t0 = now()
        model.zeroGrads()
        try model.forward(tokens: tokens, B: B, T: T)
        let t1 = now()
        loss = try model.lossAndBackward(targets: targets, weights: w)
        let t2 = now()
        model.clipGradients(maxNorm: 1)
        opt.update(model)
        let t3 = now()
        if i >= warmup {
            times.append(t3 - t0); fwdTimes.append(t1 - t0); bwdTimes.append(t2 - t1); updTimes.append(t3 - t2)
            cpu.append(cpuNow() - c0)
        }
    }
    let ms = median(times) * 1000
    let flops = 3 * forwardFlops(B: B, T: T)
    emit("train", ["bench": "train_step", "ms_per_step": ms, "cpu_ms_per_step": median(cpu) * 1000, "forward_ms": median(fwdTimes) * 1000,
                   "backward_ms": median(bwdTimes) * 1000, "update_ms": median(updTimes) * 1000,
                   "gflops_per_step": flops / 1e9, "achieved_gflops": flops / median(times) / 1e9,
                   "cpu_achieved_gflops": flops / median(cpu) / 1e9,
                   "params": model.parameterCount, "B": B, "T": T, "final_loss": Double(loss)])
}

if only == nil || only == "gemm" {
    // sgemm alone (through BLAS.sgemm, the engine's partitioned product) on the training step's
    // forward shapes; the backward products have the same sizes, transposed.
    let shapes: [(String, Int, Int, Int)] = [("qkv", N, C, 3 * C), ("attn_proj", N, C, C), ("fc", N, C, 4 * C),
                                             ("fc_proj", N, 4 * C, C), ("head", N, C, V), ("attn_scores", T, T, C / NH)]
    var totalFlops = 0.0, totalTime = 0.0, totalCPU = 0.0
    var rows: [[String: Any]] = []
    for (name, m, k, n) in shapes {
        let a = FloatBuffer(count: m * k), b = FloatBuffer(count: k * n), c = FloatBuffer(count: m * n)
        for i in 0..<a.count { a.pointer[i] = Float(i % 7) * 0.01 }
        for i in 0..<b.count { b.pointer[i] = Float(i % 5) * 0.01 }
        let f = 2.0 * Double(m * n * k)
        // about 2 GFLOP per timed repetition set (at least one product)
        let reps = max(1, min(2000, Int(2e9 / f)))
        var ts: [Double] = [], cs: [Double] = []
        for _ in 0..<min(reps, 5) { BLAS.sgemm(m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer, ldb: n, c: c.pointer, ldc: n) }
        for _ in 0..<5 {
            let c0 = cpuNow(), t0 = now()
            for _ in 0..<reps { BLAS.sgemm(m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer, ldb: n, c: c.pointer, ldc: n) }
            ts.append((now() - t0) / Double(reps)); cs.append((cpuNow() - c0) / Double(reps))
        }
        // the same product as one OpenBLAS call (no fixed parts): what the partition costs
        var cw: [Double] = []
        for _ in 0..<5 {
            let c0 = cpuNow()
            for _ in 0..<reps { BLAS.whole(m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer, ldb: n, c: c.pointer, ldc: n) }
            cw.append((cpuNow() - c0) / Double(reps))
        }
        let t = median(ts), tc = median(cs)
        rows.append(["shape": "\(m)x\(k)x\(n)", "name": name, "us": t * 1e6, "gflops": f / t / 1e9, "cpu_gflops": f / tc / 1e9,
                     "cpu_gflops_one_call": f / median(cw) / 1e9, "parts": BLAS.partition(m: m, n: n, k: k).count])
        if name != "attn_scores" { totalFlops += f; totalTime += t; totalCPU += tc }
    }
    // cpu_gflops: per second of CPU time (all threads), the steady figure at one thread on a busy machine
    emit("gemm", ["bench": "sgemm", "shapes": rows, "gflops_linear_shapes": totalFlops / totalTime / 1e9,
                  "cpu_gflops_linear_shapes": totalFlops / totalCPU / 1e9])
}

if only == nil || only == "gen" {
    let model = try GPTModel(config: cfg, seed: 1)
    guard promptLen + newTokens <= cfg.context else { fail("--prompt + --new-tokens exceed the context \(cfg.context)") }
    for gb in genBatches {
        var rng = SeededRandom(seed: 3)
        let prompts = (0..<gb).map { _ in (0..<promptLen).map { _ in Int32(rng.next() % UInt64(V)) } }
        let sc = SamplingConfig(temperature: 1, maxNewTokens: newTokens, seed: 4)
        for _ in 0..<warmup { _ = try Generator.generate(models: [model], prompts: prompts, config: sc) }
        var ts: [Double] = [], cpu: [Double] = []
        for _ in 0..<steps {
            let c0 = cpuNow(), t0 = now()
            let r = try Generator.generate(models: [model], prompts: prompts, config: sc)
            ts.append(now() - t0); cpu.append(cpuNow() - c0)
            precondition(r.tokens.allSatisfy { $0.count == newTokens })
        }
        let t = median(ts)
        emit("gen", ["bench": "generate", "batch": gb, "prompt": promptLen, "new_tokens": newTokens,
                     "seconds": t, "tokens_per_s": Double(gb * newTokens) / t,
                     "cpu_seconds": median(cpu)])
    }
}

if only == "rl" {
    // One REINFORCE step as RLTrainer.train does it, for a standalone policy: for each prompt, k
    // samples from the KV cache (one batched Generator call), a reward, teacher-forced
    // log-probabilities under the frozen π_ref, the policy forward whose log-probabilities give the
    // returns and leave-one-out advantages, then the backward of the per-token advantage-weighted
    // loss; after all prompts, gradient clipping and AdamW. The reward is synthetic (the fraction
    // of response tokens in the lower half of the vocabulary; bench/torch_ladder.py uses the same).
    guard promptLen + newTokens <= cfg.context else { fail("--prompt + --new-tokens exceed the context \(cfg.context)") }
    let policy = try GPTModel(config: cfg, seed: 1)
    let reference = policy.copy()
    let opt = AdamW(count: policy.parameterCount, lr: 1e-5, weightDecay: 0)
    var rng = SeededRandom(seed: 5)
    let prompts = (0..<rlPrompts).map { _ in (0..<promptLen).map { _ in Int32(rng.next() % UInt64(V)) } }
    let k = rlSamples, alpha = 0.1
    var times: [Double] = [], sampleT: [Double] = [], refT: [Double] = [], polT: [Double] = [], updT: [Double] = []
    var cpu: [Double] = []
    for step in 0..<(warmup + steps) {
        let c0 = cpuNow(), t0 = now()
        var ts = 0.0, tr = 0.0, tp = 0.0
        policy.zeroGrads()
        for prompt in prompts {
            let s0 = now()
            let sc = SamplingConfig(temperature: 1, maxNewTokens: newTokens, seed: rng.next())
            let responses = try Generator.generate(models: [policy], prompts: Array(repeating: prompt, count: k), config: sc).tokens
            let rewards = responses.map { r in Double(r.filter { Int($0) < V / 2 }.count) / Double(max(1, r.count)) }
            let s1 = now()
            let ref = try RLTrainer.sequenceLogProbs(model: reference, prompt: prompt, responses: responses, prefix: nil, endOfText: 0)
            let s2 = now()
            let pol = try RLTrainer.sequenceLogProbs(model: policy, prompt: prompt, responses: responses, prefix: nil, endOfText: 0)
            let returns = (0..<k).map {
                Reinforce.sequenceReturn(scalarizedReward: rewards[$0], logProbPolicy: pol.total[$0],
                                         logProbReference: ref.total[$0], alpha: alpha)
            }
            let adv = Reinforce.leaveOneOutAdvantages(returns)
            var tokenWeights = [Float](repeating: 0, count: pol.mask.count)
            for j in 0..<k {
                let wj = Float(adv[j] / Double(rlPrompts * k))
                for t in 0..<pol.T where pol.mask[j * pol.T + t] { tokenWeights[j * pol.T + t] = wj }
            }
            try policy.lossAndBackward(targets: pol.targets, weights: tokenWeights)
            let s3 = now()
            ts += s1 - s0; tr += s2 - s1; tp += s3 - s2
        }
        let u0 = now()
        policy.clipGradients(maxNorm: 1)
        opt.update(policy)
        let t1 = now()
        if step >= warmup {
            cpu.append(cpuNow() - c0); times.append(t1 - t0); sampleT.append(ts); refT.append(tr); polT.append(tp); updT.append(t1 - u0)
        }
    }
    emit("rl", ["bench": "rl_step", "ms_per_step": median(times) * 1000, "cpu_ms_per_step": median(cpu) * 1000, "sample_ms": median(sampleT) * 1000,
                "reference_ms": median(refT) * 1000, "policy_ms": median(polT) * 1000, "update_ms": median(updT) * 1000,
                "prompts": rlPrompts, "samples": k, "prompt": promptLen, "new_tokens": newTokens])
}
