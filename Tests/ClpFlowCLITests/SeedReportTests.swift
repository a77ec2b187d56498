import Foundation
import Testing

/// Seeds aggregated where users look, through the binary: a tiny run with `evaluate.seeds: 3`
/// whose report.json, report.html, terminal summary and `report --markdown` show one row per
/// method over the seeds, the paired differences CLP − baseline, the per-seed values and J(w) per
/// weighting with the regret to the best method; the numbers are checked against the
/// evaluate steps' own evaluation.json files.
@Suite(.serialized) struct SeedReportTests {
    typealias E2E = EndToEndTests

    static func workflow(seeds: Int?) -> String {
        """
        name: seeds
        seed: 3
        data: {source: synthetic, synthetic_examples: 300, valid: 16, test: 8, max_document_tokens: 32, max_summary_tokens: 8}
        model: {size: nano, context: 64, tokenizer: {kind: byte}}
        reference: {steps: 20, batch: 8}
        rewards:
          - {name: rouge, kind: rouge1}
          - {name: novel, kind: novelty, n: 1}
        conditioning: logit
        weights: {train: uniform, eval: {points_per_edge: 3}}
        stages: [{steps: 3, batch: 2, samples: 2, max_new_tokens: 6}]
        baselines: [rewarded-soups, logit-mixing]
        evaluate: {prompts: 4, max_new_tokens: 6, sample_prompts: 1\(seeds.map { ", seeds: \($0)" } ?? "")}
        """
    }

    static func json(_ url: URL) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    static func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(xs.count) }

    @Test func multiSeedRunShowsAggregatesDifferencesAndObjective() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-seeds-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.workflow(seeds: 3).write(to: dir.appendingPathComponent("wf.yaml"), atomically: true, encoding: .utf8)
        let run = try E2E.clpFlow(["run", "wf.yaml", "--run-dir", "R", "--max-parallel", "2", "--quiet"], cwd: dir)
        #expect(run.status == 0, "\(run.err)")

        // The evaluations, straight from the evaluate steps' artifacts.
        let plan = try Self.json(dir.appendingPathComponent("R/plan.json"))
        let steps = try #require(plan["steps"] as? [[String: Any]])
        func artifact(_ s: [String: Any]) -> URL { dir.appendingPathComponent("R/artifacts/\(s["cache_key"] as! String)") }
        var evaluations: [String: [String: Any]] = [:]
        for s in steps where s["kind"] as? String == "evaluate" {
            evaluations[s["id"] as! String] = try Self.json(artifact(s).appendingPathComponent("evaluation.json"))
        }
        #expect(evaluations.count == 9)
        /// J(w) of an evaluation at each weighting (its `objective`).
        func objective(_ id: String) throws -> [[Double]: Double] {
            let list = try #require(evaluations[id]?["objective"] as? [[String: Any]], "no objective in \(id)")
            return Dictionary(uniqueKeysWithValues: list.map { ($0["weights"] as! [Double], $0["mean"] as! Double) })
        }
        func evalId(_ method: String, _ seed: Int) -> String { "evaluate[method=\(method),seed=\(seed)]" }

        let report = try #require(steps.last { $0["kind"] as? String == "report" })
        let data = try Self.json(artifact(report).appendingPathComponent("report.json"))
        // report.json holds only numbers the workflow and its seed decide: no clock measurement.
        let reportText = try String(contentsOf: artifact(report).appendingPathComponent("report.json"), encoding: .utf8)
        #expect(!reportText.contains("tokens_per_second") && !reportText.contains("tokens/s"))
        let summary = try #require(data["seed_summary"] as? [String: Any])
        #expect(summary["seed_count"] as? Int == 3)
        let metrics = try #require(summary["metrics"] as? [[String: Any]]).map { $0["name"] as! String }
        let jColumn = try #require(metrics.firstIndex(of: "J(w) (grid mean)"), "\(metrics)")
        let novelColumn = try #require(metrics.firstIndex(of: "novel (grid mean)"))
        #expect(metrics.contains("hypervolume") && metrics.contains("mean ρ") && metrics.contains("rouge vertex gain"), "\(metrics)")

        // One row per method with its three seeds; the mean over seeds of J(w) averaged over the grid.
        let rows = try #require(summary["rows"] as? [[String: Any]])
        #expect(rows.map { $0["method"] as! String } == ["clp-logit", "rewarded-soups", "logit-mixing"])
        let kinds = ["clp-logit": "clp", "rewarded-soups": "rewarded-soups", "logit-mixing": "logit-mixing"]
        func gridJ(_ method: String, _ seed: Int) throws -> Double { Self.mean(Array(try objective(evalId(method, seed)).values)) }
        func gridNovel(_ method: String, _ seed: Int) throws -> Double {
            let pts = try #require((evaluations[evalId(method, seed)]?["evaluation"] as? [String: Any])?["points"] as? [[String: Any]])
            return Self.mean(pts.map { (($0["rewards"] as! [[String: Any]])[1]["mean"] as! Double) })
        }
        for row in rows {
            let kind = kinds[row["method"] as! String]!
            #expect(row["seeds"] as? [String] == ["0", "1", "2"])
            let values = try #require(row["values"] as? [Any])
            let j = try #require(values[jColumn] as? [String: Any])
            let expected = Self.mean(try (0..<3).map { try gridJ(kind, $0) })
            #expect(abs((j["mean"] as! Double) - expected) < 1e-9, "\(kind): \(j) vs \(expected)")
            #expect(j["over"] as? String == "seeds" && j["seeds"] as? Int == 3)
            let (lo, hi) = (try #require(j["lower"] as? Double), try #require(j["upper"] as? Double))
            #expect(lo <= expected + 1e-12 && expected <= hi + 1e-12)
            let novel = try #require(values[novelColumn] as? [String: Any])
            #expect(abs((novel["mean"] as! Double) - Self.mean(try (0..<3).map { try gridNovel(kind, $0) })) < 1e-9)
        }

        // Paired differences: each CLP variant minus each baseline, the mean of the per-seed differences.
        let differences = try #require(summary["differences"] as? [[String: Any]])
        #expect(differences.map { "\($0["method"]!) − \($0["baseline"]!)" } == ["clp-logit − rewarded-soups", "clp-logit − logit-mixing"])
        for d in differences {
            let baseline = kinds[d["baseline"] as! String]!
            let j = try #require((d["values"] as? [Any])?[jColumn] as? [String: Any])
            let perSeed = try (0..<3).map { try gridJ("clp", $0) - gridJ(baseline, $0) }
            #expect(abs((j["mean"] as! Double) - Self.mean(perSeed)) < 1e-9)
            #expect(j["over"] as? String == "seeds")
        }
        // The per-seed rows: one per evaluation, named by its step.
        let perSeed = try #require(summary["per_seed"] as? [[String: Any]])
        #expect(Set(perSeed.map { $0["step_id"] as! String }) == Set(evaluations.keys))
        for r in perSeed {
            let j = try #require((r["values"] as? [Any])?[jColumn] as? Double)
            #expect(abs(j - Self.mean(Array(try objective(r["step_id"] as! String).values))) < 1e-12)
        }

        // J(w) per weighting: the best method has the highest mean over seeds; every other
        // method's regret is the best's J minus its own, paired by seed.
        let table = try #require(data["objective_table"] as? [String: Any])
        #expect((table["note"] as? String ?? "").contains("J(w) = Σᵢ wᵢ r̃ᵢ − α·KL, relative to π_ref, whose J is 0"))
        let methods = try #require(table["methods"] as? [String])
        #expect(methods == ["clp-logit", "rewarded-soups", "logit-mixing"])
        let weightingRows = try #require(table["rows"] as? [[String: Any]])
        #expect(weightingRows.count == 3)
        for row in weightingRows {
            let w = row["weights"] as! [Double]
            let entries = try #require(row["entries"] as? [[String: Any]])
            let means = try methods.map { m in Self.mean(try (0..<3).map { try objective(evalId(kinds[m]!, $0))[w]! }) }
            let best = try #require(means.indices.max { means[$0] < means[$1] })
            for (k, e) in entries.enumerated() {
                let o = e["objective"] as! [String: Any], r = e["regret"] as! [String: Any]
                #expect(abs((o["mean"] as! Double) - means[k]) < 1e-9)
                #expect(abs((r["mean"] as! Double) - (means[best] - means[k])) < 1e-9, "\(w) \(methods[k])")
                if (e["best"] as? Bool) == true { #expect(means[k] == means[best]) } else { #expect(r["over"] as? String == "seeds") }
            }
            #expect(entries.filter { $0["best"] as? Bool == true }.count == 1)
        }

        // Where users look: the HTML report …
        let html = try String(contentsOf: dir.appendingPathComponent("R/report.html"), encoding: .utf8)
        for s in ["id=\"seeds\"", "<h2>Methods over 3 seeds</h2>", "Paired differences: CLP − baseline", "clp-logit − rewarded-soups",
                  "<details><summary>Per-seed values (9 evaluations)</summary>", "evaluate[method=logit-mixing,seed=2]",
                  "id=\"objective\"", "whose J is 0", "href=\"#objective\"", "regret ", "best at this w"] {
            #expect(html.contains(s), "report.html lacks \(s)")
        }
        // … the terminal summary …
        let text = try E2E.clpFlow(["report", "R", "--summary"], cwd: dir)
        #expect(text.status == 0, "\(text.err)")
        for s in ["Methods over 3 seeds (mean [95 % interval over seeds])", "Paired differences CLP − baseline (paired by seed",
                  "clp-logit − logit-mixing", "Per-seed values", "Trained objective J(w) per weighting (relative to π_ref, whose J is 0)",
                  "Regret to the best method at each w", "best"] {
            #expect(text.out.contains(s), "summary lacks \(s)")
        }
        // … and the Markdown tables, which replace the external summarising script.
        let md = try E2E.clpFlow(["report", "R", "--markdown", "--out", "again.html"], cwd: dir)
        #expect(md.status == 0, "\(md.err)")
        for s in ["# clp-flow results: seeds", "## Methods over 3 seeds", "| method | seeds | hypervolume | mean ρ |",
                  "## Paired differences: CLP − baseline", "| clp-logit − rewarded-soups |", "## Trained objective J(w)",
                  "| w | clp-logit | rewarded-soups | logit-mixing |", "## Per-seed values", "`evaluate[method=clp,seed=1]`",
                  "## Per evaluation: hypervolume and steerability", "| rewarded-soups (seed=2) |",
                  "## Generation speed", "| method | forward passes per token | generation tokens/s |", "| logit-mixing | 1 |"] {
            #expect(md.out.contains(s), "markdown lacks \(s)")
        }
        // The clp-logit row of the aggregated table carries the J(w) mean over seeds from report.json.
        let clpRow = try #require(md.out.split(separator: "\n").first { $0.hasPrefix("| clp-logit | 3 |") })
        let clpJ = ((rows[0]["values"] as! [Any])[jColumn] as! [String: Any])["mean"] as! Double
        #expect(clpRow.contains(String(format: "%.3f", clpJ)) || clpRow.contains(String(format: "%.4f", clpJ))
                    || clpRow.contains(String(format: "%.5f", clpJ)) || clpRow.contains(String(format: "%.6f", clpJ)), "\(clpRow) vs \(clpJ)")
        let both = try E2E.clpFlow(["report", "R", "--markdown", "--summary"], cwd: dir)
        #expect(both.status != 0 && both.err.contains("--summary and --markdown both print to stdout"), "\(both.err)")
    }

    /// Under Tchebycheff scalarisation J(w) is not the trained objective: neither the J(w) table
    /// nor the J(w) column is shown, and the report says why.
    @Test func tchebycheffShowsNoObjective() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-seeds-tch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let wf = Self.workflow(seeds: 2).replacingOccurrences(of: "weights: {train: uniform,", with: "weights: {train: uniform, scalarization: tchebycheff,")
        #expect(wf.contains("tchebycheff"))
        try wf.write(to: dir.appendingPathComponent("wf.yaml"), atomically: true, encoding: .utf8)
        let run = try E2E.clpFlow(["run", "wf.yaml", "--run-dir", "R", "--max-parallel", "2"], cwd: dir)
        #expect(run.status == 0, "\(run.err)")
        #expect(run.err.contains("J(w) is not shown: the workflow uses Tchebycheff scalarisation"))
        #expect(run.err.contains("Methods over 2 seeds") && !run.err.contains("J(w) (grid mean)"))
        #expect(!run.err.contains("Regret to the best method"))
    }

    /// With one seed the same tables appear, and say that their intervals are over prompts only.
    @Test func oneSeedSaysIntervalsAreOverPrompts() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-seeds1-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.workflow(seeds: nil).write(to: dir.appendingPathComponent("wf.yaml"), atomically: true, encoding: .utf8)
        let run = try E2E.clpFlow(["run", "wf.yaml", "--run-dir", "R", "--max-parallel", "2"], cwd: dir)
        #expect(run.status == 0, "\(run.err)")
        for s in ["Methods, one seed (mean [95 % interval over prompts])", "One seed: intervals are over prompts only",
                  "Paired differences CLP − baseline (paired over prompts", "Intervals: 95 % bootstrap over prompts"] {
            #expect(run.err.contains(s), "summary lacks \(s)")
        }
        #expect(!run.err.contains("Per-seed values"))
        let html = try String(contentsOf: dir.appendingPathComponent("R/report.html"), encoding: .utf8)
        #expect(html.contains("<h2>Methods, one seed</h2>") && html.contains("One seed: intervals are over prompts only"))
        let md = try E2E.clpFlow(["report", "R", "--markdown"], cwd: dir)
        #expect(md.status == 0 && md.out.contains("## Methods, one seed") && md.out.contains("| clp-logit | 1 |"), "\(md.out)")
    }
}
