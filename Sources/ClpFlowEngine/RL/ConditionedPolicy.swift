import ClpFlowCore
import ClpFlowKernels
import Foundation

public enum PolicyError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    public var description: String { if case .invalid(let s) = self { return s }; return "" }
}

/// A language policy steerable by a conditioning input c = (w, α): a GPT model whose conditioned
/// parameter slices are mixed from per-objective copies (full / attn / logit), or whose input is
/// preceded by mixed learned vectors (soft-token), or by the weighting as text (prompt), or none.
public final class ConditionedPolicy: @unchecked Sendable {
    public let mechanism: ConditioningKind
    public let rewardNames: [String]
    public let multiKL: Bool
    /// How the copies encode α (multi-KL policies; `linear` otherwise).
    public let klEncoding: KLEncoding
    public let attnMatrices: [AttnMatrix]
    /// The network. Shared parameters live here; conditioned slices are overwritten by `activate`.
    public let model: GPTModel
    public private(set) var copies: ConditionedCopies?
    /// soft-token: copyCount × softTokenCount × C values.
    public var softTokens: [Float]
    public var softTokenGrads: [Float]
    public let softTokenCount: Int

    public var copyCount: Int { ConditioningInput.copyCount(rewards: rewardNames.count, multiKL: multiKL) }

    /// Whether RL trains the parameters outside the conditioned subset. Under the `interpolate`
    /// KL encoding they stay π_ref's, so that the π_ref anchor is the whole of π_ref.
    public var trainsSharedParameters: Bool { klEncoding.kind == .linear }

    /// A policy initialised from π_ref: every copy equals the reference's parameters, so at the
    /// start π(·|c) = π_ref for every c (except soft-token, whose prefix vectors are new). With
    /// the `interpolate` KL encoding the last copy is π_ref's anchor and stays frozen.
    public init(reference: GPTModel, conditioning spec: ConditioningConfig, rewardNames: [String], multiKL: Bool,
                klEncoding: KLEncoding = .linear, seed: UInt64) throws {
        guard !rewardNames.isEmpty else { throw PolicyError.invalid("a policy needs at least one reward") }
        try ConditionedPolicy.check(klEncoding, multiKL: multiKL, mechanism: spec.mechanism)
        self.mechanism = spec.mechanism
        self.rewardNames = rewardNames
        self.multiKL = multiKL
        self.klEncoding = klEncoding
        self.attnMatrices = spec.attnMatrices
        self.softTokenCount = spec.mechanism == .softToken ? max(1, spec.softTokens) : 0
        if spec.mechanism == .logit && reference.config.tiedHead {
            self.model = try ConditionedPolicy.untie(reference)
        } else {
            self.model = reference.copy()
        }
        let m = ConditioningInput.copyCount(rewards: rewardNames.count, multiKL: multiKL)
        let C = model.config.dModel
        if let group = ConditionedPolicy.group(spec.mechanism, attnMatrices: spec.attnMatrices) {
            let slices = model.parameterGroup(group)
            copies = ConditionedCopies(slices: slices, copyCount: m, initialFrom: UnsafePointer(model.params.pointer))
            copies!.frozen = klEncoding.frozenCopies
        }
        if softTokenCount > 0 {
            var rng = SeededRandom(seed: seed, stream: "soft-token/init")
            let one = (0..<(softTokenCount * C)).map { _ in Float(0.02 * rng.normal()) }
            softTokens = (0..<m).flatMap { _ in one }
        } else {
            softTokens = []
        }
        softTokenGrads = [Float](repeating: 0, count: softTokens.count)
    }

    /// Rewarded Soups: the m SOFT policies' full parameter vectors as the copies of `full`
    /// conditioning; θ_RS(w) = Σᵢ wᵢ θ_SOFTᵢ.
    public init(rewardedSoups soft: [GPTModel], rewardNames: [String]) throws {
        guard soft.count == rewardNames.count, let first = soft.first else {
            throw PolicyError.invalid("rewarded soups needs one SOFT policy per reward (\(rewardNames.count)), got \(soft.count)")
        }
        guard soft.allSatisfy({ $0.config == first.config }) else {
            throw PolicyError.invalid("the SOFT policies of a rewarded soup must share one architecture")
        }
        mechanism = .full
        self.rewardNames = rewardNames
        multiKL = false
        klEncoding = .linear
        attnMatrices = []
        softTokenCount = 0
        softTokens = []; softTokenGrads = []
        model = first.copy()
        copies = ConditionedCopies(slices: model.parameterGroup(.all), copies: soft.map { $0.params.array })
    }

    /// Reassembles a policy from its parts (checkpoint loading).
    init(model: GPTModel, mechanism: ConditioningKind, rewardNames: [String], multiKL: Bool, klEncoding: KLEncoding = .linear,
         attnMatrices: [AttnMatrix], copies: ConditionedCopies?, softTokens: [Float], softTokenCount: Int) throws {
        try ConditionedPolicy.check(klEncoding, multiKL: multiKL, mechanism: mechanism)
        self.model = model; self.mechanism = mechanism; self.rewardNames = rewardNames; self.multiKL = multiKL
        self.klEncoding = klEncoding
        self.attnMatrices = attnMatrices; self.copies = copies; self.softTokens = softTokens
        self.softTokenGrads = [Float](repeating: 0, count: softTokens.count); self.softTokenCount = softTokenCount
        self.copies?.frozen = klEncoding.frozenCopies
    }

    /// The `interpolate` KL encoding needs α as an input and conditioned parameters to anchor.
    static func check(_ encoding: KLEncoding, multiKL: Bool, mechanism: ConditioningKind) throws {
        guard case .interpolate(let alphaMin) = encoding else { return }
        guard multiKL else {
            throw PolicyError.invalid("the interpolate KL encoding needs a policy conditioned on the KL weight (multi-KL)")
        }
        guard alphaMin > 0, alphaMin.isFinite else {
            throw PolicyError.invalid("the interpolate KL encoding needs α_min > 0, got \(alphaMin)")
        }
        guard group(mechanism, attnMatrices: [.qkv]) != nil else {
            throw PolicyError.invalid("the interpolate KL encoding mixes parameter copies with π_ref's and needs full, attn or logit conditioning, not \(mechanism.rawValue)")
        }
    }

    public static func group(_ mechanism: ConditioningKind, attnMatrices: [AttnMatrix]) -> ParameterGroup? {
        switch mechanism {
        case .full: return .all
        case .attn:
            return .attention(matrices: Set(attnMatrices))
        case .logit: return .logitHead
        case .prompt, .softToken, .none: return nil
        }
    }

    /// A copy of `model` with an untied output head initialised from the token embedding.
    static func untie(_ model: GPTModel) throws -> GPTModel {
        var cfg = model.config
        cfg.tiedHead = false
        let layout = GPTLayout(cfg)
        var values = [Float](repeating: 0, count: layout.totalCount)
        let src = model.params.pointer
        for v in layout.views {
            let from = v.name == "lm_head.weight" ? model.layout.wte : model.view(named: v.name)!.offset
            for j in 0..<v.count { values[v.offset + j] = src[from + j] }
        }
        return try GPTModel(config: cfg, parameters: values)
    }

    /// Replaces the copies (same slices and count), e.g. after loading a checkpoint.
    public func setCopies(_ c: ConditionedCopies) {
        precondition(c.slices == copies?.slices && c.copyCount == copies?.copyCount, "copies do not match this policy")
        copies = c
        copies!.frozen = klEncoding.frozenCopies
    }

    /// Number of conditioned parameters per copy (0 for prompt / none).
    public var conditionedParameterCount: Int { (copies?.width ?? 0) + softTokens.count / max(1, copyCount) }

    /// Makes `model` compute π(·|c): writes θ(c) into the conditioned slices and returns the
    /// soft-token prefix (nil for other mechanisms).
    @discardableResult
    public func activate(_ c: ConditioningInput) throws -> PrefixEmbeddings? {
        let coeff = try coefficients(c)
        if let copies { copies.materialize(weights: coeff.map(Float.init), into: model.params.pointer) }
        guard softTokenCount > 0 else { return nil }
        let n = softTokenCount * model.config.dModel
        var mixed = [Float](repeating: 0, count: n)
        for i in 0..<copyCount where coeff[i] != 0 {
            let wi = Float(coeff[i])
            for j in 0..<n { mixed[j] += wi * softTokens[i * n + j] }
        }
        return PrefixEmbeddings(count: softTokenCount, values: mixed)
    }

    /// Validates c and returns the copy coefficients.
    public func coefficients(_ c: ConditioningInput) throws -> [Double] {
        let m = rewardNames.count
        guard c.weights.count == m else {
            throw PolicyError.invalid("expected \(m) weights (\(rewardNames.joined(separator: ", "))), got \(c.weights.count)")
        }
        guard c.weights.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
            throw PolicyError.invalid("weights must be non-negative, got \(c.weights)")
        }
        let s = c.weights.reduce(0, +)
        guard abs(s - 1) < 1e-4 else { throw PolicyError.invalid("weights must sum to 1, got \(s)") }
        if multiKL {
            guard let a = c.alpha, a > 0, a.isFinite else {
                throw PolicyError.invalid("this policy is conditioned on the KL weight: give α > 0")
            }
        }
        return multiKL ? try c.mixingCoefficients(encoding: klEncoding) : c.weights
    }

    /// After a backward pass run with `activate(c)`: moves the gradient of the conditioned slices
    /// (and of the prefix) to the copies with coefficients c and clears it from the model. Frozen
    /// copies get nothing; without trained shared parameters (`interpolate`) the model's whole
    /// gradient is cleared.
    public func routeGradients(_ c: ConditioningInput) throws {
        let coeff = try coefficients(c).map(Float.init)
        if copies != nil {
            copies!.accumulateGradients(weights: coeff, from: UnsafePointer(model.grads.pointer))
            zeroSlices(copies!.slices, in: model.grads.pointer)
        }
        if !trainsSharedParameters { model.zeroGrads() }
        if softTokenCount > 0 {
            let n = softTokenCount * model.config.dModel
            let g = model.prefixGrads
            guard g.count == n else { return }
            for i in 0..<copyCount where coeff[i] != 0 {
                for j in 0..<n { softTokenGrads[i * n + j] += coeff[i] * g[j] }
            }
        }
    }

    public func zeroGrads() {
        model.zeroGrads()
        copies?.zeroGrads()
        for j in 0..<softTokenGrads.count { softTokenGrads[j] = 0 }
    }

    /// Global gradient norm over shared parameters, copies and soft tokens.
    public func gradNorm() -> Double {
        var s = Kernels.sumOfSquares(model.grads.pointer, count: model.grads.count)
        if let copies { s += copies.grads.reduce(0.0) { $0 + Double($1) * Double($1) } }
        s += softTokenGrads.reduce(0.0) { $0 + Double($1) * Double($1) }
        return s.squareRoot()
    }

    /// Scales every gradient so the global norm is at most `maxNorm`; returns the norm before.
    @discardableResult
    public func clipGradients(maxNorm: Double) -> Double {
        let norm = gradNorm()
        guard norm > maxNorm, norm > 0 else { return norm }
        let f = Float(maxNorm / norm)
        let g = model.grads.pointer
        for j in 0..<model.grads.count { g[j] *= f }
        if copies != nil { for j in 0..<copies!.grads.count { copies!.grads[j] *= f } }
        for j in 0..<softTokenGrads.count { softTokenGrads[j] *= f }
        return norm
    }

    /// Every trainable buffer of this policy (shared parameters, copies, prefix vectors) as named
    /// tensors, with the optimiser's moments: the resumable state of RL training.
    func trainingState(_ opt: Optimizer) -> [(String, [Float])] {
        var out: [(String, [Float])] = [("params", model.params.array)] + opt.shared.stateTensors("adam")
        if let copies, let o = opt.copies { out += [("copies", copies.copies)] + o.stateTensors("copies.adam") }
        if let o = opt.soft { out += [("soft", softTokens)] + o.stateTensors("soft.adam") }
        return out
    }

    /// The sizes `trainingState` writes.
    func trainingStateSizes(_ opt: Optimizer) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: trainingState(opt).map { ($0.0, $0.1.count) })
    }

    /// Restores what `trainingState` wrote; `steps` are the optimisers' step counts (shared,
    /// copies, soft).
    func restoreTrainingState(_ t: [String: [Float]], optimizer opt: Optimizer, steps: [Int]) {
        model.params.copy(from: t["params"]!)
        opt.shared.restoreState("adam", tensors: t, step: steps[0])
        if copies != nil, let o = opt.copies {
            copies!.copies = t["copies"]!
            o.restoreState("copies.adam", tensors: t, step: steps[1])
        }
        if let o = opt.soft {
            softTokens = t["soft"]!
            o.restoreState("soft.adam", tensors: t, step: steps[2])
        }
    }

    /// Optimizer state for every trainable buffer of this policy.
    public final class Optimizer {
        let shared: AdamW
        let copies: AdamW?
        let soft: AdamW?
        public init(policy: ConditionedPolicy, lr: Double, weightDecay: Double = 0) {
            shared = AdamW(count: policy.model.parameterCount, lr: Float(lr), weightDecay: Float(weightDecay))
            copies = policy.copies.map { AdamW(count: $0.trainableCount * $0.width, lr: Float(lr), weightDecay: Float(weightDecay)) }
            soft = policy.softTokens.isEmpty ? nil : AdamW(count: policy.softTokens.count, lr: Float(lr), weightDecay: 0)
        }
        /// The step counts of the shared, copies' and soft optimisers (0 where absent).
        var steps: [Int] { [shared.step, copies?.step ?? 0, soft?.step ?? 0] }

        public func step(_ policy: ConditionedPolicy, lr: Double) {
            shared.lr = Float(lr)
            if policy.trainsSharedParameters { shared.update(policy.model) }
            if let copies, policy.copies != nil {
                copies.lr = Float(lr)
                policy.copies!.update(with: copies)
            }
            if let soft {
                soft.lr = Float(lr)
                policy.softTokens.withUnsafeMutableBufferPointer { p in
                    policy.softTokenGrads.withUnsafeBufferPointer { g in soft.update(params: p.baseAddress!, grads: g.baseAddress!) }
                }
            }
        }
    }
}
