import ClpFlowCore

/// The kinds of step a plan is made of.
public enum StepKind: String, Codable, Sendable, CaseIterable {
    case prepareData = "prepare-data"
    case trainTokenizer = "train-tokenizer"
    case pretrain
    case trainReference = "train-reference"
    case trainSoft = "train-soft"
    case trainCLP = "train-clp"
    case evaluate
    case ablate
    case report
}

/// Execution resources and policies of one step (from the workflow's executor section and
/// per-step overrides).
public struct StepResources: Codable, Sendable, Hashable {
    public var cpus: Int
    public var memoryMB: Int?
    public var timeMinutes: Int?
    public var partition: String?
    public var account: String?
    /// How many times a failed step is retried before it counts as failed.
    public var retries: Int
    /// Training steps: resumable state every this many steps (nil or 0: only by time) …
    public var checkpointEvery: Int?
    /// … and at least every this many minutes (nil or 0: only by steps). Neither changes outputs.
    public var checkpointMinutes: Double?

    public init(cpus: Int = 1, memoryMB: Int? = nil, timeMinutes: Int? = nil, partition: String? = nil,
                account: String? = nil, retries: Int = 0, checkpointEvery: Int? = nil, checkpointMinutes: Double? = nil) {
        self.cpus = cpus; self.memoryMB = memoryMB; self.timeMinutes = timeMinutes
        self.partition = partition; self.account = account; self.retries = retries
        self.checkpointEvery = checkpointEvery; self.checkpointMinutes = checkpointMinutes
    }
}

/// One node of the DAG.
public struct PlannedStep: Codable, Sendable, Hashable {
    /// Stable, readable id, e.g. `train-clp[conditioning=attn,model.size=micro]`.
    public var id: String
    public var kind: StepKind
    /// The step's fully resolved configuration: everything that determines its outputs.
    public var config: JSONValue
    /// Ids of the upstream steps whose outputs this step reads, in a stable order.
    public var inputs: [String]
    /// Hex SHA-256 of the canonical JSON of {config, upstream keys, engine format version}.
    public var cacheKey: String
    public var resources: StepResources

    public init(id: String, kind: StepKind, config: JSONValue, inputs: [String], cacheKey: String,
                resources: StepResources = StepResources()) {
        self.id = id; self.kind = kind; self.config = config; self.inputs = inputs
        self.cacheKey = cacheKey; self.resources = resources
    }
}

/// A compiled workflow: steps in dependency order (every step after all of its inputs).
public struct Plan: Codable, Sendable, Hashable {
    public var workflowName: String
    public var seed: UInt64
    public var steps: [PlannedStep]
    /// The model shapes the plan trains, with parameter counts (absent in plans from older files).
    public var models: [PlannedModel]?

    public init(workflowName: String, seed: UInt64, steps: [PlannedStep], models: [PlannedModel]? = nil) {
        self.workflowName = workflowName; self.seed = seed; self.steps = steps; self.models = models
    }

    public func step(_ id: String) -> PlannedStep? { steps.first { $0.id == id } }

    /// Steps by id (for repeated look-ups on large plans).
    public var stepsById: [String: PlannedStep] {
        Dictionary(steps.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Steps that list `id` among their inputs.
    public func dependents(of id: String) -> [PlannedStep] { steps.filter { $0.inputs.contains(id) } }
}

extension Plan {
    /// The plan as a JSON document (`plan.json`, golden files): workflow, seed, models and every
    /// step with id, kind, inputs, cache key, configuration and resources.
    public var json: JSONValue {
        let steps: [JSONValue] = steps.map { s in
            ["id": .string(s.id), "kind": .string(s.kind.rawValue), "inputs": .array(s.inputs.map { .string($0) }),
             "cache_key": .string(s.cacheKey), "config": s.config, "resources": PlanReport.resourcesJSON(s.resources)]
        }
        return ["workflow": .string(workflowName), "seed": Planner.seedJSON(seed),
                "engine_format": .number(Double(ClpFlowVersion.engineFormat)),
                "models": .array((models ?? []).map(PlanReport.modelJSON)), "steps": .array(steps)]
    }
}
