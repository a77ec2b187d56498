import Foundation
import Testing

/// Fractional splits (docs/data.md) through the binary: each example goes to the split its hash
/// position falls in, `train` left out takes the rest, and mixing counts with fractions is refused.
@Suite(.serialized) struct FractionalSplitsTests {
    typealias E2E = EndToEndTests

    static func workflow(_ splits: String) -> String {
        """
        name: fractions
        seed: 3
        data: {source: synthetic, synthetic_examples: 400, \(splits), max_document_tokens: 32, max_summary_tokens: 8}
        model: {size: nano, context: 64, tokenizer: {kind: byte}}
        reference: {steps: 2, batch: 4}
        rewards: [{name: rouge, kind: rouge1}]
        stages: [{steps: 1, batch: 2, samples: 2, max_new_tokens: 4}]
        evaluate: {prompts: 4, max_new_tokens: 4, sample_prompts: 1}
        """
    }

    struct Counts: Decodable, Equatable { var afterFilter: Int; var train: Int; var valid: Int; var test: Int }

    /// Runs the workflow; returns the prepare step's counts and its three split files.
    static func prepare(_ splits: String, in dir: URL) throws -> (Counts, [String: Data]) {
        try workflow(splits).write(to: dir.appendingPathComponent("wf.yaml"), atomically: true, encoding: .utf8)
        let run = try E2E.clpFlow(["run", "wf.yaml", "--run-dir", "R"], cwd: dir)
        #expect(run.status == 0, "\(run.err)")
        let rd = dir.appendingPathComponent("R")
        let plan = try JSONDecoder().decode(ResumeTests.PlanFile.self, from: Data(contentsOf: rd.appendingPathComponent("plan.json")))
        let key = try #require(plan.steps.first { $0.kind == "prepare-data" }).cacheKey
        let art = rd.appendingPathComponent("artifacts/\(key)")
        let snake = JSONDecoder()
        snake.keyDecodingStrategy = .convertFromSnakeCase
        let counts = try snake.decode(Counts.self, from: Data(contentsOf: art.appendingPathComponent("data.json")))
        var files: [String: Data] = [:]
        for s in ["train", "valid", "test"] { files[s] = try Data(contentsOf: art.appendingPathComponent("data/\(s).jsonl")) }
        return (counts, files)
    }

    @Test func fractionsSplitTheDataAndTrainTakesTheRest() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("clp-fractions-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let a = root.appendingPathComponent("a"), b = root.appendingPathComponent("b")
        for d in [a, b] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }

        let (counts, files) = try Self.prepare("train: 0.8, valid: 0.1, test: 0.1", in: a)
        // Fractions summing to 1 place every example; each split is near its share.
        #expect(counts.train + counts.valid + counts.test == counts.afterFilter, "\(counts)")
        let n = Double(counts.afterFilter)
        #expect(abs(Double(counts.train) / n - 0.8) < 0.08 && abs(Double(counts.valid) / n - 0.1) < 0.06
                && abs(Double(counts.test) / n - 0.1) < 0.06, "\(counts)")
        for (s, c) in [("train", counts.train), ("valid", counts.valid), ("test", counts.test)] {
            #expect(files[s]!.split(separator: UInt8(ascii: "\n")).count == c, "\(s)")
        }

        // Without `train`, training takes the rest (1 − 0.1 − 0.1): the same examples, byte for byte.
        let (rest, restFiles) = try Self.prepare("valid: 0.1, test: 0.1", in: b)
        #expect(rest == counts)
        #expect(restFiles == files)

        // A count next to a fraction is refused before anything runs.
        try Self.workflow("train: 0.8, valid: 0.1, test: 40").write(to: b.appendingPathComponent("mixed.yaml"), atomically: true, encoding: .utf8)
        let mixed = try E2E.clpFlow(["validate", "mixed.yaml"], cwd: b)
        #expect(mixed.status == 2)
        #expect(mixed.err.contains("error: `data.test` is a count (40) but another split is a fraction"), "\(mixed.err)")
    }
}
