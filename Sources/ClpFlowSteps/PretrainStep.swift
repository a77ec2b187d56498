import ClpFlowCore
import ClpFlowEngine
import ClpFlowPlanner
import ClpFlowRunner
import ClpFlowWorkflow
import Foundation

/// pretrain: causal language modelling before π_ref's fine-tuning. Writes model/ (a GPT-2
/// directory with the tokenizer), summary.json and curve.json. Its resumable state lives in
/// work/<key>.resume/ of the run directory, outside any attempt folder, so a killed step continues
/// where its last state was written; the folder is removed once the outputs are written.
enum PretrainStep {
    struct Curve: Codable { var step: Int; var metrics: [String: Double] }

    static func run(_ ctx: StepContext) throws {
        let cfg = try PretrainConfig(step: ctx.step)
        let (data, modelSpec, spec) = (cfg.data, cfg.model, cfg.pretrain)
        let initDir = modelSpec.initFrom.map { URL(fileURLWithPath: ctx.resolve($0)) }
        let task = try TextTask(ctx: ctx, data: data, initDir: initDir)
        let model: GPTModel
        if let initDir {
            model = try InitCheckpoint.model(in: initDir, tokenizer: task.tokenizer) { ctx.events.message($0) }
        } else {
            model = try GPTModel(config: ModelShape.config(modelSpec, vocabSize: task.tokenizer.vocabSize), seed: cfg.seed)
        }
        let T = model.config.context
        let (trainTexts, validTexts) = try corpus(spec, task: task, ctx: ctx)
        let train = try PackedCorpus(texts: trainTexts, T: T, seed: cfg.seed)
        let valid = validTexts.isEmpty ? nil : try? PackedCorpus(texts: validTexts, T: T, seed: cfg.seed)
        ctx.events.message("pretraining: \(model.parameterCount) parameters, \(train.texts.count) texts, \(train.totalTokens) tokens (\(train.windowsPerEpoch) windows of \(T + 1)), \(spec.steps) steps of \(spec.batch) windows ≈ \(JSONValue.formatNumber(Double(spec.steps * spec.batch) / Double(train.windowsPerEpoch))) epochs")
        let settings = PretrainSettings(steps: spec.steps, batch: spec.batch, learningRate: spec.learningRate, schedule: .init(spec.schedule),
                                        warmup: spec.warmup, weightDecay: spec.weightDecay, clip: spec.clip,
                                        evalEvery: spec.evalEvery, checkpointEvery: ctx.checkpointSchedule.everySteps,
                                        checkpointSeconds: ctx.checkpointSchedule.everySeconds)
        var curve: [Curve] = []
        let stateDir = ctx.resumeDir
        let summary = try PretrainTrainer(settings: settings).train(
            model: model, corpus: train, valid: valid, stateDir: ctx.checkpointSchedule.enabled ? stateDir : nil,
            say: { ctx.events.message($0) }
        ) { r in
            ctx.events.progress(step: r.step, total: r.total, metrics: r.metrics.filter { $0.key == "loss" || $0.key == "valid_loss" })
            for (k, v) in r.metrics where k != "lr" { ctx.events.metric(k, v, step: r.step) }
            curve.append(Curve(step: r.step, metrics: r.metrics))
        }
        let dir = ctx.workDir.appendingPathComponent(ArtifactFiles.modelDir)
        try model.exportHuggingFace(to: dir, endOfText: Int32(task.tokenizer.eotId))
        try task.tokenizer.save(to: dir)
        try Files.writeJSON(summary, to: ctx.workDir.appendingPathComponent(ArtifactFiles.summary))
        try Files.writeJSON(curve, to: ctx.workDir.appendingPathComponent(ArtifactFiles.curve))
        try? FileManager.default.removeItem(at: stateDir)
    }

    /// The training and validation texts, tokenised, each ending with end-of-text.
    /// `data`: the data source's training split as document, separator, summary; validation from
    /// its valid split. `jsonl`: plain texts; the last 2 % (at most 512) validate.
    static func corpus(_ spec: PretrainSpec, task: TextTask, ctx: StepContext) throws -> ([[Int32]], [[Int32]]) {
        let eot = task.codec.endOfText, sep = task.codec.separator
        switch spec.corpus {
        case .data:
            func encode(_ e: SummaryExample) -> [Int32] {
                task.codec.encodeText(e.document) + [sep] + task.codec.encodeText(e.summary) + [eot]
            }
            return (task.splits.train.map(encode), task.splits.valid.map(encode))
        case .jsonl:
            guard let path = spec.path else { throw StepError.config("pretrain.corpus jsonl needs pretrain.path") }
            let texts = try JSONLTexts.load(path: ctx.resolve(path), field: spec.field)
            let encoded = texts.map { task.codec.encodeText($0) + [eot] }
            let nValid = min(512, encoded.count / 50)
            return (Array(encoded.dropLast(nValid)), Array(encoded.suffix(nValid)))
        }
    }
}
