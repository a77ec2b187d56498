import ArgumentParser
import ClpFlowCore
import ClpFlowEngine
import ClpFlowPlanner
import ClpFlowRunner
import ClpFlowSteps
import ClpFlowWorkflow
import Foundation

/// `clp-flow generate`: steered generation from a trained policy, or from any method of a run.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text steered by reward weights (and the KL weight) from a trained policy.",
        discussion: """
            Either --checkpoint DIR (the policy/ folder of a train-clp or train-soft artifact, or the \
            artifact itself), or --run-dir DIR --method METHOD to use any evaluated method of a run: \
            clp, prompt, rewarded-soups (parameters mixed), logit-mixing (one forward pass per SOFT \
            policy per token) or dera (two forward passes per token). CLP needs one forward pass per token.
            """
    )

    @Option(help: "A policy directory (policy.safetensors + tokenizer files) or a step artifact holding policy/.")
    var checkpoint: String?

    @Option(name: .customLong("run-dir"), help: "A run directory; use with --method.")
    var runDir: String?

    @Option(help: "Method of the run: \(MethodFactory.methods.joined(separator: ", ")).")
    var method: String?

    @Option(help: "Only consider evaluate steps whose id contains this text (e.g. an ablation cell).")
    var cell: String?

    @Option(help: "Reward weights, comma separated, non-negative, summing to 1 (e.g. 0.2,0.8).")
    var weights: String

    @Option(help: "KL weight α, for policies conditioned on it (multi-KL) and DeRa.")
    var kl: Double?

    @Option(help: "Number of samples.")
    var samples: Int = 1

    @Option(help: "Sampling temperature (0: greedy).")
    var temperature: Double = 0.7

    @Option(name: .customLong("top-p"), help: "Nucleus sampling threshold.")
    var topP: Double = 1

    @Option(name: .customLong("max-new-tokens"), help: "Maximum generated tokens.")
    var maxNewTokens: Int = 32

    @Option(help: "Sampling seed.")
    var seed: UInt64 = 0

    @Flag(help: "Print JSON (texts, tokens/s, forward passes per token).")
    var json = false

    @Argument(help: "The document to summarise.")
    var text: String

    func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        return ExitCode(ClpFlowExit.invalidInput)
    }

    func parseWeights() throws -> [Double] {
        let parts = weights.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var out: [Double] = []
        for p in parts {
            guard let v = Double(p), v.isFinite else { throw fail("--weights: \"\(p)\" is not a number") }
            guard v >= 0 else { throw fail("--weights: \(p) is negative; weights must be non-negative") }
            out.append(v)
        }
        guard !out.isEmpty else { throw fail("--weights is empty") }
        let s = out.reduce(0, +)
        guard abs(s - 1) < 1e-4 else { throw fail("--weights must sum to 1, they sum to \(s)") }
        return out
    }

    func run() throws {
        let w = try parseWeights()
        if let kl, !(kl > 0) { throw fail("--kl must be positive") }
        guard samples >= 1, maxNewTokens >= 1 else { throw fail("--samples and --max-new-tokens must be at least 1") }
        let method: SteerableMethod
        let tokenizer: any Tokenizer
        let reference: GPTModel?
        if let checkpoint {
            var dir = URL(fileURLWithPath: checkpoint)
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("policy").appendingPathComponent(ConditionedPolicy.fileName).path) {
                dir = dir.appendingPathComponent("policy")
            }
            guard FileManager.default.fileExists(atPath: dir.appendingPathComponent(ConditionedPolicy.fileName).path) else {
                throw fail("\(checkpoint) holds no \(ConditionedPolicy.fileName)")
            }
            let policy = try ConditionedPolicy.load(from: dir)
            tokenizer = try loadTokenizer(from: dir)
            let builder = PromptBuilder(codec: TokenizerCodec(tokenizer: tokenizer), context: policy.model.config.context,
                                        maxNewTokens: maxNewTokens, rewardNames: policy.rewardNames)
            method = PolicyMethod(name: "clp-\(policy.mechanism.rawValue)", policy: policy, builder: builder)
            reference = nil
            guard w.count == policy.rewardNames.count else {
                throw fail("--weights has \(w.count) values; this policy has \(policy.rewardNames.count) rewards (\(policy.rewardNames.joined(separator: ", ")))")
            }
            if policy.multiKL && kl == nil { throw fail("this policy is conditioned on the KL weight: give --kl") }
        } else if let runDir, let name = method_ {
            let opened: OpenedMethod
            do {
                opened = try TrainedRun(path: runDir).open(method: name, cell: cell, maxNewTokens: maxNewTokens)
            } catch let e as TrainedRunError { throw fail(e.description) }
            guard w.count == opened.rewardNames.count else {
                throw fail("--weights has \(w.count) values; the run has \(opened.rewardNames.count) rewards (\(opened.rewardNames.joined(separator: ", ")))")
            }
            method = opened.method
            tokenizer = opened.tokenizer
            reference = opened.reference
        } else {
            throw fail("give --checkpoint DIR, or --run-dir DIR with --method")
        }
        _ = reference
        let codec = TokenizerCodec(tokenizer: tokenizer)
        let doc = RLExample(id: "input", document: text, reference: "", documentTokens: codec.encodeText(text))
        let t0 = Date()
        let out: (tokens: [[Int32]], logProbs: [Double])
        do {
            out = try method.generate(Array(repeating: doc, count: samples), conditioning: ConditioningInput(weights: w, alpha: kl),
                                      settings: GenerationSettings(temperature: temperature, topP: topP, maxNewTokens: maxNewTokens),
                                      seed: seed)
        } catch let e as PolicyError {
            throw fail(e.description)
        }
        let seconds = Date().timeIntervalSince(t0)
        let texts = out.tokens.map { codec.decodeTokens($0) }
        let tokens = out.tokens.reduce(0) { $0 + $1.count }
        if json {
            let v: JSONValue = ["method": .string(method.name), "texts": .array(texts.map { .string($0) }),
                                "forward_passes_per_token": .number(Double(method.forwardPassesPerToken)),
                                "tokens_per_second": .number(seconds > 0 ? Double(tokens) / seconds : 0)]
            print(v.prettyCanonical, terminator: "")
        } else {
            for t in texts { print(t) }
            FileHandle.standardError.write(Data("\(method.name): \(tokens) tokens in \(String(format: "%.3f", seconds)) s, \(method.forwardPassesPerToken) forward pass(es) per token\n".utf8))
        }
    }

    private var method_: String? { method }
}

