import Foundation

/// Coding keys built at run time (tagged unions are one-key objects).
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

private func singleTag(_ decoder: Decoder, union: String) throws -> (String, KeyedDecodingContainer<AnyKey>)? {
    let c = try decoder.container(keyedBy: AnyKey.self)
    guard c.allKeys.count == 1, let k = c.allKeys.first else {
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
            debugDescription: "\(union): expected a bare word or a mapping with exactly one key"))
    }
    return (k.stringValue, c)
}

private func bareWord(_ decoder: Decoder) -> String? {
    guard let c = try? decoder.singleValueContainer() else { return nil }
    return try? c.decode(String.self)
}

// The JSON of these enums has the shape of the YAML: a bare word, or `{tag: body}`.

extension WeightDistribution {
    private struct DirichletBody: Codable { var concentration: Double = 1 }
    private struct AdaptiveBody: Codable { var base: WeightDistribution; var rate: Double; var bins: Int }

    public init(from decoder: Decoder) throws {
        if let word = bareWord(decoder) {
            switch word {
            case "uniform": self = .uniform
            case "vertices": self = .vertices
            case "dirichlet": self = .dirichlet(concentration: 1)
            default: throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown weight distribution '\(word)'"))
            }
            return
        }
        guard let (tag, c) = try singleTag(decoder, union: "WeightDistribution") else { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "")) }
        let k = AnyKey(tag)
        switch tag {
        case "dirichlet": self = .dirichlet(concentration: try c.decode(DirichletBody.self, forKey: k).concentration)
        case "uniform": self = .uniform
        case "vertices": self = .vertices
        case "fixed": self = .fixed(try c.decode([Double].self, forKey: k))
        case "adaptive":
            let b = try c.decode(AdaptiveBody.self, forKey: k)
            self = .adaptive(base: b.base, rate: b.rate, bins: b.bins)
        case "mixture": self = .mixture(try c.decode([MixtureComponent].self, forKey: k))
        default: throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown weight distribution '\(tag)'"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .uniform: var c = encoder.singleValueContainer(); try c.encode("uniform")
        case .vertices: var c = encoder.singleValueContainer(); try c.encode("vertices")
        default:
            var c = encoder.container(keyedBy: AnyKey.self)
            switch self {
            case .dirichlet(let a): try c.encode(DirichletBody(concentration: a), forKey: AnyKey("dirichlet"))
            case .fixed(let w): try c.encode(w, forKey: AnyKey("fixed"))
            case .adaptive(let base, let rate, let bins):
                try c.encode(AdaptiveBody(base: base, rate: rate, bins: bins), forKey: AnyKey("adaptive"))
            case .mixture(let m): try c.encode(m, forKey: AnyKey("mixture"))
            case .uniform, .vertices: break
            }
        }
    }

    /// The union tag (`dirichlet`, `uniform`, …).
    public var tag: String {
        switch self {
        case .dirichlet: return "dirichlet"
        case .uniform: return "uniform"
        case .vertices: return "vertices"
        case .fixed: return "fixed"
        case .adaptive: return "adaptive"
        case .mixture: return "mixture"
        }
    }
}

extension MixtureComponent {
    /// `{probability: p, <distribution tag>: <body>}`, e.g. `{probability: 0.2, vertices: {}}`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        probability = try c.decode(Double.self, forKey: AnyKey("probability"))
        let others = c.allKeys.filter { $0.stringValue != "probability" }
        guard others.count == 1, let k = others.first else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "a mixture component needs `probability` and exactly one distribution key"))
        }
        let body = try c.superDecoder(forKey: k)
        switch k.stringValue {
        case "uniform": distribution = .uniform
        case "vertices": distribution = .vertices
        default:
            distribution = try WeightDistribution(tag: k.stringValue, body: body)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        try c.encode(probability, forKey: AnyKey("probability"))
        switch distribution {
        case .uniform: try c.encode([String: Int](), forKey: AnyKey("uniform"))
        case .vertices: try c.encode([String: Int](), forKey: AnyKey("vertices"))
        default:
            // The distribution's own encoding is `{tag: body}`: lift its one key.
            let json = try encodeToJSON(distribution)
            if case .object(let o) = json, let (k, v) = o.first { try c.encode(v, forKey: AnyKey(k)) }
        }
    }
}

extension WeightDistribution {
    /// Decodes the body of the variant `tag`.
    init(tag: String, body: Decoder) throws {
        switch tag {
        case "dirichlet": self = .dirichlet(concentration: try DirichletBody(from: body).concentration)
        case "uniform": self = .uniform
        case "vertices": self = .vertices
        case "fixed": self = .fixed(try [Double](from: body))
        case "adaptive":
            let b = try AdaptiveBody(from: body)
            self = .adaptive(base: b.base, rate: b.rate, bins: b.bins)
        case "mixture": self = .mixture(try [MixtureComponent](from: body))
        default: throw DecodingError.dataCorrupted(.init(codingPath: body.codingPath, debugDescription: "unknown weight distribution '\(tag)'"))
        }
    }
}

extension EvalGrid {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        if c.contains(AnyKey("points_per_edge")) {
            self = .pointsPerEdge(try c.decode(Int.self, forKey: AnyKey("points_per_edge")))
        } else if c.contains(AnyKey("points")) {
            self = .points(try c.decode([[Double]].self, forKey: AnyKey("points")))
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected `points_per_edge` or `points`"))
        }
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        switch self {
        case .pointsPerEdge(let n): try c.encode(n, forKey: AnyKey("points_per_edge"))
        case .points(let p): try c.encode(p, forKey: AnyKey("points"))
        }
    }
}

extension Scalarization {
    private struct TchebycheffBody: Codable { var temperature: Double }
    public init(from decoder: Decoder) throws {
        if let word = bareWord(decoder) {
            switch word {
            case "linear": self = .linear
            case "tchebycheff": self = .tchebycheff(temperature: 0.1)
            default: throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown scalarization '\(word)'"))
            }
            return
        }
        let c = try decoder.container(keyedBy: AnyKey.self)
        if c.contains(AnyKey("tchebycheff")) {
            self = .tchebycheff(temperature: try c.decode(TchebycheffBody.self, forKey: AnyKey("tchebycheff")).temperature)
        } else if c.contains(AnyKey("linear")) {
            self = .linear
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected `linear` or `tchebycheff`"))
        }
    }
    public func encode(to encoder: Encoder) throws {
        switch self {
        case .linear: var c = encoder.singleValueContainer(); try c.encode("linear")
        case .tchebycheff(let t):
            var c = encoder.container(keyedBy: AnyKey.self)
            try c.encode(TchebycheffBody(temperature: t), forKey: AnyKey("tchebycheff"))
        }
    }
}

extension YAMLScalarValue {
    /// A plain JSON scalar.
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let i = try? c.decode(Int.self) { self = .int(i); return }
        if let d = try? c.decode(Double.self) { self = .double(d); return }
        self = .string(try c.decode(String.self))
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .bool(let b): try c.encode(b)
        }
    }

    /// The value as written in a cell name or a message.
    public var text: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return JSONValueFormat.number(d)
        case .bool(let b): return b ? "true" : "false"
        }
    }
}

enum JSONValueFormat {
    static func number(_ d: Double) -> String {
        if d.rounded() == d && abs(d) < 1e15 { return String(Int64(d)) + ".0" }
        return "\(d)"
    }
}
