import ClpFlowCore
import ClpFlowKernels
import Foundation

/// A training or evaluation prompt: the tokenised document and the texts rewards read.
public struct RLExample: Sendable, Hashable {
    public var id: String
    public var document: String
    public var reference: String
    public var documentTokens: [Int32]
    public init(id: String, document: String, reference: String, documentTokens: [Int32]) {
        self.id = id; self.document = document; self.reference = reference; self.documentTokens = documentTokens
    }
}

/// Text ↔ tokens, as the trainer needs it.
public protocol TextCodec: Sendable {
    func encodeText(_ text: String) -> [Int32]
    func decodeTokens(_ tokens: [Int32]) -> String
    /// End of text: ends a response.
    var endOfText: Int32 { get }
    /// Separates the document from the summary.
    var separator: Int32 { get }
}

public struct GenerationSettings: Sendable, Hashable {
    public var temperature: Double
    public var topK: Int
    public var topP: Double
    public var maxNewTokens: Int
    public init(temperature: Double = 1, topK: Int = 0, topP: Double = 1, maxNewTokens: Int) {
        self.temperature = temperature; self.topK = topK; self.topP = topP; self.maxNewTokens = maxNewTokens
    }
}

/// Samples `count` continuations of `prompt` from `model` (after `prefix` vectors if given). Each
/// continuation ends with end-of-text or at `maxNewTokens`; the end-of-text token is included.
public typealias ResponseGenerator = (_ model: GPTModel, _ prompt: [Int32], _ count: Int, _ prefix: PrefixEmbeddings?,
                              _ settings: GenerationSettings, _ rng: inout SeededRandom) throws -> [[Int32]]

/// Raw reward values: one row per response, one column per reward.
public typealias RewardScorer = (_ responses: [RewardInput]) throws -> [[Double]]

/// Per-reward affine normalisation frozen before RL: r' = (r − mean) / std (identity for `none`).
public struct RewardNormalization: Sendable, Hashable, Codable {
    public var mean: [Double]
    public var std: [Double]
    public init(mean: [Double], std: [Double]) { self.mean = mean; self.std = std }
    public static func identity(_ m: Int) -> RewardNormalization {
        RewardNormalization(mean: .init(repeating: 0, count: m), std: .init(repeating: 1, count: m))
    }
    public func apply(_ r: [Double]) -> [Double] { (0..<r.count).map { (r[$0] - mean[$0]) / std[$0] } }

    /// From per-reward normalisers (`RewardNormalizer.fit` on reference-policy samples).
    public init(_ normalizers: [RewardNormalizer]) {
        self.init(mean: normalizers.map { $0.kind == .none ? 0 : $0.mean },
                  std: normalizers.map { $0.kind == .none ? 1 : $0.std })
    }
}

/// Builds the token sequence a policy reads for a document and conditioning input.
public struct PromptBuilder: Sendable {
    public let codec: any TextCodec
    public let context: Int
    public let maxNewTokens: Int
    public let rewardNames: [String]

    public init(codec: any TextCodec, context: Int, maxNewTokens: Int, rewardNames: [String]) {
        self.codec = codec; self.context = context; self.maxNewTokens = maxNewTokens; self.rewardNames = rewardNames
    }

    /// document tokens + separator, preceded by the weighting as text when `textual` (prompt
    /// conditioning). The document is cut from its end so that prefix vectors, the prompt and
    /// `maxNewTokens` fit the context.
    public func tokens(_ ex: RLExample, conditioning c: ConditioningInput?, textual: Bool, prefixVectors: Int = 0) -> [Int32] {
        let head = textual && c != nil ? codec.encodeText(c!.promptPrefix(rewardNames: rewardNames)) : []
        let room = max(1, context - maxNewTokens - prefixVectors - head.count - 1)
        return head + Array(ex.documentTokens.prefix(room)) + [codec.separator]
    }
}

/// REINFORCE with a leave-one-out baseline for conditioned policies (docs/rl.md).
public struct RLTrainer {
    public let config: RLConfig
    public let rewardNames: [String]
    public let normalization: RewardNormalization
    public let seed: UInt64

    public init(config: RLConfig, rewardNames: [String], normalization: RewardNormalization, seed: UInt64) {
        self.config = config; self.rewardNames = rewardNames
        self.normalization = normalization; self.seed = seed
    }

    /// One point of the training curve: the metrics of one RL step.
    public struct CurvePoint: Sendable {
        public var step: Int
        public var total: Int
        public var metrics: [String: Double]
        /// The weighting (and α) sampled for each prompt of the step.
        public var conditioning: [ConditioningInput]
    }

    public struct Summary: Sendable, Codable, Hashable {
        public var steps: Int
        public var samples: Int
        public var finalMetrics: [String: Double]
    }

    /// Trains `policy` in place. With `stateDir` it writes its resumable state on `checkpoints`'
    /// schedule and continues from the last one, bit-identically to an uninterrupted run; the
    /// records of steps done before a resumption are reported again.
    public func train(policy: ConditionedPolicy, reference: GPTModel, data: [RLExample], codec: any TextCodec,
                      generate: ResponseGenerator, score: RewardScorer,
                      stateDir: URL? = nil, checkpoints: CheckpointSchedule = .never, say: (String) -> Void = { _ in },
                      report: (CurvePoint) throws -> Void = { _ in }) throws -> Summary {
        guard !data.isEmpty else { throw TrainingError.emptyData("no training prompts") }
        let m = rewardNames.count
        var rng = SeededRandom(seed: seed, stream: "rl/\(config.name)")
        var sampler = WeightSampler(distribution: config.weights, rewardCount: m, scalarization: config.scalarization)
        let alphaSampler = config.kl.range.map(AlphaSampler.init)
        let scalarizer = Scalarizer(config.scalarization)
        var balancer = RewardBalancer(kind: config.balance, rewardCount: m)
        let builder = PromptBuilder(codec: codec, context: policy.model.config.context, maxNewTokens: config.maxNewTokens,
                                    rewardNames: rewardNames)
        let settings = GenerationSettings(temperature: config.temperature, maxNewTokens: config.maxNewTokens)
        let schedule = LearningRateSchedule(peak: config.learningRate, warmup: config.warmup, total: config.steps, kind: .constant)
        let optimizer = ConditionedPolicy.Optimizer(policy: policy, lr: config.learningRate)
        let k = max(1, config.samples), B = max(1, config.batch)
        var order = Array(data.indices), cursor = order.count
        var last: [String: Double] = [:]
        var records: [StateRecord] = []
        var checkpoints = checkpoints
        if let stateDir, let saved = try TrainingState.load(from: stateDir, kind: RLTrainer.stateKind,
                                                            sizes: policy.trainingStateSizes(optimizer), as: StateBody.self) {
            guard saved.body.order.count == data.count, let restored = SeededRandom(state: saved.body.rng) else {
                throw TrainingError.state("resumable state in \(stateDir.path) is for \(saved.body.order.count) training prompts, not \(data.count); remove it to start over")
            }
            policy.restoreTrainingState(saved.tensors, optimizer: optimizer, steps: saved.body.optimizerSteps)
            try sampler.restore(learned: saved.body.sampler)
            balancer = RewardBalancer(kind: config.balance, rewardCount: m, variance: saved.body.balance)
            rng = restored; order = saved.body.order; cursor = saved.body.cursor; records = saved.body.curve
            last = records.last?.metrics ?? [:]
            say("resuming \(config.name) at step \(records.count) of \(config.steps) from \(stateDir.path)")
            for r in records {
                try report(CurvePoint(step: r.step, total: config.steps, metrics: r.metrics, conditioning: r.conditioning))
            }
        }
        for step in records.count..<config.steps {
            policy.zeroGrads()
            var conds: [ConditioningInput] = []
            var rawSum = [Double](repeating: 0, count: m), normSum = [Double](repeating: 0, count: m)
            var scalarSum = 0.0, klSum = 0.0, entropySum = 0.0, entropyCount = 0, lossSum = 0.0, lengthSum = 0.0
            for _ in 0..<B {
                if cursor == order.count { order.shuffle(using: &rng); cursor = 0 }
                let ex = data[order[cursor]]; cursor += 1
                let w = sampler.sample(&rng)
                let alpha = alphaSampler?.sample(&rng)
                let c = ConditioningInput(weights: w, alpha: alpha)
                conds.append(c)
                let alphaValue = alpha ?? config.kl.alpha
                let prefix = try policy.activate(c)
                let prompt = builder.tokens(ex, conditioning: c, textual: policy.mechanism == .prompt,
                                            prefixVectors: prefix?.count ?? 0)
                let refPrompt = builder.tokens(ex, conditioning: nil, textual: false)
                let responses = try generate(policy.model, prompt, k, prefix, settings, &rng)
                // Rewards on the decoded responses (end-of-text removed).
                let texts = responses.map { codec.decodeTokens($0.filter { $0 != codec.endOfText }) }
                let raw = try score(texts.map {
                    RewardInput(prompt: codec.decodeTokens(refPrompt), document: ex.document, response: $0, reference: ex.reference)
                })
                // Teacher-forced log-probabilities under π_ref and under π (the latter's forward is
                // kept for the backward pass).
                let ref = try RLTrainer.sequenceLogProbs(model: reference, prompt: refPrompt, responses: responses, prefix: nil,
                                                         endOfText: codec.endOfText)
                let pol = try RLTrainer.sequenceLogProbs(model: policy.model, prompt: prompt, responses: responses, prefix: prefix,
                                                         endOfText: codec.endOfText)
                var returns: [Double] = []
                let normalised = raw.map(normalization.apply)
                balancer.observe(group: normalised)
                for j in 0..<k {
                    let rn = normalised[j]
                    let s = scalarizer.value(weights: w, rewards: balancer.apply(rn))
                    returns.append(Reinforce.sequenceReturn(scalarizedReward: s, logProbPolicy: pol.total[j],
                                                            logProbReference: ref.total[j], alpha: alphaValue))
                    for i in 0..<m { rawSum[i] += raw[j][i]; normSum[i] += rn[i] }
                    scalarSum += s
                    klSum += pol.total[j] - ref.total[j]
                    entropySum -= pol.total[j]; entropyCount += pol.lengths[j]
                    lengthSum += Double(responses[j].count)
                    sampler.observe(weights: w, rewards: rn)
                }
                let adv = Reinforce.leaveOneOutAdvantages(returns)
                var tokenWeights = [Float](repeating: 0, count: pol.mask.count)
                for j in 0..<k {
                    let wj = Float(adv[j] / Double(B * k))
                    for t in 0..<pol.T where pol.mask[j * pol.T + t] { tokenWeights[j * pol.T + t] = wj }
                }
                lossSum += Double(try policy.model.lossAndBackward(targets: pol.targets, weights: tokenWeights))
                try policy.routeGradients(c)
            }
            let norm = policy.clipGradients(maxNorm: config.clip)
            guard norm.isFinite else { throw TrainingError.nonFinite(step: step + 1, what: "the gradient norm") }
            optimizer.step(policy, lr: schedule.rate(at: step))
            let n = Double(B * k)
            var metrics: [String: Double] = [
                "scalarized": scalarSum / n, "kl": klSum / n, "entropy": entropySum / Double(max(1, entropyCount)),
                "loss": lossSum, "grad_norm": norm, "lr": schedule.rate(at: step), "length": lengthSum / n,
            ]
            for i in 0..<m {
                metrics["reward/\(rewardNames[i])"] = rawSum[i] / n
                metrics["reward_norm/\(rewardNames[i])"] = normSum[i] / n
            }
            if config.balance != .none {
                let f = balancer.factors
                for i in 0..<m { metrics["balance/\(rewardNames[i])"] = f[i] }
            }
            guard metrics.values.allSatisfy(\.isFinite) else {
                throw TrainingError.nonFinite(step: step + 1, what: "a training metric (\(metrics.filter { !$0.value.isFinite }.keys.sorted().joined(separator: ", ")))")
            }
            last = metrics
            records.append(StateRecord(step: step + 1, metrics: metrics, conditioning: conds))
            try report(CurvePoint(step: step + 1, total: config.steps, metrics: metrics, conditioning: conds))
            if let stateDir, checkpoints.due(done: step + 1, total: config.steps) {
                let body = StateBody(optimizerSteps: optimizer.steps, rng: rng.state, order: order, cursor: cursor,
                                     sampler: sampler.learned, curve: records, balance: balancer.variance)
                try TrainingState.save(to: stateDir, kind: RLTrainer.stateKind, step: step + 1,
                                       tensors: policy.trainingState(optimizer), body: body)
            }
        }
        return Summary(steps: config.steps, samples: config.steps * B * k, finalMetrics: last)
    }

    /// Teacher-forced log-probabilities of each response after the prompt, from one forward pass
    /// of the batch [k, T] (right-padded with end-of-text). `mask[j·T + t]` marks positions t
    /// whose next token belongs to response j; `targets` are the next tokens.
    public struct SequenceScores {
        public var total: [Double]
        public var lengths: [Int]
        public var T: Int
        public var targets: [Int32]
        public var mask: [Bool]
    }

    public static func sequenceLogProbs(model: GPTModel, prompt: [Int32], responses: [[Int32]], prefix: PrefixEmbeddings?,
                                        endOfText: Int32) throws -> SequenceScores {
        let k = responses.count
        let maxLen = responses.map(\.count).max() ?? 0
        let T = prompt.count + max(maxLen, 1) - 1 + 1
        var tokens = [Int32](repeating: endOfText, count: k * T)
        var targets = [Int32](repeating: 0, count: k * T)
        var mask = [Bool](repeating: false, count: k * T)
        for j in 0..<k {
            let seq = prompt + responses[j]
            for t in 0..<min(seq.count, T) { tokens[j * T + t] = seq[t] }
            for t in 0..<(T - 1) { targets[j * T + t] = tokens[j * T + t + 1] }
            for r in 0..<responses[j].count { mask[j * T + prompt.count - 1 + r] = true }
        }
        let lp = try model.logProbs(tokens: tokens, B: k, T: T, prefix: prefix)
        var total = [Double](repeating: 0, count: k)
        for j in 0..<k {
            for t in 0..<(T - 1) where mask[j * T + t] { total[j] += Double(lp[j * (T - 1) + t]) }
        }
        return SequenceScores(total: total, lengths: responses.map(\.count), T: T, targets: targets, mask: mask)
    }
}

extension RLTrainer {
    struct StateRecord: Codable {
        var step: Int
        var metrics: [String: Double]
        var conditioning: [ConditioningInput]
    }

    struct StateBody: Codable {
        var optimizerSteps: [Int]
        var rng: [UInt64]
        var order: [Int]
        var cursor: Int
        var sampler: [String: [[Double]?]]
        var curve: [StateRecord]
        /// The reward balancer's running variances (absent without `reward_balance`).
        var balance: [Double]? = nil
    }

    static let stateKind = "rl"
}

extension RLTrainer {
    /// The engine's batched KV-cache sampler as a `ResponseGenerator`: the k samples of a prompt
    /// are generated together, with a sampling seed drawn from the trainer's generator.
    public static func cachedGenerator(endOfText: Int32) -> ResponseGenerator {
        { model, prompt, count, prefix, settings, rng in
            let config = SamplingConfig(temperature: Float(settings.temperature), topK: settings.topK, topP: Float(settings.topP),
                                        maxNewTokens: settings.maxNewTokens, endOfText: endOfText, seed: rng.next())
            return try Generator.generate(models: [model], prompts: Array(repeating: prompt, count: count),
                                          prefixes: [prefix], config: config).tokens
        }
    }
}
