import ArgumentParser
import ClpFlowEngine
import Foundation

/// Hidden developer command: prints the logits of a checkpoint on given tokens as JSON
/// (used by the PyTorch cross-check in scripts/checks/model-hf.sh).
struct DebugLogitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug-logits",
        abstract: "Print the logits of a model checkpoint on a token sequence as JSON.",
        shouldDisplay: false)

    @Option(help: "A Hugging Face GPT-2 directory (config.json + model.safetensors) or an engine .safetensors file.")
    var checkpoint: String

    @Option(help: "Comma-separated token ids, e.g. 1,2,3.")
    var tokens: String

    @Option(help: "Comma-separated target ids (one per token, -1 = ignore): also print the weighted loss and every gradient.")
    var targets: String?

    @Option(help: "Comma-separated per-position loss weights (default 1 each), used with --targets.")
    var weights: String?

    func run() throws {
        func list<T: LosslessStringConvertible>(_ text: String, _ flag: String) throws -> [T] {
            try text.split(separator: ",").map { s -> T in
                guard let v = T(s.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("\(flag): '\(s)' is not a number")
                }
                return v
            }
        }
        let ids: [Int32] = try list(tokens, "--tokens")
        guard !ids.isEmpty else { throw ValidationError("--tokens: give at least one token id") }
        let url = URL(fileURLWithPath: checkpoint)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw ValidationError("--checkpoint: \(checkpoint) does not exist")
        }
        let model = isDir.boolValue ? try GPTModel.importHuggingFace(from: url) : try GPTModel.load(from: url)
        let logits = try model.forward(tokens: ids, B: 1, T: ids.count)
        let V = model.config.vocabSize
        var rows: [String] = []
        for t in 0..<ids.count {
            rows.append("[" + (0..<V).map { "\(logits[t * V + $0])" }.joined(separator: ",") + "]")
        }
        var extra = ""
        if let targets {
            let tg: [Int32] = try list(targets, "--targets")
            let w: [Float] = try weights.map { try list($0, "--weights") } ?? [Float](repeating: 1, count: ids.count)
            guard tg.count == ids.count, w.count == ids.count else {
                throw ValidationError("--targets and --weights need one value per token (\(ids.count))")
            }
            model.zeroGrads()
            let loss = try model.lossAndBackward(targets: tg, weights: w)
            let grads = model.views.map { v in
                "\"\(v.name)\":[" + (0..<v.count).map { "\(model.grads[v.offset + $0])" }.joined(separator: ",") + "]"
            }
            extra = ",\"loss\":\(loss),\"grads\":{\(grads.joined(separator: ","))}"
        }
        print("{\"vocab_size\":\(V),\"tokens\":[\(ids.map(String.init).joined(separator: ","))],\"logits\":[\(rows.joined(separator: ","))]\(extra)}")
    }
}

/// Hidden developer command: writes a freshly initialised model as a Hugging Face directory
/// (and optionally as an engine checkpoint).
struct DebugInitModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug-init-model",
        abstract: "Initialise a GPT-2 model from a seed and export it as a Hugging Face directory.",
        shouldDisplay: false)

    @Option var vocabSize: Int = 50
    @Option var context: Int = 16
    @Option var layers: Int = 2
    @Option var heads: Int = 2
    @Option var dModel: Int = 16
    @Flag(help: "Use a separate lm_head.weight instead of the tied wte.") var untied = false
    @Option var seed: UInt64 = 0
    @Option(help: "Output Hugging Face directory.") var out: String
    @Option(help: "Also write the engine checkpoint (one .safetensors file) here.") var engineCheckpoint: String?

    func run() throws {
        let cfg = GPTConfig(vocabSize: vocabSize, context: context, layers: layers, heads: heads, dModel: dModel, tiedHead: !untied)
        let model = try GPTModel(config: cfg, seed: seed)
        try model.exportHuggingFace(to: URL(fileURLWithPath: out))
        if let engineCheckpoint { try model.save(to: URL(fileURLWithPath: engineCheckpoint)) }
    }
}
