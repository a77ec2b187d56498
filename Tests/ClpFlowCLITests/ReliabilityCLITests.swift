import ClpFlowCore
import Foundation
import Testing

/// Issue 13 through the binary: errors in included files (point 6); random kills leave no attempt
/// folders and change no byte (point 4); numerics.json in every artifact (point 2); the report
/// shows only `evaluate.metrics` (point 5) and the model's actual input (point 7).
@Suite(.serialized) struct ReliabilityCLITests {
    typealias E2E = EndToEndTests
    typealias R = ResumeTests

    static func tempDir(_ label: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func errorsInIncludedFilesNameTheIncludeAndEchoNoForeignLines() throws {
        let dir = try Self.tempDir("include")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        let deep = dir.appendingPathComponent("a/b/c/d")
        try fm.createDirectory(at: deep, withIntermediateDirectories: true)
        try fm.createDirectory(at: dir.appendingPathComponent("etc"), withIntermediateDirectories: true)
        try "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n".write(
            to: dir.appendingPathComponent("etc/passwd"), atomically: true, encoding: .utf8)
        try "name: x\nextends: ../../../../etc/passwd\n".write(to: deep.appendingPathComponent("workflow.yaml"), atomically: true, encoding: .utf8)
        let r = try E2E.clpFlow(["validate", "workflow.yaml"], cwd: deep)
        #expect(r.status == 2, "\(r.err)")
        #expect(r.err.contains("etc/passwd:1:1: error: a template file must be a mapping"), "\(r.err)")
        #expect(r.err.contains("note: included from workflow.yaml:2:10\nextends: ../../../../etc/passwd\n         ^\n"), "\(r.err)")
        #expect(!r.err.contains("root:x") && !r.err.contains("daemon:x"), "lines of a file that is not a YAML mapping were echoed:\n\(r.err)")

        // A file that is not YAML at all: its syntax error is reported without its line, and the
        // plain explanation quotes nothing of it.
        try "token: abc: secret\n".write(to: dir.appendingPathComponent("etc/token"), atomically: true, encoding: .utf8)
        try "name: x\nextends: ../../../../etc/token\n".write(to: deep.appendingPathComponent("w2.yaml"), atomically: true, encoding: .utf8)
        let s = try E2E.clpFlow(["validate", "w2.yaml"], cwd: deep)
        #expect(s.status == 2 && s.err.contains("etc/token:1:") && s.err.contains(": error: a value that contains `: ` must be quoted\n"), "\(s.err)")
        #expect(s.err.contains("note: included from w2.yaml:2:10"), "\(s.err)")
        #expect(!s.err.contains("secret"), "\(s.err)")

        // An error inside a template two levels down: reported there, with both inclusions.
        let t = dir.appendingPathComponent("t")
        try fm.createDirectory(at: t, withIntermediateDirectories: true)
        try "extends: base.yaml\nstages: [{steps: 5}]\n".write(to: t.appendingPathComponent("mid.yaml"), atomically: true, encoding: .utf8)
        try "rewards: [{name: r, kind: rougeL}]\nmodle: {size: nano}\n".write(to: t.appendingPathComponent("base.yaml"), atomically: true, encoding: .utf8)
        try "name: y\nextends: t/mid.yaml\n".write(to: dir.appendingPathComponent("wf.yaml"), atomically: true, encoding: .utf8)
        let n = try E2E.clpFlow(["validate", "wf.yaml"], cwd: dir)
        #expect(n.status == 2)
        #expect(n.err.contains("t/base.yaml:2:1: error: unknown key 'modle'"), "\(n.err)")
        #expect(n.err.contains("modle: {size: nano}\n^\nnote: included from t/mid.yaml:1:10\nextends: base.yaml\n         ^\nnote: included from wf.yaml:2:10\n"), "\(n.err)")

        // A device is never read (it would not end).
        try "name: z\nextends: /dev/zero\n".write(to: dir.appendingPathComponent("z.yaml"), atomically: true, encoding: .utf8)
        let z = try E2E.clpFlow(["validate", "z.yaml"], cwd: dir)
        #expect(z.status == 2 && z.err.contains("z.yaml:2:10: error: template file '/dev/zero' is not a regular file"), "\(z.err)")
    }

    static let workflow = """
        name: kills
        seed: 13
        data: {source: synthetic, synthetic_examples: 200, valid: 16, test: 8, max_document_tokens: 32, max_summary_tokens: 8}
        model: {size: nano, context: 64, tokenizer: {kind: byte}}
        reference: {steps: 240, batch: 8}
        rewards:
          - {name: rouge, kind: rouge1}
          - {name: novel, kind: novelty, n: 1}
        conditioning: attn
        weights: {train: uniform, eval: {points_per_edge: 3}}
        stages: [{steps: 300, batch: 2, samples: 2, max_new_tokens: 6}]
        baselines: [prompt]
        evaluate: {prompts: 4, max_new_tokens: 6, sample_prompts: 1, metrics: [hypervolume]}
        """

    /// Attempt folders (`work/<key>.tmp-R-A`) present in a run directory.
    static func attemptFolders(_ runDir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: runDir.appendingPathComponent("work").path)) ?? [])
            .filter { $0.contains(".tmp-") }.sorted()
    }

    @Test func randomKillsLeaveNoAttemptFoldersAndChangeNoByte() throws {
        let dir = try Self.tempDir("kills")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.workflow.write(to: dir.appendingPathComponent("wf.yaml"), atomically: true, encoding: .utf8)

        // A: uninterrupted.
        let a = try E2E.clpFlow(["run", "wf.yaml", "--run-dir", "A", "--quiet"], cwd: dir)
        #expect(a.status == 0, "\(a.err)")
        let plan = try JSONDecoder().decode(R.PlanFile.self, from: Data(contentsOf: dir.appendingPathComponent("A/plan.json")))

        // B: 12 SIGKILLs at seeded random moments, alternating the runner alone and its whole
        // process group. The step processes (own sessions) live on as orphans, as after a real kill.
        var rng = SeededRandom(seed: 1313)
        var orphans: [Int32] = []
        defer { R.killOrphans(orphans) }
        var kills = 0
        for k in 0..<12 {
            let p = try R.Background(["run", "wf.yaml", "--run-dir", "B", "--quiet"], cwd: dir, log: dir.appendingPathComponent("b\(k).log"))
            let delay = 0.4 + Double(rng.next() % 4000) / 1000
            _ = R.waitFor(delay) { !p.process.isRunning }
            guard p.process.isRunning else { continue }
            kill(p.pid, SIGSTOP)
            orphans += R.descendants(of: p.pid)
            // The runner leads its own process group (Foundation starts it in a new session).
            if k % 2 == 0 || kill(-p.pid, SIGKILL) != 0 { kill(p.pid, SIGKILL) }
            p.process.waitUntilExit()
            kills += 1
        }
        #expect(kills >= 6, "most kills should land before the run finishes (\(kills) did)")
        // The orphans end (here: are ended) before the final rerun, as they eventually do.
        R.killOrphans(orphans)
        _ = R.waitFor(10) { orphans.allSatisfy { kill($0, 0) != 0 || !((try? String(contentsOfFile: "/proc/\($0)/cmdline", encoding: .utf8)) ?? "").contains("step") } }
        let before = Self.attemptFolders(dir.appendingPathComponent("B"))

        // One rerun finishes the run and removes every attempt folder nothing owns.
        let b = try E2E.clpFlow(["run", "wf.yaml", "--run-dir", "B", "--quiet"], cwd: dir)
        #expect(b.status == 0, "\(b.err)")
        let leftovers = Self.attemptFolders(dir.appendingPathComponent("B"))
        #expect(leftovers.isEmpty, "attempt folders left after the rerun: \(leftovers)")
        let status = try E2E.clpFlow(["status", "B"], cwd: dir)
        if !before.isEmpty {
            #expect(status.out.contains("removed \(before.count) attempt folder"), "\(before)\n\(status.out)")
            for f in before { #expect(status.out.contains("work/\(f)"), "\(status.out)") }
        }
        print("kill harness: \(kills) kills, \(before.count) attempt folders before the rerun, \(leftovers.count) after")

        // Every output byte-identical to A's (timings excluded as in ResumeTests).
        var compared = 0
        for s in plan.steps {
            let rel = "artifacts/\(s.cacheKey)"
            for f in try FileManager.default.subpathsOfDirectory(atPath: dir.appendingPathComponent("A/" + rel).path).sorted()
            where !["MANIFEST.json", "events.jsonl"].contains(f) {
                var isDir: ObjCBool = false
                let fa = dir.appendingPathComponent("A/\(rel)/\(f)")
                guard FileManager.default.fileExists(atPath: fa.path, isDirectory: &isDir), !isDir.boolValue else { continue }
                var x = try Data(contentsOf: fa), y = try Data(contentsOf: dir.appendingPathComponent("B/\(rel)/\(f)"))
                if f == "evaluation.json" { x = R.blankThroughput(x).0; y = R.blankThroughput(y).0 }
                let same = x == y
                #expect(same, "\(s.id): \(f) differs between the uninterrupted and the killed run")
                compared += 1
            }
            // What the numbers depend on, in every artifact.
            let numerics = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("B/\(rel)/numerics.json"))) as? [String: Any]
            let blas = numerics?["blas"] as? [String: Any]
            #expect(!((blas?["core"] as? String) ?? "").isEmpty && !((blas?["config"] as? String) ?? "").isEmpty,
                    "\(s.id): \(String(describing: numerics))")
            // Thread counts are not recorded: they never change a result (fixed parts per product).
            #expect(blas?["threads"] == nil && numerics?["kernel_threads"] == nil && numerics?["kernelThreads"] == nil)
            #expect((numerics?["partition"] as? String)?.contains("fixed parts") == true, "\(String(describing: numerics))")
        }
        print("kill harness: \(compared) files compared, all identical")

        // The report: only the metric asked for, and the inputs the models actually read.
        let html = try String(contentsOf: dir.appendingPathComponent("B/report.html"), encoding: .utf8)
        #expect(html.contains("id=\"hypervolume\""))
        #expect(!html.contains("id=\"steerability\""), "steerability was not asked for in evaluate.metrics")
        #expect(!html.contains("Dominated by others"))
        #expect(!html.contains("Summarise in one line"))
        #expect(html.contains("<b>Model input:</b> <span class=\"input\">") && html.contains("&lt;|summary|&gt;</span>"))
        #expect(html.contains("<div class=\"input\">input: [weights rouge="), "the prompt baseline's input carries the weighting")
    }
}
