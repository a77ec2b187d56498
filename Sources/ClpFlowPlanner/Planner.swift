import ClpFlowCore
import ClpFlowWorkflow
import Foundation

/// One ablation cell as the planner sees it: its name, the (path, value) assignments that define
/// it in matrix order, and the cell's resolved workflow. A workflow without `ablate` is one cell
/// with no assignments.
public struct PlannerCell: Sendable {
    public var name: String
    public var assignments: [(path: String, value: YAMLScalarValue)]
    public var workflow: Workflow

    public init(name: String, assignments: [(path: String, value: YAMLScalarValue)], workflow: Workflow) {
        self.name = name; self.assignments = assignments; self.workflow = workflow
    }
}

/// Compiles a workflow (and its ablation cells) into a DAG of steps with cache keys.
/// The rules (step kinds, ids, configurations, sharing, budgets, seeds) are in docs/planner.md.
public enum Planner {
    /// Plans `cells` (or the workflow itself as a single cell when `cells` is empty). Relative
    /// paths in the workflow (jsonl data, init checkpoint, reward scripts) resolve against
    /// `workflowDir`; their contents are fingerprinted through `fileSystem`.
    /// Throws `PlannerError.encoding` when a configuration section cannot be encoded (a section
    /// never enters a cache key in any other form).
    public static func plan(workflow: Workflow, cells: [PlannerCell], workflowDir: URL,
                            fileSystem: any PlannerFileSystem = SystemFileSystem()) throws -> Plan {
        let cells = cells.isEmpty ? [PlannerCell(name: "", assignments: [], workflow: workflow)] : cells
        let builder = PlanBuilder(cells: cells, workflowDir: workflowDir, fingerprints: FingerprintCache(fileSystem))
        for index in cells.indices { try builder.planCell(index) }
        return builder.finish(base: workflow)
    }

    /// The seed of replica `k` (0-based) when `evaluate.seeds` > 1: replica 0 keeps the workflow
    /// seed, the others draw 40-bit seeds from a stream derived from it.
    public static func replicaSeed(workflowSeed: UInt64, replica k: Int) -> UInt64 {
        if k == 0 { return workflowSeed }
        var r = SeededRandom(seed: workflowSeed, stream: "replica/\(k)")
        return r.next() >> 24
    }

    /// Budget rule: each of the m SOFT policies trains ceil(steps / m) steps per stage (same batch
    /// and samples), so m SOFT runs together draw as many RL samples as one CLP run (rounded up).
    public static func softSteps(stageSteps: Int, rewards m: Int) -> Int {
        m <= 1 ? stageSteps : (stageSteps + m - 1) / m
    }

    /// The KL weight SOFT policies train at: the fixed α, or the smallest α of a multi-KL range
    /// (DeRa realigns that model toward the reference with λ ∈ (0, 1] to reach larger α).
    public static func softAlpha(_ kl: KLSpec) -> Double { kl.range?.min ?? kl.alpha }

    /// Label text of an assignment value in step ids.
    public static func label(_ v: YAMLScalarValue) -> String {
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return JSONValue.formatNumber(d)
        case .bool(let b): return b ? "true" : "false"
        }
    }

    public static func json(_ v: YAMLScalarValue) -> JSONValue {
        switch v {
        case .string(let s): return .string(s)
        case .int(let i): return .number(Double(i))
        case .double(let d): return .number(d)
        case .bool(let b): return .bool(b)
        }
    }

    /// Seeds are JSON numbers while exactly representable, strings beyond 2^53.
    static func seedJSON(_ s: UInt64) -> JSONValue {
        s < (1 << 53) ? .number(Double(s)) : .string(String(s))
    }
}

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

/// Encoded sections memoised by (section, value): cells of a large ablation repeat most sections.
final class SectionCache {
    let encoder = SectionEncoder()
    private var store: [String: [AnyHashable: Canon]] = [:]

    func canon<T: Hashable>(_ section: String, _ value: T, _ make: (T) throws -> JSONValue) rethrows -> Canon {
        if let c = store[section]?[AnyHashable(value)] { return c }
        let c = Canon(try make(value))
        store[section, default: [:]][AnyHashable(value)] = c
        return c
    }
}

/// A cell's workflow sections, encoded once (with their canonical text).
struct CellSections {
    var data: Canon
    /// `data` without the fields prepare-data does not read (the token limits apply when model
    /// inputs are built, in later steps).
    var dataPrepare: Canon
    var model: Canon
    var tokenizer: Canon
    var reference: Canon
    var pretrain: Canon?
    var rewards: [Canon]
    var allRewards: Canon
    var kl: Canon
    var softKL: Canon
    /// Only the fields the mechanism reads (`attn_matrices` for attn, `soft_tokens` for soft-token).
    var conditioning: Canon
    /// `weights` without `eval` (what training reads).
    var weightsTrain: Canon
    /// `{"eval": …}`: what evaluation reads of `weights`.
    var weightsEval: Canon
    var stages: [Canon]
    /// Stages with the SOFT budget applied.
    var softStages: [Canon]
    /// `evaluate` without `seeds` (the replica count is expressed by each step's own seed).
    var evaluate: Canon
    var rewardScripts: [JSONValue?]
    var stageSuffixes: [String]

    init(_ wf: Workflow, cache: SectionCache, fingerprintScripts: (RewardSpec) -> JSONValue?) throws {
        let enc = cache.encoder
        // Fields a data source does not read are left out: `path` and `fields` belong to jsonl,
        // `synthetic_examples` to synthetic.
        data = try cache.canon("data", wf.data) { spec in
            var d = try enc.json(spec, section: "data").objectValue ?? [:]
            if spec.source != .jsonl { d["path"] = nil; d["fields"] = nil }
            if spec.source != .synthetic { d["synthetic_examples"] = nil }
            return .object(d)
        }
        dataPrepare = try cache.canon("data.prepare", wf.data) { spec in
            var d = try enc.json(spec, section: "data").objectValue ?? [:]
            if spec.source != .jsonl { d["path"] = nil; d["fields"] = nil }
            if spec.source != .synthetic { d["synthetic_examples"] = nil }
            d["max_document_tokens"] = nil; d["max_summary_tokens"] = nil
            return .object(d)
        }
        // The byte tokenizer has a fixed vocabulary: `vocab_size` only matters to BPE.
        func tokenizerJSON(_ t: TokenizerSpec) throws -> JSONValue {
            var tok = try enc.json(t, section: "model.tokenizer")
            if t.kind == .byte, var o = tok.objectValue { o["vocab_size"] = nil; tok = .object(o) }
            return tok
        }
        tokenizer = try cache.canon("tokenizer", wf.model.tokenizer, tokenizerJSON)
        model = try cache.canon("model", wf.model) { spec in
            var modelObject = try enc.json(spec, section: "model").objectValue ?? [:]
            modelObject["tokenizer"] = try tokenizerJSON(spec.tokenizer)
            return .object(modelObject)
        }
        // Resume intervals change no output: they reach the steps through their resources.
        reference = try cache.canon("reference", wf.reference) {
            var o = try enc.json($0, section: "reference").objectValue ?? [:]
            o["checkpoint_every"] = nil
            return .object(o)
        }
        pretrain = try wf.pretrain.map { p in
            try cache.canon("pretrain", p) { spec in
                var o = try enc.json(spec, section: "pretrain").objectValue ?? [:]
                // `path` and `field` belong to the jsonl corpus; the resume interval changes no output.
                if spec.corpus != .jsonl { o["path"] = nil; o["field"] = nil }
                o["checkpoint_every"] = nil
                return .object(o)
            }
        }
        rewards = try wf.rewards.map { r in try cache.canon("reward", r) { try enc.json($0, section: "rewards") } }
        allRewards = Canon.array(rewards)
        kl = try cache.canon("kl", wf.kl) { try enc.json($0, section: "kl") }
        softKL = cache.canon("soft-kl", wf.kl) { .object(["alpha": .number(Planner.softAlpha($0))]) }
        conditioning = try cache.canon("conditioning", wf.conditioning) {
            CellSections.normalized(try enc.json($0, section: "conditioning"), $0.mechanism)
        }
        weightsEval = try cache.canon("weights.eval", wf.weights) {
            .object(["eval": try enc.json($0, section: "weights").objectValue?["eval"] ?? .null])
        }
        weightsTrain = try cache.canon("weights.train", wf.weights) {
            var w = try enc.json($0, section: "weights").objectValue ?? [:]
            w["eval"] = nil
            return .object(w)
        }
        func stageJSON(_ st: StageSpec) throws -> JSONValue {
            var o = try enc.json(st, section: "stages").objectValue ?? [:]
            o["checkpoint_every"] = nil
            return .object(o)
        }
        stages = try wf.stages.map { st in try cache.canon("stage", st, stageJSON) }
        let m = wf.rewards.count
        softStages = try wf.stages.map { st in
            var s = st
            s.steps = Planner.softSteps(stageSteps: st.steps, rewards: m)
            return try cache.canon("stage", s, stageJSON)
        }
        // `seeds` is expressed by each step's own seed; `metrics` and `sample_prompts` only select
        // what the report shows (evaluation records the texts of every prompt; the report keeps
        // the first `sample_prompts`).
        evaluate = try cache.canon("evaluate", wf.evaluate) {
            var e = try enc.json($0, section: "evaluate").objectValue ?? [:]
            e["seeds"] = nil
            e["metrics"] = nil
            e["sample_prompts"] = nil
            return .object(e)
        }
        rewardScripts = wf.rewards.map(fingerprintScripts)
        let names = wf.stages.map(\.name)
        stageSuffixes = wf.stages.count <= 1 ? [""] : names.enumerated().map { j, n in
            names.filter { $0 == n }.count > 1 ? "/\(n)\(j + 1)" : "/\(n)"
        }
    }

    static func normalized(_ c: JSONValue, _ mechanism: ConditioningMechanism) -> JSONValue {
        guard var o = c.objectValue else { return c }
        if mechanism != .attn { o["attn_matrices"] = nil }
        if mechanism != .softToken { o["soft_tokens"] = nil }
        return .object(o)
    }
}

/// Accumulates step drafts per cell, deduplicates them by cache key, then names them.
final class PlanBuilder {
    struct Draft {
        var kind: StepKind
        var config: JSONValue
        var inputKeys: [String]
        var key: String
        var role: String
        var cell: Int
    }

    struct RoleGroup {
        var kind: StepKind
        var fixedLabels: [String]
        var seedLabel: String?
        var suffix: String
        var entries: [(cell: Int, values: [String?], key: String)] = []
    }

    let cells: [PlannerCell]
    let workflowDir: URL
    let fingerprints: FingerprintCache
    let sectionValues = SectionCache()
    var drafts: [Draft] = []
    var indexByKey: [String: Int] = [:]
    var groups: [String: RoleGroup] = [:]
    var axes: [String] = []
    var cellValues: [[String?]] = []
    var sectionCache: [Workflow: CellSections] = [:]
    var evaluateKeys: [String] = []

    init(cells: [PlannerCell], workflowDir: URL, fingerprints: FingerprintCache) {
        self.cells = cells; self.workflowDir = workflowDir; self.fingerprints = fingerprints
        for c in cells { for a in c.assignments where !axes.contains(a.path) { axes.append(a.path) } }
        cellValues = cells.map { c in
            axes.map { axis in c.assignments.last(where: { $0.path == axis }).map { Planner.label($0.value) } }
        }
    }

    func resolve(_ path: String) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : workflowDir.appendingPathComponent(path)
    }

    /// Installed software (interpreters, system tools) named by absolute path is not fingerprinted.
    static let systemPrefixes = ["/usr/", "/bin/", "/sbin/", "/lib", "/etc/", "/opt/", "/nix/"]

    /// Digests of files named by a `command` reward's argv (elements that are existing files,
    /// relative to the workflow directory, or absolute outside system directories), keyed by the
    /// argv element.
    func scriptFingerprint(_ r: RewardSpec) -> JSONValue? {
        guard r.kind == .command, let argv = r.command else { return nil }
        var out: [String: JSONValue] = [:]
        for arg in argv where !arg.isEmpty && !arg.hasPrefix("-")
            && !PlanBuilder.systemPrefixes.contains(where: { arg.hasPrefix($0) }) {
            let url = resolve(arg)
            if fingerprints.fs.isRegularFile(url) { out[arg] = fingerprints.file(url) }
        }
        return out.isEmpty ? nil : .object(out)
    }

    func sections(_ wf: Workflow) throws -> CellSections {
        if let s = sectionCache[wf] { return s }
        let s = try CellSections(wf, cache: sectionValues, fingerprintScripts: scriptFingerprint)
        sectionCache[wf] = s
        return s
    }

    /// Adds (or finds) the step for `role` in `cell`; returns its cache key.
    @discardableResult
    func add(role: String, kind: StepKind, config: [String: Canon], inputs: [String], cell: Int,
             fixedLabels: [String] = [], seedLabel: String? = nil, suffix: String = "",
             droppedAxis: String? = nil) -> String {
        let canon = Canon.object(config)
        let key = CacheKey.compute(canonicalConfig: canon.text, upstreamKeys: inputs)
        if indexByKey[key] == nil {
            indexByKey[key] = drafts.count
            drafts.append(Draft(kind: kind, config: canon.value, inputKeys: inputs, key: key, role: role, cell: cell))
        }
        var values = cellValues[cell]
        if let d = droppedAxis, let i = axes.firstIndex(of: d) { values[i] = nil }
        groups[role, default: RoleGroup(kind: kind, fixedLabels: fixedLabels, seedLabel: seedLabel, suffix: suffix)]
            .entries.append((cell, values, key))
        return key
    }

    func planCell(_ c: Int) throws {
        let wf = cells[c].workflow
        let s = try sections(wf)
        let seed = Canon(Planner.seedJSON(wf.seed))

        // prepare-data: only the data fields it reads.
        var prep: [String: Canon] = ["data": s.dataPrepare, "seed": seed]
        switch wf.data.source {
        case .jsonl:
            if let p = wf.data.path { prep["fingerprints"] = Canon(["data_file": fingerprints.file(resolve(p))]) }
        case .debianDescriptions:
            prep["fingerprints"] = Canon(["apt_index": fingerprints.aptIndex()])
        case .synthetic:
            break
        }
        let prepKey = add(role: "prepare-data", kind: .prepareData, config: prep, inputs: [], cell: c)

        // train-tokenizer (BPE without an init checkpoint, which brings its own tokenizer)
        var shared = [prepKey]
        if wf.model.initFrom == nil && wf.model.tokenizer.kind == .bpe {
            let tok = add(role: "train-tokenizer", kind: .trainTokenizer,
                          config: ["model": Canon.object(["tokenizer": s.tokenizer])], inputs: [prepKey], cell: c)
            shared.append(tok)
        }

        let initFingerprint: Canon? = wf.model.initFrom.map {
            Canon(["init_checkpoint": fingerprints.directory(resolve($0))])
        }

        // pretrain: causal language modelling before π_ref's fine-tuning; π_ref starts from it.
        if let pretrainSection = s.pretrain, let spec = wf.pretrain {
            var pre: [String: Canon] = ["data": s.data, "model": s.model, "pretrain": pretrainSection, "seed": seed]
            var prints: [String: JSONValue] = initFingerprint?.value.objectValue ?? [:]
            if spec.corpus == .jsonl, let p = spec.path { prints["corpus_file"] = fingerprints.file(resolve(p)) }
            if !prints.isEmpty { pre["fingerprints"] = Canon(.object(prints)) }
            let preKey = add(role: "pretrain", kind: .pretrain, config: pre, inputs: shared, cell: c)
            shared.append(preKey)
        }

        // train-reference
        var ref: [String: Canon] = ["data": s.data, "model": s.model, "reference": s.reference, "seed": seed]
        if let initFingerprint { ref["fingerprints"] = initFingerprint }
        let refKey = add(role: "train-reference", kind: .trainReference, config: ref, inputs: shared, cell: c)
        shared.append(refKey)

        let replicas = max(1, wf.evaluate.seeds)
        let needsSoft = wf.baselines.contains { [.soft, .rewardedSoups, .logitMixing, .dera].contains($0) }
        var scripts: [String: JSONValue] = [:]
        for (i, r) in wf.rewards.enumerated() { if let f = s.rewardScripts[i] { scripts[r.name] = f } }
        let scriptsCanon: Canon? = scripts.isEmpty ? nil : Canon(["reward_scripts": .object(scripts)])
        let softScripts: [Canon?] = wf.rewards.indices.map { i in
            s.rewardScripts[i].map { Canon(["reward_scripts": .object([wf.rewards[i].name: $0])]) }
        }
        let softRewards = s.rewards.map { Canon.array([$0]) }
        let promptConditioning = Canon(["mechanism": "prompt"])

        for k in 0..<replicas {
            let replicaSeed = Canon(Planner.seedJSON(Planner.replicaSeed(workflowSeed: wf.seed, replica: k)))
            let seedLabel = replicas > 1 ? "seed=\(k)" : nil

            // train-soft: one chain of stages per reward.
            var softFinal: [String] = []
            if needsSoft {
                for (i, r) in wf.rewards.enumerated() {
                    var prev: String? = wf.stages.isEmpty ? refKey : nil
                    for j in wf.stages.indices {
                        var cfg: [String: Canon] = [
                            "data": s.data, "model": s.model, "rewards": softRewards[i], "kl": s.softKL,
                            "stage": s.softStages[j], "seed": replicaSeed,
                        ]
                        if let f = softScripts[i] { cfg["fingerprints"] = f }
                        prev = add(role: "train-soft|\(i)|\(k)|\(j)", kind: .trainSoft, config: cfg,
                                   inputs: shared + (prev.map { [$0] } ?? []), cell: c,
                                   fixedLabels: ["reward=\(r.name)"], seedLabel: seedLabel, suffix: s.stageSuffixes[j])
                    }
                    if let prev { softFinal.append(prev) }
                }
            }

            // train-clp: the cell's own mechanism, plus the prompt baseline's multi-task model.
            func clpChain(conditioning: Canon, role: String, fixed: [String], dropped: String?) -> String {
                // Without RL stages the policy evaluated is the reference itself.
                var prev: String? = wf.stages.isEmpty ? refKey : nil
                for j in wf.stages.indices {
                    var cfg: [String: Canon] = [
                        "data": s.data, "model": s.model, "rewards": s.allRewards, "kl": s.kl,
                        "conditioning": conditioning, "weights": s.weightsTrain, "stage": s.stages[j],
                        "seed": replicaSeed,
                    ]
                    if let scriptsCanon { cfg["fingerprints"] = scriptsCanon }
                    prev = add(role: "\(role)|\(k)|\(j)", kind: .trainCLP, config: cfg,
                               inputs: shared + (prev.map { [$0] } ?? []), cell: c, fixedLabels: fixed,
                               seedLabel: seedLabel, suffix: s.stageSuffixes[j], droppedAxis: dropped)
                }
                return prev!
            }
            let clpFinal = clpChain(conditioning: s.conditioning, role: "train-clp", fixed: [], dropped: nil)
            var promptFinal: String? = nil
            if wf.baselines.contains(.prompt) {
                promptFinal = clpChain(conditioning: promptConditioning, role: "train-clp-prompt",
                                       fixed: ["conditioning.mechanism=prompt"], dropped: "conditioning.mechanism")
            }

            // evaluate: the CLP policy and every baseline.
            func evaluate(method: String, conditioning: Canon?, policies: [String], dropped: String? = nil) {
                var cfg: [String: Canon] = [
                    "method": Canon(.string(method)), "evaluate": s.evaluate, "weights": s.weightsEval,
                    "kl": s.kl, "rewards": s.allRewards, "data": s.data, "seed": replicaSeed,
                ]
                if let conditioning { cfg["conditioning"] = conditioning }
                if let scriptsCanon { cfg["fingerprints"] = scriptsCanon }
                let key = add(role: "evaluate|\(method)|\(k)", kind: .evaluate, config: cfg,
                              inputs: shared + policies, cell: c, fixedLabels: ["method=\(method)"],
                              seedLabel: seedLabel, droppedAxis: dropped)
                evaluateKeys.append(key)
            }
            evaluate(method: "clp", conditioning: s.conditioning, policies: [clpFinal])
            var seen = Set<Baseline>()
            for b in wf.baselines where seen.insert(b).inserted {
                switch b {
                case .soft, .rewardedSoups, .logitMixing, .dera:
                    evaluate(method: b.rawValue, conditioning: nil, policies: softFinal)
                case .prompt:
                    evaluate(method: b.rawValue, conditioning: promptConditioning, policies: [promptFinal!],
                             dropped: "conditioning.mechanism")
                }
            }
        }
    }

    func finish(base: Workflow) -> Plan {
        // Dependency order: kinds in pipeline order, creation order within a kind (a step's inputs
        // are of an earlier kind or, for later training stages, created before it).
        let rank = Dictionary(uniqueKeysWithValues: StepKind.allCases.enumerated().map { ($1, $0) })
        var order = Array(drafts.indices)
        order.sort { a, b in
            let ra = rank[drafts[a].kind]!, rb = rank[drafts[b].kind]!
            return ra != rb ? ra < rb : a < b
        }
        var ordered = order.map { drafts[$0] }

        if let ablate = base.ablate {
            var evalKeys: [String] = []
            var seen = Set<String>()
            for d in ordered where d.kind == .evaluate && seen.insert(d.key).inserted { evalKeys.append(d.key) }
            let cellsJSON: [JSONValue] = cells.map { c in
                ["name": .string(c.name),
                 "assignments": .array(c.assignments.map { ["path": .string($0.path), "value": Planner.json($0.value)] })]
            }
            var ablateJSON: [String: JSONValue] = [
                "matrix": .array(ablate.matrix.map { ["path": .string($0.path), "values": .array($0.values.map(Planner.json))] }),
            ]
            if let n = ablate.name { ablateJSON["name"] = .string(n) }
            let cfg: JSONValue = [
                "ablate": .object(ablateJSON), "cells": .array(cellsJSON),
                "evaluate": ["seeds": .number(Double(max(1, base.evaluate.seeds)))],
            ]
            let key = CacheKey.compute(canonicalConfig: cfg.canonical, upstreamKeys: evalKeys)
            ordered.append(Draft(kind: .ablate, config: cfg, inputKeys: evalKeys, key: key, role: "ablate", cell: 0))
        }

        let reportInputs = ordered.filter { [.pretrain, .trainReference, .trainSoft, .trainCLP, .evaluate, .ablate].contains($0.kind) }
            .map(\.key)
        let reportCfg: JSONValue = [
            "name": .string(base.name), "description": .string(base.description),
            "evaluate": ["metrics": .array(base.evaluate.metrics.map { .string($0.rawValue) }),
                         "sample_prompts": .number(Double(base.evaluate.samplePrompts))],
            "cells": .array(cells.map { .string($0.name) }),
        ]
        let reportKey = CacheKey.compute(canonicalConfig: reportCfg.canonical, upstreamKeys: reportInputs)
        ordered.append(Draft(kind: .report, config: reportCfg, inputKeys: reportInputs, key: reportKey, role: "report", cell: 0))

        // Names: for each role, keep only the ablation axes its key depends on.
        // With a cell-name template (`ablate.name`), a step that depends on every ablated setting
        // (one per cell) is labelled with its cell's name: `evaluate[method=clp,cell=attn-nano]`.
        let namedCells = base.ablate?.name != nil && !axes.isEmpty
        var idOfRoleCell: [String: [Int: String]] = [:]
        for (role, g) in groups {
            let kept = relevantAxes(g)
            var byCell: [Int: String] = [:]
            for e in g.entries {
                var labels = g.fixedLabels
                if namedCells && kept.count == axes.count {
                    labels.append("cell=\(cells[e.cell].name)")
                } else {
                    for a in kept { if let v = e.values[a] { labels.append("\(axes[a])=\(v)") } }
                }
                if let sl = g.seedLabel { labels.append(sl) }
                byCell[e.cell] = g.kind.rawValue + (labels.isEmpty ? "" : "[" + labels.joined(separator: ",") + "]") + g.suffix
            }
            idOfRoleCell[role] = byCell
        }
        var idOfKey: [String: String] = [:]
        var usedIds = Set<String>()
        var steps: [PlannedStep] = []
        steps.reserveCapacity(ordered.count)
        for d in ordered {
            var id = idOfRoleCell[d.role]?[d.cell] ?? d.kind.rawValue
            if usedIds.contains(id) { id += "#" + d.key.prefix(12) }
            usedIds.insert(id)
            idOfKey[d.key] = id
            let inputs = d.inputKeys.map { idOfKey[$0]! }
            let executor = cells[d.cell].workflow.executor
            var resources = StepResources.resolve(stepId: id, executor: executor)
            resources.applyCheckpoints(kind: d.kind, config: d.config, workflow: cells[d.cell].workflow)
            steps.append(PlannedStep(id: id, kind: d.kind, config: d.config, inputs: inputs, cacheKey: d.key,
                                     resources: resources))
        }

        var plan = Plan(workflowName: base.name, seed: base.seed, steps: steps)
        plan.models = models()
        return plan
    }

    /// Greedily drops ablation axes whose value does not change the role's cache key (given the
    /// axes kept so far), so shared steps are named without assignments that do not affect them.
    func relevantAxes(_ g: RoleGroup) -> [Int] {
        var kept = Array(axes.indices)
        for a in axes.indices {
            let trial = kept.filter { $0 != a }
            var seen: [[String?]: String] = [:]
            var functional = true
            for e in g.entries {
                let sig = trial.map { e.values[$0] }
                if let k = seen[sig], k != e.key { functional = false; break }
                seen[sig] = e.key
            }
            if functional { kept = trial }
        }
        return kept
    }

    func models() -> [PlannedModel] {
        var out: [PlannedModel] = []
        for c in cells {
            let wf = c.workflow
            let m: PlannedModel?
            if let initPath = wf.model.initFrom {
                m = fingerprints.fs.readJSON(resolve(initPath).appendingPathComponent("config.json"))
                    .flatMap { PlannedModel.from(checkpointConfig: $0, conditioning: wf.conditioning.mechanism) }
            } else {
                m = PlannedModel.from(model: wf.model, conditioning: wf.conditioning.mechanism)
            }
            if let m, !out.contains(m) { out.append(m) }
        }
        return out
    }
}
