import ClpFlowRunner
import Foundation
import Testing

/// What a run records and prints, through the binary: each metric value is stored once in
/// runs.sqlite (steps report training metrics both with their progress and as metric events),
/// and the log tail of a failed step shows only the attempt that failed.
@Suite(.serialized) struct MetricsAndLogTailTests {
    typealias E2E = EndToEndTests

    static func scratch(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static let referenceSteps = 10
    static let rlSteps = 6

    static let workflow = """
        name: metrics-count
        seed: 3
        data: {source: synthetic, synthetic_examples: 200, valid: 16, test: 8, max_document_tokens: 32, max_summary_tokens: 8}
        model: {size: nano, context: 64, tokenizer: {kind: byte}}
        reference: {steps: \(referenceSteps), batch: 8}
        rewards:
          - {name: rouge, kind: rouge1}
          - {name: novel, kind: novelty, n: 1}
        conditioning: logit
        weights: {train: uniform, eval: {points_per_edge: 3}}
        stages: [{steps: \(rlSteps), batch: 2, samples: 2, max_new_tokens: 6}]
        evaluate: {prompts: 4, max_new_tokens: 6, sample_prompts: 1}
        """

    /// Rows of `clp-flow metrics RUN --format csv` (run, step, name, training_step, value).
    static func metricRows(_ runDir: String, cwd: URL) throws -> [(step: String, name: String, trainingStep: String)] {
        let r = try E2E.clpFlow(["metrics", runDir], cwd: cwd)
        #expect(r.status == 0, "\(r.err)")
        let lines = r.out.split(separator: "\n").map(String.init)
        #expect(lines.first == "run,step,name,training_step,value", "\(lines.first ?? "")")
        return lines.dropFirst().map { line in
            // Step ids of this workflow contain no comma except inside `[…]`.
            var fields: [String] = []
            var cur = "", depth = 0
            for ch in line {
                if ch == "[" { depth += 1 } else if ch == "]" { depth -= 1 }
                if ch == "," && depth == 0 { fields.append(cur); cur = "" } else { cur.append(ch) }
            }
            fields.append(cur)
            return (fields[1], fields[2], fields[3])
        }
    }

    @Test func everyMetricValueIsStoredOnce() throws {
        let dir = try Self.scratch("metrics")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.workflow.write(to: dir.appendingPathComponent("wf.yaml"), atomically: true, encoding: .utf8)
        let run = try E2E.clpFlow(["run", "wf.yaml", "--run-dir", "R"], cwd: dir)
        #expect(run.status == 0, "\(run.err)")

        let rows = try Self.metricRows("R", cwd: dir)
        var count: [String: Int] = [:]
        var perStep: [String: Int] = [:]
        for r in rows {
            count["\(r.step) \(r.name)", default: 0] += 1
            perStep["\(r.step) \(r.name) \(r.trainingStep)", default: 0] += 1
        }
        // π_ref reports loss (in its progress and as a metric) and lr (progress only) at every step.
        #expect(count["train-reference loss"] == Self.referenceSteps, "\(count)")
        #expect(count["train-reference lr"] == Self.referenceSteps, "\(count)")
        #expect(count["train-reference grad_norm"] == Self.referenceSteps, "\(count)")
        // The policy reports its rewards and KL both ways, its loss as a metric only.
        for name in ["reward/rouge", "reward/novel", "kl", "loss"] {
            #expect(count["train-clp \(name)"] == Self.rlSteps, "train-clp \(name): \(count["train-clp \(name)"] ?? 0) rows for \(Self.rlSteps) steps")
        }
        // No (step, metric, training step) is stored twice.
        let repeated = perStep.filter { $0.value > 1 }
        #expect(repeated.isEmpty, "stored more than once: \(repeated.keys.sorted().prefix(10))")
        // The command prints the rows of runs.sqlite: the same count there.
        let store = try RunStore(url: dir.appendingPathComponent("R/runs.sqlite"), readOnly: true)
        let runId = try #require(try store.latestRun()).id
        #expect(try store.metrics(runId: runId).count == rows.count)
        #expect(try store.metrics(runId: runId, stepId: "train-reference").filter { $0.name == "loss" }.count == Self.referenceSteps)
    }

    static let rewardWorkflow = """
        name: tail
        seed: 3
        data: {source: synthetic, synthetic_examples: 200, valid: 16, test: 8, max_document_tokens: 32, max_summary_tokens: 8}
        model: {size: nano, context: 64, tokenizer: {kind: byte}}
        reference: {steps: 4, batch: 8}
        rewards:
          - {name: rouge, kind: rouge1}
          - {name: script, kind: command, command: [python3, score.py]}
        conditioning: logit
        weights: {train: uniform, eval: {points_per_edge: 3}}
        stages: [{steps: 3, batch: 2, samples: 2, max_new_tokens: 6}]
        evaluate: {prompts: 4, max_new_tokens: 6, sample_prompts: 1}
        """

    /// The lines printed under "last lines of its log:".
    static func printedTail(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("  | ") }
    }

    @Test func logTailOfAFailedStepShowsOnlyTheFailedAttempt() throws {
        let dir = try Self.scratch("tail")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.rewardWorkflow.write(to: dir.appendingPathComponent("wf.yaml"), atomically: true, encoding: .utf8)
        let script = dir.appendingPathComponent("score.py")

        // First run: the reward script fails with a KeyError.
        try "import json, sys\nfor line in sys.stdin:\n    print(json.loads(line)[\"missing_key\"], flush=True)\n"
            .write(to: script, atomically: true, encoding: .utf8)
        let first = try E2E.clpFlow(["run", "wf.yaml", "--run-dir", "R"], cwd: dir)
        #expect(first.status == 1, "\(first.err)")
        #expect(Self.printedTail(first.err).contains { $0.contains("KeyError") }, "\(first.err)")

        // Second run: the fixed script prints a number that is not finite.
        try "import sys\nfor line in sys.stdin:\n    print(\"nan\", flush=True)\n".write(to: script, atomically: true, encoding: .utf8)
        let second = try E2E.clpFlow(["run", "wf.yaml", "--run-dir", "R"], cwd: dir)
        #expect(second.status == 1, "\(second.err)")
        let tail = Self.printedTail(second.err)
        #expect(tail.contains { $0.contains("not a finite number") }, "\(second.err)")
        #expect(!tail.contains { $0.contains("KeyError") || $0.contains("missing_key") }, "the tail shows the earlier run's error:\n\(tail.joined(separator: "\n"))")
        // It starts at this attempt's header, and the log itself still holds both runs.
        #expect(tail.first?.hasPrefix("  | == ") == true && tail.first?.contains("attempt 1 of train-clp") == true, "\(tail.first ?? "")")
        #expect(tail.filter { $0.hasPrefix("  | == ") }.count == 1, "\(tail)")
        let logs = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("R/logs").path)
        let log = try #require(logs.first { $0.hasPrefix("train-clp") })
        let text = try String(contentsOf: dir.appendingPathComponent("R/logs/\(log)"), encoding: .utf8)
        #expect(text.contains("KeyError") && text.contains("not a finite number"), "\(text)")
    }
}
