import ClpFlowEngine
import ClpFlowWorkflow

// The workflow language's sections mapped onto the engine's plain configuration (the engine does
// not know the workflow language; docs/architecture.md, "Engine configuration and step contracts").

extension ConditioningKind {
    public init(_ m: ConditioningMechanism) {
        switch m {
        case .full: self = .full
        case .attn: self = .attn
        case .logit: self = .logit
        case .prompt: self = .prompt
        case .softToken: self = .softToken
        case .none: self = .none
        }
    }
}

extension AttnMatrix {
    public init(_ m: AttentionMatrix) {
        switch m {
        case .qkv: self = .qkv
        case .proj: self = .proj
        }
    }
}

extension ConditioningConfig {
    public init(_ spec: ConditioningSpec) {
        self.init(mechanism: ConditioningKind(spec.mechanism), attnMatrices: spec.attnMatrices.map(AttnMatrix.init),
                  softTokens: spec.softTokens)
    }
}

extension AlphaRange {
    public init(_ r: KLRange) {
        self.init(min: r.min, max: r.max, spacing: r.distribution == .logUniform ? .logUniform : .uniform, eval: r.eval)
    }
}

extension KLEncoding.Kind {
    public init(_ name: KLEncodingName) {
        switch name {
        case .linear: self = .linear
        case .interpolate: self = .interpolate
        }
    }
}

extension KLConfig {
    public init(_ spec: KLSpec) {
        self.init(alpha: spec.alpha, range: spec.range.map(AlphaRange.init), encoding: KLEncoding.Kind(spec.encoding))
    }
}

extension WeightSampler.Distribution {
    public init(_ d: WeightDistribution) {
        switch d {
        case .dirichlet(let c): self = .dirichlet(concentration: c)
        case .uniform: self = .uniform
        case .vertices: self = .vertices
        case .fixed(let w): self = .fixed(w)
        case .adaptive(let base, let rate, let bins): self = .adaptive(base: .init(base), rate: rate, bins: bins)
        case .mixture(let cs):
            self = .mixture(cs.map { WeightSampler.Component(probability: $0.probability, distribution: .init($0.distribution)) })
        }
    }
}

extension Scalarizer.Rule {
    public init(_ s: Scalarization) {
        switch s {
        case .linear: self = .linear
        case .tchebycheff(let t): self = .tchebycheff(temperature: t)
        }
    }
}

extension EvaluationGrid.Weights {
    public init(_ g: EvalGrid) {
        switch g {
        case .pointsPerEdge(let n): self = .pointsPerEdge(n)
        case .points(let p): self = .points(p)
        }
    }
}

extension LearningRateSchedule.Shape {
    public init(_ s: LRSchedule) {
        switch s {
        case .cosine: self = .cosine
        case .constant: self = .constant
        case .linear: self = .linear
        }
    }
}

extension RLConfig {
    /// One workflow stage with the workflow's training weights, scalarization and KL weight.
    public init(stage: StageSpec, weights: WeightsSpec, kl: KLSpec) {
        self.init(name: stage.name, steps: stage.steps, batch: stage.batch, samples: stage.samples,
                  learningRate: stage.learningRate, warmup: stage.warmup, clip: stage.clip, temperature: stage.temperature,
                  maxNewTokens: stage.maxNewTokens, weights: .init(weights.train), scalarization: .init(weights.scalarization),
                  kl: KLConfig(kl), balance: .init(stage.rewardBalance))
    }
}

extension RewardBalancer.Kind {
    public init(_ spec: RewardBalance) {
        switch spec {
        case .none: self = .none
        case .withinPrompt: self = .withinPrompt
        }
    }
}

extension SupervisedConfig {
    public init(_ spec: ReferenceSpec) {
        self.init(steps: spec.steps, batch: spec.batch, learningRate: spec.learningRate, schedule: .init(spec.schedule),
                  warmup: spec.warmup, weightDecay: spec.weightDecay, clip: spec.clip, evalEvery: spec.evalEvery)
    }
}

extension RewardConfig {
    public init(_ spec: RewardSpec) {
        self.init(name: spec.name, kind: spec.kind.rawValue, target: spec.target, tolerance: spec.tolerance, n: spec.n,
                  command: spec.command, timeout: spec.timeout, persistent: spec.persistent, workers: spec.workers)
    }
}
