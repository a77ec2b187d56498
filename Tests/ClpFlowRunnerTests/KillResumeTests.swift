import ClpFlowCore
import ClpFlowPlanner
@testable import ClpFlowRunner
import Foundation
import Testing

extension RunnerTests {
    /// The runner runs in a child process (the test host) that is killed with SIGKILL or SIGTERM at
    /// several points, then resumed.
    @Suite struct KillResumeTests {
        let temp = TemporaryDirectories()

        /// Two chains joined at the end; every step writes in two phases (so a kill can leave partial
        /// outputs behind) a content derived from its inputs.
        func workload(trace: URL) -> ScriptPlan {
            var p = ScriptPlan()
            let t = shellQuote(trace.path)
            func body(_ id: String, _ inputs: Int) -> String {
                let cats = (0..<inputs).map { "cat \"$CLP_FLOW_INPUT_\($0)/data.txt\";" }.joined(separator: " ")
                return """
                    echo 'start \(id)' >> \(t)
                    { \(cats) echo '\(id)'; } > "$CLP_FLOW_WORK_DIR/data.txt"
                    sleep 0.15
                    seq 1 5000 | sed 's/^/\(id) /' > "$CLP_FLOW_WORK_DIR/big.txt"
                    printf '{"type":"progress","step":1,"total":1,"metrics":{"reward/len":1}}\\n' >> "$CLP_FLOW_EVENTS"
                    echo 'end \(id)' >> \(t)
                    """
            }
            p.add("data", body("data", 0))
            p.add("a1[x=1]", body("a1[x=1]", 1), inputs: ["data"])
            p.add("a2/../x", body("a2/../x", 1), inputs: ["a1[x=1]"])
            p.add("b1", body("b1", 1), inputs: ["data"])
            p.add("b2", body("b2", 1), inputs: ["b1"])
            p.add("join", body("join", 2), inputs: ["a2/../x", "b2"])
            return p
        }

        func writePlan(_ plan: Plan, to url: URL) throws {
            try Data(try JSONEncoder().encode(plan)).write(to: url)
        }

        /// Starts the test host with its output appended to `log`. It is started like a program
        /// from a shell (default signal dispositions, nothing blocked), not with the signal mask of
        /// the test's thread, which blocks SIGINT and SIGTERM.
        func startHost(plan: URL, runDir: URL, log: URL, parallel: Int = 2) throws -> HostProcess {
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let h = try FileHandle(forWritingTo: log)
            try h.seekToEnd()
            defer { try? h.close() }
            let argv = [try testHost().path, "run", "--plan", plan.path, "--run-dir", runDir.path,
                        "--parallel", String(parallel), "--display", "plain"]
            return HostProcess(try ChildProcess(executable: argv[0], argv: argv,
                                                options: .init(outputFile: h.fileDescriptor, newSession: true)))
        }

        /// cache key -> file -> sha256, for every artifact; asserts each one verifies.
        func snapshot(_ rd: RunDirectory, sourceLocation: SourceLocation = #_sourceLocation) -> [String: [String: String]] {
            var out: [String: [String: String]] = [:]
            let keys = (try? FileManager.default.contentsOfDirectory(atPath: rd.artifactsURL.path)) ?? []
            for key in keys {
                guard case .valid(let m) = rd.artifacts.verify(cacheKey: key) else {
                    Issue.record("artifact \(key) is corrupt or partial: \(rd.artifacts.verify(cacheKey: key))",
                                 sourceLocation: sourceLocation)
                    continue
                }
                out[key] = Dictionary(uniqueKeysWithValues: m.files.map { ($0.path, $0.sha256) })
            }
            return out
        }

        @Test func kill9AtSeveralPointsThenResumeMatchesUninterruptedRun() throws {
            let dir = try makeTempDir(temp, "kill")
            let planURL = dir.appendingPathComponent("plan.json")
            let plan = workload(trace: dir.appendingPathComponent("trace-ref.txt")).plan()
            // The reference run writes to the same trace; kill points count new lines only.
            try writePlan(plan, to: planURL)

            // Reference: uninterrupted.
            let refDir = RunDirectory(dir.appendingPathComponent("ref"))
            let ref = try startHost(plan: planURL, runDir: refDir.root, log: dir.appendingPathComponent("ref.log"))
            ref.waitUntilExit()
            #expect(ref.terminationStatus == 0, "\(readText(dir.appendingPathComponent("ref.log")) ?? "")")
            let expected = snapshot(refDir)
            #expect(expected.count == plan.steps.count)

            let rd = RunDirectory(dir.appendingPathComponent("run"))
            let log = dir.appendingPathComponent("run.log")
            var completedBefore: [Int64: Set<String>] = [:]   // runner pid -> artifacts complete at its start
            let trace = dir.appendingPathComponent("trace-ref.txt")
            func starts(_ id: String) -> Int {
                (readText(trace) ?? "").split(separator: "\n").filter { $0 == "start \(id)" }.count
            }
            // Kill the runner while each of these steps is running (at its start, partial outputs).
            for victim in ["data", "a1[x=1]", "b2", "join"] {
                let before = Set(snapshot(rd).keys)
                let seen = starts(victim)
                let host = try startHost(plan: planURL, runDir: rd.root, log: log)
                completedBefore[Int64(host.processIdentifier)] = before
                var reached = false
                for _ in 0..<1000 where host.isRunning {
                    if starts(victim) > seen { reached = true; break }
                    usleep(5_000)
                }
                #expect(reached, "the runner reached step \(victim)")
                kill(host.processIdentifier, SIGKILL)
                host.waitUntilExit()
                #expect(host.exit == .signalled(SIGKILL))
                _ = snapshot(rd) // every published artifact still verifies
                usleep(400_000) // let orphaned step processes of the killed runner finish
            }
            let beforeFinal = Set(snapshot(rd).keys)
            let final = try startHost(plan: planURL, runDir: rd.root, log: log)
            completedBefore[Int64(final.processIdentifier)] = beforeFinal
            final.waitUntilExit()
            let logText = readText(log) ?? ""
            #expect(final.terminationStatus == 0, "\(logText)")
            #expect(snapshot(rd) == expected, "final outputs equal those of an uninterrupted run")
            #expect(logText.contains("taking over a stale lock"), "\(logText)")

            // No step whose artifact was complete when a runner started was started again by it.
            let store = try RunStore(url: rd.storeURL, readOnly: true)
            let runs = try store.runs()
            #expect(completedBefore.values.contains { !$0.isEmpty && $0.count < plan.steps.count }, "some kill landed mid-run: \(completedBefore.values.map(\.count))")
            #expect(runs.count >= 3, "runners got far enough to record runs")
            for run in runs {
                let before = try #require(completedBefore[run.pid], "run \(run.id) has an unknown pid")
                for rec in try store.steps(runId: run.id) where before.contains(rec.cacheKey) {
                    #expect(rec.started == nil, "run \(run.id) restarted completed step \(rec.stepId)")
                    #expect(rec.status == .cached || rec.status == .cancelled, "\(rec)")
                }
            }
            #expect(runs.last?.status == "done")
            #expect(runs.dropLast().allSatisfy { $0.status == "cancelled" }, "killed runs are closed as cancelled: \(runs.map(\.status))")
            #expect(!(RunLock.inspect(rd.lockURL).held))
            let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: rd.workURL.path)) ?? []
            #expect(leftovers == [], "stale work directories are cleaned up")
        }

        @Test func sigtermStopsChildrenRecordsCancelledAndReleasesLock() throws {
            let dir = try makeTempDir(temp, "term")
            let planURL = dir.appendingPathComponent("plan.json")
            var p = ScriptPlan()
            let pidFile = dir.appendingPathComponent("child.pid")
            p.add("first", "echo 1 > \"$CLP_FLOW_WORK_DIR/o\"")
            p.add("long", "echo $$ > \(shellQuote(pidFile.path)); sleep 30", inputs: ["first"])
            try writePlan(p.plan(), to: planURL)
            let rd = RunDirectory(dir.appendingPathComponent("run"))
            let host = try startHost(plan: planURL, runDir: rd.root, log: dir.appendingPathComponent("log"))
            var childPid: Int32? = nil
            for _ in 0..<200 where childPid == nil {
                usleep(25_000)
                childPid = readText(pidFile).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
            let child = try #require(childPid, "the long step never started")
            #expect(RunLock.inspect(rd.lockURL).held)
            kill(host.processIdentifier, SIGTERM)
            host.waitUntilExit()
            #expect(host.terminationStatus == (128 + SIGTERM))
            #expect(!processExists(child), "the step process was terminated")
            #expect(!(RunLock.inspect(rd.lockURL).held))
            let store = try RunStore(url: rd.storeURL, readOnly: true)
            let run = try #require(try store.latestRun())
            #expect(run.status == "cancelled")
            #expect(try store.steps(runId: run.id).map(\.status) == [.done, .cancelled])
            let log = readText(rd.logURL(stepId: "long")) ?? ""
            #expect(log.contains("attempt 1 of long"), "\(log)")
        }

        @Test func secondRunnerProcessIsRefusedNamingTheHolder() throws {
            let dir = try makeTempDir(temp, "lock")
            let planURL = dir.appendingPathComponent("plan.json")
            let started = dir.appendingPathComponent("started")
            var p = ScriptPlan()
            p.add("long", "touch \(shellQuote(started.path)); sleep 30")
            try writePlan(p.plan(), to: planURL)
            let rd = RunDirectory(dir.appendingPathComponent("run"))
            let first = try startHost(plan: planURL, runDir: rd.root, log: dir.appendingPathComponent("first.log"))
            for _ in 0..<400 where !FileManager.default.fileExists(atPath: started.path) { usleep(10_000) }
            let secondLog = dir.appendingPathComponent("second.log")
            let second = try startHost(plan: planURL, runDir: rd.root, log: secondLog)
            second.waitUntilExit()
            #expect(second.terminationStatus == 1)
            let text = readText(secondLog) ?? ""
            #expect(text.contains("run directory is in use"), "\(text)")
            #expect(text.contains("held by pid \(first.processIdentifier)"), "\(text)")
            kill(first.processIdentifier, SIGINT)
            first.waitUntilExit()
            #expect(first.terminationStatus == (128 + SIGINT))
            #expect(try RunStore(url: rd.storeURL, readOnly: true).runs().count == 1, "the refused runner recorded nothing")
        }
    }
}

/// A test host process started by `startHost`.
final class HostProcess {
    private let child: ChildProcess
    init(_ child: ChildProcess) { self.child = child }
    var processIdentifier: Int32 { child.pid }
    var isRunning: Bool { !child.checkExited() }
    func waitUntilExit() { child.waitForExit(deadline: nil) }
    var exit: ChildProcess.Exit? { child.exit }
    /// The exit status, or the number of the signal that ended it (as Foundation's `Process`).
    var terminationStatus: Int32 {
        switch child.exit {
        case .exited(let s)?: return s
        case .signalled(let s)?: return s
        default: return -1
        }
    }
}
