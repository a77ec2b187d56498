import ClpFlowCore
import ClpFlowEngine
import ClpFlowPlanner
import ClpFlowRunner
import ClpFlowWorkflow
import Foundation

public enum StepError: Error, CustomStringConvertible {
    case config(String)
    case missingInput(String)
    case failed(String)

    public var description: String {
        switch self {
        case .config(let s): return "invalid step configuration: \(s)"
        case .missingInput(let s): return "missing input: \(s)"
        case .failed(let s): return s
        }
    }
}

/// File names inside step artifacts.
public enum ArtifactFiles {
    public static let dataDir = "data"
    public static let dataReport = "data.json"
    public static let tokenizerDir = "tokenizer"
    public static let modelDir = "model"
    public static let policyDir = "policy"
    public static let normalization = "normalization.json"
    public static let summary = "summary.json"
    public static let curve = "curve.json"
    public static let evaluation = "evaluation.json"
    public static let ablation = "ablation.json"
    public static let report = "report.html"
    public static let reportData = "report.json"
}

/// Where the workflow file lives, recorded by `run` in the run directory so that steps resolve
/// paths relative to it (jsonl data, reward scripts, init checkpoints).
public struct RunSource: Codable, Sendable, Hashable {
    public static let fileName = "source.json"
    public var workflowFile: String
    public var workflowDir: String
    public init(workflowFile: String) {
        self.workflowFile = workflowFile
        self.workflowDir = URL(fileURLWithPath: workflowFile).deletingLastPathComponent().path
    }
    public static func read(runDir: URL) -> RunSource? {
        guard let d = try? Data(contentsOf: runDir.appendingPathComponent(fileName)) else { return nil }
        return try? ArtifactJSON.decoder().decode(RunSource.self, from: d)
    }
    public func write(runDir: URL) throws {
        try ArtifactJSON.encoder().encode(self).write(to: runDir.appendingPathComponent(RunSource.fileName), options: .atomic)
    }
}

/// A tokenizer seen as the trainer's `TextCodec`.
public struct TokenizerCodec: TextCodec {
    public let tokenizer: any Tokenizer
    public init(tokenizer: any Tokenizer) { self.tokenizer = tokenizer }
    public func encodeText(_ text: String) -> [Int32] { tokenizer.encode(text).map(Int32.init) }
    public func decodeTokens(_ tokens: [Int32]) -> String {
        tokenizer.decode(tokens.filter { Int($0) != tokenizer.eotId && Int($0) != tokenizer.sepId }.map(Int.init))
    }
    public var endOfText: Int32 { Int32(tokenizer.eotId) }
    public var separator: Int32 { Int32(tokenizer.sepId) }
}

extension StepContext {
    /// Artifact directories of the inputs of one kind, in input order.
    func inputs(of kind: StepKind) -> [URL] {
        step.inputs.compactMap { id in plan.step(id)?.kind == kind ? inputDirs[id] : nil }
    }

    func input(of kind: StepKind) throws -> URL {
        guard let u = inputs(of: kind).first else {
            throw StepError.missingInput("step \(step.id) needs a \(kind.rawValue) input")
        }
        return u
    }

    var source: RunSource? { RunSource.read(runDir: runDirectory.root) }

    func resolve(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let dir = source?.workflowDir ?? FileManager.default.currentDirectoryPath
        return URL(fileURLWithPath: dir).appendingPathComponent(path).path
    }
}

enum Files {
    /// Writes an artifact file: snake_case keys (see `ArtifactJSON`).
    static func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        try ArtifactJSON.encoder().encode(value).write(to: url, options: .atomic)
    }

    /// Reads an artifact file, snake_case or (written by older versions) camelCase.
    static func readJSON<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
        do { return try ArtifactJSON.decoder().decode(T.self, from: Data(contentsOf: url)) } catch {
            throw StepError.failed("cannot read \(url.path): \(error)")
        }
    }
}

/// Everything the training and evaluation steps share: data, tokenizer, model shape, rewards.
struct TextTask {
    let splits: DatasetSplits
    let tokenizer: any Tokenizer
    let codec: TokenizerCodec
    let data: DataSpec

    /// The tokenizer comes from, in order: `initDir` (the `model.init` checkpoint, used by
    /// train-reference), a train-tokenizer input, the train-reference input's model/ folder (which
    /// holds the init checkpoint's tokenizer, extended, when `model.init` is set), else bytes.
    init(ctx: StepContext, data: DataSpec, initDir: URL? = nil) throws {
        let dataDir = try ctx.input(of: .prepareData).appendingPathComponent(ArtifactFiles.dataDir)
        splits = try DatasetSplits.load(from: dataDir)
        if let initDir {
            tokenizer = try InitCheckpoint.tokenizer(in: initDir)
        } else if let tokDir = ctx.inputs(of: .trainTokenizer).first {
            tokenizer = try loadTokenizer(from: tokDir.appendingPathComponent(ArtifactFiles.tokenizerDir))
        } else if let refDir = ctx.inputs(of: .trainReference).first {
            tokenizer = try loadTokenizer(from: refDir.appendingPathComponent(ArtifactFiles.modelDir))
        } else {
            tokenizer = ByteTokenizer()
        }
        codec = TokenizerCodec(tokenizer: tokenizer)
        self.data = data
    }

    func documentTokens(_ text: String) -> [Int32] {
        Array(codec.encodeText(text).prefix(data.maxDocumentTokens))
    }

    func rlExamples(_ xs: [SummaryExample]) -> [RLExample] {
        xs.map { RLExample(id: $0.id, document: $0.document, reference: $0.summary, documentTokens: documentTokens($0.document)) }
    }

    func supervised(_ xs: [SummaryExample]) -> [SequenceExample] {
        xs.map { e in
            SequenceExample(prompt: documentTokens(e.document) + [codec.separator],
                            target: Array(codec.encodeText(e.summary).prefix(data.maxSummaryTokens)) + [codec.endOfText])
        }
    }

    /// Builds the reward functions of a workflow's reward list.
    func rewards(_ specs: [RewardSpec], ctx: StepContext) throws -> [any Reward] {
        let corpus = splits.train.map(\.document)
        return try specs.map { r in
            try RewardFactory.make(RewardConfig(r), idfCorpus: corpus, workingDirectory: ctx.source?.workflowDir)
        }
    }

    /// Scores responses with every reward: rows = responses, columns = rewards.
    static func scorer(_ rewards: [any Reward]) -> RewardScorer {
        { responses in
            let columns = try rewards.map { try $0.score(responses) }
            return (0..<responses.count).map { j in columns.map { $0[j] } }
        }
    }
}

/// `model.init`: a GPT-2-family checkpoint directory (model.safetensors, config.json, vocab.json,
/// merges.txt) to fine-tune from.
enum InitCheckpoint {
    /// The checkpoint's own tokenizer. A GPT-2 vocabulary without `<|summary|>` gets it appended
    /// as a new last id (`BPETokenizer.appendedSeparator`).
    static func tokenizer(in dir: URL) throws -> any Tokenizer {
        let fm = FileManager.default
        let hasVocab = fm.fileExists(atPath: dir.appendingPathComponent("vocab.json").path)
        let hasClp = fm.fileExists(atPath: dir.appendingPathComponent("clp_tokenizer.json").path)
        guard hasVocab || hasClp else {
            throw StepError.config("model.init: \(dir.path) has no tokenizer (vocab.json and merges.txt); a checkpoint is fine-tuned with its own tokenizer, so save it next to the weights (e.g. tokenizer.save_pretrained(DIR) in transformers)")
        }
        do { return try loadTokenizer(from: dir) } catch let e as TokenizerError {
            throw StepError.config("model.init: the tokenizer in \(dir.path) cannot be used: \(e)")
        }
    }

    /// Loads the weights and makes the vocabulary agree with `tokenizer`: when the tokenizer
    /// appended `<|summary|>` as id V (V = the checkpoint's vocabulary size), wte (and an untied
    /// lm_head) grow by one row initialised to the mean of the existing rows. `say` receives
    /// what happened, in plain words.
    static func model(in dir: URL, tokenizer: any Tokenizer, say: (String) -> Void) throws -> GPTModel {
        var model = try GPTModel.importHuggingFace(from: dir)
        let V = model.config.vocabSize, tv = tokenizer.vocabSize
        if V < tv {
            let appended = (tokenizer as? BPETokenizer)?.appendedSeparator ?? false
            guard appended && V == tv - 1 else {
                throw StepError.config("model.init: the checkpoint in \(dir.path) has \(V) vocabulary rows but its tokenizer has \(tv) ids; the tokenizer and the weights must come from the same model")
            }
            model = try model.appendingVocabularyRows(1)
            say("model.init: the vocabulary has no \(SpecialTokens.summary); it was added as id \(tokenizer.sepId) and the embedding\(model.config.tiedHead ? "" : " and lm_head") grew from \(V) to \(V + 1) rows (the new row is the mean of the others)")
        } else if let bpe = tokenizer as? BPETokenizer, bpe.appendedSeparator {
            say("model.init: the vocabulary has no \(SpecialTokens.summary); it was added as id \(tokenizer.sepId), an existing unused row of the checkpoint's \(V)-row embedding")
        }
        return model
    }
}

/// The model shape a workflow asks for.
enum ModelShape {
    static func config(_ spec: ModelSpec, vocabSize: Int) -> GPTConfig {
        let s = spec.shape
        return GPTConfig(vocabSize: vocabSize, context: s.context, layers: s.layers, heads: s.heads, dModel: s.dModel)
    }
}

extension StepContext {
    /// The resumable state of a training step: work/<key>.resume/ of the run directory, outside
    /// any attempt folder, so a killed or failed attempt's successor continues from it. The step
    /// removes it once its outputs are written.
    var resumeDir: URL {
        runDirectory.workURL.appendingPathComponent("\(step.cacheKey).resume", isDirectory: true)
    }

    /// When a training step writes its resumable state (from its planned resources).
    var checkpointSchedule: CheckpointSchedule {
        CheckpointSchedule(everySteps: step.resources.checkpointEvery ?? 0,
                           everySeconds: (step.resources.checkpointMinutes ?? 0) * 60)
    }
}
