// The data behind a report. It is filled from a run's results (evaluation, training logs, run
// store) and is plain Codable data, so it can be saved as `report.json` next to `report.html`
// and re-rendered later. All computed metrics (hypervolume, steerability) are passed in; the
// renderer only ranks and draws them.
//
// Missing values are `nil`, never NaN: JSONEncoder rejects non-finite numbers. The renderer
// tolerates NaN anyway and shows it as "–".

/// Everything a report shows.
public struct ReportData: Codable, Sendable, Equatable {
    public var metadata: RunMetadata
    /// Names of the rewards, in the order of every weight and reward vector.
    public var rewardNames: [String]
    /// Optional unit per reward (e.g. "score", "log-prob"), used in axis labels.
    public var rewardUnits: [String]?
    /// Evaluated methods (CLP variants, Rewarded Soups, prompting, …), in display order.
    public var methods: [MethodResult]
    /// The reference policy's point (usually the SFT model); also the hypervolume reference.
    public var reference: ReferencePoint?
    /// Hypervolume per method, as computed by the evaluation.
    public var hypervolume: HypervolumeTable?
    /// Steerability per method, as computed by the evaluation.
    public var steerability: [SteerabilityRow]
    /// Training curves per method.
    public var trainingCurves: [TrainingCurve]
    /// Ablation results, if the workflow ran a sweep (a generic score per cell).
    public var ablation: AblationMatrix?
    /// The ablation compared cell by cell: one row per method kind, the cells as columns, with
    /// hypervolume, steerability, J(w) and per-reward means. Shown instead of `ablation` when set.
    public var ablationView: AblationView?
    /// Generated samples for side-by-side reading.
    public var samples: [SampleGroup]
    /// Trivial baselines scored with the same rewards on the same prompts (Lead-k: the
    /// document's first k words), shown beside π_ref.
    public var trivialBaselines: [ReferencePoint]
    /// The metrics the workflow asked for (`evaluate.metrics`: hypervolume, steerability,
    /// dominated); nil shows every metric.
    public var metrics: [String]?

    /// Whether the report shows `metric`.
    public func shows(_ metric: String) -> Bool { metrics?.contains(metric) ?? true }

    public init(metadata: RunMetadata, rewardNames: [String], rewardUnits: [String]? = nil,
                methods: [MethodResult], reference: ReferencePoint? = nil,
                hypervolume: HypervolumeTable? = nil, steerability: [SteerabilityRow] = [],
                trainingCurves: [TrainingCurve] = [], ablation: AblationMatrix? = nil,
                samples: [SampleGroup] = [], metrics: [String]? = nil, trivialBaselines: [ReferencePoint] = [],
                ablationView: AblationView? = nil) {
        self.metadata = metadata
        self.rewardNames = rewardNames
        self.rewardUnits = rewardUnits
        self.methods = methods
        self.reference = reference
        self.hypervolume = hypervolume
        self.steerability = steerability
        self.trainingCurves = trainingCurves
        self.ablation = ablation
        self.ablationView = ablationView
        self.samples = samples
        self.trivialBaselines = trivialBaselines
        self.metrics = metrics
    }
}

/// Facts about the run that produced the report.
public struct RunMetadata: Codable, Sendable, Equatable {
    public var workflowName: String
    public var runID: String?
    public var seed: UInt64
    /// `ClpFlowVersion.tool` of the producing binary.
    public var toolVersion: String
    /// `ClpFlowVersion.engineFormat` of the producing binary.
    public var engineFormat: Int?
    /// Overall status: "succeeded", "failed", "cancelled", "partial", …
    public var status: String
    /// ISO 8601 timestamps.
    public var startedAt: String?
    public var finishedAt: String?
    /// "local" or "slurm".
    public var executor: String?
    public var steps: [StepSummary]
    /// Further facts shown as key/value rows (model size, dataset, host, …).
    public var extra: [KeyValue]

    public init(workflowName: String, runID: String? = nil, seed: UInt64, toolVersion: String,
                engineFormat: Int? = nil, status: String, startedAt: String? = nil,
                finishedAt: String? = nil, executor: String? = nil, steps: [StepSummary] = [],
                extra: [KeyValue] = []) {
        self.workflowName = workflowName
        self.runID = runID
        self.seed = seed
        self.toolVersion = toolVersion
        self.engineFormat = engineFormat
        self.status = status
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.executor = executor
        self.steps = steps
        self.extra = extra
    }
}

public struct KeyValue: Codable, Sendable, Equatable {
    public var key: String
    public var value: String
    public init(_ key: String, _ value: String) { self.key = key; self.value = value }
}

/// One step of the run as the report lists it (status, wall time, cache key): a summary of the
/// runner's per-attempt `StepRecord` in the run store.
public struct StepSummary: Codable, Sendable, Equatable {
    public var id: String
    /// The step kind (e.g. "train", "evaluate").
    public var kind: String
    /// "succeeded", "cached", "failed", "skipped", "cancelled", …
    public var status: String
    public var wallTimeSeconds: Double?
    public var cacheKey: String?

    public init(id: String, kind: String, status: String, wallTimeSeconds: Double? = nil,
                cacheKey: String? = nil) {
        self.id = id
        self.kind = kind
        self.status = status
        self.wallTimeSeconds = wallTimeSeconds
        self.cacheKey = cacheKey
    }
}

/// A method's evaluation over a weight grid.
public struct MethodResult: Codable, Sendable, Equatable {
    public var name: String
    /// What kind of method it is, e.g. "clp", "rewarded-soup", "prompting", "multi-kl".
    public var kind: String
    public var points: [WeightingPoint]
    /// Each evaluated vertex eᵢ's gain over π_ref on reward i, with its 95 % interval (nil in
    /// reports built from evaluations that did not record it).
    public var vertexGains: [VertexGainRow]?

    public init(name: String, kind: String, points: [WeightingPoint], vertexGains: [VertexGainRow]? = nil) {
        self.name = name
        self.kind = kind
        self.points = points
        self.vertexGains = vertexGains
    }

    /// SOFT policies and Rewarded Soups' endpoints are the baselines' single-reward policies: one
    /// that does not beat π_ref on its own reward is a failed run, not a fair baseline.
    public var isSingleRewardBaseline: Bool { kind == "soft" || kind == "rewarded-soups" || name.hasPrefix("rewarded-soups") || name.hasPrefix("soft") }

    /// The vertices whose gain interval does not lie above 0.
    public var verticesNotBeatingReference: [VertexGainRow] { (vertexGains ?? []).filter { !$0.beatsReference } }
}

/// A method's gain over π_ref on reward `reward` at the vertex that asks for it alone.
public struct VertexGainRow: Codable, Sendable, Equatable {
    public var reward: String
    public var mean: Double
    public var lower: Double?
    public var upper: Double?
    public init(reward: String, mean: Double, lower: Double?, upper: Double?) {
        self.reward = reward; self.mean = mean; self.lower = lower; self.upper = upper
    }
    public var beatsReference: Bool { (lower ?? -.infinity) > 0 }
    /// "+0.031 [0.000, 0.063]".
    public var text: String {
        func f(_ x: Double) -> String { String(format: "%+.3f", x) }
        guard let lower, let upper else { return f(mean) }
        return "\(f(mean)) [\(String(format: "%.3f", lower)), \(String(format: "%.3f", upper))]"
    }
}

/// A method evaluated at one weighting (and, for multi-KL methods, one α).
public struct WeightingPoint: Codable, Sendable, Equatable {
    /// The reward weighting w (one entry per reward).
    public var weights: [Double]
    /// The KL weight α for multi-KL conditioning; nil otherwise.
    public var alpha: Double?
    /// Mean reward per reward over the evaluation prompts.
    public var rewardMeans: [Double]
    /// Standard error of each mean, if known (same length as `rewardMeans`).
    public var rewardStandardErrors: [Double]?
    /// Mean KL divergence to the reference policy (nats per sequence).
    public var kl: Double?
    public var klStandardError: Double?
    /// Mean generated length in tokens.
    public var length: Double?

    public init(weights: [Double], alpha: Double? = nil, rewardMeans: [Double],
                rewardStandardErrors: [Double]? = nil, kl: Double? = nil,
                klStandardError: Double? = nil, length: Double? = nil) {
        self.weights = weights
        self.alpha = alpha
        self.rewardMeans = rewardMeans
        self.rewardStandardErrors = rewardStandardErrors
        self.kl = kl
        self.klStandardError = klStandardError
        self.length = length
    }
}

/// The reference policy's evaluation (no weighting).
public struct ReferencePoint: Codable, Sendable, Equatable {
    /// Display name, e.g. "SFT".
    public var label: String
    public var rewardMeans: [Double]
    public var rewardStandardErrors: [Double]?
    public var length: Double?

    public init(label: String, rewardMeans: [Double], rewardStandardErrors: [Double]? = nil,
                length: Double? = nil) {
        self.label = label
        self.rewardMeans = rewardMeans
        self.rewardStandardErrors = rewardStandardErrors
        self.length = length
    }
}

/// Hypervolume of each method's points with respect to one reference point.
public struct HypervolumeTable: Codable, Sendable, Equatable {
    /// The reference point (one entry per reward).
    public var referencePoint: [Double]
    /// Where the reference point comes from, e.g. "SFT policy".
    public var referenceLabel: String?
    public var rows: [HypervolumeRow]

    public init(referencePoint: [Double], referenceLabel: String? = nil, rows: [HypervolumeRow]) {
        self.referencePoint = referencePoint
        self.referenceLabel = referenceLabel
        self.rows = rows
    }
}

public struct HypervolumeRow: Codable, Sendable, Equatable {
    public var method: String
    public var hypervolume: Double
    /// Share (0…1) of this method's points dominated by some point of another method.
    public var dominatedShare: Double?
    /// Number of non-dominated points of this method.
    public var frontSize: Int?

    public init(method: String, hypervolume: Double, dominatedShare: Double? = nil, frontSize: Int? = nil) {
        self.method = method
        self.hypervolume = hypervolume
        self.dominatedShare = dominatedShare
        self.frontSize = frontSize
    }
}

/// Steerability of one method: one entry per reward.
public struct SteerabilityRow: Codable, Sendable, Equatable {
    public var method: String
    public var rewards: [SteerabilityEntry]

    public init(method: String, rewards: [SteerabilityEntry]) {
        self.method = method
        self.rewards = rewards
    }

    /// Mean of the defined ρ values; nil when none is defined.
    public var meanRho: Double? {
        let defined = rewards.compactMap { $0.rho }.filter { $0.isFinite }
        return defined.isEmpty ? nil : defined.reduce(0, +) / Double(defined.count)
    }
}

public struct SteerabilityEntry: Codable, Sendable, Equatable {
    /// Spearman ρ(w_i, r_i) along the grid; nil when undefined (constant weight or reward).
    public var rho: Double?
    /// max − min of r_i over the grid.
    public var spread: Double

    public init(rho: Double?, spread: Double) {
        self.rho = rho
        self.spread = spread
    }
}

/// Logged training metrics of one method.
public struct TrainingCurve: Codable, Sendable, Equatable {
    public var method: String
    /// (step, metric name, value) triples; one chart is drawn per metric name.
    public var points: [CurvePoint]

    public init(method: String, points: [CurvePoint]) {
        self.method = method
        self.points = points
    }
}

public struct CurvePoint: Codable, Sendable, Equatable {
    public var step: Int
    public var name: String
    public var value: Double

    public init(step: Int, name: String, value: Double) {
        self.step = step
        self.name = name
        self.value = value
    }
}

/// Results of a parameter sweep.
public struct AblationMatrix: Codable, Sendable, Equatable {
    public var title: String
    /// What the score is, e.g. "hypervolume".
    public var scoreName: String
    public var higherIsBetter: Bool
    public var parameterNames: [String]
    public var cells: [AblationCell]

    public init(title: String, scoreName: String, higherIsBetter: Bool = true,
                parameterNames: [String], cells: [AblationCell]) {
        self.title = title
        self.scoreName = scoreName
        self.higherIsBetter = higherIsBetter
        self.parameterNames = parameterNames
        self.cells = cells
    }
}

public struct AblationCell: Codable, Sendable, Equatable {
    /// One value per entry of `AblationMatrix.parameterNames`, as displayed.
    public var parameters: [String]
    /// nil when the cell did not produce a score (e.g. its run failed).
    public var score: Double?
    public var note: String?

    public init(parameters: [String], score: Double?, note: String? = nil) {
        self.parameters = parameters
        self.score = score
        self.note = note
    }
}

/// An ablation seen cell by cell. Columns are the cells (in matrix order); each row is one
/// method kind (`clp`, `rewarded-soups`, …) with its scores in every cell.
public struct AblationView: Codable, Sendable, Equatable {
    /// The ablated key paths (`conditioning.mechanism`, …).
    public var axes: [String]
    public var cells: [AblationViewCell]
    public var rows: [AblationViewRow]
    /// How J(w) was computed, or why it could not be.
    public var objectiveNote: String?

    public init(axes: [String], cells: [AblationViewCell], rows: [AblationViewRow], objectiveNote: String? = nil) {
        self.axes = axes; self.cells = cells; self.rows = rows; self.objectiveNote = objectiveNote
    }
}

public struct AblationViewCell: Codable, Sendable, Equatable {
    /// The cell's label: its `ablate.name`, else its value (one axis) or `path=value` pairs.
    public var name: String
    /// The cell's value per axis (nil where the cell does not set it).
    public var values: [String?]

    public init(name: String, values: [String?]) { self.name = name; self.values = values }
}

public struct AblationViewRow: Codable, Sendable, Equatable {
    /// The method kind, e.g. `clp`.
    public var method: String
    /// One entry per cell (nil: no finished evaluation for that cell).
    public var entries: [AblationViewEntry?]

    public init(method: String, entries: [AblationViewEntry?]) { self.method = method; self.entries = entries }

    /// True when every cell uses one and the same evaluation (the method does not depend on the
    /// ablated settings).
    public var shared: Bool {
        let ids = entries.map { $0?.stepId }
        return ids.count > 1 && ids.allSatisfy { $0 != nil && $0 == ids[0] }
    }
}

public struct AblationViewEntry: Codable, Sendable, Equatable {
    /// The evaluate step behind the numbers.
    public var stepId: String
    public var hypervolume: Double?
    /// Mean Spearman ρ(wᵢ, rᵢ) over the rewards.
    public var meanRho: Double?
    /// Mean over the evaluation grid of J(w) = Σ wᵢ r̃ᵢ − α·KL; nil when it cannot be computed.
    public var objective: Double?
    /// Mean over the evaluation grid of each reward's mean (raw scores), one per reward.
    public var rewardMeans: [Double]
    /// Mean KL estimate over the grid.
    public var kl: Double?

    public init(stepId: String, hypervolume: Double?, meanRho: Double?, objective: Double?, rewardMeans: [Double], kl: Double? = nil) {
        self.stepId = stepId; self.hypervolume = hypervolume; self.meanRho = meanRho; self.objective = objective
        self.rewardMeans = rewardMeans; self.kl = kl
    }
}

/// One evaluation prompt with the texts each method generated for it.
public struct SampleGroup: Codable, Sendable, Equatable {
    public var id: String?
    /// The model's input (the text it read before generating), shared by the methods whose
    /// input is the document alone; empty when not recorded.
    public var prompt: String
    /// The source document (e.g. the text to summarise).
    public var document: String
    /// A human reference output, if the dataset has one.
    public var referenceText: String?
    public var generations: [Generation]

    public init(id: String? = nil, prompt: String, document: String, referenceText: String? = nil,
                generations: [Generation]) {
        self.id = id
        self.prompt = prompt
        self.document = document
        self.referenceText = referenceText
        self.generations = generations
    }
}

public struct Generation: Codable, Sendable, Equatable {
    public var method: String
    public var weights: [Double]
    public var alpha: Double?
    public var text: String
    /// Reward values of this text (one per reward), if scored.
    public var rewards: [Double]?
    /// This generation's input when it differs from the group's `prompt` (e.g. prompt
    /// conditioning writes the weighting before the document).
    public var input: String?

    public init(method: String, weights: [Double], alpha: Double? = nil, text: String, rewards: [Double]? = nil,
                input: String? = nil) {
        self.method = method
        self.weights = weights
        self.alpha = alpha
        self.text = text
        self.rewards = rewards
        self.input = input
    }
}

// Decoding tolerates absent list fields (older or hand-written report.json files): a missing
// list is empty. Encoding always writes every field.
extension ReportData {
    private enum CodingKeys: String, CodingKey {
        case metadata, rewardNames, rewardUnits, methods, reference, hypervolume, steerability,
             trainingCurves, ablation, samples, metrics, trivialBaselines, ablationView
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(metadata: try c.decode(RunMetadata.self, forKey: .metadata),
                  rewardNames: try c.decode([String].self, forKey: .rewardNames),
                  rewardUnits: try c.decodeIfPresent([String].self, forKey: .rewardUnits),
                  methods: try c.decodeIfPresent([MethodResult].self, forKey: .methods) ?? [],
                  reference: try c.decodeIfPresent(ReferencePoint.self, forKey: .reference),
                  hypervolume: try c.decodeIfPresent(HypervolumeTable.self, forKey: .hypervolume),
                  steerability: try c.decodeIfPresent([SteerabilityRow].self, forKey: .steerability) ?? [],
                  trainingCurves: try c.decodeIfPresent([TrainingCurve].self, forKey: .trainingCurves) ?? [],
                  ablation: try c.decodeIfPresent(AblationMatrix.self, forKey: .ablation),
                  samples: try c.decodeIfPresent([SampleGroup].self, forKey: .samples) ?? [],
                  metrics: try c.decodeIfPresent([String].self, forKey: .metrics),
                  trivialBaselines: try c.decodeIfPresent([ReferencePoint].self, forKey: .trivialBaselines) ?? [],
                  ablationView: try c.decodeIfPresent(AblationView.self, forKey: .ablationView))
    }
}

extension RunMetadata {
    private enum CodingKeys: String, CodingKey {
        // `runId`: the form `run_id` and (older files) `runID` take when read as artifact files
        // (`ArtifactJSON`); written there as `run_id`.
        case runID = "runId"
        case workflowName, seed, toolVersion, engineFormat, status, startedAt, finishedAt,
             executor, steps, extra
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(workflowName: try c.decode(String.self, forKey: .workflowName),
                  runID: try c.decodeIfPresent(String.self, forKey: .runID),
                  seed: try c.decode(UInt64.self, forKey: .seed),
                  toolVersion: try c.decode(String.self, forKey: .toolVersion),
                  engineFormat: try c.decodeIfPresent(Int.self, forKey: .engineFormat),
                  status: try c.decode(String.self, forKey: .status),
                  startedAt: try c.decodeIfPresent(String.self, forKey: .startedAt),
                  finishedAt: try c.decodeIfPresent(String.self, forKey: .finishedAt),
                  executor: try c.decodeIfPresent(String.self, forKey: .executor),
                  steps: try c.decodeIfPresent([StepSummary].self, forKey: .steps) ?? [],
                  extra: try c.decodeIfPresent([KeyValue].self, forKey: .extra) ?? [])
    }
}

extension ReportData {
    /// Inconsistencies that make parts of the report incomplete (shown in the report and the
    /// terminal summary). Inconsistent points are skipped when drawing, never guessed.
    public var problems: [String] {
        var out: [String] = []
        let m = rewardNames.count
        if m == 0 { out.append("no reward names: charts and tables need at least one reward") }
        if let u = rewardUnits, u.count != m {
            out.append("rewardUnits has \(u.count) entries but there are \(m) rewards")
        }
        var seen = Set<String>()
        for method in methods {
            if !seen.insert(method.name).inserted {
                out.append("method name \"\(method.name)\" is used twice; names must be unique")
            }
            for (k, p) in method.points.enumerated() {
                if p.rewardMeans.count != m {
                    out.append("method \"\(method.name)\" point \(k + 1): \(p.rewardMeans.count) reward means for \(m) rewards (point skipped)")
                }
                if p.weights.count != m {
                    out.append("method \"\(method.name)\" point \(k + 1): \(p.weights.count) weights for \(m) rewards")
                }
                if let se = p.rewardStandardErrors, se.count != p.rewardMeans.count {
                    out.append("method \"\(method.name)\" point \(k + 1): \(se.count) standard errors for \(p.rewardMeans.count) means (error bars skipped)")
                }
            }
        }
        if let r = reference, r.rewardMeans.count != m {
            out.append("reference \"\(r.label)\": \(r.rewardMeans.count) reward means for \(m) rewards (not drawn)")
        }
        if let hv = hypervolume, hv.referencePoint.count != m {
            out.append("hypervolume reference point has \(hv.referencePoint.count) entries for \(m) rewards")
        }
        for row in steerability where row.rewards.count != m {
            out.append("steerability of \"\(row.method)\": \(row.rewards.count) entries for \(m) rewards")
        }
        if let a = ablation {
            for (k, c) in a.cells.enumerated() where c.parameters.count != a.parameterNames.count {
                out.append("ablation cell \(k + 1): \(c.parameters.count) parameter values for \(a.parameterNames.count) parameters")
            }
        }
        return out
    }
}
