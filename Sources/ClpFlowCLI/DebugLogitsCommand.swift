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

    func run() throws {
        let ids = try tokens.split(separator: ",").map { s -> Int32 in
            guard let v = Int32(s.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--tokens: '\(s)' is not an integer token id")
            }
            return v
        }
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
        print("{\"vocab_size\":\(V),\"tokens\":[\(ids.map(String.init).joined(separator: ","))],\"logits\":[\(rows.joined(separator: ","))]}")
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
