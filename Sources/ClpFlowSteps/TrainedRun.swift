import ClpFlowCore
import ClpFlowEngine
import ClpFlowPlanner
import ClpFlowRunner
import ClpFlowWorkflow
import Foundation

/// A problem opening a run directory for inference (`generate`, `export`, `serve`), in plain words.
public struct TrainedRunError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A finished run directory seen from the outside: which methods it evaluated, and each method
/// built from its trained policies the way its evaluate step built it (`MethodFactory`). Used by
/// `clp-flow generate --run-dir`, `clp-flow export` and `clp-flow serve`.
public struct TrainedRun: Sendable {
    public let runDirectory: RunDirectory
    public let plan: Plan
    public var root: URL { runDirectory.root }

    public init(path: String) throws {
        let rd = RunDirectory(URL(fileURLWithPath: path))
        do { plan = try rd.readPlan() } catch { throw TrainedRunError("\(path) is not a run directory: \(error)") }
        runDirectory = rd
    }

    /// Methods with an evaluate step, in plan order, each once.
    public var methods: [String] {
        var seen: [String] = []
        for s in plan.steps where s.kind == .evaluate {
            if let m = s.evaluatedMethod?.rawValue, !seen.contains(m) { seen.append(m) }
        }
        return seen
    }

    /// The first evaluate step of `method` (whose id contains `cell`, when given).
    public func evaluateStep(method: String, cell: String? = nil) throws -> PlannedStep {
        guard let s = plan.steps.first(where: { s in
            s.evaluatedMethod?.rawValue == method && (cell.map { s.id.contains($0) } ?? true)
        }) else { throw TrainedRunError("no evaluate step for method \(method) in \(root.path)") }
        return s
    }

    /// Artifact directories of the inputs of `step` of one kind, in input order; every one must
    /// have finished.
    public func inputDirectories(of step: PlannedStep, kind: StepKind) throws -> [URL] {
        try step.inputs.compactMap { id in
            guard let s = plan.step(id), s.kind == kind else { return nil }
            guard runDirectory.artifacts.verify(cacheKey: s.cacheKey).isValid else {
                throw TrainedRunError("step \(id) has not finished; run the workflow first")
            }
            return try runDirectory.artifacts.url(for: s.cacheKey)
        }
    }

    /// The evaluation an evaluate step wrote (nil while it has not finished).
    public func evaluation(of step: PlannedStep) -> EvaluationArtifact? {
        guard runDirectory.artifacts.verify(cacheKey: step.cacheKey).isValid,
              let dir = try? runDirectory.artifacts.url(for: step.cacheKey) else { return nil }
        return try? Files.readJSON(EvaluationArtifact.self, from: dir.appendingPathComponent(ArtifactFiles.evaluation))
    }

    /// Builds `method` from the run's trained policies. `maxNewTokens` is the most tokens a
    /// caller will generate: documents are cut so that the prompt and that many tokens fit the
    /// context.
    public func open(method name: String, cell: String? = nil, maxNewTokens: Int) throws -> OpenedMethod {
        let eval = try evaluateStep(method: name, cell: cell)
        guard let refDir = try inputDirectories(of: eval, kind: .trainReference).first else {
            throw TrainedRunError("no reference policy in the run")
        }
        let modelDir = refDir.appendingPathComponent(ArtifactFiles.modelDir)
        let ref = try GPTModel.importHuggingFace(from: modelDir)
        let tokenizer = try loadTokenizer(from: modelDir)
        let config: EvaluateConfig
        do { config = try EvaluateConfig(step: eval) } catch { throw TrainedRunError("\(error)") }
        let names = config.rewards.map(\.name), klSpec = config.kl
        let builder = PromptBuilder(codec: TokenizerCodec(tokenizer: tokenizer), context: ref.config.context,
                                    maxNewTokens: maxNewTokens, rewardNames: names)
        let clpDirs = try inputDirectories(of: eval, kind: .trainCLP), softDirs = try inputDirectories(of: eval, kind: .trainSoft)
        let made = try MethodFactory.make(method: config.method, clpDirs: clpDirs, softDirs: softDirs, reference: ref,
                                          builder: builder, rewardNames: names, kl: klSpec)
        return OpenedMethod(name: name, method: made.method, conditioning: made.conditioning, tokenizer: tokenizer,
                            reference: ref, rewardNames: names, kl: klSpec, builder: builder, evaluateStep: eval)
    }

    /// The reward functions of an evaluate step, built as the step builds them (coverage's IDF
    /// from the training split, command rewards run in the workflow's directory).
    public func rewards(of step: PlannedStep) throws -> [(spec: RewardSpec, reward: any Reward)] {
        guard let list = step.config["rewards"] else { return [] }
        let specs: [RewardSpec]
        do { specs = try JSONDecoder().decode([RewardSpec].self, from: Data(list.canonical.utf8)) } catch {
            throw TrainedRunError("step \(step.id): unreadable rewards: \(error)")
        }
        var corpus: [String] = []
        if specs.contains(where: { $0.kind == .coverage }), let data = try inputDirectories(of: step, kind: .prepareData).first {
            corpus = try DatasetSplits.load(from: data.appendingPathComponent(ArtifactFiles.dataDir)).train.map(\.document)
        }
        let workflowDir = RunSource.read(runDir: root)?.workflowDir
        return try specs.map { r in
            (r, try RewardFactory.make(kind: r.kind.rawValue, name: r.name, target: r.target, tolerance: r.tolerance, n: r.n,
                                       command: r.command, timeout: r.timeout, idfCorpus: corpus, workingDirectory: workflowDir))
        }
    }
}

/// A method of a run, ready to generate.
public struct OpenedMethod: @unchecked Sendable {
    /// The method as asked for (`clp`, `rewarded-soups`, …).
    public let name: String
    public let method: SteerableMethod
    /// The conditioning mechanism of a trained conditioned policy (`attn`, `prompt`, …).
    public let conditioning: String?
    public let tokenizer: any Tokenizer
    public let reference: GPTModel
    public let rewardNames: [String]
    public let kl: KLSpec
    public let builder: PromptBuilder
    public let evaluateStep: PlannedStep

    /// The policy behind `clp`, `prompt` and `rewarded-soups` (one parameter vector per weighting).
    public var policy: ConditionedPolicy? { (method as? PolicyMethod)?.policy }

    /// Whether the method takes the KL weight α as an input (multi-KL policies and DeRa).
    public var takesKL: Bool { policy?.multiKL ?? (name == "dera") }
}
