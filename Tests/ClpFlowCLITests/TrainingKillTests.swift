import Foundation
import Testing

/// π_ref's fine-tuning and the RL steps (SOFT and CLP) through the binary: `kill -9` of the
/// runner and its steps at random moments inside each training step, repeatedly. Every rerun
/// continues from the step's last resumable state, and every published artifact is byte-identical
/// to an uninterrupted run's.
@Suite(.serialized) struct TrainingKillTests {
    typealias E2E = EndToEndTests
    typealias R = ResumeTests

    static let workflow = """
        name: training-kill
        seed: 11
        data: {source: synthetic, synthetic_examples: 300, valid: 16, test: 8, max_document_tokens: 24, max_summary_tokens: 8}
        model: {size: nano, context: 40, tokenizer: {kind: byte}}
        reference: {steps: 1200, batch: 8, learning_rate: 0.003, eval_every: 300, checkpoint_every: 40}
        rewards: [{name: rouge, kind: rouge1}, {name: short, kind: length, target: 3}]
        conditioning: attn
        weights: {train: {dirichlet: {concentration: 0.5}}, eval: {points_per_edge: 3}}
        stages: [{name: rl, steps: 240, batch: 2, samples: 2, learning_rate: 0.001, max_new_tokens: 6, checkpoint_every: 10}]
        baselines: [soft]
        evaluate: {prompts: 4, max_new_tokens: 6, sample_prompts: 1}
        """

    @Test func killedTrainingStepsResumeToTheSameBytes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-train-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.workflow.write(to: dir.appendingPathComponent("wf.yaml"), atomically: true, encoding: .utf8)

        let clean = try E2E.clpFlow(["run", "wf.yaml", "--run-dir", "A", "--quiet"], cwd: dir)
        #expect(clean.status == 0, "\(clean.err)")
        let plan = try JSONDecoder().decode(R.PlanFile.self, from: Data(contentsOf: dir.appendingPathComponent("A/plan.json")))
        let runB = dir.appendingPathComponent("B")
        var rng = SystemRandomNumberGenerator()
        var kills: [String: Int] = [:]
        var resumed: [String: [Int]] = [:]
        for kind in ["train-reference", "train-soft", "train-clp"] {
            let keys = plan.steps.filter { $0.kind == kind }.map(\.cacheKey)
            #expect(!keys.isEmpty)
            func latest() -> [String] {
                keys.map { (try? String(contentsOf: runB.appendingPathComponent("work/\($0).resume/latest"), encoding: .utf8)) ?? "" }
            }
            for round in 0..<3 {
                let run = try R.Background(["run", "wf.yaml", "--run-dir", "B", "--quiet"], cwd: dir,
                                           log: dir.appendingPathComponent("\(kind)-\(round).log"))
                let before = latest()
                // Once one of this kind's steps has written a new state, kill within the next 0.3 s.
                let wrote = R.waitFor(180) {
                    let now = latest()
                    return zip(now, before).contains { !$0.0.isEmpty && $0.0 != $0.1 } || !run.process.isRunning
                }
                guard wrote, run.process.isRunning else { run.process.waitUntilExit(); break }
                usleep(UInt32.random(in: 0...300_000, using: &rng))
                R.killOrphans(run.killHard())
                kills[kind, default: 0] += 1
                for state in latest() where !state.isEmpty {
                    if let n = Int(state.dropFirst("state-".count)) { resumed[kind, default: []].append(n) }
                }
            }
        }
        #expect(kills == ["train-reference": 3, "train-soft": 3, "train-clp": 3], "a step finished before three kills; lengthen it")
        let last = try E2E.clpFlow(["run", "wf.yaml", "--run-dir", "B", "--quiet"], cwd: dir)
        #expect(last.status == 0, "\(last.err)")
        for kind in ["train-reference", "train-soft", "train-clp"] {
            #expect(resumed[kind, default: []].contains { $0 > 0 }, "\(kind): \(resumed)")
        }
        // Every artifact of the run, not only the training steps', is the same bytes (evaluation.json
        // after blanking its one timing field, the generation throughput).
        var compared = 0
        for step in plan.steps {
            let a = PretrainResumeTests.files(dir.appendingPathComponent("A/artifacts/\(step.cacheKey)"))
            let b = PretrainResumeTests.files(runB.appendingPathComponent("artifacts/\(step.cacheKey)"))
            #expect(!a.isEmpty && a.keys.sorted() == b.keys.sorted(), "\(step.kind)")
            for (name, data) in a {
                let same = name == "evaluation.json"
                    ? b[name].map { R.blankThroughput($0).0 } == R.blankThroughput(data).0 : b[name] == data
                if !same { Issue.record("\(step.kind) \(name) differs after resuming") }
            }
            compared += a.count
            #expect(!FileManager.default.fileExists(atPath: runB.appendingPathComponent("work/\(step.cacheKey).resume").path),
                    "the resumable state of \(step.kind) is removed once the step is done")
        }
        // The published messages say that the steps continued from saved state.
        let clp = try #require(plan.steps.first { $0.kind == "train-clp" })
        let events = (try? String(contentsOf: runB.appendingPathComponent("artifacts/\(clp.cacheKey)/events.jsonl"), encoding: .utf8)) ?? ""
        #expect(events.contains("resuming rl at step"), "\(events.prefix(2000))")
        print("training kill harness: kills \(kills), states resumed from \(resumed), \(compared) files compared, all identical")
    }
}
