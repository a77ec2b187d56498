import ArgumentParser
import ClpFlowCore
import ClpFlowEngine
import ClpFlowServe
import ClpFlowSteps
import ClpFlowWorkflow
import Foundation

/// `clp-flow export`: θ(w) of a run's method as a plain Hugging Face GPT-2 directory.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the policy at one weighting as a Hugging Face GPT-2 directory (safetensors, config, tokenizer).",
        discussion: """
            OUT receives model.safetensors, config.json, vocab.json, merges.txt, tokenizer_config.json \
            and special_tokens_map.json; transformers loads it with GPT2LMHeadModel.from_pretrained(OUT) \
            and AutoTokenizer.from_pretrained(OUT). Methods that are one parameter vector per weighting \
            export θ(w): clp (full, attn or logit conditioning: Σᵢ wᵢ θᵢ in the conditioned parameters; \
            a policy conditioned on the KL weight takes --kl and mixes its copies with the coefficients \
            of its KL encoding, recorded in config.json as clp_flow.kl_encoding), \
            rewarded-soups (Σᵢ wᵢ θ_SOFTᵢ), soft (the SOFT policy of a vertex weighting), and prompt (the \
            network, with the text prefix that carries the weighting in config.json, clp_flow.prompt_prefix). \
            Methods that are not one network are refused: logit-mixing and dera combine the logits of \
            several networks at every token, and soft-token conditioning feeds learned vectors that a \
            GPT-2 model has no input for. See docs/serve.md.
            """
    )

    @Option(name: .customLong("run-dir"), help: "A run directory whose training has finished.")
    var runDir: String

    @Option(help: "Method of the run: clp, rewarded-soups, soft or prompt.")
    var method: String

    @Option(help: "Reward weights, comma separated, non-negative, summing to 1 (e.g. 0.2,0.8).")
    var weights: String

    @Option(help: "KL weight α, for policies conditioned on it (multi-KL).")
    var kl: Double?

    @Option(help: "Only consider evaluate steps whose id contains this text (e.g. an ablation cell).")
    var cell: String?

    @Flag(help: "Write into OUT even if it already holds files (they are replaced).")
    var force = false

    @Argument(help: "Output directory.")
    var out: String

    func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        return ExitCode(ClpFlowExit.invalidInput)
    }

    func run() throws {
        let refused: [String: String] = [
            "logit-mixing": "logit mixing is not one network: every token mixes the log-probabilities of the \(Self.plural("SOFT policy")) (Σᵢ wᵢ log πᵢ, one forward pass per policy), which a single GPT-2 model cannot reproduce; export each SOFT policy with --method soft instead",
            "dera": "DeRa is not one network: every token combines the logits of the aligned policy and of π_ref (λ·h_aligned + (1−λ)·h_ref, two forward passes), which a single GPT-2 model cannot reproduce (the final layer norm sits between the parameters and the logits)",
        ]
        if let why = refused[method] { throw fail("cannot export \(method): \(why)") }
        let parsed = Weighting.parse(weights)
        if let p = parsed.problem { throw fail("--weights: \(p)") }
        let w = parsed.weights
        if let kl, !(kl > 0) { throw fail("--kl must be positive") }
        let outURL = URL(fileURLWithPath: out)
        let fm = FileManager.default
        if let existing = try? fm.contentsOfDirectory(atPath: outURL.path), !existing.isEmpty, !force {
            throw fail("\(out) already holds files; choose an empty directory or give --force")
        }
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: outURL.path, isDirectory: &isDir), !isDir.boolValue { throw fail("\(out) is a file, not a directory") }

        let trained: TrainedRun
        let opened: OpenedMethod
        do {
            trained = try TrainedRun(path: runDir)
            guard trained.methods.contains(method) else {
                throw TrainedRunError("no evaluate step for method \(method) in \(runDir); the run has \(trained.methods.joined(separator: ", "))")
            }
            opened = try trained.open(method: method, cell: cell, maxNewTokens: 1)
        } catch let e as TrainedRunError { throw fail(e.description) }
        if let p = Weighting.problem(w, count: opened.rewardNames.count, names: opened.rewardNames) { throw fail("--weights: \(p)") }
        let c = ConditioningInput(weights: w, alpha: kl)

        let model: GPTModel
        var extra: [String: Any] = [:]
        if method == "soft" {
            guard let i = w.firstIndex(of: 1) else {
                throw fail("soft: the SOFT policies answer at the vertices only (one weight 1, the others 0); for a mixture export --method rewarded-soups")
            }
            let dirs = try trained.inputDirectories(of: opened.evaluateStep, kind: .trainSoft)
            guard i < dirs.count else { throw fail("soft: the run has \(dirs.count) SOFT policies") }
            model = try ConditionedPolicy.load(from: dirs[i].appendingPathComponent(ArtifactFiles.policyDir)).model
        } else if let policy = opened.policy {
            if policy.mechanism == .softToken {
                throw fail("cannot export \(method): soft-token conditioning feeds \(policy.softTokenCount) learned vector(s) mixed from the weighting before the prompt; a GPT-2 model has no input for them, so its weights alone would not behave like the policy")
            }
            if policy.multiKL && kl == nil { throw fail("this policy is conditioned on the KL weight: give --kl") }
            do { model = try policy.standalone(c).model } catch let e as PolicyError { throw fail(e.description) }
            if policy.multiKL {
                extra["kl_encoding"] = policy.klEncoding.kind.rawValue
                if let a = policy.klEncoding.alphaMin { extra["alpha_min"] = a }
                extra["mixing_coefficients"] = try policy.coefficients(c)
            }
            if policy.mechanism == .prompt {
                extra["prompt_prefix"] = c.promptPrefix(rewardNames: opened.rewardNames)
            }
        } else {
            throw fail("cannot export \(method): it is not one parameter vector")
        }

        let tokenizer = opened.tokenizer
        guard tokenizer.vocabSize == model.config.vocabSize else {
            throw fail("the tokenizer has \(tokenizer.vocabSize) ids but the model \(model.config.vocabSize) rows")
        }
        try model.exportHuggingFace(to: outURL, endOfText: Int32(tokenizer.eotId))
        try HuggingFaceTokenizerFiles.write(tokenizer, context: model.config.context, to: outURL)
        var config = model.huggingFaceConfig(endOfText: Int32(tokenizer.eotId))
        var info: [String: Any] = [
            "method": method,
            "label": opened.method.name,
            "weights": w,
            "reward_names": opened.rewardNames,
            "run": trained.root.path,
            "workflow": trained.plan.workflowName,
            "evaluate_step": opened.evaluateStep.id,
            "separator_token": SpecialTokens.summary,
            "separator_id": tokenizer.sepId,
            "end_of_text_id": tokenizer.eotId,
            "prompt_format": "\(extra["prompt_prefix"] != nil ? "encode(prompt_prefix) + " : "")encode(document) + [separator_id]\(extra["prompt_prefix"] != nil ? ", each part encoded on its own" : ""); the model continues with the summary and ends it with end_of_text_id",
        ]
        if let kl { info["kl"] = kl }
        if let m = opened.conditioning { info["conditioning"] = m }
        for (k, v) in extra { info[k] = v }
        config["clp_flow"] = info
        let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: outURL.appendingPathComponent("config.json"), options: .atomic)
        FileHandle.standardError.write(Data("exported \(opened.method.name) at w = (\(w.map { JSONValue.formatNumber($0) }.joined(separator: ", ")))\(kl.map { ", α = \(JSONValue.formatNumber($0))" } ?? "") to \(out) (\(model.parameterCount) parameters)\n".utf8))
    }

    static func plural(_ s: String) -> String { s.hasSuffix("y") ? String(s.dropLast()) + "ies" : s + "s" }
}
