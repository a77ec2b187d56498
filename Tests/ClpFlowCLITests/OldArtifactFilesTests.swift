import ClpFlowRunner
import Foundation
import Testing

/// A run directory whose artifact files have camelCase keys, as versions before snake_case
/// artifact files wrote them, keeps working: its artifacts verify (nothing reruns), and the
/// report and generation read them to the same results.
@Suite(.serialized) struct OldArtifactFilesTests {
    typealias E2E = EndToEndTests

    /// `tokens_per_second` → `tokensPerSecond`; keys of data maps are kept.
    static func camelCase(_ v: Any) -> Any {
        if let o = v as? [String: Any] {
            var out: [String: Any] = [:]
            for (k, x) in o {
                let parts = k.split(separator: "_")
                let key = parts.count > 1 ? String(parts[0]) + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined() : k
                out[key == "meanKl" ? "meanKL" : key == "runId" ? "runID" : key] =
                    NewUserTests.artifactDataMaps.contains(k) ? x : camelCase(x)
            }
            return out
        }
        if let a = v as? [Any] { return a.map(camelCase) }
        return v
    }

    @Test func camelCaseArtifactFilesStillVerifyAndRead() throws {
        let dir = try NewUserTests.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try E2E.clpFlow(["run", "abl.yaml", "--run-dir", "R", "--quiet"], cwd: dir).status == 0)
        let gen = ["generate", "--run-dir", "R", "--method", "clp", "--cell", "attn", "--weights", "0.25,0.75", "--json", "a b c"]
        let summaryBefore = try E2E.clpFlow(["report", "R", "--summary"], cwd: dir)
        let genBefore = try E2E.clpFlow(gen, cwd: dir)
        #expect(summaryBefore.status == 0 && genBefore.status == 0, "\(summaryBefore.err) \(genBefore.err)")

        // Rewrite every artifact file of the format in camelCase, and each manifest (camelCase, new digests).
        let artifacts = dir.appendingPathComponent("R/artifacts")
        let ours: Set<String> = ["data.json", "numerics.json", "summary.json", "curve.json", "normalization.json",
                                 "evaluation.json", "ablation.json", "report.json"]
        var rewritten = 0
        let source = dir.appendingPathComponent("R/source.json")
        try JSONSerialization.data(withJSONObject: Self.camelCase(try JSONSerialization.jsonObject(with: Data(contentsOf: source))),
                                   options: [.sortedKeys]).write(to: source)
        for key in try FileManager.default.contentsOfDirectory(atPath: artifacts.path) where !key.hasPrefix(".") {
            let art = artifacts.appendingPathComponent(key)
            let manifestURL = art.appendingPathComponent("MANIFEST.json")
            var manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
            var files = try #require(manifest["files"] as? [[String: Any]])
            for i in files.indices {
                let path = try #require(files[i]["path"] as? String)
                guard ours.contains(path) else { continue }
                let url = art.appendingPathComponent(path)
                let old = Self.camelCase(try JSONSerialization.jsonObject(with: Data(contentsOf: url)))
                try JSONSerialization.data(withJSONObject: old, options: [.sortedKeys, .prettyPrinted]).write(to: url)
                let d = try ArtifactStore.digest(of: url)
                files[i]["sha256"] = d.sha256
                files[i]["size"] = d.size
                rewritten += 1
            }
            manifest["files"] = files
            try JSONSerialization.data(withJSONObject: Self.camelCase(manifest), options: [.sortedKeys, .prettyPrinted]).write(to: manifestURL)
        }
        #expect(rewritten > 20)
        let anEvaluation = try #require(FileManager.default.enumerator(atPath: artifacts.path)?.first { ($0 as? String)?.hasSuffix("evaluation.json") == true } as? String)
        let text = try String(contentsOf: artifacts.appendingPathComponent(anEvaluation), encoding: .utf8)
        #expect(text.contains("\"tokensPerSecond\"") && text.contains("\"perPrompt\"") && !text.contains("per_prompt"))
        let aManifest = try String(contentsOf: artifacts.appendingPathComponent(anEvaluation).deletingLastPathComponent()
            .appendingPathComponent("MANIFEST.json"), encoding: .utf8)
        #expect(aManifest.contains("\"cacheKey\"") && aManifest.contains("\"stepId\""))

        // Every artifact verifies: a new run reuses them all.
        let again = try E2E.clpFlow(["run", "abl.yaml", "--run-dir", "R", "--quiet"], cwd: dir)
        #expect(again.status == 0, "\(again.err)")
        let st = try E2E.clpFlow(["status", "R", "--json"], cwd: dir)
        let steps = ((try JSONSerialization.jsonObject(with: Data(st.out.utf8)) as? [String: Any])?["steps"] as? [[String: Any]]) ?? []
        #expect(steps.count == 13 && steps.allSatisfy { $0["status"] as? String == "cached" }, "\(st.out)")
        // And they are read to the same results.
        let summaryAfter = try E2E.clpFlow(["report", "R", "--summary"], cwd: dir)
        #expect(summaryAfter.status == 0, "\(summaryAfter.err)")
        func body(_ s: String) -> String {
            s.split(separator: "\n").filter { !$0.contains("status ") && !$0.contains("report: ") }.joined(separator: "\n")
        }
        #expect(body(summaryAfter.out + summaryAfter.err) == body(summaryBefore.out + summaryBefore.err))
        #expect(body(summaryAfter.out + summaryAfter.err).contains("Hypervolume"))
        let genAfter = try E2E.clpFlow(gen, cwd: dir)
        func texts(_ r: E2E.Result) throws -> [String]? {
            (try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])?["texts"] as? [String]
        }
        #expect(genAfter.status == 0, "\(genAfter.err)")
        #expect(try texts(genAfter) != nil && texts(genAfter) == texts(genBefore), "\(genAfter.out) \(genBefore.out)")
    }
}
