import ClpFlowCore
/// The typed workflow: what a user declares in YAML, after templates (`extends` / `uses`) are
/// applied. Every field has a documented default (docs/workflow-language.md). Keys are written in
/// snake_case in YAML and in the resolved JSON form.
public struct Workflow: Codable, Sendable, Hashable {
    public var name: String
    public var description: String = ""
    /// Root of every random choice (data split, initialisation, sampling, weight draws).
    public var seed: UInt64 = 0
    public var data: DataSpec = DataSpec()
    public var model: ModelSpec = ModelSpec()
    /// Causal language modelling before π_ref's supervised fine-tuning (nil: no pretraining).
    public var pretrain: PretrainSpec? = nil
    public var reference: ReferenceSpec = ReferenceSpec()
    public var rewards: [RewardSpec] = []
    public var kl: KLSpec = KLSpec()
    public var conditioning: ConditioningSpec = ConditioningSpec()
    public var weights: WeightsSpec = WeightsSpec()
    public var stages: [StageSpec] = [StageSpec()]
    public var baselines: [Baseline] = []
    /// RL steps of each SOFT policy the baselines train (`soft`, `rewarded-soups`, `logit-mixing`).
    public var softBudget: SoftBudget = .split
    public var evaluate: EvaluateSpec = EvaluateSpec()
    public var ablate: AblateSpec? = nil
    public var executor: ExecutorSpec = ExecutorSpec()

    public init(name: String) { self.name = name }
    enum CodingKeys: String, CodingKey {
        case name, description, seed, data, model, pretrain, reference, rewards, kl, conditioning, weights, stages
        case baselines, evaluate, ablate, executor
        case softBudget = "soft_budget"
    }
}

// MARK: data

public enum DataSource: String, Codable, Sendable, CaseIterable {
    /// Debian package long descriptions → one-line synopses (apt's English description index).
    case debianDescriptions = "debian-descriptions"
    /// The user's JSON Lines file.
    case jsonl
    /// A small deterministic task generated from the seed (for tests).
    case synthetic
}

public struct DataSpec: Codable, Sendable, Hashable {
    public var source: DataSource = .debianDescriptions
    /// `jsonl` only: the file, relative to the workflow file.
    public var path: String? = nil
    /// `jsonl` only: which fields hold the document, the reference summary and an optional id.
    public var fields: FieldMapping = FieldMapping()
    /// Size of each split: a number of examples, or a fraction of them (docs/data.md); train
    /// takes what is left after valid and test when nil.
    public var train: SplitSize? = nil
    public var valid: SplitSize = 256
    public var test: SplitSize = 256
    /// Length filters and truncation, in characters (before tokenisation).
    public var minDocumentChars: Int = 40
    public var maxDocumentChars: Int = 600
    public var maxSummaryChars: Int = 120
    /// Truncation in tokens when building model inputs.
    public var maxDocumentTokens: Int = 96
    public var maxSummaryTokens: Int = 24
    /// Use at most this many examples (after deduplication and filtering), nil for all.
    public var limit: Int? = nil
    /// `synthetic` only: number of examples generated.
    public var syntheticExamples: Int = 2000
    /// Seed of the split (nil: the workflow seed). Workflows that share a split seed draw their
    /// valid and test examples from the same hash order, so a model trained on one workflow's
    /// training split never saw the other's held-out examples when their valid + test counts fit.
    public var splitSeed: UInt64? = nil

    public init() {}

    enum CodingKeys: String, CodingKey {
        case source, path, fields, train, valid, test, limit
        case minDocumentChars = "min_document_chars", maxDocumentChars = "max_document_chars"
        case maxSummaryChars = "max_summary_chars", maxDocumentTokens = "max_document_tokens"
        case maxSummaryTokens = "max_summary_tokens", syntheticExamples = "synthetic_examples"
        case splitSeed = "split_seed"
    }
}

/// The size of a data split: a number of examples (`64`) or a fraction of the examples
/// strictly between 0 and 1 (`0.8`). Written and resolved as a plain number.
public enum SplitSize: Codable, Sendable, Hashable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    case count(Int)
    case fraction(Double)

    public init(integerLiteral value: Int) { self = .count(value) }

    /// A number with no fractional part is a count, any other a fraction.
    public init(_ value: Double) {
        self = value.rounded() == value && abs(value) < 9.0e15 ? .count(Int(value)) : .fraction(value)
    }

    public init(from decoder: Decoder) throws {
        self.init(try decoder.singleValueContainer().decode(Double.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .count(let n): try c.encode(n)
        case .fraction(let f): try c.encode(f)
        }
    }

    public var count: Int? { if case .count(let n) = self { return n }; return nil }
    public var fraction: Double? { if case .fraction(let f) = self { return f }; return nil }

    public var description: String {
        switch self {
        case .count(let n): return String(n)
        case .fraction(let f): return JSONValue.formatNumber(f)
        }
    }
}

public struct FieldMapping: Codable, Sendable, Hashable {
    public var document: String = "document"
    public var summary: String = "summary"
    public var id: String? = nil
    public init() {}
}

// MARK: model

/// The named ladder of model sizes (parameter counts in docs/workflow-language.md).
public enum ModelSize: String, Codable, Sendable, CaseIterable {
    case nano, micro, mini, small, medium, large

    /// (layers, d_model, heads, context)
    public var shape: (layers: Int, dModel: Int, heads: Int, context: Int) {
        switch self {
        case .nano: return (2, 64, 2, 128)
        case .micro: return (2, 128, 4, 128)
        case .mini: return (4, 192, 6, 160)
        case .small: return (6, 256, 8, 192)
        case .medium: return (6, 320, 5, 192)
        case .large: return (8, 384, 6, 256)
        }
    }
}

public enum TokenizerKind: String, Codable, Sendable, CaseIterable { case byte, bpe }

public struct TokenizerSpec: Codable, Sendable, Hashable {
    public var kind: TokenizerKind = .bpe
    /// BPE only: vocabulary size including the 256 byte tokens and the special tokens.
    public var vocabSize: Int = 2048
    public init() {}
    enum CodingKeys: String, CodingKey { case kind, vocabSize = "vocab_size" }
}

public struct ModelSpec: Codable, Sendable, Hashable {
    public var size: ModelSize = .micro
    /// Explicit overrides of the preset's shape.
    public var layers: Int? = nil
    public var dModel: Int? = nil
    public var heads: Int? = nil
    public var context: Int? = nil
    public var tokenizer: TokenizerSpec = TokenizerSpec()
    /// A GPT-2-family checkpoint directory to start from (model.safetensors, config.json,
    /// vocab.json, merges.txt), relative to the workflow file. Its shape and tokenizer win.
    public var initFrom: String? = nil

    public init() {}
    enum CodingKeys: String, CodingKey {
        case size, layers, heads, context, tokenizer
        case dModel = "d_model", initFrom = "init"
    }
}

extension ModelSpec {
    /// The shape the section describes: the preset's, with the explicit fields overriding it.
    public var shape: (layers: Int, dModel: Int, heads: Int, context: Int) {
        let preset = size.shape
        return (layers ?? preset.layers, dModel ?? preset.dModel, heads ?? preset.heads, context ?? preset.context)
    }
}

// MARK: pretraining

/// Where the pretraining text comes from.
public enum PretrainCorpus: String, Codable, Sendable, CaseIterable {
    /// The data source's training split (never its valid or test examples), each example written
    /// as its document, the summary separator, its summary and end-of-text.
    case data
    /// A JSON Lines file of plain texts (`path`, `field`), each followed by end-of-text.
    case jsonl
}

/// Causal language modelling on a text corpus before π_ref's supervised fine-tuning: sequences
/// are packed into windows of the model's context and every token is predicted.
public struct PretrainSpec: Codable, Sendable, Hashable {
    public var corpus: PretrainCorpus = .data
    /// `jsonl` only: the file, relative to the workflow file.
    public var path: String? = nil
    /// `jsonl` only: the field holding each text.
    public var field: String = "text"
    public var steps: Int = 1000
    /// Windows (sequences of the model's context) per step.
    public var batch: Int = 16
    public var learningRate: Double = 3e-3
    public var schedule: LRSchedule = .cosine
    public var warmup: Int = 100
    public var weightDecay: Double = 0.1
    public var clip: Double = 1.0
    /// Validation loss and perplexity every this many steps (0: only at the end).
    public var evalEvery: Int = 200
    /// Resumable training state written every this many steps (0: never).
    public var checkpointEvery: Int = 100

    public init() {}
    enum CodingKeys: String, CodingKey {
        case corpus, path, field, steps, batch, schedule, warmup, clip
        case learningRate = "learning_rate", weightDecay = "weight_decay", evalEvery = "eval_every"
        case checkpointEvery = "checkpoint_every"
    }
}

// MARK: reference policy

public enum LRSchedule: String, Codable, Sendable, CaseIterable { case cosine, constant, linear }

/// The supervised stage that trains π_ref on (document → summary).
public struct ReferenceSpec: Codable, Sendable, Hashable {
    public var steps: Int = 600
    public var batch: Int = 16
    public var learningRate: Double = 3e-3
    public var schedule: LRSchedule = .cosine
    public var warmup: Int = 30
    public var weightDecay: Double = 0.01
    public var clip: Double = 1.0
    public var evalEvery: Int = 100
    /// Resumable training state written every this many steps (0: only by time).
    public var checkpointEvery: Int = 0

    public init() {}
    enum CodingKeys: String, CodingKey {
        case steps, batch, schedule, warmup, clip
        case learningRate = "learning_rate", weightDecay = "weight_decay", evalEvery = "eval_every"
        case checkpointEvery = "checkpoint_every"
    }
}

// MARK: executor (its kind, `ExecutorKind`, is in ClpFlowCore)

public struct SlurmResources: Codable, Sendable, Hashable {
    public var partition: String? = nil
    public var account: String? = nil
    /// Time limit in minutes.
    public var timeMinutes: Int? = nil
    public var cpus: Int? = nil
    /// Memory in megabytes.
    public var memoryMB: Int? = nil
    public var retries: Int? = nil
    /// Training steps: resumable state at least this often, in minutes of wall time (0: only by
    /// steps, see `checkpoint_every`).
    public var checkpointMinutes: Double? = nil
    public init() {}
    enum CodingKeys: String, CodingKey {
        case partition, account, cpus, retries
        case timeMinutes = "time_minutes", memoryMB = "memory_mb", checkpointMinutes = "checkpoint_minutes"
    }
}

public struct StepOverride: Codable, Sendable, Hashable {
    /// Step id glob (`*` and `?`), e.g. `train-clp*`.
    public var match: String
    public var resources: SlurmResources
    public init(match: String, resources: SlurmResources) { self.match = match; self.resources = resources }
}

public struct ExecutorSpec: Codable, Sendable, Hashable {
    public var kind: ExecutorKind = .local
    /// Local: how many steps run at once.
    public var maxParallel: Int = 2
    /// Defaults for every step (Slurm resources; `retries` applies to both executors).
    public var resources: SlurmResources = SlurmResources()
    public var overrides: [StepOverride] = []
    public init() {}
    enum CodingKeys: String, CodingKey {
        case kind, resources, overrides
        case maxParallel = "max_parallel"
    }
}
