import ClpFlowCore
import ClpFlowEngine
import ClpFlowPlanner
import ClpFlowReport
import ClpFlowRunner
import ClpFlowWorkflow
import Foundation

/// One row of the ablation comparison (ablation.json).
public struct AblationRow: Codable, Sendable, Hashable {
    public var stepId: String
    /// Labels of the evaluate step (`method=…`, ablation axes, `seed=…`), parsed from its id.
    public var labels: [String: String]
    public var method: String
    public var hypervolume: Double
    public var meanSpearman: Double?
}

public struct AblationArtifact: Codable, Sendable {
    public var axes: [String]
    public var rows: [AblationRow]
}

/// Labels `k=v` inside the brackets of a step id.
func stepLabels(_ id: String) -> [String: String] {
    guard let open = id.firstIndex(of: "["), let close = id.lastIndex(of: "]"), open < close else { return [:] }
    var out: [String: String] = [:]
    for part in id[id.index(after: open)..<close].split(separator: ",") {
        let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
        if kv.count == 2 { out[kv[0]] = kv[1] }
    }
    return out
}

enum AblateStep {
    static func run(_ ctx: StepContext) throws {
        let axes = (ctx.step.config["ablate"]?["matrix"]?.arrayValue ?? []).compactMap { $0["path"]?.stringValue }
        var rows: [AblationRow] = []
        var evals: [(String, EvaluationArtifact)] = []
        for id in ctx.step.inputs {
            guard let dir = ctx.inputDirs[id] else { continue }
            evals.append((id, try Files.readJSON(EvaluationArtifact.self, from: dir.appendingPathComponent(ArtifactFiles.evaluation))))
        }
        // One KL bound for every row in multi-KL workflows, so hypervolumes are comparable.
        let multiKL = evals.contains { $0.1.evaluation.points.contains { $0.alpha != nil } }
        let bound = Objectives.klBound(evals.map(\.1.evaluation.points))
        for (id, e) in evals {
            let rhos = e.steerability.compactMap(\.rho)
            let hv = Objectives.hypervolume(e.evaluation.points, reference: e.reference, multiKL: multiKL, klBound: bound)
            rows.append(AblationRow(stepId: id, labels: stepLabels(id), method: e.label, hypervolume: hv,
                                    meanSpearman: rhos.isEmpty ? nil : rhos.reduce(0, +) / Double(rhos.count)))
        }
        try Files.writeJSON(AblationArtifact(axes: axes, rows: rows), to: ctx.workDir.appendingPathComponent(ArtifactFiles.ablation))
        ctx.events.progress(step: 1, total: 1)
    }
}

/// Builds the report's data from a run's artifacts.
public enum ReportBuilder {
    /// `metrics`: what `evaluate.metrics` asks the report to show; nil takes it from the plan's
    /// report step (every metric when there is none).
    public static func build(plan: Plan, runDir: RunDirectory, name: String, description: String,
                             stepRecords: [ClpFlowReport.StepRecord] = [], status: String = "completed",
                             metrics: [String]? = nil) throws -> ReportData {
        let metrics = metrics ?? plan.steps.first { $0.kind == .report }.flatMap(requestedMetrics)
        var evaluations: [(id: String, e: EvaluationArtifact)] = []
        var curves: [TrainingCurve] = []
        var ablation: AblationArtifact? = nil
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
            case .ablate:
                ablation = try Files.readJSON(AblationArtifact.self, from: dir.appendingPathComponent(ArtifactFiles.ablation))
            default: break
            }
        }
        guard let first = evaluations.first?.e else {
            throw StepError.missingInput("no completed evaluation in \(runDir.root.path): nothing to report")
        }
        let names = first.rewardNames
        let multiCell = Set(evaluations.map { stepLabels($0.id).filter { $0.key != "method" } }).count > 1
        func displayName(_ x: (id: String, e: EvaluationArtifact)) -> String {
            guard multiCell else { return x.e.label }
            let extra = stepLabels(x.id).filter { $0.key != "method" }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            return extra.isEmpty ? x.e.label : x.e.label + " (" + extra.joined(separator: ", ") + ")"
        }
        var methods: [MethodResult] = []
        var hvRows: [HypervolumeRow] = []
        var steer: [SteerabilityRow] = []
        let refPoint = first.reference.rewards.map(\.mean)
        let multiKL = evaluations.contains { $0.e.evaluation.points.contains { $0.alpha != nil } }
        let klBound = Objectives.klBound(evaluations.map(\.e.evaluation.points))
        let refVector = Objectives.referenceVector(first.reference, multiKL: multiKL, klBound: klBound)
        let allPoints = evaluations.map { Objectives.vectors($0.e.evaluation.points, multiKL: multiKL) }
        for (k, x) in evaluations.enumerated() {
            let label = displayName(x)
            let pts = x.e.evaluation.points
            methods.append(MethodResult(name: label, kind: x.e.method, points: pts.map {
                WeightingPoint(weights: $0.weights, alpha: $0.alpha, rewardMeans: $0.rewards.map(\.mean),
                               rewardStandardErrors: $0.rewards.map(\.se), kl: $0.kl.mean, klStandardError: $0.kl.se,
                               length: $0.length.mean)
            }))
            let others = allPoints.enumerated().filter { $0.offset != k }.flatMap(\.element)
            let mine = allPoints[k]
            hvRows.append(HypervolumeRow(method: label, hypervolume: ParetoMetrics.hypervolume(mine, reference: refVector),
                                         dominatedShare: others.isEmpty ? nil : ParetoMetrics.dominatedShare(mine, by: others),
                                         frontSize: ParetoMetrics.nonDominatedIndices(mine).count))
            if !x.e.steerability.isEmpty {
                steer.append(SteerabilityRow(method: label, rewards: x.e.steerability.map { SteerabilityEntry(rho: $0.rho, spread: $0.spread) }))
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
        var ablationMatrix: AblationMatrix? = nil
        if let a = ablation {
            let params = ["method"] + a.axes
            ablationMatrix = AblationMatrix(title: "Ablation: hypervolume per cell", scoreName: "hypervolume", parameterNames: params,
                                            cells: a.rows.map { r in
                                                AblationCell(parameters: [r.method] + a.axes.map { r.labels[$0] ?? "—" }, score: r.hypervolume)
                                            })
        }
        let meta = RunMetadata(workflowName: name, seed: plan.seed, toolVersion: ClpFlowVersion.tool,
                               engineFormat: ClpFlowVersion.engineFormat, status: status, steps: stepRecords,
                               extra: [KeyValue("description", description),
                                       KeyValue("evaluation prompts", String(first.evaluation.prompts))])
        return ReportData(metadata: meta, rewardNames: names, methods: methods,
                          reference: ReferencePoint(label: "π_ref (reference policy)", rewardMeans: refPoint,
                                                    rewardStandardErrors: first.reference.rewards.map(\.se), length: first.reference.length.mean),
                          hypervolume: HypervolumeTable(referencePoint: refPoint,
                                                        referenceLabel: multiKL ? "π_ref rewards and −KL bound \(String(format: "%.3g", klBound)) (objectives: rewards and −KL)" : "π_ref",
                                                        rows: hvRows),
                          steerability: steer, trainingCurves: curves, ablation: ablationMatrix,
                          samples: order.compactMap { groups[$0] }, metrics: metrics,
                          trivialBaselines: (first.lead ?? []).map {
                              ReferencePoint(label: "Lead-\($0.k)", rewardMeans: $0.rewards.map(\.mean),
                                             rewardStandardErrors: $0.rewards.map(\.se))
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
        let name = ctx.step.config["name"]?.stringValue ?? ctx.plan.workflowName
        let description = ctx.step.config["description"]?.stringValue ?? ""
        // Only this step's inputs are read: restrict the plan to them.
        var sub = ctx.plan
        sub.steps = ctx.plan.steps.filter { ctx.step.inputs.contains($0.id) || $0.kind == .prepareData }
        let data = try ReportBuilder.build(plan: sub, runDir: ctx.runDirectory, name: name, description: description,
                                           metrics: ReportBuilder.requestedMetrics(ctx.step))
        try Files.writeJSON(data, to: ctx.workDir.appendingPathComponent(ArtifactFiles.reportData))
        try ReportRenderer.html(data).write(to: ctx.workDir.appendingPathComponent(ArtifactFiles.report), atomically: true, encoding: .utf8)
        ctx.events.progress(step: 1, total: 1)
    }
}

/// Runs the step of a `clp-flow step` process.
public enum StepExecutor {
    public static func run(_ ctx: StepContext) throws {
        // What this artifact's numbers depend on (BLAS library and core type, thread counts).
        try NumericsRecord.current().write(to: ctx.workDir)
        switch ctx.step.kind {
        case .prepareData: try PrepareDataStep.run(ctx)
        case .trainTokenizer: try TrainTokenizerStep.run(ctx)
        case .pretrain: try PretrainStep.run(ctx)
        case .trainReference: try TrainReferenceStep.run(ctx)
        case .trainSoft, .trainCLP: try TrainPolicyStep.run(ctx)
        case .evaluate: try EvaluateStep.run(ctx)
        case .ablate: try AblateStep.run(ctx)
        case .report: try ReportStep.run(ctx)
        }
    }
}
