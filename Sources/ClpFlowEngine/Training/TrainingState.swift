import ClpFlowCore
import Foundation

/// The resumable state of a training loop: parameters, the optimiser's moments and step count,
/// the data position and the curve so far. Saved as a folder `state-<step>` (state.safetensors +
/// state.json) next to a `latest` file naming it; `latest` is replaced atomically after the folder
/// is complete, so a kill at any moment leaves either the previous or the new state, never half
/// of one.
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

    struct Meta: Codable {
        var format: Int
        var parameters: Int
        var optimizerStep: Int
        var position: Position
        var curve: [Record]
    }

    static let format = 1
    static let latestFile = "latest"

    public static func save(to dir: URL, model: GPTModel, optimizer: AdamW, position: Position, curve: [Record]) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        let name = "state-\(position.step)"
        let folder = dir.appendingPathComponent(name, isDirectory: true)
        if fm.fileExists(atPath: folder.path) { try fm.removeItem(at: folder) }
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        let n = model.parameterCount
        try SafeTensors.write([
            ("params", SafeTensors.Tensor(shape: [n], values: model.params.array)),
            ("adam_m", SafeTensors.Tensor(shape: [n], values: optimizer.m.array)),
            ("adam_v", SafeTensors.Tensor(shape: [n], values: optimizer.v.array)),
        ], to: folder.appendingPathComponent("state.safetensors"))
        let meta = Meta(format: format, parameters: n, optimizerStep: optimizer.step, position: position, curve: curve)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        try enc.encode(meta).write(to: folder.appendingPathComponent("state.json"), options: .atomic)
        try Data(name.utf8).write(to: dir.appendingPathComponent(latestFile), options: .atomic)
        // Older states are no longer needed.
        for other in (try? fm.contentsOfDirectory(atPath: dir.path)) ?? [] where other.hasPrefix("state-") && other != name {
            try? fm.removeItem(at: dir.appendingPathComponent(other))
        }
    }

    /// Restores the state saved in `dir` into `model` and `optimizer`; nil when there is none.
    public static func load(from dir: URL, model: GPTModel, optimizer: AdamW) throws -> (position: Position, curve: [Record])? {
        guard let latest = try? String(contentsOf: dir.appendingPathComponent(latestFile), encoding: .utf8) else { return nil }
        let folder = dir.appendingPathComponent(latest.trimmingCharacters(in: .whitespacesAndNewlines), isDirectory: true)
        let metaURL = folder.appendingPathComponent("state.json")
        guard let metaData = try? Data(contentsOf: metaURL) else {
            throw GPTModelError.checkpoint("resumable state \(folder.path) has no state.json; remove \(dir.path) to start over")
        }
        let meta: Meta
        do { meta = try JSONDecoder().decode(Meta.self, from: metaData) } catch {
            throw GPTModelError.checkpoint("resumable state \(metaURL.path) cannot be read (\(error)); remove \(dir.path) to start over")
        }
        guard meta.format == format, meta.parameters == model.parameterCount else {
            throw GPTModelError.checkpoint("resumable state \(folder.path) is for \(meta.parameters) parameters (format \(meta.format)), the model has \(model.parameterCount); remove \(dir.path) to start over")
        }
        let file = try SafeTensors.read(folder.appendingPathComponent("state.safetensors"))
        for name in ["params", "adam_m", "adam_v"] {
            guard let t = file.tensors[name], t.values.count == model.parameterCount else {
                throw GPTModelError.checkpoint("resumable state \(folder.path): tensor \(name) is missing or has the wrong size")
            }
        }
        model.params.copy(from: file.tensors["params"]!.values)
        optimizer.m.copy(from: file.tensors["adam_m"]!.values)
        optimizer.v.copy(from: file.tensors["adam_v"]!.values)
        optimizer.restore(step: meta.optimizerStep)
        return (meta.position, meta.curve)
    }
}
