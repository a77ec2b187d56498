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

    @Option(help: "A policy directory (policy.safetensors + tokenizer files), a step artifact holding policy/, or the cache key (or its first 12 characters, as `status` shows them) of a train-clp or train-soft step.")
    var checkpoint: String?

    @Option(name: .customLong("run-dir"), help: "A run directory; use with --method.")
    var runDir: String?

    @Option(help: "Method of the run: \(EvaluatedMethod.names.joined(separator: ", ")), or reference (π_ref, unsteered).")
    var method: String?

    @Option(help: "The ablation cell: its name (ablate.name), a value of an ablated setting, or path=value; required when the method has one evaluation per cell.")
    var cell: String?

    @Option(help: "Reward weights, comma separated, non-negative, summing to 1 (e.g. 0.2,0.8); not used by --method reference.")
    var weights: String?

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

    func validate() throws {
        if weights == nil && method != "reference" {
            throw ValidationError("Missing expected argument '--weights <weights>'")
        }
    }

    func parseWeights() throws -> [Double] {
        let parts = (weights ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
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
        if let kl, !(kl > 0) { throw fail("--kl must be positive") }
        guard samples >= 1, maxNewTokens >= 1 else { throw fail("--samples and --max-new-tokens must be at least 1") }
        let method: SteerableMethod
        let tokenizer: any Tokenizer
        var w: [Double] = []
        if let checkpoint {
            w = try parseWeights()
            let dir = try checkpointDirectory(checkpoint)
            let policy = try ConditionedPolicy.load(from: dir)
            tokenizer = try loadTokenizer(from: dir)
            let builder = PromptBuilder(codec: TokenizerCodec(tokenizer: tokenizer), context: policy.model.config.context,
                                        maxNewTokens: maxNewTokens, rewardNames: policy.rewardNames)
            method = PolicyMethod(name: "clp-\(policy.mechanism.rawValue)", policy: policy, builder: builder)
            guard w.count == policy.rewardNames.count else {
                throw fail("--weights has \(w.count) values; this policy has \(policy.rewardNames.count) rewards (\(policy.rewardNames.joined(separator: ", ")))")
            }
            if policy.multiKL && kl == nil { throw fail("this policy is conditioned on the KL weight: give --kl") }
            if !policy.multiKL && kl != nil {
                throw fail("--kl: this policy is not conditioned on the KL weight (it was trained at one fixed α); drop --kl")
            }
        } else if let runDir, let name = method_ {
            let run: TrainedRun
            do { run = try TrainedRun(path: runDir) } catch let e as TrainedRunError { throw fail(e.description) }
            if name == "reference" {
                if weights != nil { FileHandle.standardError.write(Data("warning: --weights is ignored: the reference policy π_ref is not steered\n".utf8)) }
                if kl != nil { throw fail("--kl: the reference policy π_ref is not conditioned on the KL weight; drop --kl") }
                let opened = try openReference(run)
                method = opened.method
                tokenizer = opened.tokenizer
                w = []
            } else {
                w = try parseWeights()
                let step = try evaluateStep(run, method: name)
                let opened: OpenedMethod
                do {
                    opened = try run.open(method: name, cell: step.id, maxNewTokens: maxNewTokens)
                } catch let e as TrainedRunError { throw fail(e.description) }
                guard w.count == opened.rewardNames.count else {
                    throw fail("--weights has \(w.count) values; the run has \(opened.rewardNames.count) rewards (\(opened.rewardNames.joined(separator: ", ")))")
                }
                if kl != nil && !opened.takesKL {
                    throw fail("--kl: \(name) in this run is not conditioned on the KL weight (kl.alpha is fixed at \(JSONValue.formatNumber(opened.kl.alpha))); drop --kl")
                }
                method = opened.method
                tokenizer = opened.tokenizer
            }
        } else {
            throw fail("give --checkpoint DIR, or --run-dir DIR with --method")
        }
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

    /// `--checkpoint`: a policy directory, an artifact holding `policy/`, or a cache key (prefix)
    /// looked up in `--run-dir`, else in the current directory or the run directories under runs/.
    func checkpointDirectory(_ arg: String) throws -> URL {
        let fm = FileManager.default
        func policyDir(_ dir: URL) -> URL? {
            for d in [dir.appendingPathComponent("policy"), dir] where fm.fileExists(atPath: d.appendingPathComponent(ConditionedPolicy.fileName).path) {
                return d
            }
            return nil
        }
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: arg, isDirectory: &isDir), isDir.boolValue {
            guard let d = policyDir(URL(fileURLWithPath: arg)) else {
                throw fail("\(arg) holds no \(ConditionedPolicy.fileName) (give the artifact of a train-clp or train-soft step, or its policy/ folder)")
            }
            return d
        }
        let isKey = arg.count >= 6 && arg.count <= 64 && arg.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        guard isKey else { throw fail("--checkpoint \(arg): no such directory") }
        var runDirs: [String] = []
        if let runDir { runDirs = [runDir] } else {
            if fm.fileExists(atPath: "artifacts") { runDirs.append(".") }
            runDirs += ((try? fm.contentsOfDirectory(atPath: "runs")) ?? []).sorted().map { "runs/" + $0 }
        }
        var matches: [URL] = []
        for r in runDirs {
            let artifacts = URL(fileURLWithPath: r).appendingPathComponent("artifacts")
            for name in ((try? fm.contentsOfDirectory(atPath: artifacts.path)) ?? []).sorted() where name.hasPrefix(arg) && SafeName.isValidCacheKey(name) {
                matches.append(artifacts.appendingPathComponent(name))
            }
        }
        let searched = runDirs.isEmpty ? "no run directory here (give --run-dir)" : "looked in " + runDirs.joined(separator: ", ")
        guard !matches.isEmpty else { throw fail("--checkpoint \(arg): no directory and no artifact whose cache key starts with it; \(searched)") }
        guard matches.count == 1 else {
            throw fail("--checkpoint \(arg) matches several artifacts; give more characters:\n" + matches.map { "  " + $0.path }.joined(separator: "\n"))
        }
        guard let d = policyDir(matches[0]) else {
            throw fail("--checkpoint \(arg): artifact \(matches[0].path) holds no policy (it is not a train-clp or train-soft step)")
        }
        return d
    }

    /// The cell label of an evaluate step: its labels other than `method` (`attn`, `model.size=nano`).
    static func cellLabel(_ step: PlannedStep) -> String {
        let labels = cellLabels(step)
        if let c = labels.first(where: { $0.key == "cell" }), labels.count == 1 { return c.value }
        return labels.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    /// Whether `--cell TEXT` names this step: a label value, a `path=value` label, or the cell label.
    static func cellMatches(_ step: PlannedStep, _ text: String) -> Bool {
        let labels = cellLabels(step)
        return cellLabel(step) == text || labels.contains { $0.value == text || "\($0.key)=\($0.value)" == text }
    }

    /// The evaluate step of `method` (in the cell `--cell` names). Unknown methods get a
    /// did-you-mean; a method evaluated in several cells needs `--cell`; every error lists the
    /// methods and cells the run has.
    func evaluateStep(_ run: TrainedRun, method name: String) throws -> PlannedStep {
        let methods = run.methods + ["reference"]
        guard run.methods.contains(name) else {
            let hint = closest(name, among: methods).map { "did you mean '\($0)'? " } ?? ""
            // Each method with the cells it was evaluated in.
            let listed = methods.map { m -> String in
                let cells = run.plan.steps.filter { $0.evaluatedMethod?.rawValue == m }.map { Self.cellLabel($0) }
                return cells.count > 1 ? "\(m) (cells \(cells.joined(separator: ", ")))" : m
            }
            throw fail("no method '\(name)' in \(run.root.path); \(hint)the run has: \(listed.joined(separator: ", "))")
        }
        let steps = run.plan.steps.filter { $0.evaluatedMethod?.rawValue == name }
        let cells = steps.map { Self.cellLabel($0) }
        func list() -> String { cells.map { $0.isEmpty ? "(none)" : $0 }.joined(separator: ", ") }
        // One evaluation without cell labels serves every cell (a baseline the ablation does not change).
        if steps.count == 1 && cells[0].isEmpty { return steps[0] }
        guard let cell else {
            if steps.count == 1 { return steps[0] }
            throw fail("method \(name) has \(steps.count) evaluations in this run (one per ablation cell); choose one with --cell: \(list())")
        }
        var chosen = steps.filter { Self.cellMatches($0, cell) }
        if chosen.isEmpty { chosen = steps.filter { Self.cellLabel($0).contains(cell) } }
        if chosen.count == 1 { return chosen[0] }
        if chosen.isEmpty {
            throw fail("--cell \(cell): no evaluation of \(name) in that cell; \(name) was evaluated in: \(list())")
        }
        throw fail("--cell \(cell) is ambiguous for \(name): it matches \(chosen.map { Self.cellLabel($0) }.joined(separator: ", ")); give one of: \(list())")
    }

    /// π_ref of the run (of the cell `--cell` names when cells trained different references).
    func openReference(_ run: TrainedRun) throws -> (method: SteerableMethod, tokenizer: any Tokenizer) {
        let refs = run.plan.steps.filter { $0.kind == .trainReference }
        var chosen = refs
        if refs.count > 1 {
            let labels = refs.map { Self.cellLabel($0) }
            guard let cell else { throw fail("the run has \(refs.count) reference policies (one per cell); choose one with --cell: \(labels.joined(separator: ", "))") }
            chosen = refs.filter { Self.cellMatches($0, cell) }
            guard chosen.count == 1 else {
                throw fail("--cell \(cell) \(chosen.isEmpty ? "names no" : "matches several") reference polic\(chosen.isEmpty ? "y" : "ies"); give one of: \(labels.joined(separator: ", "))")
            }
        }
        guard let step = chosen.first else { throw fail("\(run.root.path) has no reference policy") }
        guard run.runDirectory.artifacts.verify(cacheKey: step.cacheKey).isValid else {
            throw fail("step \(step.id) has not finished; run the workflow first")
        }
        let modelDir = try run.runDirectory.artifacts.url(for: step.cacheKey).appendingPathComponent(ArtifactFiles.modelDir)
        let model = try GPTModel.importHuggingFace(from: modelDir)
        let tokenizer = try loadTokenizer(from: modelDir)
        let names = (run.plan.steps.first { $0.kind == .evaluate }?.config["rewards"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        let builder = PromptBuilder(codec: TokenizerCodec(tokenizer: tokenizer), context: model.config.context,
                                    maxNewTokens: maxNewTokens, rewardNames: names)
        return (FixedModelMethod(name: "reference", model: model, builder: builder), tokenizer)
    }
}

/// The labels of a step that name its cell: every label but `method` and `stage`, in order.
func cellLabels(_ step: PlannedStep) -> [StepLabel] {
    step.labels.filter { $0.key != "method" && $0.key != "stage" }
}

/// The candidate closest to `word` by edit distance, when it is close enough to be a likely typo.
func closest(_ word: String, among candidates: [String]) -> String? {
    func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        var row = Array(0...y.count)
        for i in 0..<x.count {
            var diagonal = row[0]
            row[0] = i + 1
            for j in 0..<y.count {
                let above = row[j + 1]
                row[j + 1] = min(above + 1, row[j] + 1, diagonal + (x[i] == y[j] ? 0 : 1))
                diagonal = above
            }
        }
        return row[y.count]
    }
    let best = candidates.map { ($0, distance(word.lowercased(), $0.lowercased())) }.min { $0.1 < $1.1 }
    guard let (c, d) = best, d <= max(2, word.count / 3) else { return nil }
    return c
}

