import ClpFlowRunner
import Foundation
import Testing

/// Kills the real `clp-flow run` process with SIGKILL at several points of a run of real engine
/// steps, reruns it until it finishes, and checks that nothing completed before a kill ran again,
/// that every artifact verifies and that the results are byte-identical to an uninterrupted run.
@Suite(.serialized) struct ResumeTests {
    typealias E2E = EndToEndTests

    /// EndToEndTests.workflow with fewer baselines and a longer CLP stage, so a kill can land in
    /// the middle of a training step.
    static let workflow = """
        name: resume
        seed: 11
        data: {source: synthetic, synthetic_examples: 200, valid: 16, test: 8, max_document_tokens: 32, max_summary_tokens: 8}
        model: {size: nano, context: 64, tokenizer: {kind: byte}}
        reference: {steps: 20, batch: 8}
        rewards:
          - {name: rouge, kind: rouge1}
          - {name: novel, kind: novelty, n: 1}
        conditioning: logit
        weights: {train: uniform, eval: {points_per_edge: 3}}
        stages: [{steps: 40, batch: 2, samples: 2, max_new_tokens: 6}]
        baselines: [rewarded-soups]
        evaluate: {prompts: 4, max_new_tokens: 6, sample_prompts: 1}
        """

    /// A `clp-flow` process whose output goes to files (so it never blocks on a full pipe).
    final class Background {
        let process = Process()
        let log: URL

        init(_ args: [String], cwd: URL, log: URL) throws {
            self.log = log
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let h = try FileHandle(forWritingTo: log)
            process.executableURL = E2E.binary
            process.arguments = args
            process.currentDirectoryURL = cwd
            process.standardOutput = h
            process.standardError = h
            try process.run()
        }

        var pid: Int32 { process.processIdentifier }
        var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        /// SIGKILL this process only, as `kill -9` of the runner would: the step processes it had
        /// started (in their own process groups) live on as orphans. Returns their pids.
        @discardableResult
        func killHard() -> [Int32] {
            kill(pid, SIGSTOP)  // no new children from here on
            let children = ResumeTests.descendants(of: pid)
            kill(pid, SIGKILL)
            process.waitUntilExit()
            return children
        }
    }

    /// SIGKILL the processes of `pids` that are still `clp-flow step` processes (clean-up of the
    /// orphans a killed runner left behind).
    static func killOrphans(_ pids: [Int32]) {
        for p in pids {
            let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(p)/cmdline"))).map { String(decoding: $0, as: UTF8.self) } ?? ""
            if cmdline.contains("clp-flow") && cmdline.contains("step") { kill(p, SIGKILL) }
        }
    }

    static func descendants(of pid: Int32) -> [Int32] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["pgrep", "-P", String(pid)]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return [] }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let direct = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).compactMap { Int32($0) }
        return direct + direct.flatMap { descendants(of: $0) }
    }

    /// Polls `condition` every 10 ms for at most `timeout` seconds.
    static func waitFor(_ timeout: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    struct Step: Decodable {
        var id: String; var kind: String; var cacheKey: String
        enum CodingKeys: String, CodingKey { case id, kind, cacheKey = "cache_key" }
    }
    struct PlanFile: Decodable { var steps: [Step] }

    /// Cache keys with a published artifact directory.
    static func artifactKeys(_ runDir: URL) -> Set<String> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: runDir.appendingPathComponent("artifacts").path)) ?? []
        return Set(names.filter { $0.allSatisfy(\.isHexDigit) })
    }

    /// Step id → status of the latest run, from `clp-flow status --json`.
    static func latestStatuses(_ runDir: String, cwd: URL) throws -> (runId: Int, steps: [String: String]) {
        let st = try E2E.clpFlow(["status", runDir, "--json"], cwd: cwd)
        let obj = try JSONSerialization.jsonObject(with: Data(st.out.utf8)) as? [String: Any]
        let run = (obj?["run"] as? [String: Any])?["id"] as? Int ?? -1
        var out: [String: String] = [:]
        for s in (obj?["steps"] as? [[String: Any]]) ?? [] {
            if let id = s["id"] as? String, let status = s["status"] as? String { out[id] = status }
        }
        return (run, out)
    }

    /// The progress events of a step's running attempt (`events.jsonl` in its work directory,
    /// `<key>.tmp-<run>-<attempt>`), of run `run` only when given. The run matters when an earlier
    /// runner was killed: the step it orphaned keeps writing progress into its own attempt's directory.
    static func progress(_ runDir: URL, cacheKey: String, run: Int? = nil) -> (step: Int, total: Int)? {
        let work = runDir.appendingPathComponent("work")
        let prefix = run.map { "\(cacheKey).tmp-\($0)-" } ?? "\(cacheKey).tmp-"
        let dirs = ((try? FileManager.default.contentsOfDirectory(atPath: work.path)) ?? []).filter { $0.hasPrefix(prefix) }
        var best: (Int, Int)? = nil
        for d in dirs {
            guard let text = try? String(contentsOf: work.appendingPathComponent(d).appendingPathComponent("events.jsonl"), encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      o["type"] as? String == "progress", let s = o["step"] as? Int, let t = o["total"] as? Int else { continue }
                if s > (best?.0 ?? -1) { best = (s, t) }
            }
        }
        return best
    }

    /// evaluation.json with the value of its `"tokens_per_second"` field replaced by a fixed text,
    /// and how many such fields there were.
    static func blankThroughput(_ data: Data) -> (Data, Int) {
        let text = String(decoding: data, as: UTF8.self)
        let re = try! NSRegularExpression(pattern: #""tokens_per_second"\s*:\s*[-+0-9.eE]+"#)
        let range = NSRange(text.startIndex..., in: text)
        let n = re.numberOfMatches(in: text, range: range)
        let blanked = re.stringByReplacingMatches(in: text, range: range, withTemplate: "\"tokens_per_second\":\"(timing)\"")
        return (Data(blanked.utf8), n)
    }

    @Test func killedRunResumesWithIdenticalResults() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.workflow.write(to: dir.appendingPathComponent("wf.yaml"), atomically: true, encoding: .utf8)
        let runArgs = { (runDir: String) in ["run", "wf.yaml", "--run-dir", runDir, "--max-parallel", "1"] }

        // A: uninterrupted, two steps at a time (B runs one at a time: the schedule must not matter).
        let a = try E2E.clpFlow(["run", "wf.yaml", "--run-dir", "A", "--max-parallel", "2"], cwd: dir)
        #expect(a.status == 0, "\(a.err)")
        let plan = try JSONDecoder().decode(PlanFile.self, from: Data(contentsOf: dir.appendingPathComponent("A/plan.json")))
        let reference = try #require(plan.steps.first { $0.kind == "train-reference" })
        let clp = try #require(plan.steps.first { $0.kind == "train-clp" })
        let evaluations = plan.steps.filter { $0.kind == "evaluate" }
        #expect(evaluations.count >= 2)

        // B, first attempt: a second runner on the same directory is refused, naming the holder;
        // then SIGKILL right after train-reference's artifact appears.
        let b = dir.appendingPathComponent("B")
        let first = try Background(runArgs("B"), cwd: dir, log: dir.appendingPathComponent("b1.log"))
        let lockURL = b.appendingPathComponent("lock")
        #expect(Self.waitFor(60) { ((try? String(contentsOf: lockURL, encoding: .utf8)) ?? "").contains("pid=\(first.pid)") },
                "the runner did not take the lock: \(first.output)")
        let second = try E2E.clpFlow(runArgs("B"), cwd: dir)
        #expect(second.status == 2, "\(second.err)")
        #expect(second.err.contains("held by pid \(first.pid)"), "\(second.err)")

        #expect(Self.waitFor(120) { Self.artifactKeys(b).contains(reference.cacheKey) }, "\(first.output)")
        var orphans = first.killHard()
        defer { Self.killOrphans(orphans) }
        let afterKill1 = Self.artifactKeys(b)
        #expect(afterKill1.contains(reference.cacheKey))

        // Second attempt (run 2 of B): SIGKILL in the middle of its own CLP training step.
        let secondRun = try Background(runArgs("B"), cwd: dir, log: dir.appendingPathComponent("b2.log"))
        var midTraining = false
        _ = Self.waitFor(120) {
            if let p = Self.progress(b, cacheKey: clp.cacheKey, run: 2), p.step >= 1, p.step < p.total { midTraining = true }
            return midTraining || Self.artifactKeys(b).contains(clp.cacheKey) || !secondRun.process.isRunning
        }
        #expect(midTraining, "no progress of \(clp.id) seen before it finished: \(secondRun.output)")
        let midTrainingOrphans = secondRun.killHard()
        orphans += midTrainingOrphans
        // The training step outlives its runner; the reruns below run alongside it, and it can
        // never publish (only a runner publishes, from the attempt's own work directory).
        #expect(!midTrainingOrphans.isEmpty, "the killed runner had no running step")
        let afterKill2 = Self.artifactKeys(b)
        #expect(!afterKill2.contains(clp.cacheKey), "the kill came after \(clp.id) had finished")
        let run2 = try Self.latestStatuses("B", cwd: dir)
        for s in plan.steps where afterKill1.contains(s.cacheKey) {
            #expect(run2.steps[s.id] == "cached", "\(s.id) had completed before the first kill but is \(run2.steps[s.id] ?? "absent") in the next run")
        }

        // Rerun the same command until it finishes.
        var finished = false
        var lastErr = ""
        for _ in 0..<3 where !finished {
            let r = try E2E.clpFlow(runArgs("B"), cwd: dir)
            finished = r.status == 0
            lastErr = r.err
        }
        #expect(finished, "\(lastErr)")
        let run3 = try Self.latestStatuses("B", cwd: dir)
        #expect(run3.runId > run2.runId)
        for s in plan.steps where afterKill2.contains(s.cacheKey) {
            #expect(run3.steps[s.id] == "cached", "\(s.id) had completed before the second kill but is \(run3.steps[s.id] ?? "absent") in the final run")
        }
        #expect(run3.steps[clp.id] == "done")

        // Every artifact of the plan verifies (manifest, sizes, SHA-256, no extra files).
        let store = RunDirectory(b).artifacts
        for s in plan.steps {
            let v = store.verify(cacheKey: s.cacheKey)
            #expect(v.isValid, "\(s.id): \(v)")
        }

        // Same seed ⇒ same numbers: every output of every step is byte-identical to A's, except
        //  * events.jsonl (progress and metric events include timings such as tokens_per_second)
        //    and MANIFEST.json (it lists the SHA-256 of events.jsonl), and
        //  * the one timing field of evaluation.json, `evaluation.tokensPerSecond` (generation
        //    throughput, measured with the clock), which is blanked before comparing.
        // Everything else (checkpoints, tokenizer, curves, rewards, KL, samples, ablation, the
        // report step's data) must match bit for bit.
        var compared = 0
        for s in plan.steps {
            let rel = "artifacts/\(s.cacheKey)"
            let files = try FileManager.default.subpathsOfDirectory(atPath: dir.appendingPathComponent("A/" + rel).path)
            for f in files.sorted() where !["MANIFEST.json", "events.jsonl"].contains(f) {
                var isDir: ObjCBool = false
                let fa = dir.appendingPathComponent("A/\(rel)/\(f)")
                guard FileManager.default.fileExists(atPath: fa.path, isDirectory: &isDir), !isDir.boolValue else { continue }
                var x = try Data(contentsOf: fa)
                var y = try Data(contentsOf: dir.appendingPathComponent("B/\(rel)/\(f)"))
                if f == "evaluation.json" {
                    let (bx, nx) = Self.blankThroughput(x), (by, ny) = Self.blankThroughput(y)
                    #expect(nx == 1 && ny == 1, "\(s.id): expected one tokensPerSecond field, found \(nx) and \(ny)")
                    x = bx; y = by
                }
                // A Bool, not `x == y` inside #expect: a mismatch of two checkpoints would make the
                // testing library diff megabytes byte by byte.
                let same = x == y
                #expect(same, "\(s.id): \(f) differs between the uninterrupted and the resumed run")
                compared += 1
            }
        }
        #expect(compared >= plan.steps.count)

        // The final report carries the whole run's metadata.
        let html = try String(contentsOf: b.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains(clp.cacheKey))
        #expect(html.contains("Run wall time"))
    }
}
