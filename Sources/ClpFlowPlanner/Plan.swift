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

/// One label of a step: what distinguishes it from the other steps of its kind (`method`, an
/// ablated key path, `cell`, `reward`, `seed`, `stage`). Step ids are written from labels; readers
/// take the labels from here, never from the id.
public struct StepLabel: Codable, Sendable, Hashable {
    public var key: String
    public var value: String
    public init(_ key: String, _ value: String) { self.key = key; self.value = value }
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
    /// The step's labels in id order (the bracketed `key=value` pairs, then `stage`). Not part of
    /// the cache key.
    public var labels: [StepLabel]

    public init(id: String, kind: StepKind, config: JSONValue, inputs: [String], cacheKey: String,
                resources: StepResources = StepResources(), labels: [StepLabel] = []) {
        self.id = id; self.kind = kind; self.config = config; self.inputs = inputs
        self.cacheKey = cacheKey; self.resources = resources; self.labels = labels
    }

    /// The value of label `key`, if the step has it.
    public func label(_ key: String) -> String? { labels.first { $0.key == key }?.value }
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
            var o: [String: JSONValue] = [
                "id": .string(s.id), "kind": .string(s.kind.rawValue), "inputs": .array(s.inputs.map { .string($0) }),
                "cache_key": .string(s.cacheKey), "config": s.config, "resources": PlanReport.resourcesJSON(s.resources),
            ]
            if !s.labels.isEmpty { o["labels"] = .array(s.labels.map { ["key": .string($0.key), "value": .string($0.value)] }) }
            return .object(o)
        }
        return ["workflow": .string(workflowName), "seed": Planner.seedJSON(seed),
                "engine_format": .number(Double(ClpFlowVersion.engineFormat)),
                "models": .array((models ?? []).map(PlanReport.modelJSON)), "steps": .array(steps)]
    }
}

// plan.json uses snake_case keys like every machine-readable output of clp-flow (docs/cli.md).
// Decoding also accepts the camelCase keys of plan.json files written by earlier versions.

/// A coding key from a string: the snake_case key written, and its older camelCase spelling.
struct PlanKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
    init(_ s: String) { stringValue = s }

    /// `cache_key` → `cacheKey`.
    var camel: PlanKey {
        var out = "", upper = false
        for ch in stringValue {
            if ch == "_" { upper = true; continue }
            out += upper ? ch.uppercased() : String(ch)
            upper = false
        }
        return PlanKey(out)
    }
}

extension KeyedDecodingContainer where K == PlanKey {
    func value<T: Decodable>(_ key: String, _ type: T.Type = T.self) throws -> T {
        let k = PlanKey(key)
        if contains(k) { return try decode(T.self, forKey: k) }
        return try decode(T.self, forKey: k.camel)
    }

    /// `older`: further spellings of earlier files (`memoryMB`).
    func optional<T: Decodable>(_ key: String, _ type: T.Type = T.self, older: String? = nil) throws -> T? {
        let k = PlanKey(key)
        if contains(k) { return try decodeIfPresent(T.self, forKey: k) }
        if let older, contains(PlanKey(older)) { return try decodeIfPresent(T.self, forKey: PlanKey(older)) }
        return try decodeIfPresent(T.self, forKey: k.camel)
    }
}

extension StepResources {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: PlanKey.self)
        self.init(cpus: try c.optional("cpus") ?? 1, memoryMB: try c.optional("memory_mb", older: "memoryMB"), timeMinutes: try c.optional("time_minutes"),
                  partition: try c.optional("partition"), account: try c.optional("account"), retries: try c.optional("retries") ?? 0,
                  checkpointEvery: try c.optional("checkpoint_every"), checkpointMinutes: try c.optional("checkpoint_minutes"))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: PlanKey.self)
        try c.encode(cpus, forKey: PlanKey("cpus"))
        try c.encodeIfPresent(memoryMB, forKey: PlanKey("memory_mb"))
        try c.encodeIfPresent(timeMinutes, forKey: PlanKey("time_minutes"))
        try c.encodeIfPresent(partition, forKey: PlanKey("partition"))
        try c.encodeIfPresent(account, forKey: PlanKey("account"))
        try c.encode(retries, forKey: PlanKey("retries"))
        try c.encodeIfPresent(checkpointEvery, forKey: PlanKey("checkpoint_every"))
        try c.encodeIfPresent(checkpointMinutes, forKey: PlanKey("checkpoint_minutes"))
    }
}

extension PlannedStep {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: PlanKey.self)
        let id: String = try c.value("id")
        // Plans written before labels were recorded: the labels are read from the id once, here.
        let labels: [StepLabel] = try c.optional("labels") ?? StepLabel.parsed(fromId: id)
        self.init(id: id, kind: try c.value("kind"), config: try c.value("config"), inputs: try c.value("inputs"),
                  cacheKey: try c.value("cache_key"), resources: try c.optional("resources") ?? StepResources(), labels: labels)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: PlanKey.self)
        try c.encode(id, forKey: PlanKey("id"))
        try c.encode(kind, forKey: PlanKey("kind"))
        try c.encode(config, forKey: PlanKey("config"))
        try c.encode(inputs, forKey: PlanKey("inputs"))
        try c.encode(cacheKey, forKey: PlanKey("cache_key"))
        try c.encode(resources, forKey: PlanKey("resources"))
        // Written even when empty: a plan without the key is from a version that did not record labels.
        try c.encode(labels, forKey: PlanKey("labels"))
    }
}

extension Plan {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: PlanKey.self)
        self.init(workflowName: try c.value("workflow_name"), seed: try c.value("seed"), steps: try c.value("steps"),
                  models: try c.optional("models"))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: PlanKey.self)
        try c.encode(workflowName, forKey: PlanKey("workflow_name"))
        try c.encode(seed, forKey: PlanKey("seed"))
        try c.encode(steps, forKey: PlanKey("steps"))
        try c.encodeIfPresent(models, forKey: PlanKey("models"))
    }
}

extension StepLabel {
    /// The labels of a step id written by versions that did not record them (`kind[k=v,…]/stage`).
    /// Only for reading such plans: a value containing `,` or `=` cannot be told apart here.
    static func parsed(fromId id: String) -> [StepLabel] {
        var out: [StepLabel] = []
        var rest = Substring(id)
        if let open = id.firstIndex(of: "["), let close = id.lastIndex(of: "]"), open < close {
            for part in id[id.index(after: open)..<close].split(separator: ",") {
                let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
                if kv.count == 2 { out.append(StepLabel(kv[0], kv[1])) }
            }
            rest = id[id.index(after: close)...]
        }
        if let slash = rest.firstIndex(of: "/") {
            let stage = rest[rest.index(after: slash)...].prefix { $0 != "#" }
            if !stage.isEmpty { out.append(StepLabel("stage", String(stage))) }
        }
        return out
    }
}
