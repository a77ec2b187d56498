import ClpFlowCore
import ClpFlowKernels
import Foundation

/// Texts (already tokenised, each ending with end-of-text) packed into windows of `T + 1`
/// consecutive tokens: a window's first T tokens are the input, its last T the targets. Each
/// epoch shuffles the texts with a stream derived from (seed, epoch), concatenates them and cuts
/// the stream into windows (the remainder is dropped), so the windows of any epoch can be rebuilt
/// from the seed alone.
public struct PackedCorpus: Sendable {
    public let texts: [[Int32]]
    public let T: Int
    public let seed: UInt64
    public let totalTokens: Int

    public init(texts: [[Int32]], T: Int, seed: UInt64) throws {
        guard T >= 1 else { throw TrainingError.emptyData("a pretraining window needs at least one token") }
        self.texts = texts.filter { !$0.isEmpty }
        self.T = T
        self.seed = seed
        totalTokens = self.texts.reduce(0) { $0 + $1.count }
        guard totalTokens >= T + 1 else {
            throw TrainingError.emptyData("the pretraining corpus has \(totalTokens) tokens, fewer than one window of \(T + 1)")
        }
    }

    /// Windows per epoch.
    public var windowsPerEpoch: Int { totalTokens / (T + 1) }

    /// The token stream of `epoch`; epoch < 0 keeps the corpus order (validation).
    public func stream(epoch: Int) -> [Int32] {
        var order = Array(texts.indices)
        if epoch >= 0 {
            var rng = SeededRandom(seed: seed, stream: "pretrain/epoch/\(epoch)")
            order.shuffle(using: &rng)
        }
        var out: [Int32] = []
        out.reserveCapacity(totalTokens)
        for i in order { out.append(contentsOf: texts[i]) }
        return out
    }
}

/// The plain settings of a pretraining run.
public struct PretrainSettings: Sendable, Hashable {
    public var steps: Int
    public var batch: Int
    public var learningRate: Double
    public var schedule: LearningRateSchedule.Shape
    public var warmup: Int
    public var weightDecay: Double
    public var clip: Double
    public var evalEvery: Int
    public var checkpointEvery: Int
    public var checkpointSeconds: Double

    public init(steps: Int, batch: Int, learningRate: Double, schedule: LearningRateSchedule.Shape, warmup: Int, weightDecay: Double,
                clip: Double, evalEvery: Int, checkpointEvery: Int, checkpointSeconds: Double = 0) {
        self.steps = steps; self.batch = batch; self.learningRate = learningRate; self.schedule = schedule
        self.warmup = warmup; self.weightDecay = weightDecay; self.clip = clip; self.evalEvery = evalEvery
        self.checkpointEvery = checkpointEvery; self.checkpointSeconds = checkpointSeconds
    }
}

/// Causal language modelling on a packed corpus: AdamW, warm-up + schedule, clipping, every
/// token predicted. With a state directory it writes its full state every `checkpointEvery` steps
/// (and every `checkpointSeconds`) and continues from the last one: the result is bit-identical to an uninterrupted run.
public struct PretrainTrainer {
    public let settings: PretrainSettings

    public init(settings: PretrainSettings) { self.settings = settings }

    public struct Summary: Sendable, Codable, Hashable {
        public var steps: Int
        public var tokensSeen: Int
        public var epochs: Double
        public var finalTrainLoss: Double
        public var validLoss: Double
        public var validPerplexity: Double
    }

    /// Mean per-token loss over every window of `corpus` in its own order (batches of `batch`).
    public static func evaluate(model: GPTModel, corpus: PackedCorpus, batch: Int) throws -> Double {
        let stream = corpus.stream(epoch: -1)
        let W = corpus.T + 1
        let windows = stream.count / W
        var total = 0.0, count = 0
        var w = 0
        while w < windows {
            let n = min(batch, windows - w)
            let (tokens, targets) = PretrainTrainer.batch(stream, from: w, count: n, T: corpus.T)
            try model.forward(tokens: tokens, B: n, T: corpus.T)
            total += Double(try model.loss(targets: targets, weights: [Float](repeating: 1, count: n * corpus.T)))
            count += n * corpus.T
            w += n
        }
        return total / Double(max(1, count))
    }

    static func batch(_ stream: [Int32], from window: Int, count: Int, T: Int) -> ([Int32], [Int32]) {
        let W = T + 1
        var tokens = [Int32](repeating: 0, count: count * T), targets = tokens
        for b in 0..<count {
            let base = (window + b) * W
            for t in 0..<T { tokens[b * T + t] = stream[base + t]; targets[b * T + t] = stream[base + t + 1] }
        }
        return (tokens, targets)
    }

    /// Trains `model` in place. `stateDir` (optional) holds the resumable state; `say` receives
    /// plain-language notes (resumption). Records of steps done before a resumption are reported
    /// again, so whoever listens sees the whole curve.
    public func train(model: GPTModel, corpus: PackedCorpus, valid: PackedCorpus?, stateDir: URL? = nil,
                      say: (String) -> Void = { _ in }, report: (TrainingRecord) throws -> Void = { _ in }) throws -> Summary {
        let s = settings
        guard corpus.windowsPerEpoch >= 1 else { throw TrainingError.emptyData("the pretraining corpus holds no full window") }
        let schedule = LearningRateSchedule(peak: s.learningRate, warmup: s.warmup, total: s.steps, kind: s.schedule)
        let opt = AdamW(count: model.parameterCount, lr: Float(s.learningRate), weightDecay: Float(s.weightDecay))
        var position = TrainingState.Position(step: 0, epoch: 0, cursor: 0)
        var curve: [TrainingState.Record] = []
        if let stateDir, let saved = try PretrainTrainer.loadState(from: stateDir, model: model, optimizer: opt) {
            position = saved.position
            curve = saved.curve
            say("resuming pretraining at step \(position.step) of \(s.steps) from \(stateDir.path)")
            for r in curve { try report(TrainingRecord(step: r.step, total: s.steps, metrics: r.metrics)) }
        }
        var stream = corpus.stream(epoch: position.epoch)
        let perEpoch = corpus.windowsPerEpoch
        var lastLoss = curve.last?.metrics["loss"] ?? .nan
        var validLoss = curve.last(where: { $0.metrics["valid_loss"] != nil })?.metrics["valid_loss"] ?? .nan
        let T = corpus.T
        let weights = [Float](repeating: 1 / Float(s.batch * T), count: s.batch * T)
        var tokens = [Int32](repeating: 0, count: s.batch * T), targets = tokens
        var checkpoints = CheckpointSchedule(everySteps: s.checkpointEvery, everySeconds: s.checkpointSeconds)
        while position.step < s.steps {
            let step = position.step
            for b in 0..<s.batch {
                if position.cursor == perEpoch {
                    position.epoch += 1; position.cursor = 0
                    stream = corpus.stream(epoch: position.epoch)
                }
                let base = position.cursor * (T + 1)
                for t in 0..<T { tokens[b * T + t] = stream[base + t]; targets[b * T + t] = stream[base + t + 1] }
                position.cursor += 1
            }
            model.zeroGrads()
            try model.forward(tokens: tokens, B: s.batch, T: T)
            let loss = Double(try model.lossAndBackward(targets: targets, weights: weights))
            guard loss.isFinite else { throw TrainingError.nonFinite(step: step + 1, what: "the training loss") }
            let norm = Double(model.clipGradients(maxNorm: Float(s.clip)))
            guard norm.isFinite else { throw TrainingError.nonFinite(step: step + 1, what: "the gradient norm") }
            opt.lr = Float(schedule.rate(at: step))
            opt.update(model)
            lastLoss = loss
            var metrics = ["loss": loss, "grad_norm": norm, "lr": Double(opt.lr)]
            let isLast = step + 1 == s.steps
            if let valid, (s.evalEvery > 0 && (step + 1) % s.evalEvery == 0) || isLast {
                validLoss = try PretrainTrainer.evaluate(model: model, corpus: valid, batch: s.batch)
                guard validLoss.isFinite else { throw TrainingError.nonFinite(step: step + 1, what: "the validation loss") }
                metrics["valid_loss"] = validLoss
                metrics["valid_perplexity"] = validLoss.exponential
            }
            position.step += 1
            curve.append(TrainingState.Record(step: step + 1, metrics: metrics))
            try report(TrainingRecord(step: step + 1, total: s.steps, metrics: metrics))
            if let stateDir, checkpoints.due(done: position.step, total: s.steps) {
                try PretrainTrainer.saveState(to: stateDir, model: model, optimizer: opt, position: position, curve: curve)
            }
        }
        let seen = s.steps * s.batch * T
        return Summary(steps: s.steps, tokensSeen: seen, epochs: Double(seen) / Double(max(1, corpus.totalTokens)),
                       finalTrainLoss: lastLoss, validLoss: validLoss,
                       validPerplexity: validLoss.isFinite ? validLoss.exponential : .nan)
    }
}

extension PretrainTrainer {
    struct StateBody: Codable {
        var optimizerStep: Int
        var position: TrainingState.Position
        var curve: [TrainingState.Record]
    }

    static let stateKind = "pretrain"

    /// Writes the pretraining state: parameters, AdamW moments and step, data position, curve.
    public static func saveState(to dir: URL, model: GPTModel, optimizer: AdamW, position: TrainingState.Position,
                                 curve: [TrainingState.Record]) throws {
        try TrainingState.save(to: dir, kind: stateKind, step: position.step,
                               tensors: [("params", model.params.array)] + optimizer.stateTensors("adam"),
                               body: StateBody(optimizerStep: optimizer.step, position: position, curve: curve))
    }

    /// Restores the state saved in `dir` into `model` and `optimizer`; nil when there is none.
    public static func loadState(from dir: URL, model: GPTModel,
                                 optimizer: AdamW) throws -> (position: TrainingState.Position, curve: [TrainingState.Record])? {
        let n = model.parameterCount
        guard let saved = try TrainingState.load(from: dir, kind: stateKind, sizes: ["params": n, "adam.m": n, "adam.v": n],
                                                 as: StateBody.self) else { return nil }
        model.params.copy(from: saved.tensors["params"]!)
        optimizer.restoreState("adam", tensors: saved.tensors, step: saved.body.optimizerStep)
        return (saved.body.position, saved.body.curve)
    }
}
