import ClpFlowCore
import ClpFlowEngine
import ClpFlowPlanner
import ClpFlowRunner
import ClpFlowWorkflow
import Foundation

/// prepare-data: load the source, filter, deduplicate, split; writes data/{train,valid,test}.jsonl
/// and data.json (counts).
public enum PrepareDataStep {
    struct Report: Codable {
        var source: String
        var loaded: Int
        var afterFilter: Int
        var train: Int
        var valid: Int
        var test: Int
    }

    /// What the step runs for a `data` section; `jsonlPath` is the data file's resolved path.
    static func preparation(_ data: DataSpec, jsonlPath: String?, seed: UInt64) throws -> DataPreparation {
        let source: DataSourceConfig
        switch data.source {
        case .debianDescriptions: source = .debianDescriptions(DebianDescriptions())
        case .jsonl:
            guard let p = jsonlPath else { throw StepError.config("data.source jsonl needs data.path") }
            source = .jsonl(JSONLSource(path: p, documentField: data.fields.document,
                                        summaryField: data.fields.summary, idField: data.fields.id))
        case .synthetic: source = .synthetic(SyntheticTask(examples: data.syntheticExamples))
        }
        return DataPreparation(source: source,
                               filter: LengthFilter(minDocumentChars: data.minDocumentChars, maxDocumentChars: data.maxDocumentChars,
                                                    maxSummaryChars: data.maxSummaryChars),
                               sizes: sizes(data),
                               limit: data.limit, seed: data.splitSeed ?? seed)
    }

    /// Split sizes as the engine takes them: counts, or fractions (train: the rest when not given).
    static func sizes(_ data: DataSpec) -> SplitSizes {
        let v = data.valid.fraction ?? 0, t = data.test.fraction ?? 0
        if [data.train, data.valid, data.test].contains(where: { $0?.fraction != nil }) {
            return .fractions(train: data.train?.fraction ?? max(0, 1 - v - t), valid: v, test: t)
        }
        return .counts(train: data.train?.count, valid: data.valid.count ?? 0, test: data.test.count ?? 0)
    }

    /// The loader's `InputChecks`: a `jsonl` data file is read, filtered and split exactly as
    /// this step will, so bad lines and too few examples are reported by `validate` with the
    /// step's own messages (indented below the first line).
    public static let inputChecks = InputChecks { data, file, seed in
        guard data.source == .jsonl, let file else { return [] }
        do {
            let (splits, report) = try preparation(data, jsonlPath: file, seed: seed).run()
            if splits.train.isEmpty || splits.test.isEmpty {
                return [.init(.error, tooFew(report.afterFilter, data), at: ["data", "path"])]
            }
            return []
        } catch let e as DataError {
            let lines = e.description.split(separator: "\n", omittingEmptySubsequences: false)
            let message = ([String(lines[0])] + lines.dropFirst().map { "  " + $0 }).joined(separator: "\n")
            switch e {
            case .tooFewExamples: return [.init(.error, message, at: ["data", "valid"])]
            default: return [.init(.error, message, at: ["data", "path"])]
            }
        } catch {
            return [.init(.error, "cannot read the data file: \(error)", at: ["data", "path"])]
        }
    }

    static func tooFew(_ afterFilter: Int, _ data: DataSpec) -> String {
        "the data source gave \(afterFilter) examples after filtering: too few for train/valid/test splits of \(data.valid)/\(data.test)"
    }

    static func run(_ ctx: StepContext) throws {
        let cfg = try PrepareDataConfig(step: ctx.step)
        let data = cfg.data
        let prep = try preparation(data, jsonlPath: data.path.map { ctx.resolve($0) }, seed: cfg.seed)
        ctx.events.message("loading \(data.source.rawValue)")
        let (splits, report) = try prep.run()
        guard !splits.train.isEmpty, !splits.test.isEmpty else {
            throw StepError.failed(tooFew(report.afterFilter, data))
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
        let tokenizer = try TrainTokenizerConfig(step: ctx.step).tokenizer
        let dataDir = try ctx.input(of: .prepareData).appendingPathComponent(ArtifactFiles.dataDir)
        let splits = try DatasetSplits.load(from: dataDir)
        let out = ctx.workDir.appendingPathComponent(ArtifactFiles.tokenizerDir)
        switch tokenizer.kind {
        case .byte:
            try ByteTokenizer().save(to: out)
        case .bpe:
            ctx.events.message("training a BPE vocabulary of \(tokenizer.vocabSize) on \(splits.train.count) examples")
            let corpus = splits.train.flatMap { [$0.document, $0.summary] }
            let tok = try BPETrainer(vocabSize: tokenizer.vocabSize).train(corpus)
            try tok.save(to: out)
            ctx.events.metric("vocab_size", Double(tok.vocabSize))
        }
        ctx.events.progress(step: 1, total: 1)
    }
}
