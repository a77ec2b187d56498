import ClpFlowRunner
import Foundation
import Testing

/// What a new user meets through the binary: the ablation compared cell by cell, the run
/// directory where the docs say it is, `generate` that never picks silently, display settings
/// that rerun nothing, and one key convention (snake_case) in every JSON output.
@Suite(.serialized) struct NewUserTests {
    typealias E2E = EndToEndTests

    /// A three-cell conditioning ablation with named cells and one baseline shared by every cell.
    static let ablation = """
        name: abl
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
        baselines: [rewarded-soups]
        evaluate: {prompts: 4, max_new_tokens: 6, sample_prompts: 1}
        ablate:
          matrix: {conditioning.mechanism: [full, attn, logit]}
          name: "{conditioning.mechanism}"
        """

    static func scratch(_ files: [String: String] = ["abl.yaml": ablation]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-newuser-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return dir
    }

    /// The lines of the terminal summary's ablation table.
    static func ablationTable(_ summary: String) -> [String] {
        guard let start = summary.range(of: "Ablation: ") else { return [] }
        return summary[start.lowerBound...].split(separator: "\n").prefix(16).map(String.init)
    }

    @Test func ablationViewComparesTheCells() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try E2E.clpFlow(["run", "abl.yaml", "--run-dir", "R", "--max-parallel", "2"], cwd: dir)
        #expect(r.status == 0, "\(r.err)")
        // Cell names label the steps of one cell.
        #expect(r.err.contains("evaluate[method=clp,cell=attn]") && r.err.contains("train-clp[cell=logit]"), "\(r.err)")

        // Terminal summary: the cells as columns, one row block per method kind.
        let table = Self.ablationTable(r.err)
        #expect(!r.err.contains("Ablation: Ablation:"))
        let header = try #require(table.dropFirst().first)
        #expect(header.contains("method") && header.contains("metric"), "\(table)")
        let cols = header.split(separator: " ").map(String.init)
        #expect(Array(cols.suffix(3)) == ["full", "attn", "logit"], "\(header)")
        for metric in ["hypervolume", "mean ρ", "J(w), mean over the grid", "mean rouge", "mean novel", "mean KL"] {
            #expect(table.contains { $0.contains(metric) }, "no \(metric) row: \(table.joined(separator: "\n"))")
        }
        #expect(table.filter { $0.contains("hypervolume") }.count == 2, "one hypervolume row per method kind: \(table)")
        #expect(table.contains { $0.hasPrefix("  clp ") } && table.contains { $0.contains("rewarded-soups *") }, "\(table)")
        // J(w) is a number in every cell of the clp row.
        let jRow = try #require(table.first { $0.contains("J(w)") })
        let numbers = jRow.split(separator: " ").compactMap { Double($0) }
        try #require(numbers.count == 3, "\(jRow)")
        // J(w) of the attn cell recomputed from its per-prompt values: at each grid point the mean over
        // prompts of Σ wᵢ (rᵢ − r_ref,i)/s_i − α·(KL − KL_ref), s_i π_ref's deviation of reward i, then
        // averaged over the grid.
        func json(_ path: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent(path))) }
        let planSteps = ((try json("R/plan.json") as? [String: Any])?["steps"] as? [[String: Any]]) ?? []
        func keyOf(_ id: String) -> String { planSteps.first { $0["id"] as? String == id }?["cache_key"] as? String ?? "" }
        let eval = try json("R/artifacts/\(keyOf("evaluate[method=clp,cell=attn]"))/evaluation.json") as? [String: Any]
        let points = ((eval?["evaluation"] as? [String: Any])?["points"] as? [[String: Any]]) ?? []
        let ref = (eval?["reference"] as? [String: Any])?["per_prompt"] as? [String: Any]
        let refRewards = ref?["rewards"] as? [[Double]] ?? [], refKL = ref?["kl"] as? [Double] ?? []
        func sd(_ xs: [Double]) -> Double {
            let m = xs.reduce(0, +) / Double(xs.count)
            let v = (xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1)).squareRoot()
            return v > 1e-12 ? v : 1
        }
        let scales = (0..<2).map { i in sd(refRewards.map { $0[i] }) }
        var total = 0.0
        for p in points {
            let w = p["weights"] as? [Double] ?? []
            let pp = p["per_prompt"] as? [String: Any]
            let rewards = pp?["rewards"] as? [[Double]] ?? [], kl = pp?["kl"] as? [Double] ?? []
            var sum = 0.0
            for j in rewards.indices {
                for i in w.indices { sum += w[i] * (rewards[j][i] - refRewards[j][i]) / scales[i] }
                sum -= 0.05 * (kl[j] - refKL[j])
            }
            total += sum / Double(rewards.count)
        }
        let expected = total / Double(points.count)
        #expect(!points.isEmpty && abs(numbers[1] - expected) <= 1e-3 * max(abs(expected), 1e-6), "J(attn) \(numbers[1]) vs \(expected)")
        // This tiny run does not beat π_ref: every hypervolume is 0, so nothing is "best".
        for line in table where line.contains("hypervolume") { #expect(!line.contains("★"), "\(line)") }

        // The HTML report: the same view, one title, the cells as column headers.
        let html = try String(contentsOf: dir.appendingPathComponent("R/report.html"), encoding: .utf8)
        let section = try #require(html.components(separatedBy: "id=\"ablation\"").dropFirst().first?.components(separatedBy: "</section>").first)
        #expect(section.contains("<h2>Ablation: conditioning.mechanism</h2>"), "\(section.prefix(300))")
        #expect(!html.contains("Ablation: Ablation"))
        for cell in ["full", "attn", "logit"] { #expect(section.contains("<th class=\"n\">\(cell)</th>")) }
        #expect(section.contains("mean novel") && section.contains("J(w)"))
        // No "★ best" in a row whose values all tie (hypervolume and mean ρ here).
        for row in section.components(separatedBy: "<tr>") where row.contains(">hypervolume<") || row.contains(">mean ρ<") {
            #expect(!row.contains("★"), "\(row)")
        }
        // The summary does not name a "largest hypervolume" method when all tie.
        let summary = try #require(html.components(separatedBy: "id=\"summary\"").dropFirst().first?.components(separatedBy: "</section>").first)
        #expect(!summary.contains("Largest hypervolume"), "\(summary.prefix(400))")
        #expect(summary.contains("Every method has the same hypervolume"))
        #expect(summary.contains("<div class=\"scroll\"><table class=\"data summary\">"), "the summary table must scroll, not overflow")
        // Negative KL estimates come with their explanation.
        if section.contains(">-") { #expect(section.contains("estimated from the sampled texts")) }

        // ablation.json names the cells each evaluation belongs to.
        let plan = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("R/plan.json"))) as? [String: Any]
        let ablate = try #require((plan?["steps"] as? [[String: Any]])?.first { $0["kind"] as? String == "ablate" })
        let key = try #require(ablate["cache_key"] as? String)
        let ab = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("R/artifacts/\(key)/ablation.json"))) as? [String: Any]
        let rows = (ab?["rows"] as? [[String: Any]]) ?? []
        let clpCells = rows.filter { $0["method"] as? String == "clp" }.compactMap { ($0["cells"] as? [String])?.first }
        #expect(clpCells.sorted() == ["attn", "full", "logit"], "\(rows)")
        #expect((rows.first { $0["method"] as? String == "rewarded-soups" }?["cells"] as? [String]) == ["full", "attn", "logit"])
    }

    /// `evaluate.sample_prompts` only changes what the report shows: nothing else reruns.
    @Test func samplePromptsRerunsOnlyTheReport() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try E2E.clpFlow(["run", "abl.yaml", "--run-dir", "R", "--quiet"], cwd: dir).status == 0)
        try Self.ablation.replacingOccurrences(of: "sample_prompts: 1", with: "sample_prompts: 3")
            .write(to: dir.appendingPathComponent("abl.yaml"), atomically: true, encoding: .utf8)
        let plan = try E2E.clpFlow(["plan", "abl.yaml", "--run-dir", "R"], cwd: dir)
        let willRun = plan.out.split(separator: "\n").filter { $0.contains("will run  ") }
        #expect(willRun.count == 1 && willRun[0].contains(" report "), "\(plan.out)")
        #expect(try E2E.clpFlow(["run", "abl.yaml", "--run-dir", "R", "--quiet"], cwd: dir).status == 0)
        let html = try String(contentsOf: dir.appendingPathComponent("R/report.html"), encoding: .utf8)
        #expect(html.components(separatedBy: "<article class=\"sample\">").count - 1 == 3)
        // status and explain say why the report ran again, in words.
        let status = try E2E.clpFlow(["status", "R"], cwd: dir)
        let reportLine = status.out.split(separator: "\n").first { $0.hasPrefix("report ") }.map(String.init) ?? ""
        #expect(reportLine.contains("no cached result: the cache key changed since run 1"), "\(status.out)")
        let explain = try E2E.clpFlow(["explain", "R", "report"], cwd: dir)
        #expect(explain.out.contains("evaluate.sample_prompts: 1 → 3") && !explain.out.contains("no artifact for cache key"), "\(explain.out)")
    }

    @Test func runDirectoryIsWhereTheDocsSayAndStatusFindsIt() throws {
        let failing = Self.ablation.replacingOccurrences(of: "name: abl", with: "name: failing")
            .replacingOccurrences(of: "- {name: novel, kind: novelty, n: 1}",
                                  with: "- {name: bad, kind: command, command: [python3, \"-c\", \"import sys; sys.exit(3)\"]}")
            .components(separatedBy: "\nablate:")[0]
        let dir = try Self.scratch(["abl.yaml": Self.ablation, "failing.yaml": failing])
        defer { try? FileManager.default.removeItem(at: dir) }
        // No run yet: status says where it looked.
        let none = try E2E.clpFlow(["status"], cwd: dir)
        #expect(none.status == 2 && none.err.contains("no run directory here"), "\(none.err)")

        // The default run directory is runs/<workflow name>, printed first.
        let r = try E2E.clpFlow(["run", "abl.yaml"], cwd: dir)
        #expect(r.status == 0, "\(r.err)")
        let runDir = dir.appendingPathComponent("runs/abl").path
        #expect(FileManager.default.fileExists(atPath: runDir + "/runs.sqlite"))
        #expect(r.err.hasPrefix("run directory: \(runDir)\n") || r.err.hasPrefix("run directory: /private\(runDir)\n"), "\(r.err.prefix(200))")
        // The commands of the quick-start comments work as written.
        let g = try E2E.clpFlow(["generate", "--run-dir", "runs/abl", "--method", "clp", "--cell", "attn", "--weights", "0.8,0.2", "a b c"], cwd: dir)
        #expect(g.status == 0, "\(g.err)")
        // status without an argument finds the only run directory; a workflow file names its own.
        let s = try E2E.clpFlow(["status"], cwd: dir)
        #expect(s.status == 0 && s.out.contains("run 1 of abl: done") && s.err.contains("run directory: runs/abl"), "\(s.err)")
        let sw = try E2E.clpFlow(["status", "abl.yaml"], cwd: dir)
        #expect(sw.status == 0 && sw.out.contains("run 1 of abl"), "\(sw.err)")
        // Status notes say why a step ran, not "no artifact for cache key".
        #expect(s.out.contains("new step") && !s.out.contains("no artifact for cache key"), "\(s.out)")

        // A failed run names the run directory and the log of each failed step.
        let f = try E2E.clpFlow(["run", "failing.yaml"], cwd: dir)
        #expect(f.status == 1)
        let failDir = dir.appendingPathComponent("runs/failing").path
        #expect(f.err.contains("run directory: ") && f.err.contains("runs/failing\n"), "\(f.err.suffix(600))")
        let logLines = f.err.split(separator: "\n").filter { $0.hasPrefix("log of ") }
        #expect(!logLines.isEmpty, "\(f.err.suffix(600))")
        for line in logLines {
            let path = String(line[line.range(of: ": ")!.upperBound...])
            #expect(path.contains(failDir.components(separatedBy: "/").suffix(2).joined(separator: "/")) && FileManager.default.fileExists(atPath: path), "\(line)")
        }
        // A run directory of the earlier default (`runs/<name>-<hash>`) is still found.
        let legacy = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: legacy) }
        let earlier = "runs/" + SafeName.fileName(for: "abl")
        #expect(earlier != "runs/abl")
        #expect(try E2E.clpFlow(["run", "abl.yaml", "--run-dir", earlier, "--quiet"], cwd: legacy).status == 0)
        let legacyPlan = try E2E.clpFlow(["plan", "abl.yaml"], cwd: legacy)
        #expect(legacyPlan.out.contains(", 0 will run"), "\(legacyPlan.out)")
        // Now two run directories: status lists them.
        let two = try E2E.clpFlow(["status"], cwd: dir)
        #expect(two.status == 2 && two.err.contains("runs/abl") && two.err.contains("runs/failing"), "\(two.err)")
    }

    @Test func generateNeverPicksSilently() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try E2E.clpFlow(["run", "abl.yaml", "--run-dir", "R", "--quiet"], cwd: dir).status == 0)
        func gen(_ args: [String]) throws -> E2E.Result {
            try E2E.clpFlow(["generate", "--run-dir", "R"] + args + ["a b c d"], cwd: dir)
        }
        let w = ["--weights", "0.5,0.5"]
        let ambiguous = try gen(["--method", "clp"] + w)
        #expect(ambiguous.status == 2 && ambiguous.err.contains("choose one with --cell: full, attn, logit"), "\(ambiguous.err)")
        let cell = try gen(["--method", "clp", "--cell", "l"] + w)
        #expect(cell.status == 2 && cell.err.contains("ambiguous") && cell.err.contains("full, logit"), "\(cell.err)")
        let unknownCell = try gen(["--method", "clp", "--cell", "none"] + w)
        #expect(unknownCell.status == 2 && unknownCell.err.contains("full, attn, logit"), "\(unknownCell.err)")
        let typo = try gen(["--method", "clpp"] + w)
        #expect(typo.status == 2 && typo.err.contains("did you mean 'clp'?") && typo.err.contains("the run has: clp (cells full, attn, logit), rewarded-soups, reference"), "\(typo.err)")
        let kl = try gen(["--method", "clp", "--cell", "attn", "--kl", "0.3"] + w)
        #expect(kl.status == 2 && kl.err.contains("not conditioned on the KL weight"), "\(kl.err)")
        let ok = try gen(["--method", "clp", "--cell", "attn", "--json"] + w)
        #expect(ok.status == 0 && ok.out.contains("\"method\": \"clp-attn\""), "\(ok.err) \(ok.out)")
        // A baseline evaluated once for every cell needs no --cell, and accepts one.
        #expect(try gen(["--method", "rewarded-soups"] + w).status == 0)
        #expect(try gen(["--method", "rewarded-soups", "--cell", "attn"] + w).status == 0)
        // π_ref as the baseline: no weights needed.
        let ref = try gen(["--method", "reference", "--json"])
        #expect(ref.status == 0 && ref.out.contains("\"method\": \"reference\""), "\(ref.err)")
        // --checkpoint takes the 12-character key that status shows.
        let st = try E2E.clpFlow(["status", "R", "--json"], cwd: dir)
        let steps = ((try JSONSerialization.jsonObject(with: Data(st.out.utf8)) as? [String: Any])?["steps"] as? [[String: Any]]) ?? []
        let key = try #require(steps.first { $0["id"] as? String == "train-clp[cell=attn]" }?["cache_key"] as? String)
        let short = String(key.prefix(12))
        let byKey = try E2E.clpFlow(["generate", "--checkpoint", short, "--run-dir", "R", "--weights", "0.5,0.5", "--seed", "4", "a b c d"], cwd: dir)
        #expect(byKey.status == 0, "\(byKey.err)")
        let byPath = try E2E.clpFlow(["generate", "--checkpoint", "R/artifacts/\(key)", "--weights", "0.5,0.5", "--seed", "4", "a b c d"], cwd: dir)
        #expect(byKey.out == byPath.out && !byKey.out.isEmpty)
        let checkpointKL = try E2E.clpFlow(["generate", "--checkpoint", short, "--run-dir", "R", "--weights", "0.5,0.5", "--kl", "0.1", "x"], cwd: dir)
        #expect(checkpointKL.status == 2 && checkpointKL.err.contains("not conditioned on the KL weight"), "\(checkpointKL.err)")
        let noKey = try E2E.clpFlow(["generate", "--checkpoint", "abcdef012345", "--run-dir", "R", "--weights", "0.5,0.5", "x"], cwd: dir)
        #expect(noKey.status == 2 && noKey.err.contains("no artifact whose cache key starts with it"), "\(noKey.err)")
    }

    /// Every key of every JSON output, recursively, is snake_case. Maps keyed by user data (reward
    /// names, file paths in fingerprints) are values, not keys of the format: the keys in
    /// `dataMaps` name them, and their own keys are not checked (their values are, and must be
    /// plain values: a data map holds no objects or arrays).
    static func nonSnakeKeys(_ v: Any, path: String = "", dataMaps: Set<String> = ["reward_scripts", "init_checkpoint"]) -> [String] {
        let snake = try! NSRegularExpression(pattern: "^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
        var out: [String] = []
        if let o = v as? [String: Any] {
            for (k, x) in o {
                if snake.firstMatch(in: k, range: NSRange(k.startIndex..., in: k)) == nil { out.append(path + "." + k) }
                if dataMaps.contains(k) {
                    if let m = x as? [String: Any], m.values.contains(where: { $0 is [String: Any] || $0 is [Any] }) {
                        out.append(path + "." + k + " (not a map of plain values)")
                    }
                    continue
                }
                out += nonSnakeKeys(x, path: path + "." + k, dataMaps: dataMaps)
            }
        } else if let a = v as? [Any] {
            for x in a { out += nonSnakeKeys(x, path: path + "[]", dataMaps: dataMaps) }
        }
        return out
    }

    /// Maps in artifact files whose keys are data: metric names in curve.json (`metrics`) and
    /// summary.json (`final_metrics`), step-id labels in ablation.json (`labels`).
    static let artifactDataMaps: Set<String> = ["metrics", "final_metrics", "labels"]

    /// Every JSON file under a run directory's artifacts/ (and its source.json), by path relative to the run directory.
    static func artifactJSONFiles(_ run: URL) throws -> [String] {
        let fm = FileManager.default
        let root = run.appendingPathComponent("artifacts")
        var out = fm.fileExists(atPath: run.appendingPathComponent("source.json").path) ? ["source.json"] : []
        for key in try fm.contentsOfDirectory(atPath: root.path).sorted() where !key.hasPrefix(".") {
            guard let e = fm.enumerator(atPath: root.appendingPathComponent(key).path) else { continue }
            for case let rel as String in e where rel.hasSuffix(".json") { out.append("artifacts/\(key)/\(rel)") }
        }
        return out
    }

    /// The cache key of the first step of a kind in a parsed plan.json.
    static func keyOfKind(_ kind: String, _ plan: Any) throws -> String {
        let steps = ((plan as? [String: Any])?["steps"] as? [[String: Any]]) ?? []
        return try #require(steps.first { $0["kind"] as? String == kind }?["cache_key"] as? String)
    }

    @Test func everyJSONOutputUsesSnakeCaseKeys() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try E2E.clpFlow(["run", "abl.yaml", "--run-dir", "R", "--quiet"], cwd: dir).status == 0)
        let outputs: [[String]] = [
            ["status", "R", "--json"], ["plan", "abl.yaml", "--run-dir", "R", "--json"], ["graph", "abl.yaml", "--format", "json"],
            ["metrics", "R", "--format", "json"], ["validate", "abl.yaml", "--json"],
            ["generate", "--run-dir", "R", "--method", "clp", "--cell", "attn", "--weights", "0.5,0.5", "--json", "a b"],
            ["generate", "--run-dir", "R", "--method", "reference", "--json", "a b"],
        ]
        for args in outputs {
            let r = try E2E.clpFlow(args, cwd: dir)
            #expect(r.status == 0, "\(args): \(r.err)")
            let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8))
            #expect(Self.nonSnakeKeys(json).isEmpty, "\(args): \(Self.nonSnakeKeys(json))")
        }
        let metrics = try E2E.clpFlow(["metrics", "R", "--format", "json"], cwd: dir)
        #expect(metrics.out.contains("\"training_step\""))
        let plan = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("R/plan.json")))
        #expect(Self.nonSnakeKeys(plan).isEmpty, "plan.json: \(Self.nonSnakeKeys(plan))")
        // The files steps write into their artifacts, too.
        let files = try Self.artifactJSONFiles(dir.appendingPathComponent("R"))
        let names = Set(files.map { ($0 as NSString).lastPathComponent })
        for name in ["source.json", "MANIFEST.json", "data.json", "numerics.json", "summary.json", "curve.json", "normalization.json",
                     "evaluation.json", "ablation.json", "report.json"] {
            #expect(names.contains(name), "no \(name) among \(names.sorted())")
        }
        var checked = 0
        for f in files {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("R/\(f)")))
            let bad = Self.nonSnakeKeys(json, dataMaps: Self.artifactDataMaps)
            #expect(bad.isEmpty, "\(f): \(bad)")
            checked += 1
        }
        #expect(checked > 20, "\(checked) artifact files")
        // Only data maps are skipped: the metric names inside a curve are not snake_case.
        let clpKey = try Self.keyOfKind("train-clp", plan)
        let curve = try #require(files.first { $0 == "artifacts/\(clpKey)/curve.json" })
        let curveJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("R/\(curve)")))
        #expect(!Self.nonSnakeKeys(curveJSON, dataMaps: []).isEmpty, "reward/… metric names in \(curve)")
        // Graphs are drawn transitively reduced; --all-edges draws one edge per input.
        let reduced = try E2E.clpFlow(["graph", "abl.yaml"], cwd: dir), all = try E2E.clpFlow(["graph", "abl.yaml", "--all-edges"], cwd: dir)
        let planSteps = ((plan as? [String: Any])?["steps"] as? [[String: Any]]) ?? []
        let inputs = planSteps.map { ($0["inputs"] as? [String])?.count ?? 0 }.reduce(0, +)
        #expect(all.out.components(separatedBy: " -> ").count - 1 == inputs)
        let drawn = reduced.out.components(separatedBy: " -> ").count - 1
        #expect(drawn > 0 && drawn < inputs, "\(drawn) of \(inputs) edges")
        #expect(!reduced.out.contains("\"train-reference\" -> \"report\""))
        let csv = try E2E.clpFlow(["metrics", "R"], cwd: dir)
        let header = csv.out.split(separator: "\n").first.map(String.init) ?? ""
        #expect(header.split(separator: ",").allSatisfy { Self.nonSnakeKeys([String($0): 0]).isEmpty }, "\(header)")
        // The checker itself catches camelCase, also next to a data map, and a data map holding objects.
        #expect(Self.nonSnakeKeys(["steps": [["cacheKey": "x"]]]) == [".steps[].cacheKey"])
        #expect(Self.nonSnakeKeys(["metrics": ["reward/rougeL": 1], "tokensPerSecond": 2], dataMaps: Self.artifactDataMaps) == [".tokensPerSecond"])
        #expect(Self.nonSnakeKeys(["labels": ["a": ["perPrompt": 1]]], dataMaps: Self.artifactDataMaps) == [".labels (not a map of plain values)"])
    }

    /// Usage errors name the subcommand whose help to read, never an ellipsis.
    @Test func usageErrorsNameTheSubcommand() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        for sub in ["run", "validate", "plan", "graph", "status", "metrics", "explain", "report", "generate", "export", "serve"] {
            let r = try E2E.clpFlow([sub, "--no-such-option"], cwd: dir)
            #expect(r.status == 64, "\(sub): \(r.status)")
            #expect(r.err.contains("See 'clp-flow \(sub) --help'") && !r.err.contains("…"), "\(sub): \(r.err)")
        }
        let g = try E2E.clpFlow(["generate", "--run-dir", "x", "--method", "clp", "a"], cwd: dir)
        #expect(g.status == 64 && g.err.contains("--weights") && g.err.contains("See 'clp-flow generate --help'"), "\(g.err)")
    }
}
