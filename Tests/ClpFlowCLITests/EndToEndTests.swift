import Foundation
import Testing

/// Runs the real `clp-flow` binary on a small synthetic workflow: run, resume (everything
/// cached), status, report, generation from every method, and the exit codes of bad input.
@Suite(.serialized) struct EndToEndTests {
    static var binary: URL {
        if let p = ProcessInfo.processInfo.environment["CLP_FLOW_BIN"] { return URL(fileURLWithPath: p) }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let c = dir.appendingPathComponent("clp-flow")
            if FileManager.default.isExecutableFile(atPath: c.path) { return c }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/clp-flow")
    }

    struct Result { var status: Int32; var out: String; var err: String }

    @discardableResult
    static func clpFlow(_ args: [String], cwd: URL) throws -> Result {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        p.currentDirectoryURL = cwd
        let o = Pipe(), e = Pipe()
        p.standardOutput = o; p.standardError = e
        try p.run()
        let od = o.fileHandleForReading.readDataToEndOfFile(), ed = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, out: String(decoding: od, as: UTF8.self), err: String(decoding: ed, as: UTF8.self))
    }

    static let workflow = """
        name: e2e
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
        evaluate: {prompts: 4, max_new_tokens: 6, sample_prompts: 1}
        """

    @Test func runResumeReportAndGenerate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.workflow.write(to: dir.appendingPathComponent("wf.yaml"), atomically: true, encoding: .utf8)

        let v = try Self.clpFlow(["validate", "wf.yaml"], cwd: dir)
        #expect(v.status == 0, "\(v.err)")

        let r1 = try Self.clpFlow(["run", "wf.yaml", "--run-dir", "run", "--max-parallel", "2"], cwd: dir)
        #expect(r1.status == 0, "\(r1.err)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("run/report.html").path))
        #expect(r1.err.contains("Hypervolume"))

        // The same command again reuses every step.
        let r2 = try Self.clpFlow(["run", "wf.yaml", "--run-dir", "run", "--quiet"], cwd: dir)
        #expect(r2.status == 0, "\(r2.err)")
        // The report written at the end of the run has the run's metadata: every step with its
        // status, cache key and wall time (for cached steps, that of the run that computed them).
        let endReport = try String(contentsOf: dir.appendingPathComponent("run/report.html"), encoding: .utf8)
        #expect(endReport.contains("class=\"data steps\""), "no steps table in the report")
        #expect(!endReport.contains("<td class=\"n\">–</td><td class=\"key\">"), "a step without wall time in the report")
        #expect(endReport.contains("Run wall time") && endReport.contains("Total step wall time"))
        #expect(endReport.contains(">cached<"))
        #expect(r2.err.contains("Hypervolume") && r2.err.contains("report: "))
        let st = try Self.clpFlow(["status", "run", "--json"], cwd: dir)
        #expect(st.status == 0)
        let status = try JSONSerialization.jsonObject(with: Data(st.out.utf8)) as? [String: Any]
        let steps = (status?["steps"] as? [[String: Any]]) ?? []
        #expect(steps.count >= 8)
        #expect(steps.allSatisfy { ($0["status"] as? String) == "cached" }, "second run should only reuse steps: \(st.out)")

        let plan = try Self.clpFlow(["plan", "wf.yaml", "--run-dir", "run"], cwd: dir)
        #expect(plan.out.contains("0 will run"), "\(plan.out)")

        for m in ["clp", "rewarded-soups", "logit-mixing"] {
            let g = try Self.clpFlow(["generate", "--run-dir", "run", "--method", m, "--weights", "0.3,0.7", "--json", "alpha beta gamma"], cwd: dir)
            #expect(g.status == 0, "\(m): \(g.err)")
            #expect(g.out.contains("forward_passes_per_token"))
        }
        let bad = try Self.clpFlow(["generate", "--run-dir", "run", "--method", "clp", "--weights", "0.3,0.3", "x"], cwd: dir)
        #expect(bad.status == 2)
        #expect(bad.err.contains("sum to 1"))
        let neg = try Self.clpFlow(["generate", "--run-dir", "run", "--method", "clp", "--weights=-0.5,1.5", "x"], cwd: dir)
        #expect(neg.status == 2 && neg.err.contains("non-negative"))
        let len = try Self.clpFlow(["generate", "--run-dir", "run", "--method", "clp", "--weights", "1", "x"], cwd: dir)
        #expect(len.status == 2 && len.err.contains("2 rewards"))

        let rep = try Self.clpFlow(["report", "run", "--out", "again.html"], cwd: dir)
        #expect(rep.status == 0, "\(rep.err)")
        let html = try String(contentsOf: dir.appendingPathComponent("again.html"), encoding: .utf8)
        #expect(html.contains("clp-logit") && html.contains("logit-mixing"))
    }

    @Test func invalidWorkflowExitsWithTwo() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-e2e-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "name: bad\nrewrads: []\n".write(to: dir.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
        for cmd in [["validate", "bad.yaml"], ["run", "bad.yaml"], ["plan", "bad.yaml"]] {
            let r = try Self.clpFlow(cmd, cwd: dir)
            #expect(r.status == 2, "\(cmd): \(r.err)")
            #expect(r.err.contains("bad.yaml:2:1: error"), "\(r.err)")
        }
    }
}
