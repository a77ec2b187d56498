import ClpFlowCore
import ClpFlowWorkflow
import Foundation

/// The configuration of one step kind: what the planner writes into a step's `config` (and its
/// cache key) and what the step reads back. Encoding gives exactly the JSON of the plan;
/// decoding fails with `StepConfigError` when a section is missing or malformed. Fields a
/// section leaves out (the planner writes only what a step depends on, e.g. no `checkpoint_every`)
/// take the workflow defaults.
public protocol StepConfiguration: Codable, Sendable {
    /// The step kinds this configuration belongs to.
    static var kinds: [StepKind] { get }
    /// Reads a step's `config` object.
    init(config: JSONValue) throws
}

extension StepConfiguration {
    public init(from decoder: any Decoder) throws {
        try self.init(config: try JSONValue(from: decoder))
    }

    /// The configuration of `step`; errors name the step.
    public init(step: PlannedStep) throws {
        guard Self.kinds.contains(step.kind) else {
            throw StepConfigError(stepId: step.id, reason: "a \(step.kind.rawValue) step has no \(Self.self)")
        }
        do { try self.init(config: step.config) } catch var e as StepConfigError {
            e.stepId = step.id
            throw e
        }
    }
}

/// A step configuration that cannot be read: a missing or malformed section.
public struct StepConfigError: Error, CustomStringConvertible, Equatable {
    public var stepId: String?
    public var reason: String

    public init(stepId: String? = nil, reason: String) { self.stepId = stepId; self.reason = reason }

    public var description: String {
        (stepId.map { "step \($0): " } ?? "") + reason
    }
}

/// Reads the sections of a step configuration.
struct SectionReader {
    let object: [String: JSONValue]
    let kind: String

    init(_ config: JSONValue, kind: String) throws {
        guard let o = config.objectValue else {
            throw StepConfigError(reason: "the \(kind) configuration is not a JSON object")
        }
        object = o; self.kind = kind
    }

    func has(_ key: String) -> Bool { object[key] != nil }

    /// A section that must be present; fields it leaves out take `defaults`' values.
    func section<T: Codable>(_ key: String, defaults: T) throws -> T {
        guard let v = object[key] else {
            throw StepConfigError(reason: "the \(kind) configuration has no `\(key)` section")
        }
        return try decode(key, SectionReader.merge(try SectionReader.json(defaults, key), v))
    }

    /// A section that may be absent.
    func optionalSection<T: Codable>(_ key: String, defaults: T) throws -> T? {
        guard object[key] != nil else { return nil }
        return try section(key, defaults: defaults)
    }

    /// A value decoded as is (no defaults).
    func value<T: Decodable>(_ key: String, as: T.Type = T.self) throws -> T {
        guard let v = object[key] else {
            throw StepConfigError(reason: "the \(kind) configuration has no `\(key)` section")
        }
        return try decode(key, v)
    }

    func seed() throws -> UInt64 {
        switch object["seed"] {
        case .string(let s)?:
            if let v = UInt64(s) { return v }
        case .number(let d)?:
            if d >= 0, d < 18446744073709551616.0, d.rounded() == d { return UInt64(d) }
        case nil:
            throw StepConfigError(reason: "the \(kind) configuration has no `seed`")
        default: break
        }
        throw StepConfigError(reason: "the \(kind) configuration's `seed` is not a non-negative integer")
    }

    private func decode<T: Decodable>(_ key: String, _ v: JSONValue) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(v.canonical.utf8)) } catch {
            throw StepConfigError(reason: "the \(kind) configuration's `\(key)` section: \(error)")
        }
    }

    private static func json<T: Encodable>(_ v: T, _ key: String) throws -> JSONValue {
        do { return try JSONValue.parse(data: JSONEncoder().encode(v)) } catch {
            throw StepConfigError(reason: "`\(key)` defaults: \(error)")
        }
    }

    /// Fills what a section leaves out from the defaults: objects that share a key are merged key
    /// by key; otherwise the section's value replaces the default (a weight distribution is a
    /// one-key tagged union: `{adaptive: …}` must not merge with the default's `{dirichlet: …}`,
    /// while `{kind: byte}` takes the default `vocab_size`).
    static func merge(_ base: JSONValue, _ over: JSONValue) -> JSONValue {
        guard case .object(var b) = base, case .object(let o) = over else { return over }
        guard !Set(b.keys).isDisjoint(with: o.keys) else { return over }
        for (k, v) in o { b[k] = b[k].map { merge($0, v) } ?? v }
        return .object(b)
    }
}

/// Writes a configuration from its sections (the plan's JSON of the step).
enum SectionWriter {
    static func encode(_ sections: [String: Canon], to encoder: any Encoder) throws {
        try Canon.object(sections).value.encode(to: encoder)
    }
}
