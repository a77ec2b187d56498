import ClpFlowCore
import ClpFlowWorkflow
import Foundation

/// Why a workflow could not be planned.
public enum PlannerError: Error, CustomStringConvertible, Equatable {
    /// A configuration section has no JSON form (e.g. a non-finite number that bypassed
    /// validation); it cannot be part of a cache key.
    case encoding(section: String, reason: String)

    public var description: String {
        switch self {
        case .encoding(let section, let reason):
            return "cannot encode the `\(section)` section for its cache key: \(reason)"
        }
    }
}

/// Encodes workflow sections with their Codable form (the keys of the YAML / resolved JSON).
struct SectionEncoder {
    let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    func json<T: Encodable>(_ value: T, section: String) throws -> JSONValue {
        do {
            return try JSONValue.parse(data: try encoder.encode(value))
        } catch {
            throw PlannerError.encoding(section: section, reason: "\(error)")
        }
    }
}

/// The sections of step configurations as they are written in plans: each workflow section with
/// the fields its steps do not read left out (so that they do not enter cache keys). Encoded
/// sections are memoised by (section, value): cells of a large ablation repeat most sections.
final class SectionCache {
    let encoder = SectionEncoder()
    private var store: [String: [AnyHashable: Canon]] = [:]

    func canon<T: Hashable>(_ section: String, _ value: T, _ make: (T) throws -> JSONValue) rethrows -> Canon {
        if let c = store[section]?[AnyHashable(value)] { return c }
        let c = Canon(try make(value))
        store[section, default: [:]][AnyHashable(value)] = c
        return c
    }

    private func object<T: Encodable>(_ value: T, section: String) throws -> [String: JSONValue] {
        try encoder.json(value, section: section).objectValue ?? [:]
    }

    /// `data` as training and evaluation steps read it: `path` and `fields` belong to jsonl,
    /// `synthetic_examples` to synthetic.
    func data(_ spec: DataSpec) throws -> Canon {
        try canon("data", spec) { spec in
            var d = try object(spec, section: "data")
            if spec.source != .jsonl { d["path"] = nil; d["fields"] = nil }
            if spec.source != .synthetic { d["synthetic_examples"] = nil }
            return .object(d)
        }
    }

    /// `data` without the fields prepare-data does not read (the token limits apply when model
    /// inputs are built, in later steps).
    func dataPrepare(_ spec: DataSpec) throws -> Canon {
        try canon("data.prepare", spec) { spec in
            var d = try object(spec, section: "data")
            if spec.source != .jsonl { d["path"] = nil; d["fields"] = nil }
            if spec.source != .synthetic { d["synthetic_examples"] = nil }
            d["max_document_tokens"] = nil; d["max_summary_tokens"] = nil
            return .object(d)
        }
    }

    /// The byte tokenizer has a fixed vocabulary: `vocab_size` only matters to BPE.
    func tokenizer(_ spec: TokenizerSpec) throws -> Canon {
        try canon("tokenizer", spec) { try tokenizerJSON($0) }
    }

    private func tokenizerJSON(_ t: TokenizerSpec) throws -> JSONValue {
        var tok = try encoder.json(t, section: "model.tokenizer")
        if t.kind == .byte, var o = tok.objectValue { o["vocab_size"] = nil; tok = .object(o) }
        return tok
    }

    func model(_ spec: ModelSpec) throws -> Canon {
        try canon("model", spec) { spec in
            var m = try object(spec, section: "model")
            m["tokenizer"] = try tokenizerJSON(spec.tokenizer)
            return .object(m)
        }
    }

    /// Resume intervals change no output: they reach the steps through their resources.
    func reference(_ spec: ReferenceSpec) throws -> Canon {
        try canon("reference", spec) {
            var o = try object($0, section: "reference")
            o["checkpoint_every"] = nil
            return .object(o)
        }
    }

    /// `path` and `field` belong to the jsonl corpus; the resume interval changes no output.
    func pretrain(_ spec: PretrainSpec) throws -> Canon {
        try canon("pretrain", spec) { spec in
            var o = try object(spec, section: "pretrain")
            if spec.corpus != .jsonl { o["path"] = nil; o["field"] = nil }
            o["checkpoint_every"] = nil
            return .object(o)
        }
    }

    func rewards(_ specs: [RewardSpec]) throws -> Canon {
        if let c = store["rewards"]?[AnyHashable(specs)] { return c }
        let c = Canon.array(try specs.map { r in try canon("reward", r) { try encoder.json($0, section: "rewards") } })
        store["rewards", default: [:]][AnyHashable(specs)] = c
        return c
    }

    func kl(_ spec: KLSpec) throws -> Canon {
        try canon("kl", spec) { try encoder.json($0, section: "kl") }
    }

    /// Only the fields the mechanism reads (`attn_matrices` for attn, `soft_tokens` for soft-token).
    func conditioning(_ spec: ConditioningSpec) throws -> Canon {
        try canon("conditioning", spec) { spec in
            var o = try object(spec, section: "conditioning")
            if spec.mechanism != .attn { o["attn_matrices"] = nil }
            if spec.mechanism != .softToken { o["soft_tokens"] = nil }
            return .object(o)
        }
    }

    /// `weights` without `eval` (what training reads).
    func weightsTrain(_ spec: WeightsSpec) throws -> Canon {
        try canon("weights.train", spec) {
            var w = try object($0, section: "weights")
            w["eval"] = nil
            return .object(w)
        }
    }

    /// `{"eval": …}`: what evaluation reads of `weights`.
    func weightsEval(_ grid: EvalGrid) throws -> Canon {
        try canon("weights.eval", grid) { try encoder.json(EvalOnly(eval: $0), section: "weights") }
    }

    private struct EvalOnly: Encodable { var eval: EvalGrid }

    func stage(_ spec: StageSpec) throws -> Canon {
        try canon("stage", spec) {
            var o = try object($0, section: "stages")
            o["checkpoint_every"] = nil
            // The default leaves the keys of workflows written before the option unchanged.
            if $0.rewardBalance == .none { o["reward_balance"] = nil }
            return .object(o)
        }
    }

    /// `evaluate` without `seeds` (the replica count is expressed by each step's own seed),
    /// `metrics` and `sample_prompts` (they only select what the report shows; evaluation records
    /// the texts of every prompt and the report keeps the first `sample_prompts`), and without
    /// `reference_point: auto` (the default; a declared point is written, since the step's
    /// hypervolume is measured against it).
    func evaluate(_ spec: EvaluateSpec) throws -> Canon {
        try canon("evaluate", spec) {
            var e = try object($0, section: "evaluate")
            e["seeds"] = nil
            e["metrics"] = nil
            e["sample_prompts"] = nil
            if spec.referencePoint == .auto { e["reference_point"] = nil }
            return .object(e)
        }
    }

    func seed(_ s: UInt64) -> Canon { Canon(Planner.seedJSON(s)) }
}
