import ClpFlowCore

/// The schema description of every model type: keys, types, ranges and documentation. Defaults
/// come from the types' own default values.
private typealias R = SchemaRegistry
private func e<T: CaseIterable & RawRepresentable>(_ t: T.Type) -> SchemaType where T.RawValue == String {
    .enumeration(T.allCases.map(\.rawValue))
}

extension Workflow: SchemaDescribed {
    public static let schemaObject = ObjectSchema(
        "Workflow", doc: "A workflow file (after `extends` / `uses` are applied).",
        defaults: { var w = Workflow(name: ""); w.name = ""; return w }(), fields: [
            FieldSchema("name", .string, "Name of the workflow (used in run directories and the report).", required: true),
            FieldSchema("description", .string, "Free text shown in the report."),
            FieldSchema("seed", R.int(0, 9_007_199_254_740_991), "Root of every random choice (data split, initialisation, sampling, weight draws)."),
            FieldSchema("data", .object("DataSpec"), "The summarisation data set."),
            FieldSchema("model", .object("ModelSpec"), "The policy network."),
            FieldSchema("pretrain", .object("PretrainSpec"), "Causal language modelling on a text corpus before π_ref's supervised fine-tuning (default: none)."),
            FieldSchema("reference", .object("ReferenceSpec"), "Supervised training of the reference policy π_ref."),
            FieldSchema("rewards", .array(.object("RewardSpec"), minItems: 1), "The rewards (objectives); at least one, names unique."),
            FieldSchema("kl", .object("KLSpec"), "The KL regulariser toward π_ref: a fixed α or a sampled range (multi-KL)."),
            FieldSchema("conditioning", .object("ConditioningSpec"), "How the policy is conditioned on the weighting; `conditioning: attn` is short for `{mechanism: attn}`."),
            FieldSchema("weights", .object("WeightsSpec"), "Weightings sampled in training and evaluated."),
            FieldSchema("stages", .array(.object("StageSpec"), minItems: 0), "RL training stages, run in order; `[]` trains and evaluates π_ref only (baselines need stages)."),
            FieldSchema("baselines", .array(e(Baseline.self), minItems: 0), "Baselines trained and evaluated with the same budget."),
            FieldSchema("soft_budget", e(SoftBudget.self), "RL steps of each SOFT policy the baselines train: `split` gives each of the m policies ⌈steps / m⌉ per stage (together one CLP policy's RL samples, the equal-budget comparison); `full` gives each the stage's full `steps`."),
            FieldSchema("evaluate", .object("EvaluateSpec"), "Evaluation of every policy on held-out prompts."),
            FieldSchema("ablate", .object("AblateSpec"), "An ablation matrix: each cell is the workflow with some values replaced."),
            FieldSchema("executor", .object("ExecutorSpec"), "Where steps run: locally or on Slurm."),
        ])
}

extension DataSpec: SchemaDescribed {
    public static let schemaObject = ObjectSchema(
        "DataSpec", doc: "The (document → summary) data set and its splits.", defaults: DataSpec(), fields: [
            FieldSchema("source", e(DataSource.self), "`debian-descriptions`: Debian package long descriptions → synopses; `jsonl`: your JSON Lines file; `synthetic`: a small task generated from the seed."),
            FieldSchema("path", .string, "`jsonl` only (and required there): the file, relative to the workflow file."),
            FieldSchema("fields", .object("FieldMapping"), "`jsonl` only: which fields hold the document, the summary and an optional id."),
            FieldSchema("train", .anyOf([R.int(1), R.fraction]), "Training examples, or their fraction of the data (default: what is left after `valid` and `test`)."),
            FieldSchema("valid", .anyOf([R.int(0), R.fraction]), "Validation examples, or their fraction (with fractions, all given splits are fractions)."),
            FieldSchema("test", .anyOf([R.int(1), R.fraction]), "Held-out test examples, or their fraction."),
            FieldSchema("min_document_chars", R.int(0), "Documents shorter than this (characters) are dropped."),
            FieldSchema("max_document_chars", R.int(1), "Documents are truncated to this many characters."),
            FieldSchema("max_summary_chars", R.int(1), "Summaries are truncated to this many characters."),
            FieldSchema("max_document_tokens", R.int(1), "Documents are truncated to this many tokens in model inputs."),
            FieldSchema("max_summary_tokens", R.int(1), "Summaries are truncated to this many tokens."),
            FieldSchema("limit", R.int(1), "Use at most this many examples after deduplication and filtering (default: all)."),
            FieldSchema("synthetic_examples", R.int(1), "`synthetic` only: number of examples generated."),
            FieldSchema("split_seed", R.int(0, 9_007_199_254_740_991), "Seed of the train/valid/test split (default: the workflow seed). Workflows with the same split seed order examples alike: the first `valid` examples go to valid, the next `test` to test, so a model trained on one workflow's training split never saw another's held-out examples when their valid + test fit in its own."),
        ])
}

extension FieldMapping: SchemaDescribed {
    public static let schemaObject = ObjectSchema(
        "FieldMapping", doc: "Field names of a JSON Lines record.", defaults: FieldMapping(), fields: [
            FieldSchema("document", .string, "Field holding the document."),
            FieldSchema("summary", .string, "Field holding the reference summary."),
            FieldSchema("id", .string, "Field holding a stable example id (default: the line number)."),
        ])
}

extension ModelSpec: SchemaDescribed {
    public static let schemaObject = ObjectSchema(
        "ModelSpec", doc: "The GPT-2-style policy: a size preset with optional shape overrides.", defaults: ModelSpec(), fields: [
            FieldSchema("size", e(ModelSize.self), "Preset (layers, d_model, heads, context): nano (2, 64, 2, 128), micro (2, 128, 4, 128), mini (4, 192, 6, 160), small (6, 256, 8, 192), medium (6, 320, 5, 192), large (8, 384, 6, 256)."),
            FieldSchema("layers", R.int(1), "Override of the preset's number of layers."),
            FieldSchema("d_model", R.int(8), "Override of the preset's width; must be divisible by `heads`."),
            FieldSchema("heads", R.int(1), "Override of the preset's attention heads."),
            FieldSchema("context", R.int(8), "Override of the preset's context length in tokens."),
            FieldSchema("tokenizer", .object("TokenizerSpec"), "The tokenizer trained on the data (ignored with `init`)."),
            FieldSchema("init", .string, "A GPT-2-family checkpoint directory to start from, relative to the workflow file; its shape and tokenizer win."),
        ])
}

extension TokenizerSpec: SchemaDescribed {
    public static let schemaObject = ObjectSchema(
        "TokenizerSpec", doc: "Tokenizer.", defaults: TokenizerSpec(), fields: [
            FieldSchema("kind", e(TokenizerKind.self), "`byte`: one token per byte; `bpe`: byte-level BPE trained on the training split."),
            FieldSchema("vocab_size", R.int(260), "`bpe` only: vocabulary size including the 256 byte tokens and the special tokens."),
        ])
}

extension PretrainSpec: SchemaDescribed {
    public static let schemaObject = ObjectSchema(
        "PretrainSpec", doc: "Causal language modelling before supervised fine-tuning: texts packed into windows of the model's context, every token predicted.", defaults: PretrainSpec(), fields: [
            FieldSchema("corpus", e(PretrainCorpus.self), "`data`: the data source's training split (never its valid or test examples), each example as document, summary separator, summary, end-of-text; `jsonl`: plain texts from a JSON Lines file."),
            FieldSchema("path", .string, "`jsonl` only (and required there): the file, relative to the workflow file."),
            FieldSchema("field", .string, "`jsonl` only: the field holding each text."),
            FieldSchema("steps", R.int(1), "Optimizer steps."),
            FieldSchema("batch", R.int(1), "Windows of the model's context per step."),
            FieldSchema("learning_rate", R.positive, "Peak Adam learning rate."),
            FieldSchema("schedule", e(LRSchedule.self), "Learning-rate schedule after warm-up."),
            FieldSchema("warmup", R.int(0), "Linear warm-up steps."),
            FieldSchema("weight_decay", R.nonNegative, "Decoupled weight decay."),
            FieldSchema("clip", R.positive, "Global gradient-norm clip."),
            FieldSchema("eval_every", R.int(0), "Validation loss and perplexity every this many steps (0: only after the last step)."),
            FieldSchema("checkpoint_every", R.int(0), "Resumable state (parameters, optimiser moments, data position, curve) every this many steps, besides every `executor.resources.checkpoint_minutes`; a killed step continues from it (0: only by time). Changes no output, so it is not part of the cache key."),
        ])
}

extension ReferenceSpec: SchemaDescribed {
    public static let schemaObject = ObjectSchema(
        "ReferenceSpec", doc: "Supervised fine-tuning of π_ref on (document → summary).", defaults: ReferenceSpec(), fields: [
            FieldSchema("steps", R.int(0), "Optimizer steps (0: use the initial model as π_ref)."),
            FieldSchema("batch", R.int(1), "Examples per step."),
            FieldSchema("learning_rate", R.positive, "Peak Adam learning rate."),
            FieldSchema("schedule", e(LRSchedule.self), "Learning-rate schedule after warm-up."),
            FieldSchema("warmup", R.int(0), "Linear warm-up steps."),
            FieldSchema("weight_decay", R.nonNegative, "Decoupled weight decay."),
            FieldSchema("clip", R.positive, "Global gradient-norm clip."),
            FieldSchema("eval_every", R.int(0), "Validation loss every this many steps (0: never)."),
            FieldSchema("checkpoint_every", R.int(0), "Resumable state (parameters, optimiser moments, generator state, data position, curve) every this many steps, besides every `executor.resources.checkpoint_minutes`; a killed step continues from it (0: only by time). Changes no output, so it is not part of the cache key."),
        ])
}

extension RewardSpec: SchemaDescribed {
    public static let schemaObject = ObjectSchema(
        "RewardSpec", doc: "One reward (objective).", defaults: RewardSpec(name: "", kind: .rougeL), fields: [
            FieldSchema("name", .string, "Unique name, used in reports and weight vectors.", required: true),
            FieldSchema("kind", e(RewardKind.self), "rouge1 / rouge2 / rougeL: F-measure against the reference summary; faithfulness: share of summary words found in the document; coverage: TF-IDF weighted recall of the document's content words; length: closeness to a target word count; novelty: share of summary n-grams absent from the document; repetition: minus the share of repeated n-grams; command: an external program.", required: true),
            FieldSchema("target", R.int(1), "`length` only (required there): target length in words."),
            FieldSchema("tolerance", R.int(0), "`length` only: words of slack around the target without penalty (default 0)."),
            FieldSchema("n", R.int(1), "`novelty` and `repetition` only: n-gram order (default 2)."),
            FieldSchema("command", .array(.string, minItems: 1), "`command` only (required there): argv list (never a shell string), run in the workflow's directory; it reads one JSON object per summary on stdin ({prompt, document, response, reference}) and prints one number per line."),
            FieldSchema("timeout", R.positive, "`command` only: seconds a batch may take before the reward process is killed (default 60); with `persistent`, per batch, the first one including start-up."),
            FieldSchema("persistent", .boolean, "`command` only: keep the process alive for the whole step and send it one batch per line (a JSON array of inputs), answered by one line (a JSON array of numbers); default false: one process per batch (docs/rewards.md)."),
            FieldSchema("workers", R.int(1), "`command` only: processes scoring contiguous parts of each batch at the same time (default 1)."),
            FieldSchema("normalize", e(Normalization.self), "`zscore`: standardised with mean and deviation frozen from π_ref samples before RL; `none`: raw."),
        ])
}

extension KLSpec: SchemaDescribed {
    public static let schemaObject: ObjectSchema = {
        var o = ObjectSchema(
            "KLSpec", doc: "KL regularisation toward π_ref.", defaults: KLSpec(), fields: [
                FieldSchema("alpha", R.positive, "Fixed KL weight α (used when `range` is not given)."),
                FieldSchema("range", .object("KLRange"), "Multi-KL: α is sampled per example from this range and is a conditioning input like w."),
                FieldSchema("encoding", e(KLEncodingName.self), "Multi-KL only: how the policy's copies encode α. `linear`: the KL term is an extra objective with a trainable copy, coefficients (w/(1+α), α/(1+α)). `interpolate`: θ(w, α) = λ·Σᵢ wᵢ θᵢ + (1−λ)·θ_ref with λ = `range.min`/α, where θ_ref is π_ref's values of the conditioned parameters, frozen (as are the unconditioned parameters), so α = `range.min` gives the trained copies' mix and large α approaches π_ref, as DeRa does; needs `conditioning` full, attn or logit (docs/rl.md)."),
            ])
        // `encoding` is left out of the encoded form when it is `linear` (cache keys of workflows
        // without it stay the same); its default is still `linear`.
        o.fields[o.fields.count - 1].defaultValue = .string(KLEncodingName.linear.rawValue)
        return o
    }()
}

extension KLRange: SchemaDescribed {
    public static let schemaObject = ObjectSchema(
        "KLRange", doc: "Range of α for multi-KL training.", defaults: KLRange(min: 0, max: 0), fields: [
            FieldSchema("min", R.positive, "Smallest α (> 0).", required: true),
            FieldSchema("max", R.positive, "Largest α (> min).", required: true),
            FieldSchema("distribution", e(AlphaDistribution.self), "How α is drawn within [min, max]."),
            FieldSchema("eval", .array(R.positive, minItems: 1), "Values of α evaluated (default: min, geometric mid-point, max)."),
        ])
}

extension ConditioningSpec: SchemaDescribed {
    public static let schemaObject = ObjectSchema(
        "ConditioningSpec", doc: "How the weighting steers the policy.", defaults: ConditioningSpec(), shorthand: "mechanism", fields: [
            FieldSchema("mechanism", e(ConditioningMechanism.self), "full: all parameters mixed (θ = Σ wᵢ θᵢ); attn: the attention matrices only; logit: the output head only; prompt: weights written into the prompt; soft-token: learned prefix vectors mixed by w; none: no conditioning (one policy per weighting)."),
            FieldSchema("attn_matrices", .array(e(AttentionMatrix.self), minItems: 1), "`attn` only: which attention matrices (weights and biases) are mixed."),
            FieldSchema("soft_tokens", R.int(1), "`soft-token` only: learned prefix vectors per reward."),
        ])
}

extension WeightsSpec: SchemaDescribed {
    public static let schemaObject = ObjectSchema(
        "WeightsSpec", doc: "Weightings: the training distribution, the evaluation grid and the scalarization.", defaults: WeightsSpec(), fields: [
            FieldSchema("train", .union("WeightDistribution"), "Distribution sampled per training example."),
            FieldSchema("eval", .union("EvalGrid"), "Weightings evaluated."),
            FieldSchema("scalarization", .union("Scalarization"), "How rewards are combined under a weighting."),
        ])
}

extension StageSpec: SchemaDescribed {
    public static let schemaObject = ObjectSchema(
        "StageSpec", doc: "One RL stage.", defaults: StageSpec(), fields: [
            FieldSchema("name", .string, "Stage name (unique)."),
            FieldSchema("algorithm", e(RLAlgorithm.self), "`reinforce`: REINFORCE with a leave-one-out baseline over the k samples of each (prompt, weighting)."),
            FieldSchema("steps", R.int(1), "Optimizer steps."),
            FieldSchema("batch", R.int(1), "Prompts per step; each gets its own sampled weighting."),
            FieldSchema("samples", R.int(2), "Samples per (prompt, weighting): k of the leave-one-out baseline."),
            FieldSchema("learning_rate", R.positive, "Peak Adam learning rate."),
            FieldSchema("warmup", R.int(0), "Linear warm-up steps."),
            FieldSchema("clip", R.positive, "Global gradient-norm clip."),
            FieldSchema("temperature", R.positive, "Sampling temperature during training."),
            FieldSchema("max_new_tokens", R.int(1), "Tokens generated per sample."),
            FieldSchema("reward_balance", e(RewardBalance.self), "`none`: rewards enter as normalised. `within-prompt`: each normalised reward is multiplied by g/σᵢ, where σᵢ is a running estimate of its standard deviation among one prompt's samples (what the leave-one-out advantage sees) and g the geometric mean of the σᵢ, so that no reward's signal drowns the others' at mixed weightings while the scale against the KL term stays the same (docs/rl.md)."),
            FieldSchema("checkpoint_every", R.int(0), "Resumable state (parameters, copies, optimiser moments, generator and weight-sampler state, data position, curve) every this many steps, besides every `executor.resources.checkpoint_minutes`; a killed step continues from it (0: only by time). Changes no output, so it is not part of the cache key."),
        ])
}

extension EvaluateSpec: SchemaDescribed {
    public static let schemaObject = ObjectSchema(
        "EvaluateSpec", doc: "Evaluation on held-out prompts.", defaults: EvaluateSpec(), fields: [
            FieldSchema("prompts", R.int(1), "Held-out prompts per weighting (default 256: with fewer, one point's mean reward moves by more than the differences between weightings; docs/evaluation.md)."),
            FieldSchema("temperature", R.nonNegative, "Sampling temperature (0: greedy)."),
            FieldSchema("top_p", .number(minimum: nil, exclusiveMinimum: 0, maximum: 1), "Nucleus sampling mass (1: off)."),
            FieldSchema("max_new_tokens", R.int(1), "Tokens generated per summary."),
            FieldSchema("metrics", .array(e(EvalMetric.self), minItems: 1), "What the report and the end-of-run summary show: hypervolume of the Pareto front, steerability (rank correlation of weight and reward), dominated (share of dominated points). Every metric is computed; this only selects what is shown."),
            FieldSchema("seeds", R.int(1), "Training and evaluation seeds; the report shows each method's mean over the seeds with a 95 % bootstrap interval over seeds, paired differences CLP − baseline and the per-seed values."),
            FieldSchema("sample_prompts", R.int(0), "Sample generations shown in the report."),
            FieldSchema("split", e(EvalSplit.self), "Where the prompts come from: `test` for the numbers you report, `valid` while choosing settings (with seeds you will not report)."),
            FieldSchema("reference_point", .anyOf([.enumeration(["auto"]), .array(.number(minimum: nil, exclusiveMinimum: nil, maximum: nil), minItems: 1)]),
                        "The hypervolume reference point, one point for every method and seed of the run. `auto`: for each objective, the minimum over π_ref and every evaluated point of every evaluation. Or one number per objective: the rewards in workflow order, then (multi-KL workflows only) −KL, the negated KL to π_ref in nats (e.g. `-20` counts points with KL below 20). The report states the point used (docs/evaluation.md)."),
        ])
}

extension AblateSpec: SchemaDescribed {
    public static let schemaObject = ObjectSchema(
        "AblateSpec", doc: "An ablation matrix over key paths of this workflow.", defaults: AblateSpec(matrix: []), fields: [
            FieldSchema("matrix", .matrix, "Key path (e.g. `conditioning.mechanism`) → list of values; cells are every combination, first key varying slowest.", required: true),
            FieldSchema("include", .array(.assignment, minItems: 0), "Extra cells: each entry is a partial assignment (key path → value) added as its own cell."),
            FieldSchema("exclude", .array(.assignment, minItems: 0), "Cells matching every assignment of an entry are dropped."),
            FieldSchema("name", .string, "Cell name template, e.g. `{conditioning.mechanism}-{model.size}` (default: `path=value` joined by `,`)."),
        ])
}

extension ExecutorSpec: SchemaDescribed {
    public static let schemaObject = ObjectSchema(
        "ExecutorSpec", doc: "Where steps run.", defaults: ExecutorSpec(), fields: [
            FieldSchema("kind", e(ExecutorKind.self), "`local`: processes on this machine; `slurm`: one job per step through sbatch."),
            FieldSchema("max_parallel", R.int(1), "Local: steps run at once (the machine's cores are shared among the steps running)."),
            FieldSchema("resources", .object("SlurmResources"), "Defaults for every step (Slurm resources; `retries` applies to both executors)."),
            FieldSchema("overrides", .array(.object("StepOverride"), minItems: 0), "Per-step resources, first match wins."),
        ])
}

extension SlurmResources: SchemaDescribed {
    public static let schemaObject = ObjectSchema(
        "SlurmResources", doc: "Resources of a step.", defaults: SlurmResources(), fields: [
            FieldSchema("partition", .string, "Slurm partition (default: the cluster's)."),
            FieldSchema("account", .string, "Slurm account."),
            FieldSchema("time_minutes", R.int(1), "Time limit in minutes."),
            FieldSchema("cpus", R.int(1), "CPUs per step (default 1): the step's kernel threads on Slurm; locally a step uses at least this many, and a fair share of the idle cores when that is more. Results do not depend on the thread count."),
            FieldSchema("memory_mb", R.int(1), "Memory in megabytes."),
            FieldSchema("retries", R.int(0), "Times a failed step is retried."),
            FieldSchema("checkpoint_minutes", R.nonNegative, "Training steps (pretrain, reference, soft, clp): resumable state at least this often, in minutes of wall time (default 5; 0: only every `checkpoint_every` steps). A killed or failed step continues from its last state, with the same bytes as an uninterrupted run."),
        ])
}

extension StepOverride: SchemaDescribed {
    public static let schemaObject = ObjectSchema(
        "StepOverride", doc: "Resources for the steps whose id matches a glob.",
        defaults: StepOverride(match: "", resources: SlurmResources()), fields: [
            FieldSchema("match", .string, "Step id glob (`*` and `?`), e.g. `train-clp*`.", required: true),
            FieldSchema("resources", .object("SlurmResources"), "Resources of the matching steps."),
        ])
}
