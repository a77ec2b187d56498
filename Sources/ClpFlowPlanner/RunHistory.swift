import ClpFlowCore

/// What a run directory remembers about a step id: the cache key, canonical configuration and
/// inputs it last ran with.
public struct PriorStepRecord: Sendable, Hashable {
    public var cacheKey: String
    public var config: JSONValue
    public var inputs: [String]
    /// The upstream cache keys it ran with, parallel to `inputs`, when the store keeps them (lets
    /// `plan` name the upstream step that changed even after that step was rebuilt).
    public var inputKeys: [String]?
    public init(cacheKey: String, config: JSONValue, inputs: [String], inputKeys: [String]? = nil) {
        self.cacheKey = cacheKey; self.config = config; self.inputs = inputs; self.inputKeys = inputKeys
    }
}

/// State of a completed step's outputs in the artifact store.
public enum ArtifactStatus: String, Sendable, Hashable, Codable {
    case present
    case missing
    /// The artifact exists but does not verify against its manifest.
    case corrupt
}

/// The planner's view of a run directory (implemented by the run store; tests use
/// `InMemoryRunHistory`).
public protocol RunHistory {
    func lastRecord(stepId: String) -> PriorStepRecord?
    func artifactStatus(cacheKey: String) -> ArtifactStatus
}

/// A run history held in memory.
public struct InMemoryRunHistory: RunHistory, Sendable {
    public var records: [String: PriorStepRecord]
    public var artifacts: [String: ArtifactStatus]

    public init(records: [String: PriorStepRecord] = [:], artifacts: [String: ArtifactStatus] = [:]) {
        self.records = records; self.artifacts = artifacts
    }

    /// The history left by a complete, successful run of `plan`.
    public init(completedRunOf plan: Plan) {
        self.init()
        record(plan)
    }

    public mutating func record(_ plan: Plan) {
        let keys = Dictionary(plan.steps.map { ($0.id, $0.cacheKey) }, uniquingKeysWith: { a, _ in a })
        for s in plan.steps {
            records[s.id] = PriorStepRecord(cacheKey: s.cacheKey, config: s.config, inputs: s.inputs,
                                       inputKeys: s.inputs.map { keys[$0]! })
            artifacts[s.cacheKey] = .present
        }
    }

    public func lastRecord(stepId: String) -> PriorStepRecord? { records[stepId] }
    public func artifactStatus(cacheKey: String) -> ArtifactStatus { artifacts[cacheKey] ?? .missing }
}

/// One changed leaf between two configurations, at a dotted key path (`kl.alpha`,
/// `rewards[1].target`); nil stands for an absent key.
public struct ConfigChange: Sendable, Hashable {
    public var path: String
    public var old: JSONValue?
    public var new: JSONValue?
    /// A sentence that replaces `path: old → new` where values say nothing to a reader (file
    /// digests: "reward script keywords.py changed").
    public var summary: String?
    public init(path: String, old: JSONValue?, new: JSONValue?, summary: String? = nil) {
        self.path = path; self.old = old; self.new = new; self.summary = summary
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = ["path": .string(path), "old": old ?? .null, "new": new ?? .null,
                                      "old_present": .bool(old != nil), "new_present": .bool(new != nil)]
        if let summary { o["summary"] = .string(summary) }
        return .object(o)
    }

    /// `path: old → new` with values in canonical JSON (long values shortened).
    public var rendered: String {
        if let summary { return summary }
        func show(_ v: JSONValue?) -> String {
            guard let v else { return "(absent)" }
            let text = v.canonical
            return text.count > 60 ? String(text.prefix(57)) + "…" : text
        }
        return "\(path): \(show(old)) → \(show(new))"
    }
}

public enum ConfigDiff {
    /// Every leaf that differs, in sorted key order. Objects recurse by key, arrays of equal length
    /// by index; anything else that differs is one change.
    public static func diff(old: JSONValue, new: JSONValue) -> [ConfigChange] {
        var out: [ConfigChange] = []
        walk(old, new, path: "", into: &out)
        return out
    }

    private static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }

    private static func walk(_ a: JSONValue?, _ b: JSONValue?, path: String, into out: inout [ConfigChange]) {
        if a == b { return }
        switch (a, b) {
        case (.object(let x)?, .object(let y)?):
            let keys = Set(x.keys).union(y.keys).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            for k in keys { walk(x[k], y[k], path: join(path, k), into: &out) }
        case (.array(let x)?, .array(let y)?) where x.count == y.count:
            for i in x.indices { walk(x[i], y[i], path: path + "[\(i)]", into: &out) }
        case (.object(let x)?, nil):
            for k in x.keys.sorted() { walk(x[k], nil, path: join(path, k), into: &out) }
        case (nil, .object(let y)?):
            for k in y.keys.sorted() { walk(nil, y[k], path: join(path, k), into: &out) }
        default:
            out.append(ConfigChange(path: path.isEmpty ? "(root)" : path, old: a, new: b))
        }
    }
}
