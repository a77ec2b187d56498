import ClpFlowCore
import Foundation

/// Why a step will run.
public enum RunReason: Sendable, Hashable {
    /// The step id has never run in this run directory.
    case new
    /// The step's own configuration differs from its last run.
    case configChanged([ConfigChange])
    /// Upstream steps whose outputs change (they will run, or ran with another key since).
    case upstreamChanged([String])
    /// The step reads from a different set of upstream steps.
    case inputsChanged(added: [String], removed: [String])
    /// Same cache key as last time, but its artifact is gone.
    case outputMissing
    /// The artifact exists but fails verification.
    case outputCorrupt
    /// Same configuration and inputs but another key: an upstream step was rebuilt since this
    /// step last ran, or the engine format version changed.
    case keyChanged

    public var code: String {
        switch self {
        case .new: return "new"
        case .configChanged: return "config-changed"
        case .upstreamChanged: return "upstream-changed"
        case .inputsChanged: return "inputs-changed"
        case .outputMissing: return "output-missing"
        case .outputCorrupt: return "output-corrupt"
        case .keyChanged: return "key-changed"
        }
    }

    public var message: String {
        switch self {
        case .new: return "new step"
        case .configChanged(let changes):
            return "configuration changed: " + changes.map(\.rendered).joined(separator: "; ")
        case .upstreamChanged(let ids): return "upstream step changed: " + RunReason.list(ids)
        case .inputsChanged(let added, let removed):
            var parts: [String] = []
            if !added.isEmpty { parts.append("added " + RunReason.list(added)) }
            if !removed.isEmpty { parts.append("removed " + RunReason.list(removed)) }
            return "inputs changed: " + parts.joined(separator: "; ")
        case .outputMissing: return "output missing (same cache key as the last run)"
        case .outputCorrupt: return "output corrupt (artifact fails verification)"
        case .keyChanged:
            return "cache key changed with the same configuration and inputs (an upstream step was rebuilt since, or the engine format changed)"
        }
    }

    /// Ids joined by commas, the first `limit` of them and a count of the rest (the JSON form
    /// lists them all).
    static func list(_ ids: [String], limit: Int = 5) -> String {
        ids.count <= limit ? ids.joined(separator: ", ")
            : ids.prefix(limit).joined(separator: ", ") + " and \(ids.count - limit) more"
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = ["reason": .string(code), "message": .string(message)]
        switch self {
        case .configChanged(let changes): o["changes"] = .array(changes.map(\.json))
        case .upstreamChanged(let ids): o["steps"] = .array(ids.map { .string($0) })
        case .inputsChanged(let added, let removed):
            o["added"] = .array(added.map { .string($0) }); o["removed"] = .array(removed.map { .string($0) })
        default: break
        }
        return .object(o)
    }
}

/// A step's status against a run directory.
public struct StepExplanation: Sendable, Hashable {
    public var step: PlannedStep
    /// True when the step's artifact is present (it will be reused, not run).
    public var done: Bool
    /// Empty when done.
    public var reasons: [RunReason]
}

/// The `clp-flow plan` output: every step in dependency order with its status and why.
public enum PlanReport {
    public static func explain(plan: Plan, history: RunHistory?) -> [StepExplanation] {
        let keyById = Dictionary(plan.steps.map { ($0.id, $0.cacheKey) }, uniquingKeysWith: { a, _ in a })
        let byId = plan.stepsById
        var willRun = Set<String>()
        var out: [StepExplanation] = []
        out.reserveCapacity(plan.steps.count)
        for step in plan.steps {
            guard let history else {
                willRun.insert(step.id)
                out.append(StepExplanation(step: step, done: false, reasons: [.new]))
                continue
            }
            let status = history.artifactStatus(cacheKey: step.cacheKey)
            if status == .present {
                out.append(StepExplanation(step: step, done: true, reasons: []))
                continue
            }
            willRun.insert(step.id)
            var reasons: [RunReason] = []
            if status == .corrupt { reasons.append(.outputCorrupt) }
            if let rec = history.lastRecord(stepId: step.id) {
                if rec.cacheKey == step.cacheKey {
                    if status == .missing { reasons.append(.outputMissing) }
                } else {
                    let changes = UserPaths.changes(old: rec.config, new: step.config, step: step, plan: plan, stepsById: byId)
                    if !changes.isEmpty { reasons.append(.configChanged(changes)) }
                    let previousInputs = Set(rec.inputs)
                    if rec.inputs != step.inputs {
                        let currentInputs = Set(step.inputs)
                        let added = step.inputs.filter { !previousInputs.contains($0) }
                        let removed = rec.inputs.filter { !currentInputs.contains($0) }
                        if !added.isEmpty || !removed.isEmpty {
                            reasons.append(.inputsChanged(added: added, removed: removed))
                        }
                    }
                    var recordedKey: [String: String] = [:]
                    if let keys = rec.inputKeys, keys.count == rec.inputs.count {
                        for (id, k) in zip(rec.inputs, keys) { recordedKey[id] = k }
                    }
                    let upstream = step.inputs.filter { input in
                        guard previousInputs.contains(input) else { return false }
                        if let k = recordedKey[input] { return k != keyById[input] }
                        return willRun.contains(input) || history.lastRecord(stepId: input)?.cacheKey != keyById[input]
                    }
                    if !upstream.isEmpty { reasons.append(.upstreamChanged(upstream)) }
                    if reasons.isEmpty || reasons == [.outputCorrupt] { reasons.append(.keyChanged) }
                }
            } else if status != .corrupt {
                reasons.append(.new)
            }
            out.append(StepExplanation(step: step, done: false, reasons: reasons))
        }
        return out
    }

    /// Text (or, with `json`, a JSON document) listing the plan's models and steps with statuses.
    public static func render(plan: Plan, history: RunHistory?, json: Bool) -> String {
        let explanations = explain(plan: plan, history: history)
        let done = explanations.filter(\.done).count
        if json {
            let steps: [JSONValue] = explanations.map { e in
                var o: [String: JSONValue] = [
                    "id": .string(e.step.id), "kind": .string(e.step.kind.rawValue),
                    "cache_key": .string(e.step.cacheKey), "inputs": .array(e.step.inputs.map { .string($0) }),
                    "status": .string(e.done ? "done" : "will-run"), "reasons": .array(e.reasons.map(\.json)),
                    "config": e.step.config,
                ]
                o["resources"] = resourcesJSON(e.step.resources)
                return .object(o)
            }
            let doc: JSONValue = [
                "workflow": .string(plan.workflowName), "seed": .number(Double(plan.seed)),
                "models": .array((plan.models ?? []).map(modelJSON)),
                "summary": ["steps": .number(Double(plan.steps.count)), "done": .number(Double(done)),
                            "will_run": .number(Double(plan.steps.count - done))],
                "steps": .array(steps),
            ]
            return doc.prettyCanonical
        }
        var out = "Plan for workflow '\(plan.workflowName)' (seed \(plan.seed)): \(plan.steps.count) steps, "
            + "\(done) done, \(plan.steps.count - done) will run\n"
        if let models = plan.models, !models.isEmpty {
            out += "Models:\n"
            for m in models {
                out += "  \(m.name): \(m.layers) layers, d_model \(m.dModel), \(m.heads) heads, context \(m.context), "
                    + "vocabulary \(m.vocabulary), \(m.tiedHead ? "tied" : "untied") head: "
                    + "\(grouped(m.parameters)) parameters\n"
            }
        }
        out += "Steps (dependency order):\n"
        let width = min(72, explanations.map(\.step.id.count).max() ?? 0)
        for e in explanations {
            let pad = width - e.step.id.count
            let id = pad > 0 ? e.step.id + String(repeating: " ", count: pad) : e.step.id
            if e.done {
                out += "  done      \(id)  cached \(e.step.cacheKey.prefix(12))\n"
            } else {
                out += "  will run  \(id)  \(e.reasons.map(\.message).joined(separator: "; "))\n"
            }
        }
        return out
    }

    static func grouped(_ n: Int) -> String {
        let s = String(n)
        var out = ""
        for (i, ch) in s.enumerated() {
            if i > 0 && (s.count - i) % 3 == 0 { out += "," }
            out.append(ch)
        }
        return out
    }

    static func modelJSON(_ m: PlannedModel) -> JSONValue {
        ["name": .string(m.name), "layers": .number(Double(m.layers)), "d_model": .number(Double(m.dModel)),
         "heads": .number(Double(m.heads)), "context": .number(Double(m.context)),
         "vocabulary": .number(Double(m.vocabulary)), "tied_head": .bool(m.tiedHead),
         "parameters": .number(Double(m.parameters))]
    }

    static func resourcesJSON(_ r: StepResources) -> JSONValue {
        var o: [String: JSONValue] = ["cpus": .number(Double(r.cpus)), "retries": .number(Double(r.retries))]
        if let v = r.memoryMB { o["memory_mb"] = .number(Double(v)) }
        if let v = r.timeMinutes { o["time_minutes"] = .number(Double(v)) }
        if let v = r.partition { o["partition"] = .string(v) }
        if let v = r.account { o["account"] = .string(v) }
        if let v = r.checkpointEvery { o["checkpoint_every"] = .number(Double(v)) }
        if let v = r.checkpointMinutes { o["checkpoint_minutes"] = .number(v) }
        return .object(o)
    }
}

/// Configuration differences in the terms of the workflow file: `stages.0.steps` (not the
/// step's `stage.steps`), `rewards.1.target`, and file fingerprints as sentences ("reward script
/// keywords.py changed") instead of digests.
public enum UserPaths {
    /// `stepsById`: `plan.stepsById`, when the caller explains many steps of one plan.
    public static func changes(old: JSONValue, new: JSONValue, step: PlannedStep, plan: Plan,
                               stepsById: [String: PlannedStep]? = nil) -> [ConfigChange] {
        func without(_ v: JSONValue) -> JSONValue {
            guard var o = v.objectValue else { return v }
            o["fingerprints"] = nil
            return .object(o)
        }
        var out = ConfigDiff.diff(old: without(old), new: without(new)).map { c in
            ConfigChange(path: userPath(c.path, step: step, plan: plan, stepsById: stepsById), old: c.old, new: c.new)
        }
        out += fingerprintChanges(old: old["fingerprints"], new: new["fingerprints"], config: new)
        return out
    }

    /// Index of a training step's stage: how many steps of its own kind precede it in its chain.
    static func stageIndex(_ step: PlannedStep, plan: Plan, stepsById: [String: PlannedStep]? = nil) -> Int {
        let byId = stepsById ?? plan.stepsById
        var index = 0, current = step
        while let prev = current.inputs.compactMap({ byId[$0] }).first(where: { $0.kind == step.kind }) {
            index += 1; current = prev
        }
        return index
    }

    /// `stage.steps` → `stages.<j>.steps`; `rewards[0].target` → `rewards.<i>.target` (the
    /// reward's index in the workflow for SOFT steps, which train one reward); `[k]` → `.k`.
    static func userPath(_ path: String, step: PlannedStep, plan: Plan, stepsById: [String: PlannedStep]? = nil) -> String {
        var p = path
        if p == "stage" || p.hasPrefix("stage.") {
            p = "stages.\(stageIndex(step, plan: plan, stepsById: stepsById))" + p.dropFirst("stage".count)
            if step.kind == .trainSoft && p.hasSuffix(".steps") { p += " (SOFT share)" }
        }
        if step.kind == .trainSoft, p.hasPrefix("rewards[0]"),
           let name = step.config["rewards"]?.arrayValue?.first?["name"]?.stringValue,
           let all = plan.steps.first(where: { $0.kind == .evaluate || $0.kind == .trainCLP })?.config["rewards"]?.arrayValue,
           let i = all.firstIndex(where: { $0["name"]?.stringValue == name }) {
            p = "rewards[\(i)]" + p.dropFirst("rewards[0]".count)
        }
        if step.kind == .trainSoft && p == "kl.alpha" { p = "kl.alpha (the SOFT policies' α)" }
        var out = ""
        for ch in p {
            switch ch {
            case "[": out += "."
            case "]": break
            default: out.append(ch)
            }
        }
        return out
    }

    static func fingerprintChanges(old: JSONValue?, new: JSONValue?, config: JSONValue) -> [ConfigChange] {
        guard old != new else { return [] }
        var out: [ConfigChange] = []
        func change(_ key: String, _ summary: String) {
            out.append(ConfigChange(path: "fingerprints." + key, old: old?[key], new: new?[key], summary: summary))
        }
        func changed(_ key: String) -> Bool { old?[key] != new?[key] }
        if changed("reward_scripts") {
            let a = old?["reward_scripts"]?.objectValue ?? [:], b = new?["reward_scripts"]?.objectValue ?? [:]
            for reward in Set(a.keys).union(b.keys).sorted() {
                let fa = a[reward]?.objectValue ?? [:], fb = b[reward]?.objectValue ?? [:]
                for file in Set(fa.keys).union(fb.keys).sorted() where fa[file] != fb[file] {
                    let name = (file as NSString).lastPathComponent
                    let what = fa[file] == nil ? "is new" : fb[file] == nil ? "is no longer used" : "changed"
                    out.append(ConfigChange(path: "fingerprints.reward_scripts", old: fa[file], new: fb[file],
                                            summary: "reward script \(name) \(what) (reward \(reward))"))
                }
            }
        }
        if changed("data_file") { change("data_file", "data file \(config["data"]?["path"]?.stringValue ?? "") changed") }
        if changed("corpus_file") { change("corpus_file", "pretraining corpus file \(config["pretrain"]?["path"]?.stringValue ?? "") changed") }
        if changed("init_checkpoint") {
            let a = old?["init_checkpoint"]?.objectValue ?? [:], b = new?["init_checkpoint"]?.objectValue ?? [:]
            let files = Set(a.keys).union(b.keys).sorted().filter { a[$0] != b[$0] }
            change("init_checkpoint", "init checkpoint (model.init) changed" + (files.isEmpty ? "" : ": " + files.joined(separator: ", ")))
        }
        if changed("apt_index") { change("apt_index", "Debian package index (/var/lib/apt/lists) changed") }
        let known: Set<String> = ["reward_scripts", "data_file", "corpus_file", "init_checkpoint", "apt_index"]
        let rest = Set((old?.objectValue ?? [:]).keys).union((new?.objectValue ?? [:]).keys).subtracting(known).sorted()
        for k in rest where changed(k) { change(k, "fingerprint \(k) changed") }
        return out
    }
}
