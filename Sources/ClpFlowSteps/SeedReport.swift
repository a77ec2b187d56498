import ClpFlowCore
import ClpFlowEngine
import ClpFlowPlanner
import ClpFlowReport
import ClpFlowRunner

/// The report's seed aggregation and J(w) table, built from the evaluations: one place for both,
/// used by the report step, `clp-flow report` (HTML, terminal summary and `--markdown`).
///
/// A method is the set of its evaluations that differ only by the `seed` label (`evaluate.seeds`
/// plans one evaluation per method per seed). Its metrics are averaged over seeds with a bootstrap
/// interval that resamples seeds; differences CLP − baseline and regrets are paired by seed label.
/// With one seed, intervals resample prompts (paired over the same prompts for differences).
/// Every interval is seeded from the workflow seed and the name of what it estimates.
public enum SeedReport {
    public struct Input {
        public var stepId: String
        public var step: PlannedStep?
        public var evaluation: EvaluationArtifact
        /// The report's hypervolume of this evaluation (its hypervolume table row).
        public var hypervolume: Double?
        /// Mean Spearman ρ over the rewards (its steerability row).
        public var meanRho: Double?

        public init(stepId: String, step: PlannedStep?, evaluation: EvaluationArtifact, hypervolume: Double?, meanRho: Double?) {
            self.stepId = stepId; self.step = step; self.evaluation = evaluation
            self.hypervolume = hypervolume; self.meanRho = meanRho
        }
        var seed: String { stepLabels(step)["seed"] ?? "" }
    }

    struct Group {
        var name: String
        var kind: String
        var members: [Int]
        var cells: Set<Int>?
    }

    static let level = Uncertainty.defaultLevel

    /// Whether the plan's CLP policies scalarise linearly (the default when the plan holds no
    /// train-clp step, e.g. a report step's plan restricted to its inputs).
    public static func linearScalarization(_ plan: Plan) -> Bool {
        let clp = plan.steps.first { $0.kind == .trainCLP }.flatMap { try? TrainCLPConfig(step: $0) }
        return (clp?.weights.scalarization ?? .linear) == .linear
    }

    /// The seed summary and the J(w) table of `inputs`. `linear`: the workflow scalarises linearly
    /// (J(w) is not the trained objective under Tchebycheff scalarisation and is then not shown).
    public static func build(_ inputs: [Input], cells: AblationCells?, linear: Bool, seed: UInt64) -> (SeedSummary, ObjectiveTable)? {
        guard let first = inputs.first?.evaluation else { return nil }
        let groups = group(inputs, cells: cells)
        let names = first.rewardNames
        let m = names.count
        let seedCount = Set(inputs.map(\.seed)).count

        // The columns and how each evaluation gives its value.
        var metrics: [(SeedMetric, (Input) -> SeedValue?)] = []
        metrics.append((SeedMetric(name: "hypervolume", kind: "hypervolume"), { x in
            x.hypervolume.map { SeedValue(seed: x.seed, value: $0) }
        }))
        if inputs.contains(where: { $0.meanRho != nil }) {
            metrics.append((SeedMetric(name: "mean ρ", kind: "steerability"), { x in x.meanRho.map { SeedValue(seed: x.seed, value: $0) } }))
        }
        for i in 0..<m {
            metrics.append((SeedMetric(name: "\(names[i]) (grid mean)", kind: "reward"), { x in
                let means = gridMeans(x.evaluation).rewards
                guard i < means.count, means[i].isFinite else { return nil }
                return SeedValue(seed: x.seed, value: means[i],
                                 perPrompt: PerPromptValues.gridRewardMean(x.evaluation.evaluation.points, reward: i))
            }))
        }
        let hasObjective = linear && inputs.contains { GridObjective.mean($0.evaluation) != nil }
        if hasObjective {
            metrics.append((SeedMetric(name: "J(w) (grid mean)", kind: "objective"), { x in
                guard let j = GridObjective.mean(x.evaluation), let o = x.evaluation.objective else { return nil }
                return SeedValue(seed: x.seed, value: j,
                                 perPrompt: PerPromptValues.gridObjective(x.evaluation.evaluation.points, objective: o,
                                                                          reference: x.evaluation.reference))
            }))
        }
        for i in 0..<m where inputs.contains(where: { ($0.evaluation.vertexGains ?? []).contains { $0.rewardIndex == i } }) {
            metrics.append((SeedMetric(name: "\(names[i]) vertex gain", kind: "vertex-gain"), { x in
                guard let g = x.evaluation.vertexGains?.first(where: { $0.rewardIndex == i }) else { return nil }
                return SeedValue(seed: x.seed, value: g.mean, perPrompt: PerPromptValues.vertexGain(x.evaluation.evaluation.points,
                                                                                                   reference: x.evaluation.reference, reward: i),
                                 promptInterval: g.interval)
            }))
        }

        func values(_ g: Group, _ k: Int) -> [SeedValue] { g.members.compactMap { metrics[k].1(inputs[$0]) } }

        var rows: [SeedSummaryRow] = []
        for g in groups {
            let cells = metrics.indices.map { k in
                SeedAggregation.aggregate(values(g, k), seed: SeedAggregation.seed(seed, "\(metrics[k].0.name)|\(g.name)")).map(cell)
            }
            rows.append(SeedSummaryRow(method: g.name, kind: g.kind, seeds: g.members.map { inputs[$0].seed }, values: cells,
                                       forwardPassesPerToken: g.members.first.map { inputs[$0].evaluation.evaluation.forwardPassesPerToken }))
        }
        var differences: [SeedDifferenceRow] = []
        for a in groups where a.kind == EvaluatedMethod.clp.rawValue {
            for b in groups where b.kind != EvaluatedMethod.clp.rawValue && comparable(a, b) {
                let cells = metrics.indices.map { k in
                    SeedAggregation.pairedDifference(values(a, k), values(b, k),
                                                     seed: SeedAggregation.seed(seed, "\(metrics[k].0.name)|\(a.name)|\(b.name)")).map(cell)
                }
                differences.append(SeedDifferenceRow(method: a.name, baseline: b.name, values: cells))
            }
        }
        var perSeed: [PerSeedRow] = []
        for g in groups {
            for k in g.members {
                perSeed.append(PerSeedRow(method: g.name, seed: inputs[k].seed, stepId: inputs[k].stepId,
                                          values: metrics.map { $0.1(inputs[k])?.value }))
            }
        }
        let pct = Int((level * 100).rounded())
        var note: String
        if seedCount > 1 {
            note = "Mean over \(seedCount) seeds with its \(pct) % percentile bootstrap interval over seeds (\(Uncertainty.defaultResamples) resamples of the seeds, seeded from the workflow seed \(seed)). Differences are CLP − baseline per seed, paired by seed, then averaged, with the interval over seeds. With few seeds this interval is too narrow (it cannot reach beyond the seeds' range; for normal data a nominal 95 % interval covers the mean about 75 % of the time with 3 seeds, 83 % with 5, 91 % with 10): read it with the per-seed values."
        } else {
            note = "One seed: intervals are over prompts only (\(pct) % bootstrap of the prompts, differences paired over the same prompts) and say nothing about seed-to-seed variation; hypervolume and mean ρ have no interval here. Set evaluate.seeds to aggregate over seeds."
        }
        if !linear { note += " J(w) is not shown: the workflow uses Tchebycheff scalarisation." }
        let summary = SeedSummary(seedCount: seedCount, metrics: metrics.map(\.0), rows: rows, differences: differences,
                                  perSeed: perSeed, note: note)
        return (summary, objectiveTable(inputs, groups: groups, linear: linear, seedCount: seedCount, seed: seed))
    }

    /// J(w) of every method at every weighting, with the regret to the best method at that w.
    static func objectiveTable(_ inputs: [Input], groups: [Group], linear: Bool, seedCount: Int, seed: UInt64) -> ObjectiveTable {
        let definition = "J(w) = Σᵢ wᵢ r̃ᵢ − α·KL, relative to π_ref, whose J is 0 at every w: r̃ᵢ is reward i standardised by π_ref's mean and standard deviation on the same prompts, α the workflow's kl.alpha (the weighting's α in multi-KL workflows) and KL the policy's KL estimate; J > 0 beats π_ref on the objective RL trains for. Regret = J of the best method at that w (highest mean J) − J of this method; 0 for the best."
        guard linear else {
            return ObjectiveTable(methods: groups.map(\.name), rows: [],
                                  note: "J(w) is not shown: the workflow uses Tchebycheff scalarisation, whose value at the mean rewards is not the objective's mean.")
        }
        struct Key: Hashable { var weights: [Double]; var alpha: Double }
        var keys: [Key] = []
        var seen = Set<Key>()
        for x in inputs { for o in x.evaluation.objective ?? [] where seen.insert(Key(weights: o.weights, alpha: o.alpha)).inserted {
            keys.append(Key(weights: o.weights, alpha: o.alpha))
        } }
        guard !keys.isEmpty else {
            return ObjectiveTable(methods: groups.map(\.name), rows: [],
                                  note: "J(w) is not shown: the evaluations were written before J(w) was recorded; rerun their evaluate steps.")
        }
        let multiKL = inputs.contains { $0.evaluation.evaluation.points.contains { $0.alpha != nil } }
        func values(_ g: Group, _ key: Key) -> [SeedValue] {
            g.members.compactMap { k -> SeedValue? in
                let e = inputs[k].evaluation
                guard let o = e.objective, o.count == e.evaluation.points.count,
                      let j = o.firstIndex(where: { $0.weights == key.weights && $0.alpha == key.alpha }) else { return nil }
                return SeedValue(seed: inputs[k].seed, value: o[j].mean,
                                 perPrompt: TrainedObjective.perPromptGain(e.evaluation.points[j], reference: e.reference, alpha: o[j].alpha),
                                 promptInterval: o[j].interval)
            }
        }
        var rows: [ObjectiveRow] = []
        for key in keys {
            let label = key.weights.map { "\($0)" }.joined(separator: ",") + (multiKL ? " α \(key.alpha)" : "")
            let perGroup = groups.map { values($0, key) }
            let estimates = groups.indices.map { g in
                SeedAggregation.aggregate(perGroup[g], seed: SeedAggregation.seed(seed, "J|\(label)|\(groups[g].name)"))
            }
            let best = estimates.indices.filter { estimates[$0] != nil }.max { a, b in
                (estimates[a]!.mean, -a) < (estimates[b]!.mean, -b)
            }
            var entries: [ObjectiveEntry?] = []
            for g in groups.indices {
                guard let est = estimates[g], let best else { entries.append(nil); continue }
                let regret: EstimateCell
                if g == best {
                    regret = EstimateCell(mean: 0)
                } else if let d = SeedAggregation.pairedDifference(perGroup[best], perGroup[g],
                                                                     seed: SeedAggregation.seed(seed, "regret|\(label)|\(groups[g].name)")) {
                    regret = cell(d)
                } else {
                    regret = EstimateCell(mean: estimates[best]!.mean - est.mean)
                }
                entries.append(ObjectiveEntry(objective: cell(est), regret: regret, best: g == best))
            }
            rows.append(ObjectiveRow(weights: key.weights, alpha: multiKL ? key.alpha : nil, entries: entries))
        }
        let pct = Int((level * 100).rounded())
        let over = seedCount > 1
            ? "Intervals: \(pct) % bootstrap over \(seedCount) seeds; a regret's interval is over the per-seed differences, paired by seed."
            : "Intervals: \(pct) % bootstrap over prompts (one seed: they say nothing about seed-to-seed variation); a regret's interval is over the per-prompt differences, paired over the same prompts."
        return ObjectiveTable(methods: groups.map(\.name), rows: rows, note: definition + " " + over)
    }

    /// Generation speed per method (`clp-flow report --markdown`), read from the run's evaluations:
    /// a clock measurement, so it is not part of report.json, whose numbers depend only on the
    /// workflow and its seed.
    public static func speed(runDir: RunDirectory) throws -> [SpeedRow] {
        let plan = try runDir.readPlan()
        var inputs: [Input] = []
        for step in plan.steps where step.kind == .evaluate && runDir.artifacts.verify(cacheKey: step.cacheKey).isValid {
            let url = try runDir.artifacts.url(for: step.cacheKey).appendingPathComponent(ArtifactFiles.evaluation)
            inputs.append(Input(stepId: step.id, step: step, evaluation: try Files.readJSON(EvaluationArtifact.self, from: url),
                                hypervolume: nil, meanRho: nil))
        }
        let cells = plan.steps.last(where: { $0.kind == .ablate }).flatMap { AblationCells(ablateConfig: $0.config) }
        return group(inputs, cells: cells).map { g in
            let values = g.members.compactMap { k -> SeedValue? in
                let v = inputs[k].evaluation.evaluation.tokensPerSecond
                return v.isFinite && v > 0 ? SeedValue(seed: inputs[k].seed, value: v) : nil
            }
            return SpeedRow(method: g.name, forwardPassesPerToken: inputs[g.members[0]].evaluation.evaluation.forwardPassesPerToken,
                            tokensPerSecond: SeedAggregation.aggregate(values, seed: SeedAggregation.seed(plan.seed, "speed|\(g.name)")).map(cell))
        }
    }

    static func cell(_ e: SeedEstimate) -> EstimateCell {
        EstimateCell(mean: e.mean, lower: e.interval?.lower, upper: e.interval?.upper,
                     over: e.over == .none ? nil : e.over.rawValue, seeds: e.seeds)
    }

    /// The evaluations grouped by method: the same labels but `seed`. Named as in the rest of the
    /// report, without the seed (`clp-attn`, `clp-attn (cell=…)`).
    static func group(_ inputs: [Input], cells: AblationCells?) -> [Group] {
        let extras = inputs.map { stepLabels($0.step).filter { $0.key != "method" && $0.key != "seed" } }
        let multiCell = Set(extras).count > 1
        var groups: [Group] = []
        var index: [String: Int] = [:]
        for (k, x) in inputs.enumerated() {
            var name = x.evaluation.label
            if multiCell {
                if let c = cells, c.named, case let served = c.cells(ofStep: x.step), served.count == 1 {
                    name += " (" + c.label(served[0]) + ")"
                } else if !extras[k].isEmpty {
                    name += " (" + extras[k].sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + ")"
                }
            }
            let key = x.evaluation.method + "\u{1}" + name
            if let g = index[key] {
                groups[g].members.append(k)
            } else {
                index[key] = groups.count
                groups.append(Group(name: name, kind: x.evaluation.method, members: [k],
                                    cells: cells.map { Set($0.cells(ofStep: x.step)) }))
            }
        }
        return groups
    }

    /// In an ablation, a CLP variant is compared with the baselines that serve one of its cells
    /// (a baseline the ablation does not change serves them all).
    static func comparable(_ a: Group, _ b: Group) -> Bool {
        guard let ca = a.cells, let cb = b.cells, !ca.isEmpty, !cb.isEmpty else { return true }
        return !ca.isDisjoint(with: cb)
    }
}
