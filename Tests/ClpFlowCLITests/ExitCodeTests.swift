import Foundation
import Testing

/// The exit codes of docs/cli.md, through the binary: 2 for invalid input found by our own
/// validation, 64 for argument-parser usage errors, 70 for unexpected (environment) errors,
/// 128 + signal for an interrupted run.
@Suite(.serialized) struct ExitCodeTests {
    typealias E2E = EndToEndTests

    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-exit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try ResumeTests.workflow.write(to: dir.appendingPathComponent("wf.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    @Test func usageErrorsOurValidationAndInternalErrors() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }

        // argument-parser: unknown subcommand, unknown option, a value of the wrong type, a missing argument.
        for args in [["frobnicate"], ["run", "wf.yaml", "--fast"], ["run", "wf.yaml", "--max-parallel", "many"],
                     ["run", "wf.yaml", "--executor", "cloud"], ["generate", "x"], ["status", "a", "b"]] {
            let r = try E2E.clpFlow(args, cwd: dir)
            #expect(r.status == 64, "\(args): \(r.status) \(r.err)")
            #expect(r.err.contains("Usage:") || r.err.contains("Error:"), "\(args): \(r.err)")
        }
        // Our own validation: 2 with a message naming the problem.
        let mp = try E2E.clpFlow(["run", "wf.yaml", "--max-parallel", "0"], cwd: dir)
        #expect(mp.status == 2 && mp.err.contains("--max-parallel must be at least 1"), "\(mp.err)")
        let missing = try E2E.clpFlow(["validate", "nope.yaml"], cwd: dir)
        #expect(missing.status == 2, "\(missing.err)")
        for cmd in ["report", "status", "metrics"] {
            let r = try E2E.clpFlow([cmd, dir.path], cwd: dir)
            #expect(r.status == 2, "\(cmd): \(r.status) \(r.err)")
            #expect(r.err.contains("error:"), "\(cmd): \(r.err)")
        }
        // An unexpected problem: the run directory cannot be created (a file is in the way). No
        // command anticipates it, so it is an internal/environment error (70), stated plainly.
        try Data().write(to: dir.appendingPathComponent("afile"))
        let blocked = try E2E.clpFlow(["run", "wf.yaml", "--run-dir", "afile/run"], cwd: dir)
        #expect(blocked.status == 70, "\(blocked.status) \(blocked.err)")
        #expect(blocked.err.contains("afile/run: Not a directory"), "\(blocked.err)")
    }

    /// Help and version, as users ask for them, exit 0 with usage on stdout and nothing on stderr.
    @Test func helpAndVersionExitZero() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = try E2E.clpFlow(["--help"], cwd: dir)
        #expect(root.status == 0, "\(root.status) \(root.err)")
        #expect(root.out.contains("USAGE: clp-flow <subcommand>"), "\(root.out)")
        let subcommands = ["run", "validate", "plan", "graph", "status", "metrics", "explain", "report", "generate", "schema", "step"]
        for sub in subcommands {
            #expect(root.out.contains(sub), "--help does not list \(sub)")
        }
        var forms: [[String]] = [["-h"], ["help"], ["--version"]]
        for sub in subcommands { forms += [[sub, "--help"], [sub, "-h"], ["help", sub]] }
        for args in forms {
            let r = try E2E.clpFlow(args, cwd: dir)
            #expect(r.status == 0, "\(args): exit \(r.status), stderr: \(r.err)")
            #expect(!r.out.isEmpty && r.err.isEmpty, "\(args): stdout \(r.out.prefix(80)), stderr \(r.err)")
            if args != ["--version"] { #expect(r.out.contains("USAGE:"), "\(args): \(r.out.prefix(200))") }
        }
    }

    @Test func interruptedRunExitsWith128PlusSignal() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try ResumeTests.Background(["run", "wf.yaml", "--run-dir", "R", "--max-parallel", "1"], cwd: dir,
                                             log: dir.appendingPathComponent("run.log"))
        let work = dir.appendingPathComponent("R/work")
        // As soon as a step is running (its work directory exists), send SIGTERM.
        let started = ResumeTests.waitFor(60) {
            !((try? FileManager.default.contentsOfDirectory(atPath: work.path)) ?? []).isEmpty || !run.process.isRunning
        }
        #expect(started && run.process.isRunning, "\(run.output)")
        kill(run.pid, SIGTERM)
        run.process.waitUntilExit()
        #expect(run.process.terminationReason == .exit)
        #expect(run.process.terminationStatus == 128 + SIGTERM, "\(run.process.terminationStatus): \(run.output)")
        let st = try E2E.clpFlow(["status", "R", "--json"], cwd: dir)
        #expect(st.out.contains("\"cancelled\""), "\(st.out)")
        // Nothing evaluated yet: `report` has nothing to show and says so (1, a run-time condition).
        let rep = try E2E.clpFlow(["report", "R"], cwd: dir)
        #expect(rep.status == 1 && rep.err.contains("nothing to report"), "\(rep.status) \(rep.err)")
    }
}
