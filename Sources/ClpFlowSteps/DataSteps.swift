import ClpFlowCore
import ClpFlowEngine
import ClpFlowRunner
import ClpFlowWorkflow
import Foundation

/// prepare-data: load the source, filter, deduplicate, split; writes data/{train,valid,test}.jsonl
/// and data.json (counts).
enum PrepareDataStep {
    struct Report: Codable {
        var source: String
        var loaded: Int
        var afterFilter: Int
        var train: Int
        var valid: Int
        var test: Int
    }

    static func run(_ ctx: StepContext) throws {
        let cfg = StepConfig(json: ctx.step.config, stepId: ctx.step.id)
        let data = try cfg.section("data", as: DataSpec.self, default: DataSpec())
        let source: DataSourceConfig
        switch data.source {
        case .debianDescriptions: source = .debianDescriptions(DebianDescriptions())
        case .jsonl:
            guard let p = data.path else { throw StepError.config("data.source jsonl needs data.path") }
            source = .jsonl(JSONLSource(path: ctx.resolve(p), documentField: data.fields.document,
                                        summaryField: data.fields.summary, idField: data.fields.id))
        case .synthetic: source = .synthetic(SyntheticTask(examples: data.syntheticExamples))
        }
        let prep = DataPreparation(source: source,
                                   filter: LengthFilter(minDocumentChars: data.minDocumentChars, maxDocumentChars: data.maxDocumentChars,
                                                        maxSummaryChars: data.maxSummaryChars),
                                   sizes: .counts(train: data.train, valid: data.valid, test: data.test),
                                   limit: data.limit, seed: data.splitSeed ?? cfg.seed)
        ctx.events.message("loading \(data.source.rawValue)")
        let (splits, report) = try prep.run()
        guard !splits.train.isEmpty, !splits.test.isEmpty else {
            throw StepError.failed("the data source gave \(report.afterFilter) examples after filtering: too few for train/valid/test splits of \(data.valid)/\(data.test)")
        }
        try splits.save(to: ctx.workDir.appendingPathComponent(ArtifactFiles.dataDir))
        try Files.writeJSON(Report(source: data.source.rawValue, loaded: report.loaded, afterFilter: report.afterFilter,
                                   train: splits.train.count, valid: splits.valid.count, test: splits.test.count),
                            to: ctx.workDir.appendingPathComponent(ArtifactFiles.dataReport))
        ctx.events.metric("examples/train", Double(splits.train.count))
        ctx.events.metric("examples/valid", Double(splits.valid.count))
        ctx.events.metric("examples/test", Double(splits.test.count))
        ctx.events.progress(step: 1, total: 1)
    }
}

/// train-tokenizer: byte-level BPE trained on the training split's documents and summaries.
enum TrainTokenizerStep {
    static func run(_ ctx: StepContext) throws {
        let cfg = StepConfig(json: ctx.step.config, stepId: ctx.step.id)
        let model = try cfg.section("model", as: ModelSpec.self, default: ModelSpec())
        let dataDir = try ctx.input(of: .prepareData).appendingPathComponent(ArtifactFiles.dataDir)
        let splits = try DatasetSplits.load(from: dataDir)
        let out = ctx.workDir.appendingPathComponent(ArtifactFiles.tokenizerDir)
        switch model.tokenizer.kind {
        case .byte:
            try ByteTokenizer().save(to: out)
        case .bpe:
            ctx.events.message("training a BPE vocabulary of \(model.tokenizer.vocabSize) on \(splits.train.count) examples")
            let corpus = splits.train.flatMap { [$0.document, $0.summary] }
            let tok = try BPETrainer(vocabSize: model.tokenizer.vocabSize).train(corpus)
            try tok.save(to: out)
            ctx.events.metric("vocab_size", Double(tok.vocabSize))
        }
        ctx.events.progress(step: 1, total: 1)
    }
}
