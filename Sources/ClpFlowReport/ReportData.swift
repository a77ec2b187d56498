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
    /// Headline metrics per method aggregated over seeds (`evaluate.seeds`), paired differences
    /// CLP − baseline and the per-seed values (SeedResults.swift).
    public var seedSummary: SeedSummary?
    /// J(w) per weighting for every method, with the regret to the best method at each w.
    public var objectiveTable: ObjectiveTable?

    /// Whether the report shows `metric`.
    public func shows(_ metric: String) -> Bool { metrics?.contains(metric) ?? true }

    public init(metadata: RunMetadata, rewardNames: [String], rewardUnits: [String]? = nil,
                methods: [MethodResult], reference: ReferencePoint? = nil,
                hypervolume: HypervolumeTable? = nil, steerability: [SteerabilityRow] = [],
                trainingCurves: [TrainingCurve] = [], ablation: AblationMatrix? = nil,
                samples: [SampleGroup] = [], metrics: [String]? = nil, trivialBaselines: [ReferencePoint] = [],
                ablationView: AblationView? = nil, seedSummary: SeedSummary? = nil,
                objectiveTable: ObjectiveTable? = nil) {
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
        self.seedSummary = seedSummary
        self.objectiveTable = objectiveTable
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

// Decoding tolerates absent list fields (older or hand-written report.json files): a missing
// list is empty. Encoding always writes every field.
extension ReportData {
    private enum CodingKeys: String, CodingKey {
        case metadata, rewardNames, rewardUnits, methods, reference, hypervolume, steerability,
             trainingCurves, ablation, samples, metrics, trivialBaselines, ablationView,
             seedSummary, objectiveTable
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
                  ablationView: try c.decodeIfPresent(AblationView.self, forKey: .ablationView),
                  seedSummary: try c.decodeIfPresent(SeedSummary.self, forKey: .seedSummary),
                  objectiveTable: try c.decodeIfPresent(ObjectiveTable.self, forKey: .objectiveTable))
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
