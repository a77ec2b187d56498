import ClpFlowCore
import Foundation

/// The resumable state of a training loop: named float tensors (parameters, optimiser moments)
/// and a JSON body (optimiser step counts, generator state, data position, the curve so far).
/// Saved as a folder `state-<step>` (state.safetensors + state.json) next to a `latest` file
/// naming it; `latest` is replaced atomically after the folder is complete, so a kill at any
/// moment leaves either the previous or the new state, never half of one.
public enum TrainingState {
    public struct Position: Codable, Sendable, Hashable {
        public var step: Int
        public var epoch: Int
        public var cursor: Int
        public init(step: Int, epoch: Int, cursor: Int) { self.step = step; self.epoch = epoch; self.cursor = cursor }
    }

    public struct Record: Codable, Sendable, Hashable {
        public var step: Int
        public var metrics: [String: Double]
        public init(step: Int, metrics: [String: Double]) { self.step = step; self.metrics = metrics }
    }

    /// What state.json holds: the trainer kind, the step, the tensors' sizes and the trainer's body.
    struct Envelope<Body: Codable>: Codable {
        var format: Int
        var kind: String
        var step: Int
        var tensors: [String: Int]
        var body: Body
    }

    static let format = 2
    static let latestFile = "latest"

    /// Writes a state of trainer `kind` at `step`. Older states in `dir` are removed once the new
    /// one is complete.
    public static func save<Body: Codable>(to dir: URL, kind: String, step: Int, tensors: [(String, [Float])], body: Body) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        let name = "state-\(step)"
        let folder = dir.appendingPathComponent(name, isDirectory: true)
        if fm.fileExists(atPath: folder.path) { try fm.removeItem(at: folder) }
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        try SafeTensors.write(tensors.map { ($0.0, SafeTensors.Tensor(shape: [$0.1.count], values: $0.1)) },
                              to: folder.appendingPathComponent("state.safetensors"))
        let envelope = Envelope(format: format, kind: kind, step: step,
                                tensors: Dictionary(uniqueKeysWithValues: tensors.map { ($0.0, $0.1.count) }), body: body)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        try enc.encode(envelope).write(to: folder.appendingPathComponent("state.json"), options: .atomic)
        try Data(name.utf8).write(to: dir.appendingPathComponent(latestFile), options: .atomic)
        for other in (try? fm.contentsOfDirectory(atPath: dir.path)) ?? [] where other.hasPrefix("state-") && other != name {
            try? fm.removeItem(at: dir.appendingPathComponent(other))
        }
    }

    /// The latest state in `dir`, nil when there is none. `sizes` gives the size every tensor must
    /// have; a state of another kind, format or size is an error that says how to start over.
    public static func load<Body: Codable>(from dir: URL, kind: String, sizes: [String: Int],
                                           as: Body.Type) throws -> (step: Int, tensors: [String: [Float]], body: Body)? {
        guard let latest = try? String(contentsOf: dir.appendingPathComponent(latestFile), encoding: .utf8) else { return nil }
        let folder = dir.appendingPathComponent(latest.trimmingCharacters(in: .whitespacesAndNewlines), isDirectory: true)
        let startOver = "remove \(dir.path) to start over"
        let metaURL = folder.appendingPathComponent("state.json")
        guard let metaData = try? Data(contentsOf: metaURL) else {
            throw TrainingError.state("resumable state \(folder.path) has no state.json; \(startOver)")
        }
        let envelope: Envelope<Body>
        do { envelope = try JSONDecoder().decode(Envelope<Body>.self, from: metaData) } catch {
            throw TrainingError.state("resumable state \(metaURL.path) cannot be read (\(error)); \(startOver)")
        }
        guard envelope.format == format, envelope.kind == kind else {
            throw TrainingError.state("resumable state \(folder.path) is a \(envelope.kind) state of format \(envelope.format), not a \(kind) state of format \(format); \(startOver)")
        }
        guard envelope.tensors == sizes else {
            throw TrainingError.state("resumable state \(folder.path) holds tensors \(describe(envelope.tensors)), this training needs \(describe(sizes)); \(startOver)")
        }
        let file: SafeTensors.File
        do { file = try SafeTensors.read(folder.appendingPathComponent("state.safetensors")) } catch {
            throw TrainingError.state("resumable state \(folder.path): \(error); \(startOver)")
        }
        var tensors: [String: [Float]] = [:]
        for (name, n) in sizes {
            guard let t = file.tensors[name], t.values.count == n else {
                throw TrainingError.state("resumable state \(folder.path): tensor \(name) is missing or has the wrong size; \(startOver)")
            }
            tensors[name] = t.values
        }
        return (envelope.step, tensors, envelope.body)
    }

    private static func describe(_ sizes: [String: Int]) -> String {
        sizes.keys.sorted().map { "\($0)[\(sizes[$0]!)]" }.joined(separator: ", ")
    }
}

/// When a training loop writes its resumable state: every `everySteps` steps and/or every
/// `everySeconds` of wall time (0 turns either off), never after the last step (the step's
/// outputs follow it). When states are written changes nothing in the results.
public struct CheckpointSchedule: Sendable, Hashable {
    public var everySteps: Int
    public var everySeconds: Double
    private var lastNanos: UInt64

    public init(everySteps: Int, everySeconds: Double) {
        self.everySteps = everySteps; self.everySeconds = everySeconds
        lastNanos = DispatchTime.now().uptimeNanoseconds
    }

    public static let never = CheckpointSchedule(everySteps: 0, everySeconds: 0)

    public var enabled: Bool { everySteps > 0 || everySeconds > 0 }

    /// Whether to save after `done` of `total` steps; resets the clock when it says yes.
    public mutating func due(done: Int, total: Int) -> Bool {
        guard done < total else { return false }
        let now = DispatchTime.now().uptimeNanoseconds
        let bySteps = everySteps > 0 && done % everySteps == 0
        let byTime = everySeconds > 0 && Double(now &- lastNanos) / 1e9 >= everySeconds
        if bySteps || byTime { lastNanos = now; return true }
        return false
    }
}

/// AdamW moments and step count as state tensors / body values.
extension AdamW {
    func stateTensors(_ prefix: String) -> [(String, [Float])] { [("\(prefix).m", m.array), ("\(prefix).v", v.array)] }
    func restoreState(_ prefix: String, tensors: [String: [Float]], step: Int) {
        m.copy(from: tensors["\(prefix).m"]!)
        v.copy(from: tensors["\(prefix).v"]!)
        restore(step: step)
    }
}
