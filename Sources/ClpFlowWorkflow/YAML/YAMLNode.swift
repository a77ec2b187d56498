/// A position in a source file: 1-based line and column (columns count Unicode characters).
public struct SourcePosition: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int) {
        self.file = file; self.line = line; self.column = column
    }
    public var description: String { "\(file):\(line):\(column)" }
}

/// How a scalar was written. Quoted and block scalars are always strings; plain scalars are
/// resolved with the YAML 1.2 core schema.
public enum ScalarStyle: String, Sendable, Hashable {
    case plain, singleQuoted, doubleQuoted, literal, folded
}

/// A scalar resolved with the YAML 1.2 core schema.
public enum ResolvedScalar: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)

    /// A short name of the type, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        }
    }
}

/// A node of the YAML document tree. Every node knows where it was written.
public struct YAMLNode: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case scalar(text: String, style: ScalarStyle, tag: String?)
        case sequence([YAMLNode])
        case mapping([YAMLPair])
    }

    public var kind: Kind
    public var position: SourcePosition

    public init(_ kind: Kind, at position: SourcePosition) {
        self.kind = kind; self.position = position
    }

    public static func scalar(_ text: String, style: ScalarStyle = .plain, at position: SourcePosition) -> YAMLNode {
        YAMLNode(.scalar(text: text, style: style, tag: nil), at: position)
    }

    /// The scalar's value under the YAML 1.2 core schema (nil for collections).
    public var resolved: ResolvedScalar? {
        guard case .scalar(let text, let style, let tag) = kind else { return nil }
        return YAMLNode.resolve(text: text, style: style, tag: tag)
    }

    public var isScalar: Bool { if case .scalar = kind { return true }; return false }
    public var scalarText: String? { if case .scalar(let t, _, _) = kind { return t }; return nil }
    public var pairs: [YAMLPair]? { if case .mapping(let p) = kind { return p }; return nil }
    public var items: [YAMLNode]? { if case .sequence(let s) = kind { return s }; return nil }

    /// The value for `key` in a mapping.
    public subscript(key: String) -> YAMLNode? {
        pairs?.first(where: { $0.key == key })?.value
    }

    /// "mapping", "sequence" or the scalar type, for error messages.
    public var typeName: String {
        switch kind {
        case .mapping: return "mapping"
        case .sequence: return "sequence"
        case .scalar: return resolved?.typeName ?? "scalar"
        }
    }

    /// The type with its article ("a mapping", "an integer"), for error messages.
    public var typeWithArticle: String {
        let t = typeName
        return (["a", "e", "i", "o", "u"].contains(t.first.map(String.init) ?? "") ? "an " : "a ") + t
    }

    /// Number of nodes in this subtree.
    public var size: Int {
        switch kind {
        case .scalar: return 1
        case .sequence(let s): return 1 + s.reduce(0) { $0 + $1.size }
        case .mapping(let p): return 1 + p.reduce(0) { $0 + 1 + $1.value.size }
        }
    }

    static func resolve(text: String, style: ScalarStyle, tag: String?) -> ResolvedScalar {
        if let tag {
            switch tag {
            case "tag:yaml.org,2002:str": return .string(text)
            case "tag:yaml.org,2002:null": return .null
            case "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float":
                let r = resolvePlain(text)
                switch (tag, r) {
                case ("tag:yaml.org,2002:bool", .bool), ("tag:yaml.org,2002:int", .int),
                     ("tag:yaml.org,2002:float", .double): return r
                case ("tag:yaml.org,2002:float", .int(let i)): return .double(Double(i))
                default: return .string(text)
                }
            default: return .string(text)
            }
        }
        if style != .plain { return .string(text) }
        return resolvePlain(text)
    }

    /// YAML 1.2 core schema resolution of a plain scalar.
    static func resolvePlain(_ t: String) -> ResolvedScalar {
        switch t {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        let u = Array(t.utf8)
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        if u.count > 2, u[0] == 48, u[1] == UInt8(ascii: "x") || u[1] == UInt8(ascii: "o") {
            let radix = u[1] == UInt8(ascii: "x") ? 16 : 8
            if let v = Int(String(t.dropFirst(2)), radix: radix) { return .int(v) }
            return .string(t)
        }
        var i = 0
        if i < u.count, u[i] == UInt8(ascii: "-") || u[i] == UInt8(ascii: "+") { i += 1 }
        let digitsStart = i
        while i < u.count, isDigit(u[i]) { i += 1 }
        let intDigits = i - digitsStart
        if i == u.count && intDigits > 0 {
            if let v = Int(t) { return .int(v) }
            if let d = Double(t) { return .double(d) }  // integer too large for Int
            return .string(t)
        }
        // float: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
        var fracDigits = 0
        if i < u.count, u[i] == UInt8(ascii: ".") {
            i += 1
            let s = i
            while i < u.count, isDigit(u[i]) { i += 1 }
            fracDigits = i - s
        }
        if intDigits == 0 && fracDigits == 0 { return .string(t) }
        if i < u.count, u[i] == UInt8(ascii: "e") || u[i] == UInt8(ascii: "E") {
            i += 1
            if i < u.count, u[i] == UInt8(ascii: "-") || u[i] == UInt8(ascii: "+") { i += 1 }
            let s = i
            while i < u.count, isDigit(u[i]) { i += 1 }
            if i == s { return .string(t) }
        }
        if i != u.count { return .string(t) }
        if let d = Double(t) { return .double(d) }
        // Swift's Double parser rejects a trailing dot ("1."), which the core schema accepts.
        if t.hasSuffix("."), let d = Double(t + "0") { return .double(d) }
        return .string(t)
    }
}

/// A key/value pair of a mapping. Keys are scalars; `keyNode` keeps the key's position.
public struct YAMLPair: Sendable, Hashable {
    public var keyNode: YAMLNode
    public var value: YAMLNode
    public var key: String { keyNode.scalarText ?? "" }
    public init(keyNode: YAMLNode, value: YAMLNode) { self.keyNode = keyNode; self.value = value }
}
