import Foundation
import Testing

/// `kl.encoding: interpolate` through the binary: a tiny multi-KL run with attn-CLP and DeRa; the
/// checkpoint records the encoding, the report shows KL per α, and `generate`, `export` and
/// `debug-policy-logits` rebuild θ(w, α) = λ·θ(w) + (1−λ)·θ_ref from it.
@Suite(.serialized) struct KLEncodingRunTests {
    typealias E2E = EndToEndTests

    static let workflow = """
        name: kl-encoding-e2e
        seed: 4
        data: {source: synthetic, synthetic_examples: 300, valid: 16, test: 8, max_document_tokens: 32, max_summary_tokens: 8}
        model: {size: nano, context: 64, tokenizer: {kind: byte}}
        reference: {steps: 20, batch: 8}
        rewards:
          - {name: rouge, kind: rouge1}
        conditioning: attn
        kl: {range: {min: 0.05, max: 0.5, eval: [0.05, 0.5]}, encoding: interpolate}
        stages: [{steps: 4, batch: 2, samples: 2, max_new_tokens: 6, learning_rate: 0.01}]
        baselines: [dera]
        evaluate: {prompts: 4, max_new_tokens: 6, sample_prompts: 1}
        """

    /// The `clp_policy` metadata of a safetensors file (8-byte header length, JSON header).
    static func policyMetadata(_ url: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: url)
        let n = data.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any]
        let meta = header?["__metadata__"] as? [String: String]
        let text = try #require(meta?["clp_policy"])
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
    }

    static func logits(_ out: String) throws -> [[Double]] { try ExportTests.logits(out) }

    static func maxDiff(_ a: [[Double]], _ b: [[Double]]) -> Double {
        guard a.count == b.count, !a.isEmpty else { return .infinity }
        var worst = 0.0
        for (ra, rb) in zip(a, b) { for (x, y) in zip(ra, rb) { worst = max(worst, abs(x - y)) } }
        return worst
    }

    @Test func interpolateEncodingRunsAndIsRebuiltByGenerateAndExport() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-kl-encoding-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.workflow.write(to: dir.appendingPathComponent("wf.yaml"), atomically: true, encoding: .utf8)
        let run = try E2E.clpFlow(["run", "wf.yaml", "--run-dir", "R", "--quiet"], cwd: dir)
        try #require(run.status == 0, "\(run.err)")

        // The trained checkpoint carries the encoding.
        let rd = dir.appendingPathComponent("R")
        let plan = try JSONDecoder().decode(ResumeTests.PlanFile.self, from: Data(contentsOf: rd.appendingPathComponent("plan.json")))
        let clpKey = try #require(plan.steps.first { $0.kind == "train-clp" }).cacheKey
        let refKey = try #require(plan.steps.first { $0.kind == "train-reference" }).cacheKey
        let meta = try Self.policyMetadata(rd.appendingPathComponent("artifacts/\(clpKey)/policy/policy.safetensors"))
        #expect(meta["kl_encoding"] as? String == "interpolate")
        #expect(meta["alpha_min"] as? Double == 0.05)
        #expect(meta["copies"] as? Int == 2)

        // The report has KL per α for both methods.
        let html = try String(contentsOf: rd.appendingPathComponent("report.html"), encoding: .utf8)
        let section = try #require(html.range(of: "<section id=\"kl-per-alpha\">"))
        let body = String(html[section.lowerBound...].prefix { _ in true }).components(separatedBy: "</section>")[0]
        #expect(body.contains("KL per α") && body.contains("dera") && body.contains("span"), "\(body)")
        #expect(body.components(separatedBy: "<tr>").count - 1 == 1 + 2 + 1, "header, two α rows and the span: \(body)")

        // generate honours the encoding, and refuses α below α_min.
        let doc = "the quick brown fox jumps over the lazy dog"
        let g = try E2E.clpFlow(["generate", "--run-dir", "R", "--method", "clp", "--weights", "1", "--kl", "0.2", doc], cwd: dir)
        #expect(g.status == 0, "\(g.err)")
        let low = try E2E.clpFlow(["generate", "--run-dir", "R", "--method", "clp", "--weights", "1", "--kl", "0.01", doc], cwd: dir)
        #expect(low.status == 2 && low.err.contains("below the smallest KL weight") && low.err.contains("0.05"), "\(low.err)")

        // export writes θ(w, α) with λ = 0.05/0.2, and says which encoding built it.
        let tokens = "103,101,103,105,32,107,105,107,111,257"
        let out = dir.appendingPathComponent("export").path
        let e = try E2E.clpFlow(["export", "--run-dir", "R", "--method", "clp", "--weights", "1", "--kl", "0.2", out], cwd: dir)
        try #require(e.status == 0, "\(e.err)")
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as? [String: Any]
        let info = config?["clp_flow"] as? [String: Any]
        #expect(info?["kl_encoding"] as? String == "interpolate" && info?["alpha_min"] as? Double == 0.05)
        #expect(info?["mixing_coefficients"] as? [Double] == [0.25, 0.75])
        let exported = try E2E.clpFlow(["debug-logits", "--checkpoint", out, "--tokens", tokens], cwd: dir)
        let policy = try E2E.clpFlow(["debug-policy-logits", "--run-dir", "R", "--method", "clp", "--weights", "1", "--kl", "0.2",
                                      "--tokens", tokens], cwd: dir)
        #expect(exported.status == 0 && policy.status == 0, "\(exported.err) \(policy.err)")
        #expect(Self.maxDiff(try Self.logits(exported.out), try Self.logits(policy.out)) <= 1e-5)
        let lowExport = try E2E.clpFlow(["export", "--run-dir", "R", "--method", "clp", "--weights", "1", "--kl", "0.01",
                                         dir.appendingPathComponent("low").path], cwd: dir)
        #expect(lowExport.status == 2 && lowExport.err.contains("below the smallest KL weight"), "\(lowExport.err)")

        // α → ∞ is π_ref; α = α_min is not (the trained copy moved).
        let reference = try E2E.clpFlow(["debug-logits", "--checkpoint", rd.appendingPathComponent("artifacts/\(refKey)/model").path,
                                         "--tokens", tokens], cwd: dir)
        #expect(reference.status == 0, "\(reference.err)")
        let far = try E2E.clpFlow(["debug-policy-logits", "--run-dir", "R", "--method", "clp", "--weights", "1", "--kl", "1e9",
                                   "--tokens", tokens], cwd: dir)
        let near = try E2E.clpFlow(["debug-policy-logits", "--run-dir", "R", "--method", "clp", "--weights", "1", "--kl", "0.05",
                                    "--tokens", tokens], cwd: dir)
        let ref = try Self.logits(reference.out)
        #expect(Self.maxDiff(try Self.logits(far.out), ref) <= 1e-4)
        #expect(Self.maxDiff(try Self.logits(near.out), ref) > 1e-4)
    }

    @Test func encodingThatCannotApplyIsRefusedBeforeRunning() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-kl-encoding-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = Self.workflow.replacingOccurrences(of: "conditioning: attn", with: "conditioning: prompt")
            .replacingOccurrences(of: "eval: [0.05, 0.5]", with: "eval: [0.01, 0.5]")
        try bad.write(to: dir.appendingPathComponent("wf.yaml"), atomically: true, encoding: .utf8)
        let r = try E2E.clpFlow(["validate", "wf.yaml"], cwd: dir)
        #expect(r.status != 0)
        let text = r.out + r.err
        #expect(text.contains("`kl.encoding: interpolate` mixes parameter copies") && text.contains("α = 0.01 is outside the trained range"),
                "\(text)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("R").path))
    }
}
