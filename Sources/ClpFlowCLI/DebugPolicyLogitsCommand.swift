import ArgumentParser
import ClpFlowCore
import ClpFlowEngine
import ClpFlowServe
import ClpFlowSteps
import Foundation

/// Hidden developer command: the logits of a run's method at one weighting, computed the way
/// generation and evaluation compute them (`ConditionedPolicy.activate` on the policy's own
/// network), for the export cross-check in scripts/checks/export-hf.sh.
struct DebugPolicyLogitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug-policy-logits",
        abstract: "Print the logits of a run's method at one weighting on a token sequence as JSON.",
        shouldDisplay: false)

    @Option(name: .customLong("run-dir")) var runDir: String
    @Option var method: String
    @Option var weights: String
    @Option var kl: Double?
    @Option(help: "Comma-separated token ids; with --text, ignored.") var tokens: String?
    @Option(help: "A document: the tokens are its encoding followed by the separator (as generation builds prompts).") var text: String?

    func run() throws {
        let parsed = Weighting.parse(weights)
        if let p = parsed.problem { throw ValidationError("--weights: \(p)") }
        let trained = try TrainedRun(path: runDir)
        let opened = try trained.open(method: method, maxNewTokens: 1)
        let c = ConditioningInput(weights: parsed.weights, alpha: kl)
        let model: GPTModel
        var textual = false
        if method == "soft" {
            guard let i = parsed.weights.firstIndex(of: 1) else { throw ValidationError("soft: give a vertex weighting") }
            let dirs = try trained.inputDirectories(of: opened.evaluateStep, kind: .trainSoft)
            model = try ConditionedPolicy.load(from: dirs[i].appendingPathComponent(ArtifactFiles.policyDir)).model
        } else if let policy = opened.policy {
            _ = try policy.activate(c)
            model = policy.model
            textual = policy.mechanism == .prompt
        } else {
            throw ValidationError("\(method) is not one network")
        }
        var ids: [Int32]
        if let text {
            let codec = TokenizerCodec(tokenizer: opened.tokenizer)
            ids = opened.builder.tokens(RLExample(id: "x", document: text, reference: "", documentTokens: codec.encodeText(text)),
                                        conditioning: c, textual: textual)
        } else {
            ids = try (tokens ?? "").split(separator: ",").map { s in
                guard let v = Int32(s.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--tokens: '\(s)' is not a number") }
                return v
            }
        }
        guard !ids.isEmpty else { throw ValidationError("give --tokens or --text") }
        let logits = try model.forward(tokens: ids, B: 1, T: ids.count)
        let V = model.config.vocabSize
        var rows: [String] = []
        for t in 0..<ids.count {
            rows.append("[" + (0..<V).map { "\(logits[t * V + $0])" }.joined(separator: ",") + "]")
        }
        print("{\"vocab_size\":\(V),\"tokens\":[\(ids.map(String.init).joined(separator: ","))],\"logits\":[\(rows.joined(separator: ","))]}")
    }
}
