import ClpFlowCore
import Foundation

// The checks of the RL and evaluation sections (KL, conditioning, weights, stages, baselines,
// evaluation, executor).
extension SemanticValidator {
    func checkKL(_ w: inout Workflow) {
        guard let r = w.kl.range else {
            if w.kl.encoding != .linear, written(["kl", "encoding"]) {
                warnKey("`kl.encoding` applies to multi-KL policies and is ignored without `kl.range`", ["kl", "encoding"])
            }
            return
        }
        if r.min >= r.max {
            err("`kl.range.min` (\(fmt(r.min))) must be below `kl.range.max` (\(fmt(r.max)))", ["kl", "range", "min"])
            return
        }
        if written(["kl", "alpha"]) { warnKey("`kl.alpha` is ignored when `kl.range` is given (multi-KL)", ["kl", "alpha"]) }
        // Training draws α from [min, max] only; an evaluated α outside it would measure
        // extrapolation (and the `interpolate` encoding is not defined below min).
        if let eval = r.eval {
            for (i, a) in eval.enumerated() where a < r.min * (1 - 1e-9) || a > r.max * (1 + 1e-9) {
                err("`kl.range.eval`: α = \(fmt(a)) is outside the trained range [\(fmt(r.min)), \(fmt(r.max))]; training samples α from that range only, so evaluate inside it or widen `kl.range`", ["kl", "range", "eval", String(i)])
            }
        } else {
            w.kl.range?.eval = [r.min, (r.min * r.max).squareRoot(), r.max]
        }
        if w.kl.encoding == .interpolate {
            let m = w.conditioning.mechanism
            if ![.full, .attn, .logit].contains(m) {
                err("`kl.encoding: interpolate` mixes parameter copies with π_ref's and needs `conditioning` full, attn or logit (the mechanism is \(m.rawValue)); use `kl.encoding: linear`",
                    written(["kl", "encoding"]) ? ["kl", "encoding"] : ["conditioning"])
            }
        }
    }

    func checkConditioning(_ w: Workflow) {
        let c = w.conditioning
        if c.mechanism != .attn, written(["conditioning", "attn_matrices"]) {
            warnKey("`attn_matrices` is ignored unless `mechanism: attn` (mechanism is \(c.mechanism.rawValue))", ["conditioning", "attn_matrices"])
        }
        if c.mechanism != .softToken, written(["conditioning", "soft_tokens"]) {
            warnKey("`soft_tokens` is ignored unless `mechanism: soft-token` (mechanism is \(c.mechanism.rawValue))", ["conditioning", "soft_tokens"])
        }
        if Set(c.attnMatrices).count != c.attnMatrices.count {
            err("`conditioning.attn_matrices` lists a matrix twice", ["conditioning", "attn_matrices"])
        }
    }

    // MARK: weights

    func checkWeightVector(_ v: [Double], count: Int, _ path: [String], what: String) {
        if v.count != count {
            err("\(what) has \(v.count) weight\(v.count == 1 ? "" : "s") but the workflow has \(count) reward\(count == 1 ? "" : "s")", path)
            return
        }
        let sum = v.reduce(0, +)
        if abs(sum - 1) > SemanticValidator.tolerance {
            err("\(what) sums to \(fmt(sum)); weights must sum to 1 (±1e-6)", path)
        }
    }

    func checkDistribution(_ d: WeightDistribution, rewards: Int, _ path: [String]) {
        switch d {
        case .fixed(let v): checkWeightVector(v, count: rewards, path + ["fixed"], what: "the `fixed` weighting")
        case .adaptive(let base, _, _):
            if case .fixed = base { err("an adaptive distribution needs a base that is not `fixed`", path + ["adaptive", "base"]) }
            checkDistribution(base, rewards: rewards, path + ["adaptive", "base"])
        case .mixture(let comps):
            let sum = comps.reduce(0) { $0 + $1.probability }
            if abs(sum - 1) > SemanticValidator.tolerance {
                err("mixture probabilities sum to \(fmt(sum)); they must sum to 1 (±1e-6)", path + ["mixture"])
            }
            for (i, c) in comps.enumerated() { checkDistribution(c.distribution, rewards: rewards, path + ["mixture", String(i)]) }
        case .dirichlet, .uniform, .vertices: break
        }
    }

    func checkWeights(_ w: Workflow) {
        let n = w.rewards.count
        guard n > 0 else { return }
        checkDistribution(w.weights.train, rewards: n, ["weights", "train"])
        switch w.weights.eval {
        case .points(let pts):
            for (i, p) in pts.enumerated() {
                checkWeightVector(p, count: n, ["weights", "eval", "points", String(i)], what: "`weights.eval.points.\(i)`")
            }
        case .pointsPerEdge: break
        }
        if n == 1, written(["weights"]) {
            warnKey("with a single reward the weighting is always [1]; `weights` has no effect", ["weights"])
        }
    }

    // MARK: stages, baselines, evaluation, executor

    func checkStages(_ w: Workflow) {
        var seen = Set<String>()
        for (i, s) in w.stages.enumerated() {
            if !seen.insert(s.name).inserted {
                err("duplicate stage name '\(s.name)'; stage names must be unique", ["stages", String(i), "name"])
            }
            if s.warmup >= s.steps, written(["stages", String(i), "warmup"]) {
                warn("stage '\(s.name)': warm-up (\(s.warmup)) is not shorter than the stage (\(s.steps) steps)", ["stages", String(i), "warmup"])
            }
        }
        if w.reference.warmup >= w.reference.steps, w.reference.steps > 0, written(["reference", "warmup"]) {
            warn("reference warm-up (\(w.reference.warmup)) is not shorter than its \(w.reference.steps) steps", ["reference", "warmup"])
        }
    }

    func checkBaselines(_ w: Workflow) {
        if w.stages.isEmpty, !w.baselines.isEmpty {
            err("baselines are trained with the RL stages, and `stages` is empty", ["baselines"])
        }
        if w.softBudget == .full, !w.baselines.contains(where: { [.soft, .rewardedSoups, .logitMixing].contains($0) }) {
            warn("`soft_budget: full` changes only the SOFT policies of the `soft`, `rewarded-soups` and `logit-mixing` baselines, and none is listed", ["soft_budget"])
        }
        var seen = Set<Baseline>()
        for (i, b) in w.baselines.enumerated() {
            let p = ["baselines", String(i)]
            if !seen.insert(b).inserted { err("baseline '\(b.rawValue)' is listed twice", p) }
            switch b {
            case .dera where w.kl.range == nil:
                err("the `dera` baseline realigns across KL weights and needs multi-KL: add `kl.range` (e.g. {min: 0.01, max: 1})", p)
            case .rewardedSoups where w.rewards.count < 2, .logitMixing where w.rewards.count < 2:
                err("the `\(b.rawValue)` baseline interpolates between rewards and needs at least two rewards (the workflow has \(w.rewards.count))", p)
            case .prompt where w.conditioning.mechanism == .prompt:
                warn("the `prompt` baseline is the same model as `conditioning: prompt`", p)
            default: break
            }
        }
    }

    func checkEvaluate(_ w: Workflow) {
        let e = w.evaluate
        if Set(e.metrics).count != e.metrics.count { err("`evaluate.metrics` lists a metric twice", ["evaluate", "metrics"]) }
        let split = e.split == .valid ? "valid" : "test"
        if let n = (e.split == .valid ? w.data.valid : w.data.test).count, e.prompts > n {
            let explicit = written(["evaluate", "prompts"])
            err("\(explicit ? "`evaluate.prompts`" : "the default `evaluate.prompts`") (\(e.prompts)) exceeds the \(split) split (`data.\(split)` = \(n)); set `evaluate.prompts` to at most \(n)",
                explicit ? ["evaluate", "prompts"] : ["data", split])
        }
        if e.samplePrompts > e.prompts {
            err("`evaluate.sample_prompts` (\(e.samplePrompts)) exceeds `evaluate.prompts` (\(e.prompts))", ["evaluate", "sample_prompts"])
        }
        if let point = e.referencePoint.declared {
            // One number per objective: the rewards, then −KL in multi-KL workflows.
            let objectives = w.rewards.map { "`\($0.name)`" } + (w.kl.range != nil ? ["−KL"] : [])
            if point.count != objectives.count {
                err("`evaluate.reference_point` has \(point.count) number\(point.count == 1 ? "" : "s"), but the hypervolume of this workflow has \(objectives.count) objective\(objectives.count == 1 ? "" : "s"): "
                    + objectives.joined(separator: ", ")
                    + (w.kl.range != nil ? " (multi-KL: −KL is the negated KL to π_ref in nats, e.g. -20 counts points with KL below 20)"
                                         : "; give one number per reward in workflow order, or `auto`"),
                    ["evaluate", "reference_point"])
            }
        }
    }

    func checkExecutor(_ w: Workflow) {
        for (i, o) in w.executor.overrides.enumerated() where o.match.isEmpty {
            err("`match` must not be empty (use `*` for every step)", ["executor", "overrides", String(i), "match"])
        }
        if w.executor.kind == .local, written(["executor", "resources", "partition"]) {
            warnKey("`resources.partition` is ignored by the local executor", ["executor", "resources", "partition"])
        }
    }
}
