import ClpFlowCore
import ClpFlowEngine
import ClpFlowPlanner
import ClpFlowReport
import ClpFlowRunner
import ClpFlowWorkflow
import Foundation

/// One row of the ablation comparison (ablation.json): one evaluate step, with the cells it
/// serves (a baseline that does not depend on the ablated settings serves every cell).
public struct AblationRow: Codable, Sendable, Hashable {
    public var stepId: String
    /// Labels of the evaluate step (`method=…`, ablation axes or `cell=…`, `seed=…`), from the plan.
    public var labels: [String: String]
    /// The method kind (`clp`, `rewarded-soups`, …).
    public var method: String
    /// The evaluation's display label (`clp-attn`, …).
    public var label: String?
    /// Names of the ablation cells this evaluation belongs to, in matrix order.
    public var cells: [String]?
    /// Hypervolume against the run-wide reference point (`AblationArtifact.referencePoint`).
    public var hypervolume: Double
    /// Its bootstrap interval over prompts (nil for evaluations without per-prompt values).
    public var hypervolumeInterval: Interval?
    public var meanSpearman: Double?
    /// Mean over the evaluation grid of each reward's mean (raw scores), in reward order.
    public var rewardMeans: [Double]?
    /// Mean over the evaluation grid of the KL estimate.
    public var meanKL: Double?

    /// `meanKl`: written as `mean_kl`, and read from `mean_kl` or (older files) `meanKL` (`ArtifactJSON`).
    enum CodingKeys: String, CodingKey {
        case stepId, labels, method, label, cells, hypervolume, hypervolumeInterval, meanSpearman, rewardMeans
        case meanKL = "meanKl"
    }
}

public struct AblationArtifact: Codable, Sendable {
    public var axes: [String]
    /// Cell names in matrix order (absent in files written before cells were recorded).
    public var cells: [String]?
    /// The point every row's hypervolume is measured against (nil in files written before it was recorded).
    public var referencePoint: HypervolumeReference?
    public var rows: [AblationRow]
}

/// A step's labels as a dictionary, without `stage` (`PlannedStep.labels`).
func stepLabels(_ step: PlannedStep?) -> [String: String] {
    var out: [String: String] = [:]
    for l in step?.labels ?? [] where l.key != "stage" { out[l.key] = l.value }
    return out
}

/// The ablation cells of a plan, read from its ablate step's configuration.
public struct AblationCells: Sendable {
    public struct Cell: Sendable {
        public var name: String
        /// Axis path → value as written in step ids.
        public var values: [String: String]
    }
    public var axes: [String]
    public var cells: [Cell]
    /// Whether the workflow names its cells (`ablate.name`).
    public var named: Bool

    public init?(ablateConfig c: JSONValue) {
        guard let list = c["cells"]?.arrayValue else { return nil }
        axes = (c["ablate"]?["matrix"]?.arrayValue ?? []).compactMap { $0["path"]?.stringValue }
        named = c["ablate"]?["name"]?.stringValue != nil
        cells = list.map { cell in
            var values: [String: String] = [:]
            for a in cell["assignments"]?.arrayValue ?? [] {
                guard let p = a["path"]?.stringValue, let v = a["value"] else { continue }
                values[p] = AblationCells.label(v)
            }
            return Cell(name: cell["name"]?.stringValue ?? "", values: values)
        }
    }

    /// A value as the planner writes it in step ids.
    static func label(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return s
        case .number(let d): return JSONValue.formatNumber(d)
        case .bool(let b): return b ? "true" : "false"
        default: return v.canonical
        }
    }

    /// Indices of the cells an evaluate step serves: the cell it names (`cell=…`), else every cell
    /// whose values agree with its axis labels (a label-free baseline serves them all).
    public func cells(ofStep step: PlannedStep?) -> [Int] {
        let labels = stepLabels(step)
        if let name = labels["cell"], let i = cells.firstIndex(where: { $0.name == name }) { return [i] }
        return cells.indices.filter { i in
            axes.allSatisfy { axis in labels[axis].map { cells[i].values[axis] == $0 } ?? true }
        }
    }

    /// The column label of a cell: its name from `ablate.name`; with one axis and no template,
    /// the value alone; otherwise the default name (`path=value` pairs).
    public func label(_ i: Int) -> String {
        if !named && axes.count == 1, let v = cells[i].values[axes[0]] { return v }
        return cells[i].name
    }
}

/// Grid means of an evaluation: each reward's mean and the KL estimate, averaged over the points.
func gridMeans(_ e: EvaluationArtifact) -> (rewards: [Double], kl: Double?) {
    let pts = e.evaluation.points
    guard !pts.isEmpty else { return ([], nil) }
    let m = e.rewardNames.count
    let rewards = (0..<m).map { i in pts.map { i < $0.rewards.count ? $0.rewards[i].mean : .nan }.reduce(0, +) / Double(pts.count) }
    let kl = pts.map(\.kl.mean).reduce(0, +) / Double(pts.count)
    return (rewards, kl.isFinite ? kl : nil)
}

enum AblateStep {
    static func run(_ ctx: StepContext) throws {
        let cellInfo = AblationCells(ablateConfig: ctx.step.config)
        let axes = cellInfo?.axes ?? (ctx.step.config["ablate"]?["matrix"]?.arrayValue ?? []).compactMap { $0["path"]?.stringValue }
        var rows: [AblationRow] = []
        var evals: [(String, EvaluationArtifact)] = []
        for id in ctx.step.inputs {
            guard let dir = ctx.inputDirs[id] else { continue }
            evals.append((id, try Files.readJSON(EvaluationArtifact.self, from: dir.appendingPathComponent(ArtifactFiles.evaluation))))
        }
        // One reference point for every row (declared, or auto over every evaluation read), the
        // same computation as the report's (`RunHypervolume`).
        let declared = try AblateConfig(step: ctx.step).referencePoint
        let hv = try runHypervolume(evals.map(\.1), declared: declared)
        for (k, (id, e)) in evals.enumerated() {
            let rhos = e.steerability.compactMap(\.rho)
            let means = gridMeans(e)
            rows.append(AblationRow(stepId: id, labels: stepLabels(ctx.plan.step(id)), method: e.method, label: e.label,
                                    cells: cellInfo.map { c in c.cells(ofStep: ctx.plan.step(id)).map { c.cells[$0].name } },
                                    hypervolume: hv.results[k].hypervolume, hypervolumeInterval: hv.results[k].interval,
                                    meanSpearman: rhos.isEmpty ? nil : rhos.reduce(0, +) / Double(rhos.count),
                                    rewardMeans: means.rewards, meanKL: means.kl))
        }
        try Files.writeJSON(AblationArtifact(axes: axes, cells: cellInfo?.cells.map(\.name), referencePoint: hv.reference, rows: rows),
                            to: ctx.workDir.appendingPathComponent(ArtifactFiles.ablation))
        ctx.events.progress(step: 1, total: 1)
    }
}

/// The run-wide hypervolume of evaluations (`RunHypervolume`): the ablate step and the report
/// call this with the evaluations they read, so their figures agree.
func runHypervolume(_ evaluations: [EvaluationArtifact], declared: [Double]?) throws
    -> (reference: HypervolumeReference, multiKL: Bool, results: [RunHypervolume.Result]) {
    guard let names = evaluations.first?.rewardNames else {
        return (HypervolumeReference(point: declared ?? [], rule: declared == nil ? .auto : .declared, scope: .run, objectives: []), false, [])
    }
    do {
        return try RunHypervolume.compute(evaluations.map { .init(points: $0.evaluation.points, reference: $0.reference, seed: $0.seed) },
                                          declared: declared, rewardNames: names)
    } catch let e as ReferencePointError { throw StepError.failed(e.description) }
}

/// The run-wide hypervolume of every completed evaluation of a run, by evaluate step id: what the
/// report shows, for readers of a run other than the report (`clp-flow serve`). nil without a
/// completed evaluation.
public enum RunHypervolumeFigures {
    public static func compute(plan: Plan, runDir: RunDirectory) throws
        -> (reference: HypervolumeReference, byStep: [String: RunHypervolume.Result])? {
        var ids: [String] = [], evaluations: [EvaluationArtifact] = []
        for step in plan.steps where step.kind == .evaluate && runDir.artifacts.verify(cacheKey: step.cacheKey).isValid {
            let dir = try runDir.artifacts.url(for: step.cacheKey)
            ids.append(step.id)
            evaluations.append(try Files.readJSON(EvaluationArtifact.self, from: dir.appendingPathComponent(ArtifactFiles.evaluation)))
        }
        guard !evaluations.isEmpty else { return nil }
        let declared = plan.steps.last { $0.kind == .report }.flatMap { try? ReportConfig(step: $0) }?.referencePoint
            ?? plan.steps.first { $0.kind == .evaluate }.flatMap { try? EvaluateConfig(step: $0) }?.evaluate.referencePoint.declared
        let hv = try runHypervolume(evaluations, declared: declared)
        return (hv.reference, Dictionary(uniqueKeysWithValues: zip(ids, hv.results)))
    }
}

/// J(w) of an evaluation averaged over its grid: the mean of the evaluate step's `objective`
/// (`TrainedObjective`, the one definition: relative to π_ref, rewards standardised by π_ref on the
/// same prompts). nil for evaluations written before it was recorded.
enum GridObjective {
    static func mean(_ e: EvaluationArtifact) -> Double? {
        guard let o = e.objective, !o.isEmpty else { return nil }
        let v = o.reduce(0) { $0 + $1.mean } / Double(o.count)
        return v.isFinite ? v : nil
    }
}

/// Builds the report's data from a run's artifacts.
public enum ReportBuilder {
    /// `metrics`: what `evaluate.metrics` asks the report to show; nil takes it from the plan's
    /// report step (every metric when there is none).
    public static func build(plan: Plan, runDir: RunDirectory, name: String, description: String,
                             stepRecords: [ClpFlowReport.StepSummary] = [], status: String = "completed",
                             metrics: [String]? = nil) throws -> ReportData {
        let metrics = metrics ?? plan.steps.first { $0.kind == .report }.flatMap(requestedMetrics)
        // How many prompts' samples the report shows (`evaluate.sample_prompts`; evaluations
        // record every prompt). Plans written before it was part of the report step show all.
        let samplePrompts = plan.steps.last { $0.kind == .report }?.config["evaluate"]?["sample_prompts"]?.doubleValue.map { Int($0) }
        var evaluations: [(id: String, e: EvaluationArtifact)] = []
        var curves: [TrainingCurve] = []
        let store = runDir.artifacts
        for step in plan.steps {
            guard store.verify(cacheKey: step.cacheKey).isValid else { continue }
            let dir = try store.url(for: step.cacheKey)
            switch step.kind {
            case .evaluate:
                evaluations.append((step.id, try Files.readJSON(EvaluationArtifact.self, from: dir.appendingPathComponent(ArtifactFiles.evaluation))))
            case .trainCLP, .trainSoft:
                let c = try Files.readJSON([TrainPolicyStep.Curve].self, from: dir.appendingPathComponent(ArtifactFiles.curve))
                var pts: [CurvePoint] = []
                for r in c { for (k, v) in r.metrics.sorted(by: { $0.key < $1.key }) where k.hasPrefix("reward/") || k == "kl" || k == "loss" {
                    pts.append(CurvePoint(step: r.step, name: k, value: v))
                } }
                curves.append(TrainingCurve(method: step.id, points: pts))
            case .pretrain:
                let c = try Files.readJSON([PretrainStep.Curve].self, from: dir.appendingPathComponent(ArtifactFiles.curve))
                var pts: [CurvePoint] = []
                for r in c { for (k, v) in r.metrics.sorted(by: { $0.key < $1.key }) where k == "loss" || k == "valid_loss" || k == "valid_perplexity" {
                    pts.append(CurvePoint(step: r.step, name: k, value: v))
                } }
                curves.append(TrainingCurve(method: step.id, points: pts))
            default: break
            }
        }
        guard let first = evaluations.first?.e else {
            throw StepError.missingInput("no completed evaluation in \(runDir.root.path): nothing to report")
        }
        let names = first.rewardNames
        let stepsById = plan.stepsById
        let multiCell = Set(evaluations.map { stepLabels(stepsById[$0.id]).filter { $0.key != "method" } }).count > 1
        let cellInfo = plan.steps.last(where: { $0.kind == .ablate }).flatMap { AblationCells(ablateConfig: $0.config) }
        func displayName(_ x: (id: String, e: EvaluationArtifact)) -> String {
            guard multiCell else { return x.e.label }
            // A step of one cell is named by the cell's label (its `ablate.name`).
            if let c = cellInfo, c.named, let only = Optional(c.cells(ofStep: stepsById[x.id])), only.count == 1 {
                let seed = stepLabels(stepsById[x.id])["seed"].map { ", seed=" + $0 } ?? ""
                return x.e.label + " (" + c.label(only[0]) + seed + ")"
            }
            let extra = stepLabels(stepsById[x.id]).filter { $0.key != "method" }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            return extra.isEmpty ? x.e.label : x.e.label + " (" + extra.joined(separator: ", ") + ")"
        }
        var methods: [MethodResult] = []
        var hvRows: [HypervolumeRow] = []
        var steer: [SteerabilityRow] = []
        let refPoint = first.reference.rewards.map(\.mean)
        // One reference point for every row: declared, or auto over every evaluation read.
        let declared = plan.steps.last { $0.kind == .report }.flatMap { try? ReportConfig(step: $0) }?.referencePoint
        let runHV = try runHypervolume(evaluations.map(\.e), declared: declared)
        let multiKL = runHV.multiKL
        let allPoints = evaluations.map { Objectives.vectors($0.e.evaluation.points, multiKL: multiKL) }
        for (k, x) in evaluations.enumerated() {
            let label = displayName(x)
            let pts = x.e.evaluation.points
            methods.append(MethodResult(name: label, kind: x.e.method, points: pts.map {
                WeightingPoint(weights: $0.weights, alpha: $0.alpha, rewardMeans: $0.rewards.map(\.mean),
                               rewardStandardErrors: $0.rewards.map(\.se), kl: $0.kl.mean, klStandardError: $0.kl.se,
                               length: $0.length.mean)
            }, vertexGains: x.e.vertexGains.map { gains in
                gains.map { VertexGainRow(reward: x.e.rewardNames[$0.rewardIndex], mean: $0.mean,
                                          lower: $0.interval?.lower, upper: $0.interval?.upper) }
            }))
            let others = allPoints.enumerated().filter { $0.offset != k }.flatMap(\.element)
            let mine = allPoints[k]
            hvRows.append(HypervolumeRow(method: label, hypervolume: runHV.results[k].hypervolume,
                                         dominatedShare: others.isEmpty ? nil : ParetoMetrics.dominatedShare(mine, by: others),
                                         frontSize: ParetoMetrics.nonDominatedIndices(mine).count,
                                         lower: runHV.results[k].interval?.lower, upper: runHV.results[k].interval?.upper))
            if !x.e.steerability.isEmpty {
                steer.append(steerabilityRow(label: label, x.e))
            }
        }
        var groups: [String: SampleGroup] = [:]
        var order: [String] = []
        let testById: [String: SummaryExample] = (try? DatasetSplits.load(from: preparedDataDir(plan: plan, runDir: runDir)))
            .map { Dictionary(($0.test + $0.valid).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }) } ?? [:]
        // The group's input is the one most of its generations read (the document and the
        // separator); a generation whose model read something else (prompt conditioning writes
        // the weighting first) shows its own.
        var inputCounts: [String: [String: Int]] = [:]
        for x in evaluations {
            for s in x.e.evaluation.samples { if let i = s.input { inputCounts[s.exampleId, default: [:]][i, default: 0] += 1 } }
        }
        for x in evaluations {
            for s in x.e.evaluation.samples {
                let common = inputCounts[s.exampleId].flatMap { c in c.max { a, b in (a.value, b.key) < (b.value, a.key) }?.key } ?? ""
                if groups[s.exampleId] == nil {
                    let ex = testById[s.exampleId]
                    groups[s.exampleId] = SampleGroup(id: s.exampleId, prompt: common, document: ex?.document ?? "",
                                                      referenceText: ex?.summary, generations: [])
                    order.append(s.exampleId)
                }
                groups[s.exampleId]!.generations.append(Generation(method: displayName(x), weights: s.weights, alpha: s.alpha, text: s.text,
                                                                   input: s.input == common ? nil : s.input))
            }
        }
        // The ablation cell by cell: one row per method kind, one column per cell, computed from
        // the evaluations (the cells come from the ablate step's configuration).
        var ablationView: AblationView? = nil
        if let ablateStep = plan.steps.last(where: { $0.kind == .ablate }), let cellInfo = AblationCells(ablateConfig: ablateStep.config),
           !cellInfo.cells.isEmpty {
            let clp = plan.steps.first { $0.kind == .trainCLP }.flatMap { try? TrainCLPConfig(step: $0) }
            let linear = (clp?.weights.scalarization ?? .linear) == .linear
            var methodKinds: [String] = []
            for x in evaluations where !methodKinds.contains(x.e.method) { methodKinds.append(x.e.method) }
            var missingNormalization = false
            var rows: [AblationViewRow] = []
            for kind in methodKinds {
                var entries: [AblationViewEntry?] = []
                for cell in cellInfo.cells.indices {
                    // Every evaluation of this method in this cell (several with evaluate.seeds > 1: averaged).
                    let mine = evaluations.enumerated().filter { $0.element.e.method == kind && cellInfo.cells(ofStep: stepsById[$0.element.id]).contains(cell) }
                    guard !mine.isEmpty else { entries.append(nil); continue }
                    func avg(_ xs: [Double?]) -> Double? {
                        let f = xs.compactMap { $0 }.filter(\.isFinite)
                        return f.count == xs.count && !f.isEmpty ? f.reduce(0, +) / Double(f.count) : nil
                    }
                    let means = mine.map { gridMeans($0.element.e) }
                    let m = names.count
                    let rewardMeans = (0..<m).map { i in avg(means.map { i < $0.rewards.count ? $0.rewards[i] : nil }) ?? .nan }
                    var objectives: [Double?] = []
                    for x in mine {
                        guard linear else { objectives.append(nil); continue }
                        let j = GridObjective.mean(x.element.e)
                        if j == nil { missingNormalization = true }
                        objectives.append(j)
                    }
                    entries.append(AblationViewEntry(stepId: mine.map(\.element.id).joined(separator: " + "),
                                                     hypervolume: avg(mine.map { hvRows[$0.offset].hypervolume }),
                                                     meanRho: avg(mine.map { steerRow(label: displayName($0.element), steer)?.meanRho }),
                                                     objective: avg(objectives), rewardMeans: rewardMeans,
                                                     kl: avg(means.map(\.kl))))
                }
                rows.append(AblationViewRow(method: kind, entries: entries))
            }
            var note = "J(w) = Σ wᵢ r̃ᵢ − α·KL at each weighting of the evaluation grid, averaged over the grid; r̃ᵢ is reward i standardised as in training (mean and deviation frozen from π_ref samples, normalization.json of the training step), KL the evaluation's estimate."
            if !linear { note = "J(w) is not shown: the workflow uses Tchebycheff scalarisation, whose value at the mean rewards is not the objective's mean." }
            else if missingNormalization { note += " Where J(w) shows –, the evaluation was written before J(w) was recorded; rerun its evaluate step." }
            ablationView = AblationView(axes: cellInfo.axes,
                                        cells: cellInfo.cells.indices.map { i in
                                            AblationViewCell(name: cellInfo.label(i), values: cellInfo.axes.map { cellInfo.cells[i].values[$0] })
                                        },
                                        rows: rows, objectiveNote: note)
        }
        // Seeds aggregated and J(w) per weighting (SeedReport), seeded from the workflow seed.
        let seedTables = SeedReport.build(evaluations.enumerated().map { k, x in
            SeedReport.Input(stepId: x.id, step: stepsById[x.id], evaluation: x.e, hypervolume: hvRows[k].hypervolume,
                             meanRho: steerRow(label: displayName(x), steer)?.meanRho)
        }, cells: cellInfo, linear: SeedReport.linearScalarization(plan), seed: plan.seed)
        let meta = RunMetadata(workflowName: name, seed: plan.seed, toolVersion: ClpFlowVersion.tool,
                               engineFormat: ClpFlowVersion.engineFormat, status: status, steps: stepRecords,
                               extra: [KeyValue("description", description),
                                       KeyValue("evaluation prompts", String(first.evaluation.prompts))])
        return ReportData(metadata: meta, rewardNames: names, methods: methods,
                          reference: ReferencePoint(label: "π_ref (reference policy)", rewardMeans: refPoint,
                                                    rewardStandardErrors: first.reference.rewards.map(\.se), length: first.reference.length.mean),
                          hypervolume: HypervolumeTable(referencePoint: runHV.reference.point, referenceLabel: runHV.reference.summary,
                                                        rows: hvRows, rule: runHV.reference.rule.rawValue,
                                                        objectives: runHV.reference.objectives),
                          steerability: steer, trainingCurves: curves, ablation: nil,
                          samples: Array(order.prefix(samplePrompts ?? order.count)).compactMap { groups[$0] }, metrics: metrics,
                          trivialBaselines: (first.lead ?? []).map {
                              ReferencePoint(label: "Lead-\($0.k)", rewardMeans: $0.rewards.map(\.mean),
                                             rewardStandardErrors: $0.rewards.map(\.se))
                          }, ablationView: ablationView, seedSummary: seedTables?.0, objectiveTable: seedTables?.1)
    }

    static func steerRow(label: String, _ rows: [SteerabilityRow]) -> SteerabilityRow? { rows.first { $0.method == label } }

    /// An evaluation's steerability with ρ's interval, permutation p-value and noise spread.
    static func steerabilityRow(label: String, _ e: EvaluationArtifact) -> SteerabilityRow {
        SteerabilityRow(method: label, rewards: e.steerability.map { s in
            let u = e.steerabilityUncertainty?.first { $0.rewardIndex == s.rewardIndex }
            return SteerabilityEntry(rho: s.rho, spread: s.spread, rhoLower: u?.rhoInterval?.lower, rhoUpper: u?.rhoInterval?.upper,
                                     permutationP: u?.permutationP, noiseSpread: u?.noiseSpread)
        })
    }

    /// `evaluate.metrics` of a report step's configuration.
    static func requestedMetrics(_ step: PlannedStep) -> [String]? {
        step.config["evaluate"]?["metrics"]?.arrayValue?.compactMap(\.stringValue)
    }

    static func preparedDataDir(plan: Plan, runDir: RunDirectory) throws -> URL {
        guard let s = plan.steps.first(where: { $0.kind == .prepareData }) else { throw StepError.missingInput("no prepare-data step") }
        return try runDir.artifacts.url(for: s.cacheKey).appendingPathComponent(ArtifactFiles.dataDir)
    }
}

enum ReportStep {
    static func run(_ ctx: StepContext) throws {
        let cfg = try ReportConfig(step: ctx.step)
        // Only this step's inputs are read: restrict the plan to them.
        var sub = ctx.plan
        sub.steps = ctx.plan.steps.filter { ctx.step.inputs.contains($0.id) || $0.kind == .prepareData || $0.id == ctx.step.id }
        let data = try ReportBuilder.build(plan: sub, runDir: ctx.runDirectory, name: cfg.name, description: cfg.description,
                                           metrics: cfg.metrics.map(\.rawValue))
        try Files.writeJSON(data, to: ctx.workDir.appendingPathComponent(ArtifactFiles.reportData))
        try ReportRenderer.html(data).write(to: ctx.workDir.appendingPathComponent(ArtifactFiles.report), atomically: true, encoding: .utf8)
        ctx.events.progress(step: 1, total: 1)
    }
}
