import ClpFlowCore
import Foundation

/// Mean and standard error of a sample.
public struct Estimate: Sendable, Hashable, Codable {
    public var mean: Double
    public var se: Double
    public init(mean: Double, se: Double) { self.mean = mean; self.se = se }
    public init(_ xs: [Double]) {
        let n = Double(xs.count)
        guard xs.count > 0 else { self.init(mean: .nan, se: .nan); return }
        let mu = xs.reduce(0, +) / n
        let v = xs.count > 1 ? xs.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / (n - 1) : 0
        self.init(mean: mu, se: (v / n).squareRoot())
    }
}

/// One point of a method's front: its conditioning and what it achieved on held-out prompts.
public struct EvaluationPoint: Sendable, Hashable, Codable {
    public var weights: [Double]
    public var alpha: Double?
    /// Raw rewards, in the workflow's reward order.
    public var rewards: [Estimate]
    /// KL(π ‖ π_ref) of the policy itself (temperature 1, no truncation), estimated per sequence
    /// on responses sampled from π: mean of log π(y|x) − log π_ref(y|x). When the evaluation
    /// samples at another temperature (or greedily), the KL has its own samples at temperature 1;
    /// rewards and lengths are those of the evaluation temperature.
    public var kl: Estimate
    /// Response length in tokens (end-of-text excluded).
    public var length: Estimate
    /// The values behind the estimates, one per prompt (× seed, seed-major): what intervals and
    /// paired comparisons resample. nil in evaluations written before they were recorded.
    public var perPrompt: PerPrompt?

    public struct PerPrompt: Sendable, Hashable, Codable {
        /// rewards[j][i]: reward i of the response to prompt j.
        public var rewards: [[Double]]
        public var kl: [Double]
        public init(rewards: [[Double]], kl: [Double]) { self.rewards = rewards; self.kl = kl }
    }

    public init(weights: [Double], alpha: Double?, rewards: [Estimate], kl: Estimate, length: Estimate,
                perPrompt: PerPrompt? = nil) {
        self.weights = weights; self.alpha = alpha; self.rewards = rewards; self.kl = kl; self.length = length
        self.perPrompt = perPrompt
    }
}

public struct GeneratedSample: Sendable, Hashable, Codable {
    public var exampleId: String
    public var weights: [Double]
    public var alpha: Double?
    public var text: String
    /// The model's input for this sample as text (`SteerableMethod.inputText`); nil in
    /// evaluations written before it was recorded.
    public var input: String? = nil
}

/// The evaluation of one method over the grid.
public struct MethodEvaluation: Sendable, Hashable, Codable {
    public var method: String
    public var rewardNames: [String]
    public var points: [EvaluationPoint]
    public var samples: [GeneratedSample]
    public var forwardPassesPerToken: Int
    /// Generated tokens per second of wall time during evaluation (sampling only, rewards excluded).
    public var tokensPerSecond: Double
    public var prompts: Int
    public var seeds: Int
}

/// Runs a method at every conditioning of a grid on held-out prompts.
public struct Evaluator {
    /// The sampling settings of the KL samples: the policy itself (temperature 1, no top-k or
    /// top-p), as many new tokens as the evaluation.
    public static func klSettings(_ s: GenerationSettings) -> GenerationSettings {
        GenerationSettings(temperature: 1, topK: 0, topP: 1, maxNewTokens: s.maxNewTokens)
    }

    public let rewardNames: [String]
    public let settings: GenerationSettings
    public let seeds: Int
    public let samplePrompts: Int
    public let seed: UInt64

    public init(rewardNames: [String], settings: GenerationSettings, seeds: Int, samplePrompts: Int, seed: UInt64) {
        self.rewardNames = rewardNames; self.settings = settings; self.seeds = max(1, seeds)
        self.samplePrompts = samplePrompts; self.seed = seed
    }

    /// `grid`: the conditioning inputs evaluated; `reference` scores responses for the KL;
    /// `progress(done, total)` after each grid point.
    public func evaluate(_ method: SteerableMethod, grid: [ConditioningInput], examples: [RLExample],
                         reference: GPTModel, builder: PromptBuilder, score: RewardScorer,
                         progress: (Int, Int) -> Void = { _, _ in }) throws -> MethodEvaluation {
        let codec = builder.codec
        var points: [EvaluationPoint] = []
        var samples: [GeneratedSample] = []
        var generated = 0
        var seconds = 0.0
        for (gi, c) in grid.enumerated() {
            var rewardRows: [[Double]] = [], kls: [Double] = [], lengths: [Double] = []
            for s in 0..<seeds {
                // The same sampling seed for every method at a given grid point and seed index.
                var r = SeededRandom(seed: seed, stream: "evaluate/\(gi)/\(s)")
                let t0 = Date()
                let out = try method.generate(examples, conditioning: c, settings: settings, seed: r.next())
                seconds += Date().timeIntervalSince(t0)
                generated += out.tokens.reduce(0) { $0 + $1.count }
                let refPrompts = examples.map { builder.tokens($0, conditioning: nil, textual: false) }
                let texts = out.tokens.map { codec.decodeTokens($0.filter { $0 != codec.endOfText }) }
                let rows = try score(zip(examples, texts).map {
                    RewardInput(prompt: codec.decodeTokens(builder.tokens($0.0, conditioning: nil, textual: false)),
                                   document: $0.0.document, response: $0.1, reference: $0.0.reference)
                })
                rewardRows += rows
                for j in 0..<examples.count {
                    lengths.append(Double(out.tokens[j].filter { $0 != codec.endOfText }.count))
                }
                // The KL of π itself: from these samples when they are π's (temperature 1, no
                // truncation), else from samples of their own.
                let klOut: (tokens: [[Int32]], logProbs: [Double])
                if settings.temperature == 1 && settings.topK == 0 && settings.topP == 1 {
                    klOut = out
                } else {
                    let t0 = Date()
                    klOut = try method.generate(examples, conditioning: c, settings: Evaluator.klSettings(settings), seed: r.next())
                    seconds += Date().timeIntervalSince(t0)
                    generated += klOut.tokens.reduce(0) { $0 + $1.count }
                }
                let refLP = try Generator.score(model: reference, prompts: refPrompts,
                                                continuations: klOut.tokens.map { $0.isEmpty ? [codec.endOfText] : $0 })
                for j in 0..<examples.count {
                    let lr = klOut.tokens[j].isEmpty ? 0 : refLP[j].reduce(0.0) { $0 + Double($1) }
                    kls.append(klOut.logProbs[j] - lr)
                }
                if s == 0 {
                    for j in 0..<min(samplePrompts, examples.count) {
                        samples.append(GeneratedSample(exampleId: examples[j].id, weights: c.weights, alpha: c.alpha, text: texts[j],
                                                       input: method.inputText(examples[j], conditioning: c)))
                    }
                }
            }
            let est = (0..<rewardNames.count).map { i in Estimate(rewardRows.map { $0[i] }) }
            points.append(EvaluationPoint(weights: c.weights, alpha: c.alpha, rewards: est, kl: Estimate(kls), length: Estimate(lengths),
                                          perPrompt: .init(rewards: rewardRows, kl: kls)))
            progress(gi + 1, grid.count)
        }
        return MethodEvaluation(method: method.name, rewardNames: rewardNames, points: points, samples: samples,
                                forwardPassesPerToken: method.forwardPassesPerToken,
                                tokensPerSecond: seconds > 0 ? Double(generated) / seconds : 0,
                                prompts: examples.count, seeds: seeds)
    }
}

/// The conditioning inputs evaluated: the weight grid (a workflow's `weights.eval`), crossed
/// with the α values of the KL range (`kl.range.eval`) in multi-KL workflows (default: 5
/// log-spaced values spanning the range).
public enum EvaluationGrid {
    /// The weightings evaluated.
    public enum Weights: Sendable, Hashable {
        /// A simplex lattice with this many points per edge.
        case pointsPerEdge(Int)
        case points([[Double]])
    }

    public static func inputs(weights: Weights, kl: KLConfig, rewardCount m: Int) -> [ConditioningInput] {
        let ws: [[Double]]
        switch weights {
        case .pointsPerEdge(let n): ws = ParetoMetrics.simplexLattice(rewards: m, pointsPerEdge: n)
        case .points(let p): ws = p
        }
        guard let range = kl.range else { return ws.map { ConditioningInput(weights: $0) } }
        let alphas = range.eval ?? logSpaced(range.min, range.max, count: 5)
        return ws.flatMap { w in alphas.map { ConditioningInput(weights: w, alpha: $0) } }
    }

    public static func logSpaced(_ lo: Double, _ hi: Double, count n: Int) -> [Double] {
        guard n > 1 else { return [lo] }
        let a = lo.logarithm, b = hi.logarithm
        return (0..<n).map { i in (a + (b - a) * Double(i) / Double(n - 1)).exponential }
    }
}
