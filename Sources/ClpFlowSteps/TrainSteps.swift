import ClpFlowCore
import ClpFlowEngine
import ClpFlowPlanner
import ClpFlowRunner
import ClpFlowWorkflow
import Foundation

/// train-reference: supervised π_ref on (document → summary). Writes model/ as a GPT-2 directory
/// (model.safetensors, config.json and the tokenizer files) and summary.json.
enum TrainReferenceStep {
    static func run(_ ctx: StepContext) throws {
        let cfg = try TrainReferenceConfig(step: ctx.step)
        let (data, modelSpec, spec) = (cfg.data, cfg.model, cfg.reference)
        // π_ref starts from the pretrained model when there is a pretrain step, else from
        // `model.init`, else from scratch.
        let pretrained = ctx.inputs(of: .pretrain).first?.appendingPathComponent(ArtifactFiles.modelDir)
        let initDir = pretrained ?? modelSpec.initFrom.map { URL(fileURLWithPath: ctx.resolve($0)) }
        let task = try TextTask(ctx: ctx, data: data, initDir: initDir)
        let model: GPTModel
        if let pretrained {
            model = try InitCheckpoint.model(in: pretrained, tokenizer: task.tokenizer) { ctx.events.message($0) }
            ctx.events.message("π_ref starts from the pretrained model")
        } else if let initDir {
            model = try InitCheckpoint.model(in: initDir, tokenizer: task.tokenizer) { ctx.events.message($0) }
            let c = model.config
            ctx.events.message("model.init: shape from the checkpoint (\(c.layers) layers, d_model \(c.dModel), \(c.heads) heads, context \(c.context), vocabulary \(c.vocabSize)); model.size, layers, d_model, heads, context and tokenizer are ignored")
        } else {
            model = try GPTModel(config: ModelShape.config(modelSpec, vocabSize: task.tokenizer.vocabSize), seed: cfg.seed)
        }
        let needed = data.maxDocumentTokens + data.maxSummaryTokens + 2
        if needed > model.config.context {
            ctx.events.message("documents are cut to fit the context: \(needed) > \(model.config.context) tokens")
        }
        ctx.events.message("π_ref: \(model.parameterCount) parameters, \(spec.steps) steps")
        let schedule = ctx.checkpointSchedule
        let summary = try SupervisedTrainer(config: SupervisedConfig(spec), seed: cfg.seed).train(
            model: model, train: task.supervised(task.splits.train), valid: task.supervised(Array(task.splits.valid.prefix(256))),
            padToken: task.codec.endOfText, stateDir: schedule.enabled ? ctx.resumeDir : nil, checkpoints: schedule,
            say: { ctx.events.message($0) }
        ) { r in
            ctx.events.progress(step: r.step, total: r.total, metrics: r.metrics)
            for (k, v) in r.metrics where k != "lr" { ctx.events.metric(k, v, step: r.step) }
        }
        let dir = ctx.workDir.appendingPathComponent(ArtifactFiles.modelDir)
        try model.exportHuggingFace(to: dir, endOfText: Int32(task.tokenizer.eotId))
        try task.tokenizer.save(to: dir)
        try Files.writeJSON(summary, to: ctx.workDir.appendingPathComponent(ArtifactFiles.summary))
        try? FileManager.default.removeItem(at: ctx.resumeDir)
    }
}

/// train-soft / train-clp: REINFORCE on the conditioned policy of one stage. Starts from the
/// previous stage's policy when there is one, else from π_ref. Writes policy/, normalization.json,
/// summary.json and curve.json.
enum TrainPolicyStep {
    struct Curve: Codable { var step: Int; var metrics: [String: Double] }

    /// Number of reference samples the reward normalisation is fitted on.
    static let normalizationSamples = 128

    static func run(_ ctx: StepContext) throws {
        let soft = ctx.step.kind == .trainSoft
        // SOFT: one reward, no conditioning, at the SOFT α; CLP: the workflow's sections.
        let data: DataSpec, rewards: [RewardSpec], kl: KLSpec, stage: StageSpec, conditioning: ConditioningSpec
        let weights: WeightsSpec, seed: UInt64
        if soft {
            let cfg = try TrainSoftConfig(step: ctx.step)
            (data, rewards, kl, stage, seed) = (cfg.data, [cfg.reward], cfg.kl, cfg.stage, cfg.seed)
            var c = ConditioningSpec(); c.mechanism = .none
            conditioning = c
            var w = WeightsSpec(); w.train = .fixed([1.0])
            weights = w
        } else {
            let cfg = try TrainCLPConfig(step: ctx.step)
            (data, rewards, kl, stage, seed) = (cfg.data, cfg.rewards, cfg.kl, cfg.stage, cfg.seed)
            (conditioning, weights) = (cfg.conditioning, cfg.weights)
        }
        guard !rewards.isEmpty else { throw StepError.config("step \(ctx.step.id): no rewards") }
        let task = try TextTask(ctx: ctx, data: data)
        let reference = try GPTModel.importHuggingFace(from: try ctx.input(of: .trainReference).appendingPathComponent(ArtifactFiles.modelDir))
        let names = rewards.map(\.name)
        let rewardFns = try task.rewards(rewards, ctx: ctx)
        let score = TextTask.scorer(rewardFns)
        let train = task.rlExamples(task.splits.train)

        // Reward normalisation from π_ref samples (same prompts and seed for every method).
        let normalizers = try fitNormalization(reference: reference, task: task, train: train, rewards: rewards, score: score,
                                               maxNewTokens: stage.maxNewTokens, temperature: stage.temperature, seed: seed)
        let previous = ctx.inputs(of: ctx.step.kind).first
        let policy: ConditionedPolicy
        if let previous {
            policy = try ConditionedPolicy.load(from: previous.appendingPathComponent(ArtifactFiles.policyDir))
        } else {
            // The KL encoding applies to parameter copies (full, attn, logit); the prompt baseline
            // writes α into its prompt instead.
            let multiKL = !soft && kl.range != nil
            let encoding = multiKL && conditioning.mechanism != .prompt ? KLConfig(kl).policyEncoding : .linear
            do {
                policy = try ConditionedPolicy(reference: reference, conditioning: ConditioningConfig(conditioning), rewardNames: names,
                                               multiKL: multiKL, klEncoding: encoding, seed: seed)
            } catch let e as PolicyError { throw StepError.config("step \(ctx.step.id): \(e.description)") }
        }
        var encodingNote = ""
        if case .interpolate(let alphaMin) = policy.klEncoding {
            encodingNote = " (KL encoding interpolate: the last copy is π_ref's, frozen, λ = \(alphaMin)/α; unconditioned parameters frozen)"
        }
        ctx.events.message("\(ctx.step.kind.rawValue) \(conditioning.mechanism.rawValue): \(policy.conditionedParameterCount) conditioned parameters per copy, \(policy.copyCount) copies\(encodingNote)")
        let trainer = RLTrainer(config: RLConfig(stage: stage, weights: weights, kl: kl),
                                rewardNames: names, normalization: RewardNormalization(normalizers), seed: seed)
        var curve: [Curve] = []
        let schedule = ctx.checkpointSchedule
        let summary = try trainer.train(policy: policy, reference: reference, data: train, codec: task.codec,
                                        generate: RLTrainer.cachedGenerator(endOfText: task.codec.endOfText), score: score,
                                        stateDir: schedule.enabled ? ctx.resumeDir : nil, checkpoints: schedule,
                                        say: { ctx.events.message($0) }) { r in
            var shown: [String: Double] = [:]
            for n in names { shown["reward/\(n)"] = r.metrics["reward/\(n)"] }
            shown["kl"] = r.metrics["kl"]
            ctx.events.progress(step: r.step, total: r.total, metrics: shown)
            for (k, v) in r.metrics where k != "lr" { ctx.events.metric(k, v, step: r.step) }
            for (b, c) in r.conditioning.enumerated() where b == 0 {
                for (i, w) in c.weights.enumerated() { ctx.events.metric("weights/\(names[i])", w, step: r.step) }
                if let a = c.alpha { ctx.events.metric("alpha", a, step: r.step) }
            }
            curve.append(Curve(step: r.step, metrics: r.metrics))
        }
        let policyDir = ctx.workDir.appendingPathComponent(ArtifactFiles.policyDir)
        try policy.save(to: policyDir)
        try task.tokenizer.save(to: policyDir)
        try Files.writeJSON(normalizers, to: ctx.workDir.appendingPathComponent(ArtifactFiles.normalization))
        try Files.writeJSON(summary, to: ctx.workDir.appendingPathComponent(ArtifactFiles.summary))
        try Files.writeJSON(curve, to: ctx.workDir.appendingPathComponent(ArtifactFiles.curve))
        try? FileManager.default.removeItem(at: ctx.resumeDir)
    }

    static func fitNormalization(reference: GPTModel, task: TextTask, train: [RLExample], rewards: [RewardSpec],
                                 score: RewardScorer, maxNewTokens: Int, temperature: Double, seed: UInt64) throws -> [RewardNormalizer] {
        guard rewards.contains(where: { $0.normalize == .zscore }) else {
            return rewards.map { _ in RewardNormalizer.identity }
        }
        var rng = SeededRandom(seed: seed, stream: "normalization")
        let picks = (0..<min(normalizationSamples, train.count)).map { _ in train[Int(rng.next() % UInt64(train.count))] }
        let builder = PromptBuilder(codec: task.codec, context: reference.config.context, maxNewTokens: maxNewTokens,
                                    rewardNames: rewards.map(\.name))
        let method = FixedModelMethod(name: "reference", model: reference, builder: builder)
        let out = try method.generate(picks, conditioning: ConditioningInput(weights: [1]),
                                      settings: GenerationSettings(temperature: temperature, maxNewTokens: maxNewTokens), seed: rng.next())
        let texts = out.tokens.map { task.codec.decodeTokens($0) }
        let rows = try score(zip(picks, texts).map {
            RewardInput(prompt: task.codec.decodeTokens(builder.tokens($0.0, conditioning: nil, textual: false)),
                           document: $0.0.document, response: $0.1, reference: $0.0.reference)
        })
        return try rewards.enumerated().map { i, r in
            try RewardNormalizer.fit(kind: r.normalize == .zscore ? .zscore : .none, scores: rows.map { $0[i] }, reward: r.name)
        }
    }
}
