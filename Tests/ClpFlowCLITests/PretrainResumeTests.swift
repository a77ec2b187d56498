import Foundation
import Testing

/// The pretrain step through the binary: `kill -9` of the runner and its step at random moments
/// inside the step, repeatedly; each rerun continues from the last resumable state, and the
/// published pretraining artifact is byte-identical to an uninterrupted run's.
@Suite(.serialized) struct PretrainResumeTests {
    typealias E2E = EndToEndTests
    typealias R = ResumeTests

    static let workflow = """
        name: pretrain-resume
        seed: 5
        data: {source: synthetic, synthetic_examples: 600, valid: 16, test: 8, max_document_tokens: 32, max_summary_tokens: 8}
        model: {size: nano, context: 48, tokenizer: {kind: byte}}
        pretrain: {steps: 1500, batch: 8, learning_rate: 0.003, warmup: 10, eval_every: 300, checkpoint_every: 60}
        reference: {steps: 0}
        rewards: [{name: rouge, kind: rouge1}]
        stages: []
        evaluate: {prompts: 2, max_new_tokens: 4, sample_prompts: 1}
        """

    static func files(_ dir: URL) -> [String: Data] {
        var out: [String: Data] = [:]
        let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.isRegularFileKey])
        while let u = e?.nextObject() as? URL {
            guard (try? u.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            let rel = String(u.path.dropFirst(dir.path.count + 1))
            // the event log and the manifest hold timings
            if rel == "events.jsonl" || rel == "MANIFEST.json" { continue }
            out[rel] = try? Data(contentsOf: u)
        }
        return out
    }

    @Test func killedPretrainingResumesToTheSameBytes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-pretrain-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.workflow.write(to: dir.appendingPathComponent("wf.yaml"), atomically: true, encoding: .utf8)

        let clean = try E2E.clpFlow(["run", "wf.yaml", "--run-dir", "A", "--quiet"], cwd: dir)
        #expect(clean.status == 0, "\(clean.err)")
        let plan = try JSONDecoder().decode(R.PlanFile.self, from: Data(contentsOf: dir.appendingPathComponent("A/plan.json")))
        let key = try #require(plan.steps.first { $0.kind == "pretrain" }?.cacheKey)
        let reference = Self.files(dir.appendingPathComponent("A/artifacts/\(key)"))
        #expect(reference["model/model.safetensors"] != nil && reference["curve.json"] != nil)

        // Kill B three times while it pretrains, after at least one more state was written each time.
        let runB = dir.appendingPathComponent("B")
        let resume = runB.appendingPathComponent("work/\(key).resume/latest")
        var kills = 0, resumedAt: [Int] = []
        var rng = SystemRandomNumberGenerator()
        for round in 0..<3 {
            let run = try R.Background(["run", "wf.yaml", "--run-dir", "B", "--quiet"], cwd: dir,
                                       log: dir.appendingPathComponent("b\(round).log"))
            let before = (try? String(contentsOf: resume, encoding: .utf8)) ?? ""
            let wrote = R.waitFor(120) {
                let now = (try? String(contentsOf: resume, encoding: .utf8)) ?? ""
                return (!now.isEmpty && now != before) || !run.process.isRunning
            }
            guard wrote, run.process.isRunning else { run.process.waitUntilExit(); break }
            usleep(UInt32.random(in: 0...300_000, using: &rng))
            let orphans = run.killHard()
            R.killOrphans(orphans)
            kills += 1
            if let state = try? String(contentsOf: resume, encoding: .utf8), let n = Int(state.dropFirst("state-".count)) {
                resumedAt.append(n)
            }
        }
        #expect(kills == 3, "the step finished before three kills; lengthen it")
        let last = try E2E.clpFlow(["run", "wf.yaml", "--run-dir", "B", "--quiet"], cwd: dir)
        #expect(last.status == 0, "\(last.err)")
        #expect(resumedAt == resumedAt.sorted() && (resumedAt.last ?? 0) > 0, "\(resumedAt)")
        // The last attempt's messages are published with the artifact.
        let events = (try? String(contentsOf: runB.appendingPathComponent("artifacts/\(key)/events.jsonl"), encoding: .utf8)) ?? ""
        #expect(events.contains("resuming pretraining at step"), "\(events.prefix(2000))")
        let resumed = Self.files(runB.appendingPathComponent("artifacts/\(key)"))
        #expect(resumed.keys.sorted() == reference.keys.sorted())
        for (name, data) in reference { #expect(resumed[name] == data, "\(name) differs after resuming") }
        #expect(!FileManager.default.fileExists(atPath: runB.appendingPathComponent("work/\(key).resume").path),
                "the resumable state is removed once the step is done")
    }
}
