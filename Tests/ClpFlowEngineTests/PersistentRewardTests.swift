import Foundation
import Testing
@testable import ClpFlowEngine
#if canImport(Glibc)
import Glibc
#endif

/// A real reward program speaking both protocols. Score of an input: 1000 × (batches this process
/// has answered, counting this one) + 100 × its worker index + the length of the response, so a
/// test can tell whether a process was reused and which worker scored what.
///
/// argv: [dir, behaviour, at, worker]: at batch number `at` of this process (1-based; 0 at
/// start-up), worker `worker` (the process's own when absent) misbehaves: crash, hang,
/// hang-ignoring-term, malformed, nan, short, extra (a second line after the answer), signal,
/// close-stdout, crash-or-hang (worker 0 crashes, the others hang), linger (keeps running after
/// its input ends), exit-at-eof (exits with status 4 when its input ends), chatty (writes
/// 256 KiB on standard error per batch). Every process writes its pid to dir/pids/.
let protocolScript = """
    #!/usr/bin/env python3
    import json, os, signal, sys, time
    d, behaviour, at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    worker = int(os.environ.get("CLP_FLOW_REWARD_WORKER", "0"))
    only = int(sys.argv[4]) if len(sys.argv) > 4 else worker
    os.makedirs(os.path.join(d, "pids"), exist_ok=True)
    open(os.path.join(d, "pids", str(os.getpid())), "w").close()
    def misbehave(n):
        if behaviour == "crash-or-hang" and n == at:
            print(f"worker {worker} misbehaving at batch {n}", file=sys.stderr, flush=True)
            if worker == 0:
                print("boom: model file is corrupt", file=sys.stderr, flush=True)
                sys.exit(3)
            time.sleep(120)
        if n != at or worker != only:
            return False
        print(f"worker {worker} misbehaving at batch {n}", file=sys.stderr, flush=True)
        if behaviour == "crash":
            print("boom: model file is corrupt", file=sys.stderr, flush=True)
            sys.exit(3)
        if behaviour == "hang":
            time.sleep(120)
        if behaviour == "hang-ignoring-term":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            time.sleep(120)
        if behaviour == "signal":
            os.kill(os.getpid(), signal.SIGKILL)
        if behaviour == "close-stdout":
            os.close(1)
            time.sleep(120)
        if behaviour == "malformed":
            print("loading weights 100%", flush=True)
            return True
        return False
    def scores(items, n):
        return [1000 * n + 100 * worker + len(x["response"]) for x in items]
    misbehave(0)
    if os.environ["CLP_FLOW_REWARD_PROTOCOL"] == "batch":
        items = [json.loads(l) for l in sys.stdin if l.strip()]
        print("\\n".join(str(s) for s in scores(items, 1)))
        sys.exit(0)
    n = 0
    for line in sys.stdin:
        n += 1
        items = json.loads(line)
        if behaviour == "chatty":
            sys.stderr.write("x" * 262144 + "\\n"); sys.stderr.flush()
        if misbehave(n):
            continue
        s = scores(items, n)
        if n == at and worker == only:
            if behaviour == "nan":
                s[0] = float("nan")
            if behaviour == "short":
                s = s[:-1]
        if n == at and worker == only and behaviour == "extra":
            sys.stdout.write(json.dumps(s) + "\\ndebug: done\\n"); sys.stdout.flush()
            continue
        print(json.dumps(s), flush=True)
    if behaviour == "linger":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(120)
    if behaviour == "exit-at-eof":
        print("flushing cache failed", file=sys.stderr, flush=True)
        sys.exit(4)
    """

/// True when no process (not even a zombie) has this pid.
func processGone(_ pid: Int32) -> Bool { kill(pid, 0) != 0 && errno == ESRCH }

@Suite struct PersistentRewardTests {
    let dir: URL
    let program: String

    init() throws {
        dir = try temporaryDirectory("persistent-reward")
        program = try script(dir, "proto.py", protocolScript)
    }

    func reward(_ behaviour: String = "none", at: Int = 0, worker: Int? = nil, persistent: Bool = true,
                workers: Int = 1, timeout: Double = 30) throws -> CommandReward {
        try CommandReward(name: "r", argv: ["python3", program, dir.path, behaviour, String(at)] + (worker.map { [String($0)] } ?? []),
                          timeout: timeout, persistent: persistent, workers: workers)
    }

    func batch(_ lengths: [Int]) -> [RewardInput] {
        lengths.map { input(response: String(repeating: "é", count: $0), document: "doc\n\"quoted\"", reference: "ref") }
    }

    /// Every pid the script recorded.
    func recordedPids() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("pids").path)) ?? []).compactMap { Int32($0) }
    }

    @Test func oneProcessServesEveryBatch() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try reward()
        #expect(try r.score(batch([1, 2, 3])) == [1001, 1002, 1003])
        let pid = try #require(r.processIds.first ?? nil)
        #expect(try r.score(batch([4])) == [2004])
        #expect(try r.score([]) == [])
        #expect(try r.score(batch([0, 5])) == [3000, 3005])
        #expect(r.processIds == [pid])
        let s = r.statistics
        #expect(s.batches == 3 && s.items == 6 && s.processesStarted == 1)
        #expect(s.firstBatchSeconds != nil && s.seconds >= s.firstBatchSeconds!)
        #expect(r.summary().contains("3 batches, 6 items"))
        // Releasing the reward closes the input; the program exits and is waited for.
        r.shutdown()
        #expect(processGone(pid))
        #expect(r.processIds == [nil])
        // The process's CPU time is known once it has been waited for (Python's start-up alone
        // takes more than a millisecond), and so is clp-flow's own over the batches.
        #expect(r.statistics.processCPUSeconds > 0.001)
        #expect(r.statistics.callerCPUSeconds >= 0)
        #expect(r.summary().contains("CPU: reward processes"))
        // A later batch starts a new process.
        #expect(try r.score(batch([1])) == [1001])
        let again = try #require(r.processIds.first ?? nil)
        #expect(again != pid)
        r.shutdown()
        #expect(processGone(again))
    }

    @Test func perBatchModeStartsAProcessPerBatch() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try reward(persistent: false)
        #expect(try r.score(batch([1, 2])) == [1001, 1002])
        #expect(try r.score(batch([3])) == [1003])
        #expect(r.statistics.processesStarted == 2)
        #expect(recordedPids().count == 2)
        #expect(recordedPids().allSatisfy(processGone))
    }

    @Test func workersScoreContiguousPartsInOrder() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(CommandReward.chunks(count: 5, parts: 2) == [0..<3, 3..<5])
        #expect(CommandReward.chunks(count: 7, parts: 3) == [0..<3, 3..<5, 5..<7])
        #expect(CommandReward.chunks(count: 1, parts: 4) == [0..<1])
        let r = try reward(workers: 2)
        // Items 0–2 go to worker 0, items 3–4 to worker 1.
        #expect(try r.score(batch([1, 2, 3, 4, 5])) == [1001, 1002, 1003, 1104, 1105])
        let pids = r.processIds.compactMap { $0 }
        #expect(pids.count == 2 && Set(pids).count == 2)
        // A one-item batch needs only the first worker.
        #expect(try r.score(batch([7])) == [2007])
        #expect(try r.score(batch([1, 1])) == [3001, 2101])
        r.shutdown()
        #expect(pids.allSatisfy(processGone))

        // Per-batch mode with workers: one process per part and batch.
        let p = try reward(persistent: false, workers: 3)
        #expect(try p.score(batch([1, 2, 3, 4])) == [1001, 1002, 1103, 1204])
        #expect(p.statistics.processesStarted == 3)
    }

    @Test func largeFramesAndAFloodOfStandardErrorDoNotBlock() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        // 200 inputs of ~20 KB each: frames far beyond a pipe's buffer, while the program writes
        // 256 KiB of standard error per batch.
        let r = try reward("chatty", timeout: 60)
        let big = (0..<200).map { i in input(response: String(repeating: "w", count: i), document: String(repeating: "d ", count: 10_000)) }
        #expect(try r.score(big) == (0..<200).map { Double(1000 + $0) })
        #expect(try r.score(big) == (0..<200).map { Double(2000 + $0) })
    }

    /// Runs `r` until it fails; returns the error and checks that every process it started is
    /// gone (waited for, not a zombie).
    func failure(_ r: CommandReward, batches: Int = 3, sizes: [Int] = [1, 2, 3]) throws -> (RewardError, Int) {
        for b in 1...batches {
            do { _ = try r.score(batch(sizes)) } catch let e as RewardError {
                let pids = recordedPids()
                #expect(!pids.isEmpty)
                for pid in pids { #expect(processGone(pid), "process \(pid) still exists after \(e)") }
                #expect(r.processIds.allSatisfy { $0 == nil })
                return (e, b)
            }
        }
        Issue.record("no failure in \(batches) batches")
        throw RewardError.emptySample(reward: "none")
    }

    func problem(_ e: RewardError) -> (RewardProcessProblem, String, Int, Int)? {
        if case .persistentFailure(_, let b, let w, _, let p, let tail) = e { return (p, tail, b, w) }
        return nil
    }

    @Test func crashMidRunIsAStepErrorWithTheStderrTail() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try reward("crash", at: 2)
        let (e, at) = try failure(r)
        #expect(at == 2)
        let (p, tail, b, _) = try #require(problem(e))
        #expect(p == .exited(status: 3) && b == 2)
        #expect(tail.contains("boom: model file is corrupt"))
        #expect("\(e)".contains("reward \"r\": persistent command failed on batch 2: the process exited with status 3"))
        #expect("\(e)".contains("--- stderr (last lines) ---"))
        // The next batch starts afresh.
        #expect(try r.score(batch([1])) == [1001])
        r.shutdown()
    }

    @Test func crashAtStartUpNamesTheFirstBatch() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let (e, at) = try failure(try reward("crash", at: 0))
        #expect(at == 1)
        #expect(problem(e)?.0 == .exited(status: 3))
        #expect(problem(e)?.1.contains("boom") == true)
    }

    @Test func killedBySignal() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let (e, _) = try failure(try reward("signal", at: 2))
        #expect(problem(e)?.0 == .killedBySignal(SIGKILL))
    }

    @Test func hangPastTimeoutIsStoppedAndReaped() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let t0 = Date()
        let (e, at) = try failure(try reward("hang", at: 2, timeout: 1.5))
        #expect(at == 2)
        #expect(problem(e)?.0 == .timedOut(seconds: 1.5))
        #expect(problem(e)?.1.contains("misbehaving at batch 2") == true)
        #expect(Date().timeIntervalSince(t0) < 10)
        #expect("\(e)".contains("no answer within 1.5 s"))
    }

    @Test func hangIgnoringSIGTERMIsKilled() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let t0 = Date()
        let (e, _) = try failure(try reward("hang-ignoring-term", at: 1, timeout: 1))
        #expect(problem(e)?.0 == .timedOut(seconds: 1))
        #expect(Date().timeIntervalSince(t0) < 10)
    }

    @Test func malformedAnswers() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let (e1, _) = try failure(try reward("malformed", at: 2))
        #expect(problem(e1)?.0 == .malformed("loading weights 100%"))
        let (e2, _) = try failure(try reward("nan", at: 1))
        #expect(problem(e2)?.0 == .malformed("[NaN, 1002, 1003]"))
        let (e3, at3) = try failure(try reward("extra", at: 2))
        #expect(problem(e3)?.0 == .unexpectedOutput("debug: done"))
        #expect(at3 == 2 && problem(e3)?.2 == 2)
    }

    @Test func wrongCountMidRun() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let (e, at) = try failure(try reward("short", at: 3))
        #expect(at == 3)
        #expect(problem(e)?.0 == .wrongCount(expected: 3, got: 2))
        #expect("\(e)".contains("the answer has 2 score(s) for a batch of 3 input(s)"))
    }

    @Test func closedOutputWhileRunning() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let (e, _) = try failure(try reward("close-stdout", at: 1))
        #expect(problem(e)?.0 == .closedOutput)
    }

    @Test func oneFailingWorkerStopsTheOthersAtOnce() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        // Worker 2 hangs at batch 2 (timeout 60 s) while worker 1 crashes: the error must not
        // wait for the hung worker.
        let r = try reward("crash-or-hang", at: 2, workers: 2, timeout: 60)
        let hang = try reward("hang", at: 2, worker: 1, workers: 2, timeout: 1)
        let t0 = Date()
        let (e, _) = try failure(r)
        #expect(Date().timeIntervalSince(t0) < 20)
        let (p, tail, b, w) = try #require(problem(e))
        #expect(p == .exited(status: 3) && b == 2 && w == 1)
        #expect(tail.contains("boom"))
        #expect("\(e)".contains("(worker 1 of 2)"))
        let (e2, _) = try failure(hang)
        #expect(problem(e2)?.0 == .timedOut(seconds: 1) && problem(e2)?.3 == 2)
    }

    @Test func shutdownStopsAProgramThatIgnoresTheEndOfItsInput() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try reward("linger", timeout: 1)
        #expect(try r.score(batch([1])) == [1001])
        let pid = try #require(r.processIds.first ?? nil)
        let t0 = Date()
        r.shutdown()
        #expect(processGone(pid))
        #expect(Date().timeIntervalSince(t0) < 8)

        let x = try reward("exit-at-eof")
        #expect(try x.score(batch([1])) == [1001])
        let xpid = try #require(x.processIds.first ?? nil)
        x.shutdown()
        #expect(processGone(xpid))
    }

    @Test func releasingTheRewardReapsItsProcesses() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        var pids: [Int32] = []
        do {
            let r = try reward(workers: 2)
            _ = try r.score(batch([1, 2]))
            pids = r.processIds.compactMap { $0 }
        }
        #expect(pids.count == 2)
        #expect(pids.allSatisfy(processGone))
    }

    @Test func protocolEnvironmentAndLaunchErrors() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = try script(dir, "env.py", """
            #!/usr/bin/env python3
            import json, os, sys
            for line in sys.stdin:
                items = json.loads(line)
                e = os.environ
                ok = e["CLP_FLOW_REWARD_PROTOCOL"] == "persistent" and e["CLP_FLOW_REWARD_NAME"] == "env" and e["CLP_FLOW_REWARD_WORKERS"] == "1"
                print(json.dumps([1.0 if ok and os.getcwd() == os.path.realpath(sys.argv[1]) else 0.0 for _ in items]), flush=True)
            """)
        let r = try CommandReward(name: "env", argv: ["./env.py", dir.path], workingDirectory: dir.path, persistent: true)
        #expect(try r.score(batch([1, 2])) == [1, 1])
        // No shebang: the system cannot execute it.
        let noShebang = try script(dir, "plain.txt", "print(1)\n")
        do { _ = try CommandReward(name: "x", argv: [noShebang], persistent: true).score(batch([1])); Issue.record("expected failure") } catch let e as RewardError {
            guard case .launchFailed = e else { Issue.record("wrong error \(e)"); return }
        }
        #expect(throws: RewardError.self) { try CommandReward(name: "w", argv: ["cat"], workers: 0) }
    }

    /// The protocol's own cost per batch (pipes, framing, JSON) is small against model work: an
    /// answer that needs no computation comes back in well under 0.1 s per batch on average.
    @Test func protocolOverheadPerBatchIsSmall() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let echo = try script(dir, "zeros.py", """
            #!/usr/bin/env python3
            import sys
            for line in sys.stdin:
                sys.stdout.write("[" + ",".join("0" for _ in range(line.count('"response"'))) + "]\\n"); sys.stdout.flush()
            """)
        let r = try CommandReward(name: "zeros", argv: [echo], persistent: true)
        let b = batch([10, 20, 30, 40])
        _ = try r.score(b)
        let n = 300
        for _ in 0..<n { #expect(try r.score(b) == [0, 0, 0, 0]) }
        let s = r.statistics
        let perBatch = (s.seconds - s.firstBatchSeconds!) / Double(n)
        #expect(perBatch < 0.1, "\(perBatch) s per batch")
        r.shutdown()
    }

    @Test func answerParsing() {
        #expect(CommandReward.parseAnswer("[1, -2.5e-3, 0]") == [1, -0.0025, 0])
        #expect(CommandReward.parseAnswer(" [] ") == [])
        #expect(CommandReward.parseAnswer("[NaN]") == nil)
        #expect(CommandReward.parseAnswer("[Infinity]") == nil)
        #expect(CommandReward.parseAnswer("[1,]") == nil)
        #expect(CommandReward.parseAnswer("1 2") == nil)
        #expect(CommandReward.parseAnswer("[\"1\"]") == nil)
        #expect(CommandReward.parseAnswer("[1e999]") == nil)
        #expect(CommandReward.encodeFrame(batch([1])) == "[{\"document\":\"doc\\n\\\"quoted\\\"\",\"prompt\":\"doc\\n\\\"quoted\\\"<|summary|>\",\"reference\":\"ref\",\"response\":\"é\"}]\n")
    }
}
