import ClpFlowCore

/// A JSON value together with its canonical text (`JSONValue.canonical`), so configurations
/// assembled from the same sections (e.g. one per seed replica) reuse the sections' text instead
/// of re-serialising them. Objects are assembled with the same rules as `JSONValue.canonical`
/// (keys sorted by UTF-8 bytes, no whitespace); tests check the texts are identical.
struct Canon {
    let value: JSONValue
    let text: String

    init(_ value: JSONValue) { self.value = value; self.text = value.canonical }

    private init(value: JSONValue, text: String) { self.value = value; self.text = text }

    static func object(_ members: [String: Canon]) -> Canon {
        let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var text = "{"
        var value: [String: JSONValue] = [:]
        value.reserveCapacity(members.count)
        for (i, k) in keys.enumerated() {
            if i > 0 { text += "," }
            text += quoted(k)
            text += ":"
            let m = members[k]!
            text += m.text
            value[k] = m.value
        }
        text += "}"
        return Canon(value: .object(value), text: text)
    }

    static func array(_ items: [Canon]) -> Canon {
        Canon(value: .array(items.map(\.value)), text: "[" + items.map(\.text).joined(separator: ",") + "]")
    }

    static func number(_ d: Double) -> Canon { Canon(value: .number(d), text: JSONValue.formatNumber(d)) }

    /// JSON string literal; plain printable ASCII without quotes or backslashes is written as is.
    static func quoted(_ s: String) -> String {
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f && $0 != 0x22 && $0 != 0x5c }) { return "\"" + s + "\"" }
        return JSONValue.string(s).canonical
    }
}
