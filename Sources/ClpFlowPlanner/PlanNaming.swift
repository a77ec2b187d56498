import ClpFlowCore
import ClpFlowWorkflow
import Foundation

extension PlanBuilder {
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
            let cfg = AblateConfig(
                matrix: ablate.matrix.map { AblateConfig.Axis(path: $0.path, values: $0.values.map(Planner.json)) },
                name: ablate.name,
                cells: cells.map { c in
                    AblateConfig.Cell(name: c.name, assignments: c.assignments.map {
                        AblateConfig.Assignment(path: $0.path, value: Planner.json($0.value))
                    })
                },
                seeds: max(1, base.evaluate.seeds), referencePoint: base.evaluate.referencePoint.declared).json
            let key = CacheKey.compute(canonicalConfig: cfg.canonical, upstreamKeys: evalKeys)
            ordered.append(Draft(kind: .ablate, config: cfg, inputKeys: evalKeys, key: key, role: "ablate", cell: 0))
        }

        let reportInputs = ordered.filter { [.pretrain, .trainReference, .trainSoft, .trainCLP, .evaluate, .ablate].contains($0.kind) }
            .map(\.key)
        let reportCfg = ReportConfig(name: base.name, description: base.description, metrics: base.evaluate.metrics,
                                     samplePrompts: base.evaluate.samplePrompts, cells: cells.map(\.name),
                                     referencePoint: base.evaluate.referencePoint.declared).json
        let reportKey = CacheKey.compute(canonicalConfig: reportCfg.canonical, upstreamKeys: reportInputs)
        ordered.append(Draft(kind: .report, config: reportCfg, inputKeys: reportInputs, key: reportKey, role: "report", cell: 0))

        // Names: for each role, keep only the ablation axes its key depends on.
        // With a cell-name template (`ablate.name`), a step that depends on every ablated setting
        // (one per cell) is labelled with its cell's name: `evaluate[method=clp,cell=attn-nano]`.
        let namedCells = base.ablate?.name != nil && !axes.isEmpty
        var idOfRoleCell: [String: [Int: (id: String, labels: [StepLabel])]] = [:]
        for (role, g) in groups {
            let kept = relevantAxes(g)
            var byCell: [Int: (id: String, labels: [StepLabel])] = [:]
            for e in g.entries {
                var labels = g.fixedLabels
                if namedCells && kept.count == axes.count {
                    labels.append(StepLabel("cell", cells[e.cell].name))
                } else {
                    for a in kept { if let v = e.values[a] { labels.append(StepLabel(axes[a], v)) } }
                }
                if let sl = g.seedLabel { labels.append(sl) }
                let bracket = labels.isEmpty ? "" : "[" + labels.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "]"
                if !g.suffix.isEmpty { labels.append(StepLabel("stage", String(g.suffix.dropFirst()))) }
                byCell[e.cell] = (g.kind.rawValue + bracket + g.suffix, labels)
            }
            idOfRoleCell[role] = byCell
        }
        var idOfKey: [String: String] = [:]
        var usedIds = Set<String>()
        var steps: [PlannedStep] = []
        steps.reserveCapacity(ordered.count)
        for d in ordered {
            let named = idOfRoleCell[d.role]?[d.cell]
            var id = named?.id ?? d.kind.rawValue
            if usedIds.contains(id) { id += "#" + d.key.prefix(12) }
            usedIds.insert(id)
            idOfKey[d.key] = id
            let inputs = d.inputKeys.map { idOfKey[$0]! }
            let executor = cells[d.cell].workflow.executor
            var resources = StepResources.resolve(stepId: id, executor: executor)
            resources.applyCheckpoints(kind: d.kind, config: d.config, workflow: cells[d.cell].workflow)
            steps.append(PlannedStep(id: id, kind: d.kind, config: d.config, inputs: inputs, cacheKey: d.key,
                                     resources: resources, labels: named?.labels ?? []))
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
