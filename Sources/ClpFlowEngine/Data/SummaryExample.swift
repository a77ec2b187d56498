import ClpFlowCore
import Foundation

/// One summarisation example: a document and its reference summary.
public struct SummaryExample: Codable, Hashable, Sendable {
    public var id: String
    public var document: String
    public var summary: String
    public init(id: String, document: String, summary: String) {
        self.id = id; self.document = document; self.summary = summary
    }
}

/// Errors of the data sources and of the prepare step. Each message says what to do.
public enum DataError: Error, CustomStringConvertible, Equatable {
    case debianIndexMissing(directory: String)
    case commandFailed(command: String, status: Int32, stderr: String)
    case fileNotFound(String)
    case badLines(file: String, problems: [LineProblem])
    case invalidSplit(String)
    case tooFewExamples(needed: Int, available: Int, detail: String)
    case invalidConfiguration(String)

    public struct LineProblem: Equatable, Sendable {
        public var line: Int
        public var message: String
        public init(line: Int, message: String) { self.line = line; self.message = message }
    }

    public var description: String {
        switch self {
        case .debianIndexMissing(let dir):
            return "no English package description index (*_i18n_Translation-en*) in \(dir); "
                + "fetch it with: sudo apt-get -o Acquire::Languages=en update"
        case .commandFailed(let cmd, let status, let err):
            return "\(cmd) exited with status \(status)" + (err.isEmpty ? "" : ": \(err)")
        case .fileNotFound(let p):
            return "data file not found: \(p)"
        case .badLines(let file, let problems):
            let shown = problems.prefix(50).map { "\(file):\($0.line): \($0.message)" }
            let more = problems.count > 50 ? ["… and \(problems.count - 50) more bad lines"] : []
            return "\(problems.count) bad line(s) in \(file):\n" + (shown + more).joined(separator: "\n")
        case .invalidSplit(let m):
            return "invalid split sizes: \(m)"
        case .tooFewExamples(let needed, let available, let detail):
            return "not enough examples: \(needed) needed but only \(available) available after filtering (\(detail)); "
                + "lower the split sizes or relax the length filters"
        case .invalidConfiguration(let m):
            return m
        }
    }
}

/// The three splits written by the prepare step.
public struct DatasetSplits: Equatable, Sendable {
    public var train: [SummaryExample]
    public var valid: [SummaryExample]
    public var test: [SummaryExample]
    public init(train: [SummaryExample], valid: [SummaryExample], test: [SummaryExample]) {
        self.train = train; self.valid = valid; self.test = test
    }

    public static let splitNames = ["train", "valid", "test"]

    public subscript(name: String) -> [SummaryExample] {
        switch name {
        case "train": return train
        case "valid": return valid
        default: return test
        }
    }

    /// Writes `train.jsonl`, `valid.jsonl` and `test.jsonl` into `directory`.
    public func save(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in Self.splitNames {
            try SummaryJSONL.write(self[name], to: directory.appendingPathComponent("\(name).jsonl"))
        }
    }

    /// Reads the three split files written by `save(to:)`.
    public static func load(from directory: URL) throws -> DatasetSplits {
        let parts = try splitNames.map { try SummaryJSONL.read(directory.appendingPathComponent("\($0).jsonl")) }
        return DatasetSplits(train: parts[0], valid: parts[1], test: parts[2])
    }
}

/// JSON Lines with one `{"document", "id", "summary"}` object per line (canonical JSON, keys sorted).
public enum SummaryJSONL {
    public static func encode(_ examples: [SummaryExample]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(examples.reduce(0) { $0 + $1.document.utf8.count + $1.summary.utf8.count + $1.id.utf8.count + 40 })
        for e in examples {
            out.append(contentsOf: #"{"document":"#.utf8); appendQuoted(e.document, to: &out)
            out.append(contentsOf: #","id":"#.utf8); appendQuoted(e.id, to: &out)
            out.append(contentsOf: #","summary":"#.utf8); appendQuoted(e.summary, to: &out)
            out.append(contentsOf: "}\n".utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A JSON string literal with the same escaping as `JSONValue.canonical`.
    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(0x22)
        for b in s.utf8 {
            switch b {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 15)])
            default: out.append(b)
            }
        }
        out.append(0x22)
    }

    public static func write(_ examples: [SummaryExample], to url: URL) throws {
        try Data(encode(examples).utf8).write(to: url, options: .atomic)
    }

    /// Reads a split file. Well-formed files are decoded in one pass (the lines joined into one
    /// JSON array); otherwise the line-by-line reader reports every bad line.
    public static func read(_ url: URL) throws -> [SummaryExample] {
        guard FileManager.default.fileExists(atPath: url.path) else { throw DataError.fileNotFound(url.path) }
        let data = try Data(contentsOf: url)
        var array = Data("[".utf8)
        array.reserveCapacity(data.count + 2)
        var first = true
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            if !first { array.append(UInt8(ascii: ",")) }
            array.append(contentsOf: line)
            first = false
        }
        array.append(UInt8(ascii: "]"))
        if let examples = try? JSONDecoder().decode([SummaryExample].self, from: array),
           Set(examples.map(\.id)).count == examples.count {
            return examples
        }
        return try JSONLSource(path: url.path, documentField: "document", summaryField: "summary", idField: "id").load()
    }
}
