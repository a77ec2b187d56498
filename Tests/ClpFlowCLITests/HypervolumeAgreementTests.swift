import Foundation
import Testing

/// One hypervolume per run, through the binary: with a declared `evaluate.reference_point` the
/// evaluate steps, the ablate step and the report give the same hypervolume (and interval) for
/// every evaluation; under `auto` the ablate step and the report agree on one run-wide point.
@Suite(.serialized) struct HypervolumeAgreementTests {
    typealias E2E = EndToEndTests

    static func workflow(referencePoint: String) -> String {
        """
        name: hv
        seed: 5
        data: {source: synthetic, synthetic_examples: 300, valid: 16, test: 8, max_document_tokens: 32, max_summary_tokens: 8}
        model: {size: nano, context: 64, tokenizer: {kind: byte}}
        reference: {steps: 60, batch: 8}
        rewards:
          - {name: cover, kind: coverage}
          - {name: short, kind: length, target: 3, tolerance: 2}
        weights: {train: uniform, eval: {points_per_edge: 3}}
        stages: [{steps: 3, batch: 2, samples: 2, max_new_tokens: 6}]
        baselines: [rewarded-soups]
        evaluate: {prompts: 8, max_new_tokens: 6, sample_prompts: 1, reference_point: \(referencePoint)}
        ablate:
          matrix: {conditioning.mechanism: [attn, logit]}
        """
    }

    struct Artifacts {
        var evaluations: [String: [String: Any]] = [:]
        var ablation: [String: Any] = [:]
        var report: [String: Any] = [:]
    }

    static func artifacts(_ dir: URL) throws -> Artifacts {
        func json(_ path: String) throws -> [String: Any] {
            try #require(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent(path))) as? [String: Any])
        }
        let steps = try json("R/plan.json")["steps"] as? [[String: Any]] ?? []
        var a = Artifacts()
        for s in steps {
            let id = s["id"] as? String ?? "", key = s["cache_key"] as? String ?? ""
            switch s["kind"] as? String {
            case "evaluate": a.evaluations[id] = try json("R/artifacts/\(key)/evaluation.json")
            case "ablate": a.ablation = try json("R/artifacts/\(key)/ablation.json")
            case "report": a.report = try json("R/artifacts/\(key)/report.json")
            default: break
            }
        }
        return a
    }

    static func interval(_ v: Any?) -> [Double]? {
        guard let o = v as? [String: Any], let lo = o["lower"] as? Double, let hi = o["upper"] as? Double else { return nil }
        return [lo, hi]
    }

    /// Checks that the ablate step and the report give, for every evaluation, the same
    /// hypervolume and interval, against `point`; returns the ablate step's figures by step id.
    static func checkAblateAndReportAgree(_ a: Artifacts, point: [Double], rule: String) throws -> [String: (hv: Double, interval: [Double]?)] {
        let ref = try #require(a.ablation["reference_point"] as? [String: Any])
        #expect(ref["point"] as? [Double] == point, "\(ref)")
        #expect(ref["rule"] as? String == rule && ref["scope"] as? String == "run")
        var byStep: [String: (hv: Double, interval: [Double]?)] = [:]
        for row in a.ablation["rows"] as? [[String: Any]] ?? [] {
            byStep[row["step_id"] as? String ?? ""] = (try #require(row["hypervolume"] as? Double), interval(row["hypervolume_interval"]))
        }
        #expect(Set(byStep.keys) == Set(a.evaluations.keys))
        // The report: the same point and rule, and the same figures (its table rows are named by
        // display label; its ablation view names the step ids).
        let table = try #require(a.report["hypervolume"] as? [String: Any])
        #expect(table["reference_point"] as? [Double] == point)
        #expect(table["rule"] as? String == rule)
        #expect(table["objectives"] as? [String] == ["cover", "short"])
        let rows = table["rows"] as? [[String: Any]] ?? []
        let reported = rows.map { r in [r["hypervolume"] as? Double ?? .nan, r["lower"] as? Double ?? .nan, r["upper"] as? Double ?? .nan] }
        let ablated = byStep.values.map { [$0.hv, $0.interval?[0] ?? .nan, $0.interval?[1] ?? .nan] }
        func key(_ v: [Double]) -> String { v.map { String($0) }.joined(separator: ",") }
        #expect(reported.map(key).sorted() == ablated.map(key).sorted(), "report \(reported) vs ablate \(ablated)")
        let view = try #require(a.report["ablation_view"] as? [String: Any])
        for row in view["rows"] as? [[String: Any]] ?? [] {
            for entry in row["entries"] as? [[String: Any]] ?? [] {
                let id = entry["step_id"] as? String ?? ""
                #expect(entry["hypervolume"] as? Double == byStep[id]?.hv, "\(id)")
            }
        }
        return byStep
    }

    @Test func evaluateAblateAndReportGiveOneHypervolume() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-hv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.workflow(referencePoint: "[0, 0]").write(to: dir.appendingPathComponent("hv.yaml"), atomically: true, encoding: .utf8)
        let r = try E2E.clpFlow(["run", "hv.yaml", "--run-dir", "R", "--max-parallel", "2"], cwd: dir)
        #expect(r.status == 0, "\(r.err)")

        // Declared: every evaluate step records the run-wide figure; ablate and report repeat it.
        let a = try Self.artifacts(dir)
        #expect(a.evaluations.count == 3, "clp in two cells and one shared rewarded-soups: \(a.evaluations.keys)")
        let byStep = try Self.checkAblateAndReportAgree(a, point: [0, 0], rule: "declared")
        var pValues: [Double] = []
        for (id, e) in a.evaluations {
            let ref = try #require(e["hypervolume_reference"] as? [String: Any])
            #expect(ref["point"] as? [Double] == [0, 0] && ref["rule"] as? String == "declared" && ref["scope"] as? String == "run")
            #expect(e["hypervolume"] as? Double == byStep[id]?.hv, "\(id): evaluate \(e["hypervolume"] ?? "–") vs ablate \(byStep[id]?.hv ?? .nan)")
            #expect(Self.interval(e["hypervolume_interval"]) == byStep[id]?.interval)
            #expect(Self.interval(e["hypervolume_interval"]) != nil)
            // ρ's uncertainty is recorded beside each ρ (p-values where ρ is defined).
            let u = e["steerability_uncertainty"] as? [[String: Any]] ?? []
            #expect(u.count == 2 && u.allSatisfy { $0["noise_spread"] != nil }, "\(u)")
            pValues += u.compactMap { $0["permutation_p"] as? Double }
        }
        #expect(!pValues.isEmpty && pValues.allSatisfy { $0 > 0 && $0 <= 1 })
        // Not vacuous: some front has volume above (0, 0).
        #expect(byStep.values.contains { $0.hv > 0 }, "\(byStep)")
        // The terminal summary states the point and the rule, and shows the intervals, p-values and noise spreads.
        #expect(r.err.contains("Hypervolume (reference point (cover 0, short 0), declared"), "\(r.err)")
        #expect(r.err.contains("95% interval") && r.err.contains("noise "), "\(r.err)")
        let html = try String(contentsOf: dir.appendingPathComponent("R/report.html"), encoding: .utf8)
        #expect(html.contains("reference point: declared") && html.contains("permutation p") && html.contains("noise spread"))

        // auto: the evaluate steps label their own-points figure; ablate and report share one
        // run-wide point, the per-objective minimum over π_ref and every evaluated point.
        try Self.workflow(referencePoint: "auto").write(to: dir.appendingPathComponent("hv.yaml"), atomically: true, encoding: .utf8)
        let r2 = try E2E.clpFlow(["run", "hv.yaml", "--run-dir", "R", "--max-parallel", "2"], cwd: dir)
        #expect(r2.status == 0, "\(r2.err)")
        let b = try Self.artifacts(dir)
        var vectors: [[Double]] = []
        for e in b.evaluations.values {
            #expect((e["hypervolume_reference"] as? [String: Any])?["scope"] as? String == "evaluation")
            let points = ((e["evaluation"] as? [String: Any])?["points"] as? [[String: Any]]) ?? []
            for p in points + [e["reference"] as? [String: Any] ?? [:]] {
                vectors.append(((p["rewards"] as? [[String: Any]]) ?? []).map { $0["mean"] as? Double ?? .nan })
            }
        }
        let auto = (0..<2).map { i in vectors.map { $0[i] }.min()! }
        _ = try Self.checkAblateAndReportAgree(b, point: auto, rule: "auto")
        #expect(r2.err.contains(", auto;"), "\(r2.err)")
    }

    @Test func badReferencePointsAreClearErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-hv-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (value, expected) in [
            ("[0.1]", "`evaluate.reference_point` has 1 number, but the hypervolume of this workflow has 2 objectives: `cover`, `short`"),
            ("[0.1, x]", "`evaluate.reference_point.1` must be a number, found string 'x'"),
            ("automatic", "`evaluate.reference_point` must be one of `auto` or list of number"),
        ] {
            try Self.workflow(referencePoint: value).write(to: dir.appendingPathComponent("hv.yaml"), atomically: true, encoding: .utf8)
            let r = try E2E.clpFlow(["validate", "hv.yaml"], cwd: dir)
            #expect(r.status != 0)
            #expect((r.out + r.err).contains(expected), "\(value): \(r.out)\(r.err)")
        }
    }
}
