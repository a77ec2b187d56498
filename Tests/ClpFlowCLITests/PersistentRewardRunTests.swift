import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A workflow with a persistent `command` reward (a real Python program, two workers) run
/// through the `clp-flow` binary: it completes, its reward processes end with their steps, a
/// step stopped mid-training (the runner interrupted, or the step process killed alone) leaves no
/// reward process behind, and the rerun finishes with results identical to an uninterrupted run.
@Suite(.serialized) struct PersistentRewardRunTests {
    typealias E2E = EndToEndTests
    typealias Resume = ResumeTests

    static let workflow = """
        name: persistent-reward
        seed: 5
        data: {source: synthetic, synthetic_examples: 200, valid: 16, test: 8, max_document_tokens: 32, max_summary_tokens: 8}
        model: {size: nano, context: 64, tokenizer: {kind: byte}}
        reference: {steps: 20, batch: 8}
        rewards:
          - {name: rouge, kind: rouge1}
          - {name: chars, kind: command, command: [python3, chars.py], persistent: true, workers: 2, timeout: 60}
        conditioning: attn
        weights: {train: uniform, eval: {points_per_edge: 3}}
        stages: [{steps: 40, batch: 2, samples: 2, max_new_tokens: 6}]
        evaluate: {prompts: 4, max_new_tokens: 6, sample_prompts: 1}
        """

    /// Share of the response's characters that occur in the document. Records its pid in pids/.
    static let rewardProgram = """
        #!/usr/bin/env python3
        import json, os, sys
        os.makedirs("pids", exist_ok=True)
        open(os.path.join("pids", str(os.getpid())), "w").close()
        for line in sys.stdin:
            out = []
            for item in json.loads(line):
                r, d = item["response"], set(item["document"])
                out.append(sum(c in d for c in r) / len(r) if r else 0.0)
            print(json.dumps(out), flush=True)
        """

    /// True when the process is gone or a zombie (exited, waiting for a parent that is not us).
    static func notRunning(_ pid: Int32) -> Bool {
        if kill(pid, 0) != 0 && errno == ESRCH { return true }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    static func pids(_ dir: URL) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("pids").path)) ?? []).compactMap { Int32($0) }
    }

    static func running(_ dir: URL) -> [Int32] { pids(dir).filter { !notRunning($0) } }

    /// Waits (at most 120 s) for train-clp to be between its first and last RL step with its two
    /// reward workers running; returns them.
    static func waitMidTraining(_ run: Resume.Background, runDir: URL, clpKey: String, dir: URL) -> [Int32] {
        var workers: [Int32] = []
        _ = Resume.waitFor(120) {
            if let p = Resume.progress(runDir, cacheKey: clpKey), p.step >= 2, p.step < p.total - 5 {
                workers = running(dir)
            }
            return workers.count >= 2 || !run.process.isRunning
        }
        return workers
    }

    @Test func persistentRewardRunsAndAStoppedStepResumesCleanly() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-persistent-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.workflow.write(to: dir.appendingPathComponent("wf.yaml"), atomically: true, encoding: .utf8)
        let program = dir.appendingPathComponent("chars.py")
        try Self.rewardProgram.write(to: program, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program.path)
        let runArgs = { (runDir: String) in ["run", "wf.yaml", "--run-dir", runDir, "--max-parallel", "1"] }

        // A: uninterrupted. Every reward process started has ended with its step.
        let a = try E2E.clpFlow(runArgs("A"), cwd: dir)
        #expect(a.status == 0, "\(a.err)")
        let started = Self.pids(dir)
        // train-clp and evaluate steps each start two workers (normalisation, RL, evaluation).
        #expect(started.count >= 4, "\(started)")
        #expect(started.allSatisfy(Self.notRunning), "reward processes outlived run A: \(Self.running(dir))")
        let logs = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("A/logs").path)
        let clpLog = try #require(logs.first { $0.hasPrefix("train-clp") })
        let clpText = try String(contentsOf: dir.appendingPathComponent("A/logs/\(clpLog)"), encoding: .utf8)
        #expect(clpText.contains("reward \"chars\": "), "\(clpText)")
        #expect(clpText.contains("(persistent, 2 processes)"), "\(clpText)")

        let plan = try JSONDecoder().decode(Resume.PlanFile.self, from: Data(contentsOf: dir.appendingPathComponent("A/plan.json")))
        let clp = try #require(plan.steps.first { $0.kind == "train-clp" })
        let b = dir.appendingPathComponent("B")

        // B, first attempt: the runner is interrupted (SIGTERM) in the middle of train-clp; it
        // stops the step's process group, reward workers included.
        let first = try Resume.Background(runArgs("B"), cwd: dir, log: dir.appendingPathComponent("b1.log"))
        let workers1 = Self.waitMidTraining(first, runDir: b, clpKey: clp.cacheKey, dir: dir)
        #expect(workers1.count >= 2, "no reward workers seen mid-training: \(first.output)")
        kill(first.pid, SIGTERM)
        first.process.waitUntilExit()
        #expect(first.process.terminationStatus != 0)
        #expect(Resume.waitFor(15) { workers1.allSatisfy(Self.notRunning) }, "reward workers outlived the interrupted step: \(Self.running(dir))")
        #expect(!Resume.artifactKeys(b).contains(clp.cacheKey))

        // Second attempt: only the step process is killed (SIGKILL); its reward workers see their
        // input end and exit.
        let second = try Resume.Background(runArgs("B"), cwd: dir, log: dir.appendingPathComponent("b2.log"))
        let workers2 = Self.waitMidTraining(second, runDir: b, clpKey: clp.cacheKey, dir: dir)
        #expect(workers2.count >= 2, "no reward workers seen mid-training: \(second.output)")
        let stepPids = Resume.descendants(of: second.pid).filter { pid in
            let cmd = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))).map { String(decoding: $0, as: UTF8.self) } ?? ""
            return cmd.contains("clp-flow") && cmd.contains("step")
        }
        #expect(stepPids.count == 1, "\(stepPids)")
        for p in stepPids { kill(p, SIGKILL) }
        second.process.waitUntilExit()
        #expect(second.process.terminationStatus != 0, "\(second.output)")
        #expect(Resume.waitFor(15) { workers2.allSatisfy(Self.notRunning) }, "reward workers outlived the killed step: \(Self.running(dir))")

        // The rerun finishes, and the policy and evaluation equal the uninterrupted run's.
        let rerun = try E2E.clpFlow(runArgs("B"), cwd: dir)
        #expect(rerun.status == 0, "\(rerun.err)")
        #expect(Self.pids(dir).allSatisfy(Self.notRunning), "\(Self.running(dir))")
        for s in plan.steps where s.kind == "train-clp" || s.kind == "evaluate" {
            let rel = "artifacts/\(s.cacheKey)"
            let files = try FileManager.default.subpathsOfDirectory(atPath: dir.appendingPathComponent("A/" + rel).path)
            var compared = 0
            for f in files.sorted() where !["MANIFEST.json", "events.jsonl"].contains(f) {
                var isDir: ObjCBool = false
                let fa = dir.appendingPathComponent("A/\(rel)/\(f)")
                guard FileManager.default.fileExists(atPath: fa.path, isDirectory: &isDir), !isDir.boolValue else { continue }
                var x = try Data(contentsOf: fa), y = try Data(contentsOf: dir.appendingPathComponent("B/\(rel)/\(f)"))
                if f == "evaluation.json" { x = Resume.blankThroughput(x).0; y = Resume.blankThroughput(y).0 }
                let same = x == y
                #expect(same, "\(s.id): \(f) differs between the uninterrupted and the resumed run")
                compared += 1
            }
            #expect(compared > 0)
        }
    }
}
