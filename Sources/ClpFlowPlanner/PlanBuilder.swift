import ClpFlowCore
import ClpFlowWorkflow
import Foundation

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
        var fixedLabels: [StepLabel]
        var seedLabel: StepLabel?
        /// `/stage` of a workflow with several stages, else "".
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
    var scriptCache: [RewardSpec: JSONValue?] = [:]
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

    func scripts(_ r: RewardSpec) -> JSONValue? {
        if let f = scriptCache[r] { return f }
        let f = scriptFingerprint(r)
        scriptCache[r] = f
        return f
    }

    /// `{"reward_scripts": {name: digests}}` of the rewards that run scripts, nil when none does.
    func scriptFingerprints(_ rewards: [RewardSpec]) -> JSONValue? {
        var out: [String: JSONValue] = [:]
        for r in rewards { if let f = scripts(r) { out[r.name] = f } }
        return out.isEmpty ? nil : ["reward_scripts": .object(out)]
    }

    /// Adds (or finds) the step for `role` in `cell`; returns its cache key.
    @discardableResult
    func add(role: String, kind: StepKind, config sections: [String: Canon], inputs: [String], cell: Int,
             fixedLabels: [StepLabel] = [], seedLabel: StepLabel? = nil, suffix: String = "",
             droppedAxis: String? = nil) -> String {
        let canon = Canon.object(sections)
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
        let s = sectionValues

        // prepare-data: only the data fields it reads.
        var dataPrint: JSONValue? = nil
        switch wf.data.source {
        case .jsonl:
            if let p = wf.data.path { dataPrint = ["data_file": fingerprints.file(resolve(p))] }
        case .debianDescriptions:
            dataPrint = ["apt_index": fingerprints.aptIndex()]
        case .synthetic:
            break
        }
        let prep = PrepareDataConfig(data: wf.data, seed: wf.seed, fingerprints: dataPrint)
        let prepKey = add(role: "prepare-data", kind: .prepareData, config: try prep.sections(s), inputs: [], cell: c)

        // train-tokenizer (BPE without an init checkpoint, which brings its own tokenizer)
        var shared = [prepKey]
        if wf.model.initFrom == nil && wf.model.tokenizer.kind == .bpe {
            let tok = add(role: "train-tokenizer", kind: .trainTokenizer,
                          config: try TrainTokenizerConfig(tokenizer: wf.model.tokenizer).sections(s), inputs: [prepKey], cell: c)
            shared.append(tok)
        }

        let initFingerprint: JSONValue? = wf.model.initFrom.map {
            ["init_checkpoint": fingerprints.directory(resolve($0))]
        }

        // pretrain: causal language modelling before π_ref's fine-tuning; π_ref starts from it.
        if let spec = wf.pretrain {
            var prints: [String: JSONValue] = initFingerprint?.objectValue ?? [:]
            if spec.corpus == .jsonl, let p = spec.path { prints["corpus_file"] = fingerprints.file(resolve(p)) }
            let pre = PretrainConfig(data: wf.data, model: wf.model, pretrain: spec, seed: wf.seed,
                                     fingerprints: prints.isEmpty ? nil : .object(prints))
            let preKey = add(role: "pretrain", kind: .pretrain, config: try pre.sections(s), inputs: shared, cell: c)
            shared.append(preKey)
        }

        // train-reference
        let ref = TrainReferenceConfig(data: wf.data, model: wf.model, reference: wf.reference, seed: wf.seed,
                                       fingerprints: initFingerprint)
        let refKey = add(role: "train-reference", kind: .trainReference, config: try ref.sections(s), inputs: shared, cell: c)
        shared.append(refKey)

        let replicas = max(1, wf.evaluate.seeds)
        let methods = [EvaluatedMethod.clp] + wf.baselines.map(EvaluatedMethod.init)
        let needsSoft = methods.contains { $0.usesSoftPolicies }
        let allScripts = scriptFingerprints(wf.rewards)
        var promptConditioning = ConditioningSpec()
        promptConditioning.mechanism = .prompt
        let m = wf.rewards.count
        let softStages = wf.stages.map { st in
            var soft = st
            soft.steps = Planner.softSteps(stageSteps: st.steps, rewards: m, budget: wf.softBudget)
            return soft
        }
        let stageSuffixes = Self.stageSuffixes(wf.stages.map(\.name))

        for k in 0..<replicas {
            let replicaSeed = Planner.replicaSeed(workflowSeed: wf.seed, replica: k)
            let seedLabel = replicas > 1 ? StepLabel("seed", "\(k)") : nil

            // train-soft: one chain of stages per reward.
            var softFinal: [String] = []
            if needsSoft {
                for (i, r) in wf.rewards.enumerated() {
                    var prev: String? = wf.stages.isEmpty ? refKey : nil
                    for j in wf.stages.indices {
                        let cfg = TrainSoftConfig(data: wf.data, model: wf.model, reward: r, alpha: wf.kl.softAlpha,
                                                  stage: softStages[j], seed: replicaSeed, fingerprints: scriptFingerprints([r]))
                        prev = add(role: "train-soft|\(i)|\(k)|\(j)", kind: .trainSoft, config: try cfg.sections(s),
                                   inputs: shared + (prev.map { [$0] } ?? []), cell: c,
                                   fixedLabels: [StepLabel("reward", r.name)], seedLabel: seedLabel, suffix: stageSuffixes[j])
                    }
                    if let prev { softFinal.append(prev) }
                }
            }

            // train-clp: the cell's own mechanism, plus the prompt baseline's multi-task model.
            func clpChain(conditioning: ConditioningSpec, role: String, fixed: [StepLabel], dropped: String?) throws -> String {
                // Without RL stages the policy evaluated is the reference itself.
                var prev: String? = wf.stages.isEmpty ? refKey : nil
                for j in wf.stages.indices {
                    let cfg = TrainCLPConfig(data: wf.data, model: wf.model, rewards: wf.rewards, kl: wf.kl,
                                             conditioning: conditioning, weights: wf.weights, stage: wf.stages[j],
                                             seed: replicaSeed, fingerprints: allScripts)
                    prev = add(role: "\(role)|\(k)|\(j)", kind: .trainCLP, config: try cfg.sections(s),
                               inputs: shared + (prev.map { [$0] } ?? []), cell: c, fixedLabels: fixed,
                               seedLabel: seedLabel, suffix: stageSuffixes[j], droppedAxis: dropped)
                }
                return prev!
            }
            let clpFinal = try clpChain(conditioning: wf.conditioning, role: "train-clp", fixed: [], dropped: nil)
            var promptFinal: String? = nil
            if wf.baselines.contains(.prompt) {
                promptFinal = try clpChain(conditioning: promptConditioning, role: "train-clp-prompt",
                                           fixed: [StepLabel("conditioning.mechanism", "prompt")], dropped: "conditioning.mechanism")
            }

            // evaluate: the CLP policy and every baseline, each once.
            var seen = Set<EvaluatedMethod>()
            for method in methods where seen.insert(method).inserted {
                let conditioning: ConditioningSpec?, policies: [String], dropped: String?
                switch method {
                case .clp: (conditioning, policies, dropped) = (wf.conditioning, [clpFinal], nil)
                case .prompt: (conditioning, policies, dropped) = (promptConditioning, [promptFinal!], "conditioning.mechanism")
                case .soft, .rewardedSoups, .logitMixing, .dera: (conditioning, policies, dropped) = (nil, softFinal, nil)
                }
                let cfg = EvaluateConfig(method: method, evaluate: wf.evaluate, grid: wf.weights.eval, kl: wf.kl,
                                         rewards: wf.rewards, data: wf.data, conditioning: conditioning, seed: replicaSeed,
                                         fingerprints: allScripts)
                let key = add(role: "evaluate|\(method.rawValue)|\(k)", kind: .evaluate, config: try cfg.sections(s),
                              inputs: shared + policies, cell: c, fixedLabels: [StepLabel("method", method.rawValue)],
                              seedLabel: seedLabel, droppedAxis: dropped)
                evaluateKeys.append(key)
            }
        }
    }

    /// Step-id suffixes of a workflow's stages: none for one stage, `/name` otherwise, with the
    /// stage's 1-based position appended to names used more than once.
    static func stageSuffixes(_ names: [String]) -> [String] {
        names.count <= 1 ? [""] : names.enumerated().map { j, n in
            names.filter { $0 == n }.count > 1 ? "/\(n)\(j + 1)" : "/\(n)"
        }
    }
}
