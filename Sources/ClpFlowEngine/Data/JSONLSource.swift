import ClpFlowCore
import Foundation

/// The user's JSON Lines file: one object per line, with a field mapping. Blank lines are
/// skipped. Every bad line (invalid JSON, not an object, missing field, field of the wrong type)
/// is reported at once, with its line number.
public struct JSONLSource: Sendable, Hashable {
    public var path: String
    public var documentField: String
    public var summaryField: String
    /// Field holding a unique id (a string or an integer); when nil, ids are `line-<n>`.
    public var idField: String?

    public init(path: String, documentField: String = "document", summaryField: String = "summary", idField: String? = nil) {
        self.path = path; self.documentField = documentField; self.summaryField = summaryField; self.idField = idField
    }

    public func load() throws -> [SummaryExample] {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError.fileNotFound(path) }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataError.badLines(file: path, problems: [.init(line: 1, message: "the file is not valid UTF-8")])
        }
        return try parse(text)
    }

    /// Parses JSON Lines text (exposed for tests).
    public func parse(_ text: String) throws -> [SummaryExample] {
        var examples: [SummaryExample] = []
        var problems: [DataError.LineProblem] = []
        var seenIds: [String: Int] = [:]
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNo = i + 1
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let value: JSONValue
            do { value = try JSONValue.parse(String(line)) } catch {
                problems.append(.init(line: lineNo, message: "invalid JSON")); continue
            }
            guard case .object(let obj) = value else {
                problems.append(.init(line: lineNo, message: "expected a JSON object")); continue
            }
            var lineProblems: [String] = []
            func string(_ field: String) -> String? {
                guard let v = obj[field] else { lineProblems.append("missing field \"\(field)\""); return nil }
                guard case .string(let s) = v else { lineProblems.append("field \"\(field)\" must be a string, got \(kind(v))"); return nil }
                return s
            }
            let doc = string(documentField)
            let sum = string(summaryField)
            var id = "line-\(lineNo)"
            if let idField {
                switch obj[idField] {
                case .string(let s)?: id = s
                case .number(let d)? where d.rounded() == d: id = JSONValue.formatNumber(d)
                case nil: lineProblems.append("missing field \"\(idField)\"")
                case let v?: lineProblems.append("field \"\(idField)\" must be a string or an integer, got \(kind(v))")
                }
            }
            if let first = seenIds[id], lineProblems.isEmpty {
                lineProblems.append("duplicate id \"\(id)\" (first seen on line \(first))")
            }
            if !lineProblems.isEmpty {
                problems.append(.init(line: lineNo, message: lineProblems.joined(separator: "; "))); continue
            }
            seenIds[id] = lineNo
            examples.append(SummaryExample(id: id, document: doc!, summary: sum!))
        }
        if !problems.isEmpty { throw DataError.badLines(file: path, problems: problems) }
        return examples
    }

    private func kind(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// Plain texts from a JSON Lines file (a pretraining corpus): one object per line with a string
/// field. Blank lines are skipped; every bad line is reported at once with its line number.
public enum JSONLTexts {
    public static func load(path: String, field: String) throws -> [String] {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError.fileNotFound(path) }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataError.badLines(file: path, problems: [.init(line: 1, message: "the file is not valid UTF-8")])
        }
        return try parse(text, field: field, file: path)
    }

    public static func parse(_ text: String, field: String, file: String) throws -> [String] {
        var out: [String] = []
        var problems: [DataError.LineProblem] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            guard let value = try? JSONValue.parse(String(line)) else {
                problems.append(.init(line: i + 1, message: "invalid JSON")); continue
            }
            guard case .object(let obj) = value else {
                problems.append(.init(line: i + 1, message: "expected a JSON object")); continue
            }
            guard case .string(let s)? = obj[field] else {
                problems.append(.init(line: i + 1, message: obj[field] == nil ? "missing field \"\(field)\"" : "field \"\(field)\" must be a string"))
                continue
            }
            out.append(s)
        }
        if !problems.isEmpty { throw DataError.badLines(file: file, problems: problems) }
        return out
    }
}
