import ClpFlowCore
import Foundation

/// The type of a value in a workflow file. One description drives the decoding walker (type,
/// range and unknown-key checks), the JSON Schema (`clp-flow schema`) and the reference tables
/// of docs/workflow-language.md.
public indirect enum SchemaType: Sendable {
    case string
    case enumeration([String])
    case integer(minimum: Int?, maximum: Int?)
    /// A finite number.
    case number(minimum: Double?, exclusiveMinimum: Double?, maximum: Double?)
    case boolean
    case array(SchemaType, minItems: Int)
    /// A named object definition (`SchemaRegistry.objects`).
    case object(String)
    /// A named tagged union (`SchemaRegistry.unions`): a bare word or a one-key mapping.
    case union(String)
    /// A mapping with `probability` and exactly one key of the named union.
    case mixtureComponent(String)
    /// Any scalar: string, integer, number or boolean.
    case scalar
    /// Key path → non-empty list of scalars (ablation matrix).
    case matrix
    /// Key path → scalar (a partial assignment of the matrix).
    case assignment
    /// String keys → values of one type.
    case map(SchemaType)
    /// One of several types (template references).
    case anyOf([SchemaType])
    /// Any YAML value.
    case any
}

/// One key of an object.
public struct FieldSchema: Sendable {
    public var key: String
    public var type: SchemaType
    public var doc: String
    public var required: Bool
    /// The default in the resolved (JSON) form, nil when the key is optional with no value.
    public var defaultValue: JSONValue?

    public init(_ key: String, _ type: SchemaType, _ doc: String, required: Bool = false) {
        self.key = key; self.type = type; self.doc = doc; self.required = required
    }
}

/// A mapping with a fixed set of keys.
public struct ObjectSchema: Sendable {
    public var name: String
    public var doc: String
    public var fields: [FieldSchema]
    /// When set, a bare scalar `x` is accepted and means `{shorthand: x}`.
    public var shorthand: String?

    /// Defaults are taken from `defaults`, the type's default instance, encoded.
    public init(_ name: String, doc: String, defaults: (any Encodable)?, shorthand: String? = nil, fields: [FieldSchema]) {
        self.name = name; self.doc = doc; self.shorthand = shorthand
        var fields = fields
        if let defaults, case .object(let d)? = try? encodeToJSON(defaults) {
            for i in fields.indices where !fields[i].required { fields[i].defaultValue = d[fields[i].key] }
        }
        self.fields = fields
    }

    public func field(_ key: String) -> FieldSchema? { fields.first { $0.key == key } }
}

/// A tagged union: each variant is written `tag: body`, or as the bare word `tag` when it has no
/// body or its body has defaults for every key.
public struct UnionSchema: Sendable {
    public struct Variant: Sendable {
        public var tag: String
        public var doc: String
        /// nil: the variant takes no parameters (written `tag` or `tag: {}`).
        public var body: SchemaType?
        /// Whether the bare word `tag` is accepted (its body then takes its defaults).
        public var bare: Bool
        public init(_ tag: String, _ doc: String, body: SchemaType? = nil, bare: Bool = true) {
            self.tag = tag; self.doc = doc; self.body = body; self.bare = bare
        }
    }
    public var name: String
    public var doc: String
    public var variants: [Variant]
    public func variant(_ tag: String) -> Variant? { variants.first { $0.tag == tag } }
}

/// Encodes a value with the model's Codable conformance into a `JSONValue`.
public func encodeToJSON(_ value: any Encodable) throws -> JSONValue {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return try JSONValue.parse(data: enc.encode(value))
}

/// Model types describe themselves for the walker, the JSON Schema and the docs.
public protocol SchemaDescribed {
    static var schemaObject: ObjectSchema { get }
}

/// Every definition of the workflow language, in documentation order.
public enum SchemaRegistry {
    public static let objects: [ObjectSchema] = [
        Workflow.schemaObject, DataSpec.schemaObject, FieldMapping.schemaObject, ModelSpec.schemaObject,
        TokenizerSpec.schemaObject, PretrainSpec.schemaObject, ReferenceSpec.schemaObject, RewardSpec.schemaObject, KLSpec.schemaObject,
        KLRange.schemaObject, ConditioningSpec.schemaObject, WeightsSpec.schemaObject, dirichletObject,
        adaptiveObject, tchebycheffObject, StageSpec.schemaObject, EvaluateSpec.schemaObject,
        AblateSpec.schemaObject, ExecutorSpec.schemaObject, SlurmResources.schemaObject,
        StepOverride.schemaObject, templateReference, templateParameter,
    ]
    public static let unions: [UnionSchema] = [weightDistribution, evalGrid, scalarization]

    public static func object(_ name: String) -> ObjectSchema {
        guard let o = objects.first(where: { $0.name == name }) else { fatalError("no schema object \(name)") }
        return o
    }
    public static func union(_ name: String) -> UnionSchema {
        guard let u = unions.first(where: { $0.name == name }) else { fatalError("no schema union \(name)") }
        return u
    }

    static let positive = SchemaType.number(minimum: nil, exclusiveMinimum: 0, maximum: nil)
    static let nonNegative = SchemaType.number(minimum: 0, exclusiveMinimum: nil, maximum: nil)
    static func int(_ min: Int?, _ max: Int? = nil) -> SchemaType { .integer(minimum: min, maximum: max) }
    /// A fraction of the data: a number in (0, 1) (1 itself reads as the integer 1).
    static let fraction = SchemaType.number(minimum: nil, exclusiveMinimum: 0, maximum: 1)

    static let dirichletObject = ObjectSchema(
        "Dirichlet", doc: "Parameters of the symmetric Dirichlet distribution over the simplex.",
        defaults: DirichletDefaults(), fields: [
            FieldSchema("concentration", positive,
                        "Concentration β of Dir(β,…,β): 1 is uniform on the simplex, < 1 favours the vertices, > 1 the centre."),
        ])
    static let adaptiveObject = ObjectSchema(
        "Adaptive", doc: "Adaptive weight sampling: shifts sampling mass toward weightings whose scalarized reward lags.",
        defaults: AdaptiveDefaults(), fields: [
            FieldSchema("base", .union("WeightDistribution"), "The distribution adapted (proposal)."),
            FieldSchema("rate", .number(minimum: 0, exclusiveMinimum: nil, maximum: 1),
                        "Probability that a draw returns a lagging lattice weighting instead of a draw from `base` (0: `base` only)."),
            FieldSchema("bins", int(2), "Points per edge of the simplex lattice on which the lag of the policy is tracked."),
        ])
    static let tchebycheffObject = ObjectSchema(
        "Tchebycheff", doc: "Smooth Tchebycheff scalarization −τ log Σ wᵢ exp(−rᵢ/τ).",
        defaults: TchebycheffDefaults(), fields: [
            FieldSchema("temperature", positive, "Temperature τ; smaller is closer to the hard minimum."),
        ])
    static let templateReference = ObjectSchema(
        "TemplateReference", doc: "A template file and the values of its parameters.", defaults: nil, fields: [
            FieldSchema("template", .string, "Path of the template file, relative to the including file.", required: true),
            FieldSchema("with", .map(.any), "Parameter values (name → value)."),
        ])
    static let templateParameter = ObjectSchema(
        "TemplateParameter", doc: "A parameter declared by a template file.", defaults: nil, fields: [
            FieldSchema("default", .any, "Value used when the including file does not give one; without it the parameter is required."),
            FieldSchema("description", .string, "What the parameter means."),
        ])

    public static let weightDistribution = UnionSchema(
        name: "WeightDistribution",
        doc: "Distribution of reward weightings w (on the simplex) sampled per training example.",
        variants: [
            .init("dirichlet", "Symmetric Dirichlet; the bare word means concentration 1.", body: .object("Dirichlet")),
            .init("uniform", "Uniform on the simplex."),
            .init("vertices", "Uniform over the vertices (one reward at a time)."),
            .init("fixed", "Always this weighting (one non-negative weight per reward, summing to 1).",
                  body: .array(nonNegative, minItems: 1), bare: false),
            .init("adaptive", "Adaptive sampling around a base distribution.", body: .object("Adaptive")),
            .init("mixture", "A mixture: each component has `probability` and one distribution key; probabilities sum to 1.",
                  body: .array(.mixtureComponent("WeightDistribution"), minItems: 1), bare: false),
        ])
    public static let evalGrid = UnionSchema(
        name: "EvalGrid", doc: "The weightings at which the policy is evaluated.",
        variants: [
            .init("points_per_edge", "A simplex lattice with this many points per edge (11 for two rewards: w₁ = 0, 0.1, …, 1).",
                  body: int(2), bare: false),
            .init("points", "Explicit weightings, one weight per reward each, summing to 1.",
                  body: .array(.array(nonNegative, minItems: 1), minItems: 1), bare: false),
        ])
    public static let scalarization = UnionSchema(
        name: "Scalarization", doc: "How the rewards are combined under a weighting.",
        variants: [
            .init("linear", "Σ wᵢ rᵢ."),
            .init("tchebycheff", "Smooth Tchebycheff; the bare word means temperature 0.1.", body: .object("Tchebycheff")),
        ])

    /// The type at a dotted key path (e.g. `weights.train.dirichlet.concentration`, `stages.0.steps`).
    public static func type(atPath path: [String]) -> SchemaType? {
        var t = SchemaType.object("Workflow")
        for seg in path {
            switch t {
            case .object(let name):
                guard let f = object(name).field(seg) else { return nil }
                t = f.type
            case .union(let name):
                guard let v = union(name).variant(seg), let body = v.body else { return nil }
                t = body
            case .array(let e, _):
                guard Int(seg) != nil else { return nil }
                t = e
            default:
                return nil
            }
        }
        return t
    }

    /// Whether a scalar may stand at a path of this type (ablation targets).
    public static func acceptsScalar(_ t: SchemaType) -> Bool {
        switch t {
        case .string, .enumeration, .integer, .number, .boolean, .scalar, .any: return true
        case .anyOf(let ts): return ts.contains(where: acceptsScalar)
        case .object(let n): return object(n).shorthand != nil
        case .union(let n): return union(n).variants.contains { $0.bare }
        default: return false
        }
    }

    /// Every dotted key path of the model that accepts a scalar (for did-you-mean suggestions).
    public static func scalarPaths() -> [String] {
        var out: [String] = []
        func visit(_ t: SchemaType, _ prefix: String, depth: Int) {
            if depth > 4 { return }
            if !prefix.isEmpty, acceptsScalar(t) { out.append(prefix) }
            switch t {
            case .object(let n):
                for f in object(n).fields where f.key != "ablate" {
                    visit(f.type, prefix.isEmpty ? f.key : prefix + "." + f.key, depth: depth + 1)
                }
            case .union(let n):
                for v in union(n).variants { if let b = v.body { visit(b, prefix + "." + v.tag, depth: depth + 1) } }
            default: break
            }
        }
        visit(.object("Workflow"), "", depth: 0)
        return out
    }
}

struct DirichletDefaults: Encodable { var concentration = 1.0 }
struct AdaptiveDefaults: Encodable {
    var base = WeightDistribution.dirichlet(concentration: 1)
    var rate = 0.5
    var bins = 10
}
struct TchebycheffDefaults: Encodable { var temperature = 0.1 }
