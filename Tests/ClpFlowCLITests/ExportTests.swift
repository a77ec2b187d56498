import Foundation
import Testing

/// `clp-flow export` through the binary on the small fixture run. (The comparison with
/// Hugging Face transformers itself is scripts/checks/export-hf.sh.)
@Suite(.serialized) struct ExportTests {
    static func logits(_ out: String) throws -> [[Double]] {
        let obj = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        return (obj?["logits"] as? [[Double]]) ?? []
    }

    @Test func exportedWeightingHasThePolicysLogits() throws {
        let dir = try ServeFixture.directory(), run = try ServeFixture.runDir
        let tokens = "103,101,103,105,32,107,105,107,111,257"
        for (method, w) in [("clp", "0.3,0.7"), ("clp", "1,0"), ("rewarded-soups", "0.6,0.4"), ("prompt", "0.25,0.75")] {
            let out = dir.appendingPathComponent("export-\(method)-\(w)").path
            let e = try EndToEndTests.clpFlow(["export", "--run-dir", run, "--method", method, "--weights", w, out], cwd: dir)
            #expect(e.status == 0, "\(method): \(e.err)")
            for f in ["model.safetensors", "config.json", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"] {
                #expect(FileManager.default.fileExists(atPath: out + "/" + f), "\(method): no \(f)")
            }
            let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as? [String: Any]
            #expect(config?["model_type"] as? String == "gpt2")
            let info = config?["clp_flow"] as? [String: Any]
            #expect(info?["weights"] as? [Double] == w.split(separator: ",").map { Double($0)! })
            #expect(info?["separator_id"] as? Int == 257 && config?["eos_token_id"] as? Int == 256)
            if method == "prompt" {
                #expect(info?["prompt_prefix"] as? String == "[weights rouge=0.25 novel=0.75] ")
            } else {
                #expect(info?["prompt_prefix"] == nil)
            }
            // The exported file, read back as a Hugging Face directory, against θ(w) computed by
            // the policy itself (ConditionedPolicy.activate).
            let exported = try EndToEndTests.clpFlow(["debug-logits", "--checkpoint", out, "--tokens", tokens], cwd: dir)
            let policy = try EndToEndTests.clpFlow(["debug-policy-logits", "--run-dir", run, "--method", method,
                                                    "--weights", w, "--tokens", tokens], cwd: dir)
            #expect(exported.status == 0 && policy.status == 0, "\(exported.err) \(policy.err)")
            let a = try Self.logits(exported.out), b = try Self.logits(policy.out)
            #expect(a.count == 10 && a.count == b.count)
            var worst = 0.0
            for (ra, rb) in zip(a, b) { for (x, y) in zip(ra, rb) { worst = max(worst, abs(x - y)) } }
            #expect(worst <= 1e-5, "\(method) w=\(w): max |Δlogit| \(worst)")
        }
        // Different weightings give different networks.
        let a = try EndToEndTests.clpFlow(["debug-logits", "--checkpoint", dir.appendingPathComponent("export-clp-0.3,0.7").path, "--tokens", tokens], cwd: dir)
        let b = try EndToEndTests.clpFlow(["debug-logits", "--checkpoint", dir.appendingPathComponent("export-clp-1,0").path, "--tokens", tokens], cwd: dir)
        #expect(try Self.logits(a.out) != Self.logits(b.out))
    }

    @Test func refusesWhatIsNotOneNetworkAndBadInput() throws {
        let dir = try ServeFixture.directory(), run = try ServeFixture.runDir
        let out = dir.appendingPathComponent("refused").path
        let lm = try EndToEndTests.clpFlow(["export", "--run-dir", run, "--method", "logit-mixing", "--weights", "0.5,0.5", out], cwd: dir)
        #expect(lm.status == 2 && lm.err.contains("logit mixing is not one network"), "\(lm.err)")
        #expect(!FileManager.default.fileExists(atPath: out))
        let cases: [([String], String)] = [
            (["--method", "clp", "--weights", "0.5,0.6"], "sum to 1"),
            (["--method", "clp", "--weights", "1"], "the run has 2 rewards"),
            (["--method", "clp", "--weights=-0.5,1.5"], "non-negative"),
            (["--method", "clp", "--weights", "a,b"], "not a number"),
            (["--method", "dera", "--weights", "0.5,0.5"], "DeRa is not one network"),
            (["--method", "soft", "--weights", "1,0"], "no evaluate step for method soft"),
        ]
        for (args, phrase) in cases {
            let r = try EndToEndTests.clpFlow(["export", "--run-dir", run] + args + [out], cwd: dir)
            #expect(r.status == 2 && r.err.contains(phrase), "\(args): \(r.status) \(r.err)")
        }
        let full = dir.appendingPathComponent("full").path
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        try "x".write(toFile: full + "/keep.txt", atomically: true, encoding: .utf8)
        let busy = try EndToEndTests.clpFlow(["export", "--run-dir", run, "--method", "clp", "--weights", "0.5,0.5", full], cwd: dir)
        #expect(busy.status == 2 && busy.err.contains("already holds files"), "\(busy.err)")
        let forced = try EndToEndTests.clpFlow(["export", "--run-dir", run, "--method", "clp", "--weights", "0.5,0.5", "--force", full], cwd: dir)
        #expect(forced.status == 0, "\(forced.err)")
    }
}
