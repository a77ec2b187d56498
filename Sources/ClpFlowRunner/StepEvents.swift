import ClpFlowCore
import ClpFlowPlanner
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One line of a step's `events.jsonl`.
public enum StepEvent: Sendable, Equatable {
    /// `{"type":"progress","step":12,"total":200,"metrics":{"reward/rouge":0.31}}`
    case progress(step: Int, total: Int, metrics: [String: Double])
    /// `{"type":"metric","name":"loss","value":1.2,"step":12}`
    case metric(name: String, value: Double, step: Int?)
    /// `{"type":"message","text":"..."}`
    case message(String)

    public var json: JSONValue {
        switch self {
        case .progress(let step, let total, let metrics):
            return ["type": "progress", "step": .number(Double(step)), "total": .number(Double(total)),
                    "metrics": .object(metrics.mapValues { .number($0) })]
        case .metric(let name, let value, let step):
            var o: [String: JSONValue] = ["type": "metric", "name": .string(name), "value": .number(value)]
            if let step { o["step"] = .number(Double(step)) }
            return .object(o)
        case .message(let text):
            return ["type": "message", "text": .string(text)]
        }
    }

    /// Parses one line; nil for blank or unrecognised lines (they are ignored, not fatal).
    public static func parse(line: String) -> StepEvent? {
        guard let v = try? JSONValue.parse(line), let type = v["type"]?.stringValue else { return nil }
        switch type {
        case "progress":
            guard let step = v["step"]?.intValue, let total = v["total"]?.intValue else { return nil }
            var metrics: [String: Double] = [:]
            for (k, m) in v["metrics"]?.objectValue ?? [:] { if let d = m.doubleValue { metrics[k] = d } }
            return .progress(step: step, total: total, metrics: metrics)
        case "metric":
            guard let name = v["name"]?.stringValue, let value = v["value"]?.doubleValue else { return nil }
            return .metric(name: name, value: value, step: v["step"]?.intValue)
        case "message":
            return v["text"]?.stringValue.map { .message($0) }
        default: return nil
        }
    }
}

/// Appends events to a step's `events.jsonl`. Each event is one `write(2)` of one line on a file
/// opened with O_APPEND, so a reader never sees interleaved lines.
public final class StepEvents: @unchecked Sendable {
    public static let fileName = "events.jsonl"
    public let url: URL
    private let fd: Int32
    private let lock = NSLock()

    public init(url: URL) throws {
        self.url = url
        fd = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunnerError.io("cannot open \(url.path): \(String(cString: strerror(errno)))") }
    }

    /// The writer of a work directory's `events.jsonl`.
    public convenience init(workDir: URL) throws { try self.init(url: workDir.appendingPathComponent(StepEvents.fileName)) }

    deinit { close(fd) }

    public func emit(_ event: StepEvent) {
        let bytes = Array((event.json.canonical + "\n").utf8)
        lock.lock(); defer { lock.unlock() }
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return }
            off += n
        }
    }

    public func progress(step: Int, total: Int, metrics: [String: Double] = [:]) {
        emit(.progress(step: step, total: total, metrics: metrics))
    }

    public func metric(_ name: String, _ value: Double, step: Int? = nil) { emit(.metric(name: name, value: value, step: step)) }

    public func message(_ text: String) { emit(.message(text)) }
}

/// Reads the complete lines appended to an events file since the last call.
public struct EventsTail {
    public internal(set) var url: URL
    private var offset: UInt64 = 0
    private var partial: [UInt8] = []

    public init(url: URL) { self.url = url }

    public mutating func read() -> [StepEvent] {
        guard let h = FileHandle(forReadingAtPath: url.path) else { return [] }
        defer { try? h.close() }
        guard (try? h.seek(toOffset: offset)) != nil, let data = try? h.readToEnd(), !data.isEmpty else { return [] }
        offset += UInt64(data.count)
        partial.append(contentsOf: data)
        var events: [StepEvent] = []
        while let nl = partial.firstIndex(of: 0x0A) {
            let line = String(decoding: partial[..<nl], as: UTF8.self)
            partial.removeSubrange(...nl)
            if let e = StepEvent.parse(line: line) { events.append(e) }
        }
        return events
    }
}

/// What a step process needs, built by the `step` command from the environment the runner sets:
/// its planned step, its work directory (where outputs go), its inputs' artifact directories and
/// an events writer.
public struct StepContext {
    public let runDirectory: RunDirectory
    public let plan: Plan
    public let step: PlannedStep
    /// Outputs are written here; the runner publishes it to `artifacts/<cacheKey>` on exit 0.
    public let workDir: URL
    /// Artifact directory of each upstream step, by step id.
    public let inputDirs: [String: URL]
    public let events: StepEvents

    /// Environment variables the runner sets for every step process.
    public enum Env {
        public static let runDir = "CLP_FLOW_RUN_DIR"
        public static let stepId = "CLP_FLOW_STEP_ID"
        public static let workDir = "CLP_FLOW_WORK_DIR"
        public static let attempt = "CLP_FLOW_ATTEMPT"
        public static let events = "CLP_FLOW_EVENTS"
        /// `CLP_FLOW_INPUT_0`, `CLP_FLOW_INPUT_1`, …: artifact dirs of the inputs, in plan order.
        public static func input(_ i: Int) -> String { "CLP_FLOW_INPUT_\(i)" }
    }

    /// Loads the context of `stepId` in `runDir`. The work directory comes from CLP_FLOW_WORK_DIR
    /// (which must lie inside the run's work/ folder); without it (a manual invocation) a fresh
    /// work directory is created.
    public static func load(runDir: URL, stepId: String,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> StepContext {
        let rd = RunDirectory(runDir)
        let plan = try rd.readPlan()
        guard let step = plan.step(stepId) else {
            throw RunnerError.invalidPlan("no step '\(stepId)' in \(rd.planURL.path)")
        }
        let work: URL
        if let w = environment[Env.workDir], !w.isEmpty {
            work = URL(fileURLWithPath: w).standardizedFileURL
            let base = rd.workURL.standardizedFileURL.path + "/"
            guard work.path.hasPrefix(base), !work.path.dropFirst(base.count).contains("/") else {
                throw RunnerError.io("\(Env.workDir)=\(w) is not a folder of \(rd.workURL.path)")
            }
        } else {
            work = try rd.workDir(cacheKey: step.cacheKey, attempt: "manual-\(getpid())")
        }
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        var inputs: [String: URL] = [:]
        for id in step.inputs {
            guard let up = plan.step(id) else { throw RunnerError.invalidPlan("step '\(stepId)' reads unknown step '\(id)'") }
            let dir = try rd.artifacts.url(for: up.cacheKey)
            guard FileManager.default.fileExists(atPath: dir.appendingPathComponent(ArtifactManifest.fileName).path) else {
                throw RunnerError.artifact("input '\(id)' of '\(stepId)' has no published artifact at \(dir.path)")
            }
            inputs[id] = dir
        }
        return StepContext(runDirectory: rd, plan: plan, step: step, workDir: work, inputDirs: inputs,
                           events: try StepEvents(workDir: work))
    }
}
