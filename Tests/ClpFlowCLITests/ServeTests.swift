import Foundation
import Testing

/// `clp-flow serve` tested through the running binary over HTTP on loopback.
@Suite(.serialized) struct ServeTests {
    static let input = "gegi kikoro botusi zu revo"

    @Test func servesTheRunThePageAndGenerations() async throws {
        let server = try ServerProcess(["--max-new-tokens", "16"])
        defer { server.stop() }
        let health = try await HTTP.get(server.base + "/healthz")
        #expect(health.status == 200 && health.json?["ok"] as? Bool == true)

        let page = try await HTTP.get(server.base + "/")
        #expect(page.status == 200)
        #expect(page.headers["content-type"]?.hasPrefix("text/html") == true)
        // Self-contained: no external script, style sheet or font.
        #expect(page.text.contains("<script>") && page.text.contains("/v1/generate"))
        #expect(!page.text.contains("src=\"http") && !page.text.contains("href=\"http") && !page.text.contains("@import"))

        let run = try #require(try await HTTP.get(server.base + "/v1/run").json)
        #expect(run["reward_names"] as? [String] == ["rouge", "novel"])
        let methods = (run["methods"] as? [[String: Any]]) ?? []
        #expect(methods.compactMap { $0["name"] as? String } == ["clp", "rewarded-soups", "logit-mixing", "prompt"])
        for m in methods {
            let front = (m["front"] as? [[String: Any]]) ?? []
            #expect(front.count == 3, "\(m["name"] ?? "?"): the evaluated grid has 3 weightings")
        }
        // Hypervolumes against the run's one reference point: the report's point and figures.
        let runDir = URL(fileURLWithPath: try ServeFixture.runDir)
        let steps = (try JSONSerialization.jsonObject(with: Data(contentsOf: runDir.appendingPathComponent("plan.json"))) as? [String: Any])?["steps"] as? [[String: Any]] ?? []
        let reportKey = try #require(steps.last { $0["kind"] as? String == "report" }?["cache_key"] as? String)
        let report = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: runDir.appendingPathComponent("artifacts/\(reportKey)/report.json"))) as? [String: Any])
        let table = try #require(report["hypervolume"] as? [String: Any])
        let hvRef = try #require(run["hypervolume_reference"] as? [String: Any])
        #expect(hvRef["point"] as? [Double] == table["reference_point"] as? [Double] && hvRef["rule"] as? String == "auto", "\(hvRef)")
        let reported = ((table["rows"] as? [[String: Any]]) ?? []).compactMap { $0["hypervolume"] as? Double }
        for m in methods {
            let hv = try #require(m["hypervolume"] as? Double)
            #expect(reported.contains(hv), "\(m["name"] ?? "?"): \(hv) not among the report's \(reported)")
            #expect(m["reference_point"] as? [Double] == table["reference_point"] as? [Double])
        }

        // Generations: texts, per-reward scores and log-probabilities. ROUGE needs a reference.
        let r = try await HTTP.post(server.base + "/v1/generate", json: [
            "input": Self.input, "method": "clp", "weights": [0.3, 0.7], "samples": 3, "temperature": 1.0,
            "max_new_tokens": 12, "seed": 4, "reference": "gegi kikoro"])
        #expect(r.status == 200, "\(r.text)")
        let out = try #require(r.json)
        let gens = try #require(out["generations"] as? [[String: Any]])
        #expect(gens.count == 3)
        for g in gens {
            let scores = try #require(g["scores"] as? [String: Any])
            #expect(scores["rouge"] is Double && scores["novel"] is Double, "\(g)")
            let lp = try #require(g["log_prob"] as? Double)
            #expect(lp < 0 && lp.isFinite)
            #expect((g["tokens"] as? Int ?? 0) >= 1)
        }
        let noRef = try #require(try await HTTP.post(server.base + "/v1/generate", json: [
            "input": Self.input, "method": "clp", "weights": [0.3, 0.7]]).json)
        let s0 = ((noRef["generations"] as? [[String: Any]])?.first?["scores"] as? [String: Any]) ?? [:]
        #expect(s0["rouge"] is NSNull && s0["novel"] is Double, "\(s0)")

        // The same generations as `clp-flow generate` with the same seed, temperature and length.
        for method in ["clp", "rewarded-soups", "logit-mixing", "prompt"] {
            let api = try #require(try await HTTP.post(server.base + "/v1/generate", json: [
                "input": Self.input, "method": method, "weights": [0.8, 0.2], "samples": 2, "temperature": 0.9,
                "max_new_tokens": 10, "seed": 9]).json)
            let texts = ((api["generations"] as? [[String: Any]]) ?? []).compactMap { $0["text"] as? String }
            let cli = try EndToEndTests.clpFlow(["generate", "--run-dir", try ServeFixture.runDir, "--method", method,
                                                 "--weights", "0.8,0.2", "--samples", "2", "--temperature", "0.9",
                                                 "--max-new-tokens", "10", "--seed", "9", "--json", Self.input],
                                                cwd: try ServeFixture.directory())
            #expect(cli.status == 0, "\(cli.err)")
            let cliTexts = ((try JSONSerialization.jsonObject(with: Data(cli.out.utf8)) as? [String: Any])?["texts"] as? [String]) ?? []
            #expect(texts.count == 2 && texts == cliTexts, "\(method): API \(texts) vs generate \(cliTexts)")
        }
    }

    @Test func badInputGetsA400WithAJSONError() async throws {
        let server = try ServerProcess(["--max-samples", "3", "--max-new-tokens", "8", "--max-input-chars", "100",
                                        "--max-body-bytes", "2000"])
        defer { server.stop() }
        let url = server.base + "/v1/generate"
        let ok: [String: Any] = ["input": Self.input, "method": "clp", "weights": [0.5, 0.5]]
        func with(_ key: String, _ value: Any) -> [String: Any] { var b = ok; b[key] = value; return b }
        let cases: [(String, [String: Any], String)] = [
            ("wrong number of weights", with("weights", [1.0]), "1 value; the run has 2 rewards"),
            ("three weights", with("weights", [0.2, 0.3, 0.5]), "3 values; the run has 2 rewards"),
            ("not summing to 1", with("weights", [0.5, 0.6]), "sum to 1"),
            ("negative weight", with("weights", [-0.5, 1.5]), "non-negative"),
            ("weights not numbers", with("weights", ["a", "b"]), "numbers"),
            ("oversized input", with("input", String(repeating: "x", count: 101)), "limit is 100"),
            ("oversized reference", with("reference", String(repeating: "x", count: 101)), "limit is 100"),
            ("too many samples", with("samples", 4), "limit is 3"),
            ("zero samples", with("samples", 0), "at least 1"),
            ("too many tokens", with("max_new_tokens", 9), "limit is 8"),
            ("fractional tokens", with("max_new_tokens", 2.5), "integer"),
            ("negative temperature", with("temperature", -1), "temperature"),
            ("unknown method", with("method", "nope"), "unknown method"),
            ("unknown field", with("wieghts", [0.5, 0.5]), "unknown field"),
            ("empty input", with("input", "  "), "input is empty"),
            ("input not a string", with("input", 3), "input must be a string"),
            ("non-positive kl", with("kl", 0), "kl must be positive"),
        ]
        for (name, body, phrase) in cases {
            let r = try await HTTP.post(url, json: body)
            #expect(r.status == 400, "\(name): \(r.status) \(r.text)")
            let err = r.json?["error"] as? String ?? ""
            #expect(err.contains(phrase), "\(name): \(err)")
        }
        let raw: [(String, Data, String)] = [
            ("not JSON", Data("{weights: [".utf8), "not valid JSON"),
            ("not an object", Data("[1, 2]".utf8), "JSON object"),
            ("empty body", Data(), "empty body"),
            ("body over the limit", Data(("{\"input\": \"" + String(repeating: "y", count: 3000) + "\"}").utf8), "exceeds the limit of 2000 bytes"),
        ]
        for (name, body, phrase) in raw {
            let r = try await HTTP.request("POST", url, body: body)
            #expect(r.status == 400, "\(name): \(r.status) \(r.text)")
            #expect((r.json?["error"] as? String ?? "").contains(phrase), "\(name): \(r.text)")
        }
        let missing = try await HTTP.get(server.base + "/v2/anything")
        #expect(missing.status == 404 && missing.json?["error"] != nil)
        let wrongVerb = try await HTTP.get(url)
        #expect(wrongVerb.status == 405 && (wrongVerb.json?["error"] as? String ?? "").contains("POST"))
        // The server is still healthy after all of that.
        let after = try await HTTP.post(url, json: ok)
        #expect(after.status == 200, "\(after.text)")
    }

    /// Requests with different weightings in flight at once give exactly what they give one at a
    /// time: θ(w) is built per request, never written into a shared model.
    @Test func concurrentWeightingsDoNotCorruptEachOther() async throws {
        let server = try ServerProcess(["--max-concurrent", "4", "--max-new-tokens", "12"])
        defer { server.stop() }
        let url = server.base + "/v1/generate"
        var bodies: [[String: Any]] = []
        for method in ["clp", "rewarded-soups", "prompt"] {
            for w in [0.0, 0.3, 0.7, 1.0] {
                bodies.append(["input": Self.input, "method": method, "weights": [w, 1 - w], "samples": 2,
                               "temperature": 1.0, "max_new_tokens": 12, "seed": 3])
            }
        }
        var sequential: [String] = []
        for b in bodies {
            let r = try await HTTP.post(url, json: b)
            #expect(r.status == 200, "\(r.text)")
            sequential.append(Self.key(r))
        }
        // Different weightings must give different results, or the comparison below proves nothing.
        #expect(Set(sequential[0..<4]).count == 4, "clp: the four weightings gave identical generations")
        // Every request three times, all at once, in a shuffled order.
        var order = Array(bodies.indices) + Array(bodies.indices) + Array(bodies.indices)
        var g = SystemRandomNumberGenerator()
        order.shuffle(using: &g)
        let labels: [String] = bodies.map { b in "\(b["method"] as? String ?? "") w=\(b["weights"] as? [Double] ?? [])" }
        let encoded: [Data] = try bodies.map { try JSONSerialization.data(withJSONObject: $0) }
        let concurrent = try await withThrowingTaskGroup(of: (Int, String, Int).self) { group in
            for i in order {
                let b = encoded[i]
                group.addTask { let r = try await HTTP.request("POST", url, body: b); return (i, Self.key(r), r.status) }
            }
            var out: [(Int, String, Int)] = []
            for try await x in group { out.append(x) }
            return out
        }
        #expect(concurrent.count == order.count)
        for (i, k, status) in concurrent {
            #expect(status == 200)
            let label: String = labels[i]
            #expect(k == sequential[i], "request \(label) differs when run concurrently")
        }
    }

    /// Texts and log-probabilities of a generate answer, for comparing answers.
    static func key(_ r: HTTP.Response) -> String {
        let gens = (r.json?["generations"] as? [[String: Any]]) ?? []
        return gens.map { "\($0["text"] ?? "")|\($0["log_prob"] ?? "")" }.joined(separator: "\n")
    }

    /// Without --host the listening socket is bound to 127.0.0.1 (read from /proc/net/tcp, so
    /// no traffic leaves loopback).
    @Test func bindsToLoopbackByDefault() throws {
        let server = try ServerProcess()
        defer { server.stop() }
        #expect(server.base.hasPrefix("http://127.0.0.1:"))
        let hexPort = String(format: "%04X", server.port)
        let table = try String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) + (try String(contentsOfFile: "/proc/net/tcp6", encoding: .utf8))
        // Columns: sl local_address rem_address st …; st 0A is LISTEN.
        let suffix = ":" + hexPort
        var listening: [[Substring]] = []
        for line in table.split(separator: "\n") {
            let cols: [Substring] = line.split(separator: " ")
            guard cols.count > 3, cols[1].hasSuffix(suffix), cols[3] == "0A" else { continue }
            listening.append(cols)
        }
        #expect(listening.count == 1, "\(listening)")
        #expect(listening.first?[1] == "0100007F:\(hexPort)", "bound to \(listening.first?[1] ?? "?"), not 127.0.0.1")

        let bad = try EndToEndTests.clpFlow(["serve", "--run-dir", try ServeFixture.runDir, "--host", "not-an-address", "--port", "0"],
                                            cwd: try ServeFixture.directory())
        #expect(bad.status == 2 && bad.err.contains("not an IPv4 or IPv6 address"), "\(bad.err)")
        let noRun = try EndToEndTests.clpFlow(["serve", "--run-dir", "/nonexistent-run", "--port", "0"], cwd: try ServeFixture.directory())
        #expect(noRun.status == 2 && noRun.err.contains("is not a run directory"), "\(noRun.err)")
    }
}
