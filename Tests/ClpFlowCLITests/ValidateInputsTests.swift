import Foundation
import Testing

/// `clp-flow validate` reports at validate time what would otherwise stop a run later: broken
/// JSON Lines lines and too few examples in a `jsonl` data file (with the prepare step's own
/// messages), a `command` reward whose program is not on PATH or whose script does not exist
/// (relative to the workflow's directory, where the reward runs), and splits that do not fit
/// `data.limit`.
@Suite(.serialized) struct ValidateInputsTests {
    typealias E2E = EndToEndTests

    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-validate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Runs the binary with `PATH` replaced.
    static func clpFlow(_ args: [String], cwd: URL, path: String) throws -> E2E.Result {
        let p = Process()
        p.executableURL = E2E.binary
        p.arguments = args
        p.currentDirectoryURL = cwd
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = path
        p.environment = env
        let o = Pipe(), e = Pipe()
        p.standardOutput = o; p.standardError = e
        try p.run()
        let od = o.fileHandleForReading.readDataToEndOfFile(), ed = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return E2E.Result(status: p.terminationStatus, out: String(decoding: od, as: UTF8.self), err: String(decoding: ed, as: UTF8.self))
    }

    static func write(_ text: String, _ name: String, in dir: URL) throws {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    static func jsonlWorkflow(valid: Int, test: Int) -> String {
        """
        name: own-data
        seed: 5
        data: {source: jsonl, path: data/notes.jsonl, valid: \(valid), test: \(test), min_document_chars: 10, max_document_tokens: 32, max_summary_tokens: 8}
        model: {size: nano, context: 64, tokenizer: {kind: byte}}
        reference: {steps: 2, batch: 2}
        rewards: [{name: rouge, kind: rouge1}]
        stages: [{steps: 1, batch: 1, samples: 2, max_new_tokens: 4}]
        evaluate: {prompts: 1, sample_prompts: 1, max_new_tokens: 4}
        """
    }

    static func line(_ i: Int) -> String {
        "{\"document\":\"note number \(i) says something worth a summary\",\"summary\":\"note \(i)\"}"
    }

    @Test func brokenJSONLinesAreReportedByValidateAsTheRunWouldReportThem() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let lines = (1...12).map(Self.line) + ["{\"document\": broken", "{\"summary\": \"no document\"}", "[1, 2]"]
        try Self.write(lines.joined(separator: "\n") + "\n", "data/notes.jsonl", in: dir)
        try Self.write(Self.jsonlWorkflow(valid: 2, test: 2), "wf.yaml", in: dir)

        let v = try E2E.clpFlow(["validate", "wf.yaml"], cwd: dir)
        #expect(v.status == 2, "\(v.out)\(v.err)")
        #expect(v.err.contains("wf.yaml:3:29: error: 3 bad line(s) in data/notes.jsonl:"), "\(v.err)")
        let expected = ["data/notes.jsonl:13: invalid JSON", "data/notes.jsonl:14: missing field \"document\"",
                        "data/notes.jsonl:15: expected a JSON object"]
        for e in expected { #expect(v.err.contains("\n  " + e + "\n"), "\(e) missing from:\n\(v.err)") }

        // The run stops at the prepare step with the same lines.
        let run = try E2E.clpFlow(["run", "wf.yaml", "--run-dir", "R"], cwd: dir)
        #expect(run.status == 1, "\(run.err)")
        for e in expected { #expect(run.err.contains(e.replacingOccurrences(of: "data/notes.jsonl", with: "")), "\(e) missing from the run:\n\(run.err)") }

        // Fixed, it validates.
        try Self.write((1...12).map(Self.line).joined(separator: "\n") + "\n", "data/notes.jsonl", in: dir)
        let ok = try E2E.clpFlow(["validate", "wf.yaml"], cwd: dir)
        #expect(ok.status == 0 && ok.out == "wf.yaml: ok\n", "\(ok.out)\(ok.err)")
    }

    @Test func tooFewExamplesInTheDataFileAreReportedByValidate() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        // 12 lines, one of them too short for min_document_chars: 11 examples after filtering.
        let lines = (1...11).map(Self.line) + ["{\"document\":\"short\",\"summary\":\"s\"}"]
        try Self.write(lines.joined(separator: "\n") + "\n", "data/notes.jsonl", in: dir)
        try Self.write(Self.jsonlWorkflow(valid: 6, test: 5), "wf.yaml", in: dir)
        let v = try E2E.clpFlow(["validate", "wf.yaml"], cwd: dir)
        #expect(v.status == 2, "\(v.out)\(v.err)")
        #expect(v.err.contains("error: not enough examples: 12 needed but only 11 available after filtering (valid 6 + test 5 + train at least 1)"), "\(v.err)")
        try Self.write(Self.jsonlWorkflow(valid: 5, test: 5), "wf.yaml", in: dir)
        let ok = try E2E.clpFlow(["validate", "wf.yaml"], cwd: dir)
        #expect(ok.status == 0, "\(ok.err)")
    }

    @Test func commandRewardsNeedTheirProgramAndScript() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A PATH holding one program, `scorer`.
        let bin = dir.appendingPathComponent("bin")
        try Self.write("#!/bin/sh\nexit 0\n", "bin/scorer", in: dir)
        chmod(bin.appendingPathComponent("scorer").path, 0o755)
        try Self.write("print(1)\n", "rewards/ok.py", in: dir)
        try Self.write("#!/bin/sh\n", "rewards/not-executable.sh", in: dir)
        let workflow = """
            name: cmd
            data: {source: synthetic, synthetic_examples: 200, valid: 16, test: 8}
            rewards:
              - {name: ok, kind: command, command: [scorer, rewards/ok.py, --scale, '2']}
              - {name: typo, kind: command, command: [scorre, rewards/ok.py]}
              - {name: gone, kind: command, command: [scorer, rewards/gone.py]}
              - {name: inline, kind: command, command: [scorer, -c, "print(1).py"]}
              - {name: rel, kind: command, command: [./rewards/not-executable.sh]}
              - {name: abs, kind: command, command: [/nonexistent/tool]}
            evaluate: {prompts: 4}
            """
        try Self.write(workflow, "sub/wf.yaml", in: dir)
        // Paths are relative to the workflow's directory (sub/), not to where validate runs.
        let v = try Self.clpFlow(["validate", "sub/wf.yaml"], cwd: dir, path: bin.path)
        #expect(v.status == 2, "\(v.out)\(v.err)")
        let sub = dir.appendingPathComponent("sub").standardizedFileURL.path
        #expect(v.err.contains("sub/wf.yaml:4:49: error: reward 'ok': script 'rewards/ok.py' does not exist (looked for \(sub)/rewards/ok.py;"), "\(v.err)")
        #expect(v.err.contains("sub/wf.yaml:5:43: error: reward 'typo': the program 'scorre' is not on PATH; did you mean 'scorer'?"), "\(v.err)")
        #expect(v.err.contains("error: reward 'gone': script 'rewards/gone.py' does not exist"), "\(v.err)")
        #expect(!v.err.contains("reward 'inline'"), "the code after -c is not a file:\n\(v.err)")
        #expect(v.err.contains("error: reward 'rel': the program './rewards/not-executable.sh' does not exist (looked for \(sub)/rewards/not-executable.sh"), "\(v.err)")
        #expect(v.err.contains("error: reward 'abs': the program '/nonexistent/tool' does not exist\n"), "\(v.err)")
        #expect(v.err.contains("sub/wf.yaml: 6 errors"), "\(v.err)")

        // With the files where the workflow's directory has them, only the PATH typo remains;
        // a file that is there but not executable is named as such.
        try FileManager.default.moveItem(at: dir.appendingPathComponent("rewards"), to: dir.appendingPathComponent("sub/rewards"))
        try Self.write("print(1)\n", "sub/rewards/gone.py", in: dir)
        let fixed = workflow.replacingOccurrences(of: "/nonexistent/tool", with: bin.appendingPathComponent("scorer").path)
        try Self.write(fixed, "sub/wf.yaml", in: dir)
        let v2 = try Self.clpFlow(["validate", "sub/wf.yaml"], cwd: dir, path: bin.path)
        #expect(v2.status == 2)
        #expect(v2.err.contains("reward 'typo': the program 'scorre' is not on PATH"), "\(v2.err)")
        #expect(v2.err.contains("reward 'rel': './rewards/not-executable.sh' is not an executable file"), "\(v2.err)")
        #expect(v2.err.contains("sub/wf.yaml: 2 errors"), "\(v2.err)")

        // With the Slurm executor a program missing from this machine's PATH is a warning.
        let slurm = fixed.replacingOccurrences(of: "  - {name: rel, kind: command, command: [./rewards/not-executable.sh]}\n", with: "")
            + "\nexecutor: {kind: slurm}\n"
        try Self.write(slurm, "sub/wf.yaml", in: dir)
        let v3 = try Self.clpFlow(["validate", "sub/wf.yaml"], cwd: dir, path: bin.path)
        #expect(v3.status == 0, "\(v3.out)\(v3.err)")
        #expect(v3.err.contains("warning: reward 'typo': the program 'scorre' is not on PATH here (Slurm jobs may run with another PATH)"), "\(v3.err)")
    }

    @Test func splitsMustFitTheLimitOfASyntheticSource() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.write("""
            name: limited
            data: {source: synthetic, synthetic_examples: 1000, limit: 50, valid: 40, test: 20}
            rewards: [{name: r, kind: rouge1}]
            evaluate: {prompts: 4}
            """, "wf.yaml", in: dir)
        let v = try E2E.clpFlow(["validate", "wf.yaml"], cwd: dir)
        #expect(v.status == 2, "\(v.out)\(v.err)")
        #expect(v.err.contains("wf.yaml:2:60: error: the splits need 61 examples (train ≥ 1 + valid 40 + test 20) but `data.limit` is 50"), "\(v.err)")
    }
}
