import Foundation
import Testing

/// After `kill -9` of the runner its running step lives on as an orphan. The next run of the same
/// directory stops it before starting the step again, so no two processes ever run one step, and
/// the result is the same as an uninterrupted run's.
@Suite(.serialized) struct OrphanedStepTests {
    typealias E2E = EndToEndTests

    /// The reward script sleeps a little per batch, so the RL step runs for several seconds.
    static let workflow = """
        name: orphan
        seed: 4
        data: {source: synthetic, synthetic_examples: 200, valid: 16, test: 8, max_document_tokens: 32, max_summary_tokens: 8}
        model: {size: nano, context: 64, tokenizer: {kind: byte}}
        reference: {steps: 6, batch: 8}
        rewards:
          - {name: rouge, kind: rouge1}
          - {name: slow, kind: command, command: [python3, slow.py]}
        conditioning: logit
        weights: {train: uniform, eval: {points_per_edge: 3}}
        stages: [{steps: 16, batch: 2, samples: 2, max_new_tokens: 6}]
        evaluate: {prompts: 4, max_new_tokens: 6, sample_prompts: 1}
        """

    static let script = """
        import json, sys, time
        for line in sys.stdin:
            r = json.loads(line)["response"]
            time.sleep(0.02)
            print(len(r.split()) / 10.0, flush=True)
        """

    static func setUp() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-orphan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try workflow.write(to: dir.appendingPathComponent("wf.yaml"), atomically: true, encoding: .utf8)
        try script.write(to: dir.appendingPathComponent("slow.py"), atomically: true, encoding: .utf8)
        return dir
    }

    /// Live `clp-flow step` processes (not zombies) working for `stepId` in a run directory below `root`.
    static func stepProcesses(_ stepId: String, under root: URL) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        var out: [Int32] = []
        for n in names where !n.isEmpty && n.allSatisfy(\.isNumber) {
            guard let pid = Int32(n),
                  let stat = try? String(contentsOfFile: "/proc/\(n)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")"),
                  stat[stat.index(after: close)...].drop(while: { $0 == " " }).first != "Z",
                  let cmd = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(n)/cmdline")),
                  let env = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(n)/environ")) else { continue }
            let argv = cmd.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            let vars = Set(env.split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
            guard argv.count >= 2, argv[0].contains("clp-flow"), argv[1] == "step", vars.contains("CLP_FLOW_STEP_ID=\(stepId)"),
                  vars.contains(where: { $0.hasPrefix("CLP_FLOW_WORK_DIR=" + root.path) }) else { continue }
            out.append(pid)
        }
        return out
    }

    static func cacheKey(_ runDir: URL, _ stepId: String) throws -> String {
        let plan = try JSONDecoder().decode(ResumeTests.PlanFile.self, from: Data(contentsOf: runDir.appendingPathComponent("plan.json")))
        return try #require(plan.steps.first { $0.id == stepId }).cacheKey
    }

    @Test func aResumedRunStopsTheOrphanedStepBeforeRunningItAgain() throws {
        let dir = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let runDir = dir.appendingPathComponent("R")
        let first = try ResumeTests.Background(["run", "wf.yaml", "--run-dir", "R"], cwd: dir, log: dir.appendingPathComponent("first.log"))
        // Kill the runner once the RL step has made some progress.
        var key: String? = nil
        let midStep = ResumeTests.waitFor(300) {
            if key == nil, FileManager.default.fileExists(atPath: runDir.appendingPathComponent("plan.json").path) {
                key = try? Self.cacheKey(runDir, "train-clp")
            }
            guard let key, let p = ResumeTests.progress(runDir, cacheKey: key) else { return !first.process.isRunning }
            return p.step >= 2
        }
        #expect(midStep && first.process.isRunning, "\(first.output)")
        let children = first.killHard()
        defer { ResumeTests.killOrphans(Self.stepProcesses("train-clp", under: dir) + children) }
        let orphans = Self.stepProcesses("train-clp", under: dir)
        #expect(orphans.count == 1, "the killed runner's step should live on: \(orphans)")

        // Rerun; watch the step processes all along.
        let second = try ResumeTests.Background(["run", "wf.yaml", "--run-dir", "R"], cwd: dir, log: dir.appendingPathComponent("second.log"))
        var most = 0
        var orphanGoneBeforeRestart = false
        var restarted = false
        while second.process.isRunning {
            let now = Self.stepProcesses("train-clp", under: dir)
            most = max(most, now.count)
            let orphanAlive = now.contains { orphans.contains($0) }
            if !now.isEmpty && !orphanAlive && !restarted { restarted = true; orphanGoneBeforeRestart = true }
            if now.contains(where: { !orphans.contains($0) }) { restarted = true }
            usleep(5_000)
        }
        second.process.waitUntilExit()
        let out = second.output
        #expect(second.process.terminationStatus == 0, "\(out)")
        #expect(most == 1, "\(most) processes ran train-clp at once")
        #expect(restarted && orphanGoneBeforeRestart, "\(out)")
        // One pid, or several when the step had already started a child of its own ("pids A, B").
        let firstOrphan = orphans.first ?? 0
        #expect(out.contains("stopped step train-clp of run 1, left running by the runner that died (pid \(firstOrphan)")
                || out.contains("stopped step train-clp of run 1, left running by the runner that died (pids \(firstOrphan)"), "\(out)")
        #expect(orphans.allSatisfy { kill($0, 0) != 0 || Self.stepProcesses("train-clp", under: dir).isEmpty })
        let status = try ResumeTests.latestStatuses("R", cwd: dir)
        #expect(status.steps["train-clp"] == "done", "\(status)")

        // Same result as a run that was never interrupted.
        let clean = dir.appendingPathComponent("clean")
        try FileManager.default.createDirectory(at: clean, withIntermediateDirectories: true)
        for f in ["wf.yaml", "slow.py"] {
            try FileManager.default.copyItem(at: dir.appendingPathComponent(f), to: clean.appendingPathComponent(f))
        }
        let uninterrupted = try E2E.clpFlow(["run", "wf.yaml", "--run-dir", "R"], cwd: clean)
        #expect(uninterrupted.status == 0, "\(uninterrupted.err)")
        let key2 = try Self.cacheKey(runDir, "train-clp")
        #expect(try Self.cacheKey(clean.appendingPathComponent("R"), "train-clp") == key2)
        for file in ["policy/policy.safetensors", "curve.json", "summary.json"] {
            let a = try Data(contentsOf: runDir.appendingPathComponent("artifacts/\(key2)/\(file)"))
            let b = try Data(contentsOf: clean.appendingPathComponent("R/artifacts/\(key2)/\(file)"))
            #expect(a == b, "\(file) differs from an uninterrupted run")
        }
    }
}
