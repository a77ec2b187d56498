import ClpFlowCore
import ClpFlowKernels
import Foundation

/// One supervised example: the model reads `prompt` (document tokens followed by the separator)
/// and learns to continue with `target` (summary tokens followed by end-of-text).
public struct SequenceExample: Sendable, Hashable, Codable {
    public var prompt: [Int32]
    public var target: [Int32]
    public init(prompt: [Int32], target: [Int32]) { self.prompt = prompt; self.target = target }
}

/// A batch in the model's layout: tokens [B, T]; targets[b, t] is the token that follows position
/// t, weights[b, t] is the loss weight of that prediction (1 on summary tokens, 0 elsewhere).
public struct TokenBatch: Sendable {
    public var B: Int
    public var T: Int
    public var tokens: [Int32]
    public var targets: [Int32]
    public var weights: [Float]
    /// Number of positions with a non-zero weight.
    public var predicted: Int
}

public enum Batching {
    /// Packs examples into one right-padded batch. The sequence is prompt + target; if it exceeds
    /// `context` tokens the prompt is cut from the left (keeping the separator at its end) so the
    /// whole target stays. Padding uses `padToken` with weight 0. The loss weights are 1/`normaliser`
    /// (default: the number of predicted tokens in the batch).
    public static func supervised(_ examples: [SequenceExample], context: Int, padToken: Int32,
                                  normaliser: Float? = nil) -> TokenBatch {
        precondition(!examples.isEmpty)
        var seqs: [[Int32]] = []
        var starts: [Int] = []
        for e in examples {
            let target = Array(e.target.prefix(context - 1))
            let room = context - target.count
            let prompt = Array(e.prompt.suffix(max(1, room)))
            seqs.append(prompt + target)
            starts.append(prompt.count)
        }
        let T = seqs.map { $0.count - 1 }.max()!
        let B = seqs.count
        var tokens = [Int32](repeating: padToken, count: B * T)
        var targets = [Int32](repeating: -1, count: B * T)
        var mask = [Bool](repeating: false, count: B * T)
        var predicted = 0
        for (b, s) in seqs.enumerated() {
            for t in 0..<(s.count - 1) {
                tokens[b * T + t] = s[t]
                targets[b * T + t] = s[t + 1]
                // position t predicts s[t+1], a target token when t + 1 ≥ start
                if t + 1 >= starts[b] { mask[b * T + t] = true; predicted += 1 }
            }
        }
        let w = 1 / (normaliser ?? Float(max(1, predicted)))
        let weights = mask.map { $0 ? w : 0 }
        return TokenBatch(B: B, T: T, tokens: tokens, targets: targets.map { max($0, 0) }, weights: weights,
                          predicted: predicted)
    }
}

public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case nonFinite(step: Int, what: String)
    case emptyData(String)
    /// Resumable training state that cannot be used.
    case state(String)

    public var description: String {
        switch self {
        case .nonFinite(let step, let what):
            return "training diverged at step \(step): \(what) is not finite (NaN or Inf); lower the learning rate or raise clipping"
        case .emptyData(let s), .state(let s): return s
        }
    }
}

/// Progress and metrics reported by trainers to whoever runs them (the step process writes them as
/// events).
public struct TrainingRecord: Sendable {
    public var step: Int
    public var total: Int
    public var metrics: [String: Double]
    public init(step: Int, total: Int, metrics: [String: Double]) {
        self.step = step; self.total = total; self.metrics = metrics
    }
}

/// The plain settings of supervised training (π_ref on document → summary).
public struct SupervisedConfig: Sendable, Hashable {
    public var steps: Int
    /// Sequences per step.
    public var batch: Int
    public var learningRate: Double
    public var schedule: LearningRateSchedule.Shape
    public var warmup: Int
    public var weightDecay: Double
    public var clip: Double
    /// Validation loss every this many steps (0: only at the end).
    public var evalEvery: Int

    public init(steps: Int = 600, batch: Int = 16, learningRate: Double = 3e-3, schedule: LearningRateSchedule.Shape = .cosine,
                warmup: Int = 30, weightDecay: Double = 0.01, clip: Double = 1.0, evalEvery: Int = 100) {
        self.steps = steps; self.batch = batch; self.learningRate = learningRate; self.schedule = schedule
        self.warmup = warmup; self.weightDecay = weightDecay; self.clip = clip; self.evalEvery = evalEvery
    }
}

/// Trains π_ref: AdamW, warm-up + schedule, gradient clipping, loss on summary tokens only.
public struct SupervisedTrainer {
    public let config: SupervisedConfig
    public let seed: UInt64

    public init(config: SupervisedConfig, seed: UInt64) { self.config = config; self.seed = seed }

    public struct Summary: Sendable, Codable, Hashable {
        public var steps: Int
        public var finalTrainLoss: Double
        public var validLoss: Double
        public var validPerplexity: Double
    }

    /// Mean per-token loss of the summary tokens over `examples` (batches of `batch`).
    public static func evaluate(model: GPTModel, examples: [SequenceExample], batch: Int, padToken: Int32) throws -> Double {
        guard !examples.isEmpty else { return .nan }
        var total = 0.0, count = 0
        var i = 0
        while i < examples.count {
            let chunk = Array(examples[i..<min(examples.count, i + batch)])
            let b = Batching.supervised(chunk, context: model.config.context, padToken: padToken, normaliser: 1)
            try model.forward(tokens: b.tokens, B: b.B, T: b.T)
            total += Double(try model.loss(targets: b.targets, weights: b.weights))
            count += b.predicted
            i += batch
        }
        return total / Double(max(1, count))
    }

    /// Trains `model` in place. With `stateDir` it writes its resumable state on `checkpoints`'
    /// schedule and continues from the last one, bit-identically to an uninterrupted run; the
    /// records of steps done before a resumption are reported again, so listeners see the whole
    /// curve.
    public func train(model: GPTModel, train: [SequenceExample], valid: [SequenceExample], padToken: Int32,
                      stateDir: URL? = nil, checkpoints: CheckpointSchedule = .never, say: (String) -> Void = { _ in },
                      report: (TrainingRecord) throws -> Void = { _ in }) throws -> Summary {
        guard !train.isEmpty else { throw TrainingError.emptyData("the training split is empty") }
        var rng = SeededRandom(seed: seed, stream: "reference/batches")
        let schedule = LearningRateSchedule(peak: config.learningRate, warmup: config.warmup, total: config.steps, kind: config.schedule)
        let opt = AdamW(count: model.parameterCount, lr: Float(config.learningRate), weightDecay: Float(config.weightDecay))
        var order = Array(train.indices)
        var cursor = order.count
        var curve: [TrainingState.Record] = []
        var checkpoints = checkpoints
        if let stateDir, let saved = try SupervisedTrainer.loadState(from: stateDir, model: model, optimizer: opt) {
            guard saved.order.count == train.count, let restored = SeededRandom(state: saved.rng) else {
                throw TrainingError.state("resumable state in \(stateDir.path) is for \(saved.order.count) training examples, not \(train.count); remove it to start over")
            }
            rng = restored; order = saved.order; cursor = saved.cursor; curve = saved.curve
            say("resuming π_ref training at step \(curve.count) of \(config.steps) from \(stateDir.path)")
            for r in curve { try report(TrainingRecord(step: r.step, total: config.steps, metrics: r.metrics)) }
        }
        var lastLoss = curve.last?.metrics["loss"] ?? .nan
        var validLoss = curve.last(where: { $0.metrics["valid_loss"] != nil })?.metrics["valid_loss"] ?? .nan
        for step in curve.count..<config.steps {
            var chunk: [SequenceExample] = []
            for _ in 0..<config.batch {
                if cursor == order.count { order.shuffle(using: &rng); cursor = 0 }
                chunk.append(train[order[cursor]]); cursor += 1
            }
            let b = Batching.supervised(chunk, context: model.config.context, padToken: padToken)
            model.zeroGrads()
            try model.forward(tokens: b.tokens, B: b.B, T: b.T)
            let loss = Double(try model.lossAndBackward(targets: b.targets, weights: b.weights))
            guard loss.isFinite else { throw TrainingError.nonFinite(step: step + 1, what: "the training loss") }
            let norm = Double(model.clipGradients(maxNorm: Float(config.clip)))
            guard norm.isFinite else { throw TrainingError.nonFinite(step: step + 1, what: "the gradient norm") }
            opt.lr = Float(schedule.rate(at: step))
            opt.update(model)
            lastLoss = loss
            var metrics = ["loss": loss, "grad_norm": norm, "lr": Double(opt.lr)]
            let isLast = step + 1 == config.steps
            if !valid.isEmpty, (config.evalEvery > 0 && (step + 1) % config.evalEvery == 0) || isLast {
                validLoss = try SupervisedTrainer.evaluate(model: model, examples: valid, batch: config.batch, padToken: padToken)
                guard validLoss.isFinite else { throw TrainingError.nonFinite(step: step + 1, what: "the validation loss") }
                metrics["valid_loss"] = validLoss
                metrics["valid_perplexity"] = validLoss.exponential
            }
            curve.append(TrainingState.Record(step: step + 1, metrics: metrics))
            try report(TrainingRecord(step: step + 1, total: config.steps, metrics: metrics))
            if let stateDir, checkpoints.due(done: step + 1, total: config.steps) {
                try SupervisedTrainer.saveState(to: stateDir, model: model, optimizer: opt,
                                                body: StateBody(optimizerStep: opt.step, rng: rng.state, order: order, cursor: cursor, curve: curve))
            }
        }
        return Summary(steps: config.steps, finalTrainLoss: lastLoss, validLoss: validLoss,
                       validPerplexity: validLoss.isFinite ? validLoss.exponential : .nan)
    }
}

extension SupervisedTrainer {
    struct StateBody: Codable {
        var optimizerStep: Int
        var rng: [UInt64]
        var order: [Int]
        var cursor: Int
        var curve: [TrainingState.Record]
    }

    static let stateKind = "reference"

    static func saveState(to dir: URL, model: GPTModel, optimizer: AdamW, body: StateBody) throws {
        try TrainingState.save(to: dir, kind: stateKind, step: body.curve.count,
                               tensors: [("params", model.params.array)] + optimizer.stateTensors("adam"), body: body)
    }

    static func loadState(from dir: URL, model: GPTModel, optimizer: AdamW) throws -> StateBody? {
        let n = model.parameterCount
        guard let saved = try TrainingState.load(from: dir, kind: stateKind, sizes: ["params": n, "adam.m": n, "adam.v": n],
                                                 as: StateBody.self) else { return nil }
        model.params.copy(from: saved.tensors["params"]!)
        optimizer.restoreState("adam", tensors: saved.tensors, step: saved.body.optimizerStep)
        return saved.body
    }
}
