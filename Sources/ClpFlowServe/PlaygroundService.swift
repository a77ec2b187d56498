import ClpFlowCore
import ClpFlowEngine
import ClpFlowKernels
import ClpFlowSteps
import ClpFlowWorkflow
import Foundation

/// The model side of `clp-flow serve`: the run's methods, opened once, and `generate`, which may
/// be called from many threads at once. Methods whose network depends on the weighting (CLP,
/// prompt, Rewarded Soups) build θ(w) per request in a model of their own
/// (`IsolatedPolicyMethod`); the others (logit mixing, DeRa, SOFT) only read their fixed models.
public final class PlaygroundService: @unchecked Sendable {
    /// One servable method of the run.
    public struct Method: @unchecked Sendable {
        public let opened: OpenedMethod
        /// Safe to call from several threads.
        public let steerable: SteerableMethod
        public let evaluation: EvaluationArtifact?
        /// `soft`: the SOFT policies, one per reward.
        let softModels: [GPTModel]?

        /// The method with prompts built for `maxNewTokens` new tokens (documents are cut so that
        /// prompt and response fit the context, as `clp-flow generate` does). Only wrappers are
        /// made: the networks are shared and only read.
        func steerable(maxNewTokens: Int) -> SteerableMethod {
            let o = opened.builder
            let b = PromptBuilder(codec: o.codec, context: o.context, maxNewTokens: maxNewTokens, rewardNames: o.rewardNames)
            switch opened.method {
            case let p as PolicyMethod: return IsolatedPolicyMethod(name: p.name, policy: p.policy, builder: b)
            case let l as LogitMixingMethod: return LogitMixingMethod(name: l.name, soft: l.soft, builder: b)
            case let d as DeRaMethod:
                return DeRaMethod(name: d.name, aligned: d.aligned, reference: d.reference, alignedAlpha: d.alignedAlpha, builder: b)
            case let f as FixedModelMethod: return FixedModelMethod(name: f.name, model: f.model, builder: b)
            default:
                if let softModels { return SoftSet(models: softModels, builder: b) }
                return steerable
            }
        }
    }

    public let run: TrainedRun
    public let limits: ServeLimits
    public let methods: [String: Method]
    /// Method names in the order of the run's plan.
    public let methodOrder: [String]
    public let rewardNames: [String]
    public let rewardSpecs: [RewardSpec]
    let rewards: [any Reward]
    public let tokenizer: any Tokenizer
    public let kl: KLSpec
    /// A test document of the run and its reference summary, shown in the playground at first.
    public let example: (document: String, reference: String)?
    /// Methods that could not be opened, with why.
    public let skipped: [(method: String, reason: String)]
    /// The run's hypervolume reference point and each evaluate step's hypervolume against it
    /// (the report's figures); nil when they cannot be computed.
    let hypervolumes: (reference: HypervolumeReference, byStep: [String: RunHypervolume.Result])?

    /// Opens every evaluated method of the run whose policies have finished training.
    public init(run: TrainedRun, limits: ServeLimits) throws {
        // One worker thread per request: requests run side by side instead of splitting each
        // product. (Numerics do not depend on it: products are cut into fixed parts.)
        BLAS.setThreads(1)
        self.run = run
        self.limits = limits
        var methods: [String: Method] = [:], order: [String] = [], skipped: [(String, String)] = []
        for name in run.methods {
            do {
                let opened = try run.open(method: name, maxNewTokens: limits.maxNewTokens)
                let steerable: SteerableMethod = (opened.method as? PolicyMethod).map { IsolatedPolicyMethod($0) } ?? opened.method
                var soft: [GPTModel]? = nil
                if name == "soft" {
                    soft = try run.inputDirectories(of: opened.evaluateStep, kind: .trainSoft).map {
                        try ConditionedPolicy.load(from: $0.appendingPathComponent(ArtifactFiles.policyDir)).model
                    }
                }
                methods[name] = Method(opened: opened, steerable: steerable, evaluation: run.evaluation(of: opened.evaluateStep),
                                       softModels: soft)
                order.append(name)
            } catch {
                skipped.append((name, "\(error)"))
            }
        }
        guard let first = order.first.flatMap({ methods[$0] }) else {
            let why = skipped.map { "\($0.0): \($0.1)" }.joined(separator: "; ")
            throw TrainedRunError("no method of \(run.root.path) can be served\(why.isEmpty ? " (the run has no evaluate step)" : ": \(why)")")
        }
        self.methods = methods
        self.methodOrder = order
        self.skipped = skipped
        hypervolumes = try? RunHypervolumeFigures.compute(plan: run.plan, runDir: run.runDirectory)
        rewardNames = first.opened.rewardNames
        let built = try run.rewards(of: first.opened.evaluateStep)
        rewardSpecs = built.map(\.spec)
        rewards = built.map(\.reward)
        tokenizer = first.opened.tokenizer
        kl = first.opened.kl
        if let data = try? run.inputDirectories(of: first.opened.evaluateStep, kind: .prepareData).first,
           let splits = try? DatasetSplits.load(from: data.appendingPathComponent(ArtifactFiles.dataDir)),
           let e = splits.test.first ?? splits.valid.first {
            example = (e.document, e.summary)
        } else {
            example = nil
        }
    }

    /// Rewards scored against a reference summary: without one in the request, their score is null.
    static let referenceKinds: Set<RewardKind> = [.rouge1, .rouge2, .rougeL]

    // MARK: requests

    /// A validated `POST /v1/generate` body.
    public struct Request: Sendable, Hashable {
        public var input: String
        public var method: String
        public var weights: [Double]
        public var kl: Double?
        public var samples: Int
        public var temperature: Double
        public var topP: Double
        public var maxNewTokens: Int
        public var seed: UInt64
        public var reference: String?
    }

    /// Parses and checks a request body; every problem is a 400 with a message naming the field.
    public func parse(_ body: Data) throws -> Request {
        guard !body.isEmpty else { throw ServeError.badRequest("empty body: send a JSON object with input, method and weights") }
        guard body.count <= limits.maxBodyBytes else {
            throw ServeError.badRequest("request body of \(body.count) bytes exceeds the limit of \(limits.maxBodyBytes) bytes (--max-body-bytes)")
        }
        let json: JSONValue
        do { json = try JSONValue.parse(data: body) } catch { throw ServeError.badRequest("body is not valid JSON: \(error)") }
        guard let obj = json.objectValue else { throw ServeError.badRequest("body must be a JSON object") }
        let known: Set<String> = ["input", "method", "weights", "kl", "samples", "temperature", "top_p", "max_new_tokens", "seed", "reference"]
        if let extra = obj.keys.sorted().first(where: { !known.contains($0) }) {
            throw ServeError.badRequest("unknown field \"\(extra)\"; expected \(known.sorted().joined(separator: ", "))")
        }
        func number(_ key: String) throws -> Double? {
            guard let v = obj[key], v != .null else { return nil }
            guard let d = v.doubleValue, d.isFinite else { throw ServeError.badRequest("\(key) must be a number") }
            return d
        }
        func integer(_ key: String) throws -> Int? {
            guard let d = try number(key) else { return nil }
            guard d.rounded() == d, abs(d) < 1e15 else { throw ServeError.badRequest("\(key) must be an integer, got \(d)") }
            return Int(d)
        }
        guard let input = obj["input"]?.stringValue else { throw ServeError.badRequest("input must be a string (the document)") }
        guard !input.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw ServeError.badRequest("input is empty") }
        guard input.count <= limits.maxInputCharacters else {
            throw ServeError.badRequest("input has \(input.count) characters; the limit is \(limits.maxInputCharacters) (--max-input-chars)")
        }
        let methodName = obj["method"]?.stringValue ?? methodOrder[0]
        guard let method = methods[methodName] else {
            throw ServeError.badRequest("unknown method \"\(methodName)\"; this run serves \(methodOrder.joined(separator: ", "))")
        }
        guard let wv = obj["weights"]?.arrayValue else {
            throw ServeError.badRequest("weights must be an array of \(rewardNames.count) numbers (\(rewardNames.joined(separator: ", ")))")
        }
        let weights = try wv.map { v -> Double in
            guard let d = v.doubleValue else { throw ServeError.badRequest("weights must be numbers") }
            return d
        }
        if let p = Weighting.problem(weights, count: rewardNames.count, names: rewardNames) { throw ServeError.badRequest(p) }
        let kl = try number("kl")
        if let kl, !(kl > 0) { throw ServeError.badRequest("kl must be positive, got \(kl)") }
        if method.opened.takesKL && kl == nil { throw ServeError.badRequest("method \(methodName) is conditioned on the KL weight: give kl > 0") }
        let samples = try integer("samples") ?? 1
        guard samples >= 1 else { throw ServeError.badRequest("samples must be at least 1, got \(samples)") }
        guard samples <= limits.maxSamples else {
            throw ServeError.badRequest("samples is \(samples); the limit is \(limits.maxSamples) (--max-samples)")
        }
        let maxNew = try integer("max_new_tokens") ?? min(32, limits.maxNewTokens)
        guard maxNew >= 1 else { throw ServeError.badRequest("max_new_tokens must be at least 1, got \(maxNew)") }
        guard maxNew <= limits.maxNewTokens else {
            throw ServeError.badRequest("max_new_tokens is \(maxNew); the limit is \(limits.maxNewTokens) (--max-new-tokens)")
        }
        let temperature = try number("temperature") ?? 0.7
        guard temperature >= 0, temperature <= 10 else { throw ServeError.badRequest("temperature must be in [0, 10], got \(temperature)") }
        let topP = try number("top_p") ?? 1
        guard topP > 0, topP <= 1 else { throw ServeError.badRequest("top_p must be in (0, 1], got \(topP)") }
        let seed = try integer("seed") ?? 0
        guard seed >= 0 else { throw ServeError.badRequest("seed must be a non-negative integer") }
        var reference: String? = nil
        if let r = obj["reference"], r != .null {
            guard let s = r.stringValue else { throw ServeError.badRequest("reference must be a string (the reference summary)") }
            guard s.count <= limits.maxInputCharacters else {
                throw ServeError.badRequest("reference has \(s.count) characters; the limit is \(limits.maxInputCharacters) (--max-input-chars)")
            }
            reference = s.isEmpty ? nil : s
        }
        return Request(input: input, method: methodName, weights: weights, kl: kl, samples: samples, temperature: temperature,
                       topP: topP, maxNewTokens: maxNew, seed: UInt64(seed), reference: reference)
    }

    /// Generates for a validated request (blocking; call off the async executor).
    public func generate(_ r: Request) throws -> JSONValue {
        guard let method = methods[r.method] else { throw ServeError.badRequest("unknown method \(r.method)") }
        let codec = TokenizerCodec(tokenizer: tokenizer)
        let doc = RLExample(id: "input", document: r.input, reference: r.reference ?? "", documentTokens: codec.encodeText(r.input))
        let c = ConditioningInput(weights: r.weights, alpha: r.kl)
        let t0 = Date()
        let out: (tokens: [[Int32]], logProbs: [Double])
        do {
            out = try method.steerable(maxNewTokens: r.maxNewTokens).generate(Array(repeating: doc, count: r.samples), conditioning: c,
                                                settings: GenerationSettings(temperature: r.temperature, topP: r.topP, maxNewTokens: r.maxNewTokens),
                                                seed: r.seed)
        } catch let e as PolicyError {
            throw ServeError.badRequest(e.description)
        } catch let e as GPTModelError {
            throw ServeError.badRequest(e.description)
        }
        let seconds = Date().timeIntervalSince(t0)
        let texts = out.tokens.map { codec.decodeTokens($0.filter { $0 != codec.endOfText }) }
        let builder = PromptBuilder(codec: codec, context: method.opened.builder.context, maxNewTokens: r.maxNewTokens,
                                    rewardNames: rewardNames)
        let promptText = codec.decodeTokens(builder.tokens(doc, conditioning: nil, textual: false))
        let inputs = texts.map { RewardInput(prompt: promptText, document: r.input, response: $0, reference: r.reference ?? "") }
        var columns: [[Double]?] = []
        for (spec, reward) in zip(rewardSpecs, rewards) {
            if Self.referenceKinds.contains(spec.kind) && r.reference == nil { columns.append(nil); continue }
            columns.append(try reward.score(inputs))
        }
        let generated = out.tokens.reduce(0) { $0 + $1.count }
        let gens: [JSONValue] = texts.indices.map { j in
            var scores: [String: JSONValue] = [:]
            for (i, name) in rewardNames.enumerated() { scores[name] = columns[i].map { .number($0[j]) } ?? .null }
            return .object(["text": .string(texts[j]), "tokens": .number(Double(out.tokens[j].count)),
                            "log_prob": .number(out.logProbs[j]), "scores": .object(scores)])
        }
        return .object([
            "method": .string(r.method), "label": .string(method.steerable.name),
            "weights": .array(r.weights.map { .number($0) }), "kl": r.kl.map { .number($0) } ?? .null,
            "seed": .number(Double(r.seed)), "temperature": .number(r.temperature),
            "reward_names": .array(rewardNames.map { .string($0) }),
            "generations": .array(gens),
            "forward_passes_per_token": .number(Double(method.steerable.forwardPassesPerToken)),
            "generated_tokens": .number(Double(generated)),
            "elapsed_ms": .number((seconds * 1000 * 10).rounded() / 10),
            "tokens_per_second": .number(seconds > 0 ? (Double(generated) / seconds * 10).rounded() / 10 : 0),
        ])
    }

    /// `GET /v1/run`: what the playground needs to draw its controls and the Pareto fronts.
    public func describe() -> JSONValue {
        func num(_ d: Double) -> JSONValue { d.isFinite ? .number(d) : .null }
        let ms: [JSONValue] = methodOrder.compactMap { name in
            guard let m = methods[name] else { return nil }
            var front: [JSONValue] = []
            if let ev = m.evaluation {
                front = ev.evaluation.points.map { p in
                    .object(["weights": .array(p.weights.map(num)), "alpha": p.alpha.map(num) ?? .null,
                             "rewards": .array(p.rewards.map { num($0.mean) }), "kl": num(p.kl.mean)])
                }
            }
            return .object([
                "name": .string(name), "label": .string(m.steerable.name),
                "conditioning": m.opened.conditioning.map { .string($0) } ?? .null,
                "takes_kl": .bool(m.opened.takesKL),
                "forward_passes_per_token": .number(Double(m.steerable.forwardPassesPerToken)),
                "front": .array(front),
                "reference_point": hypervolumes.map { .array($0.reference.point.map(num)) } ?? .null,
                "hypervolume": hypervolumes?.byStep[m.opened.evaluateStep.id].map { num($0.hypervolume) } ?? .null,
            ])
        }
        var klObj: [String: JSONValue] = ["alpha": .number(kl.alpha)]
        klObj["range"] = kl.range.map { .object(["min": .number($0.min), "max": .number($0.max)]) } ?? .null
        return .object([
            "workflow": .string(run.plan.workflowName),
            "reward_names": .array(rewardNames.map { .string($0) }),
            "reward_kinds": .array(rewardSpecs.map { .string($0.kind.rawValue) }),
            "needs_reference": .array(rewardSpecs.map { .bool(Self.referenceKinds.contains($0.kind)) }),
            "methods": .array(ms),
            "hypervolume_reference": hypervolumes.map { h in
                .object(["point": .array(h.reference.point.map(num)), "rule": .string(h.reference.rule.rawValue),
                         "objectives": .array(h.reference.objectives.map { .string($0) })])
            } ?? .null,
            "kl": .object(klObj),
            "limits": .object(["max_input_chars": .number(Double(limits.maxInputCharacters)),
                               "max_samples": .number(Double(limits.maxSamples)),
                               "max_new_tokens": .number(Double(limits.maxNewTokens)),
                               "max_body_bytes": .number(Double(limits.maxBodyBytes))]),
            "example": example.map { .object(["input": .string($0.document), "reference": .string($0.reference)]) } ?? .null,
        ])
    }
}

