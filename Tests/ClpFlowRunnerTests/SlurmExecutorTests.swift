import ClpFlowCore
import ClpFlowPlanner
@testable import ClpFlowRunner
import Foundation
import Testing

extension RunnerTests {
    /// Pure parts of the Slurm executor: always run.
    @Suite struct SlurmScriptTests {
        func job(deps: [String] = []) -> JobSpec {
            let step = PlannedStep(id: "train[a=1,b/c]", kind: .trainCLP, config: [:], inputs: [], cacheKey: "ab",
                                   resources: StepResources(cpus: 2, memoryMB: 512, timeMinutes: 30, partition: "debug", account: "proj"))
            return JobSpec(step: step, attempt: 1, workDir: URL(fileURLWithPath: "/r/work/ab.tmp-1-1"),
                           logURL: URL(fileURLWithPath: "/r/logs/x.log"), argv: ["/bin/clp-flow", "step", "--step", "it's"],
                           publishArgv: ["/bin/clp-flow", "publish-artifact"],
                           environment: ["CLP_FLOW_STEP_ID": "train[a=1,b/c]", "HOME": "/root"], dependencies: deps)
        }

        @Test func sbatchArguments() {
            let args = SlurmBackend.sbatchArguments(job(deps: ["11", "12"]), extra: ["--qos=short"])
            #expect(args == ["--parsable", "--job-name=\(SafeName.jobName(for: "train[a=1,b/c]"))", "--output=/r/logs/x.log",
                                  "--open-mode=append", "--chdir=/r/work/ab.tmp-1-1", "-c", "2", "--mem=512M", "-t", "30",
                                  "-p", "debug", "-A", "proj", "--dependency=afterok:11:12", "--kill-on-invalid-dep=yes", "--qos=short"])
            #expect(!(SlurmBackend.sbatchArguments(job(), extra: []).contains { $0.hasPrefix("--dependency") }))
            #expect(SafeName.jobName(for: "train[a=1,b/c]").allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) })
        }

        @Test func batchScriptQuotesAndPublishes() {
            let s = SlurmBackend.script(job())
            #expect(s.hasPrefix("#!/bin/sh\n"))
            #expect(s.contains("export CLP_FLOW_STEP_ID='train[a=1,b/c]'\n"))
            #expect(!s.contains("HOME"), "only CLP_FLOW_* variables are written; the rest is exported by sbatch")
            #expect(s.contains("'/bin/clp-flow' 'step' '--step' 'it'\\''s'\n"))
            #expect(s.contains("'/bin/clp-flow' 'publish-artifact' || {"))
            #expect(shellQuote("a'b") == "'a'\\''b'")
        }

        @Test func scontrolParsing() {
            let line = "JobId=7 JobName=clp-x UserId=root(0) JobState=CANCELLED Reason=DependencyNeverSatisfied Dependency=afterok:6(failed) ExitCode=0:0"
            #expect(SlurmJobInfo.parseScontrol(line) == SlurmJobInfo(state: "CANCELLED", reason: "DependencyNeverSatisfied", exitCode: 0, signal: 0))
            #expect(SlurmJobInfo.parseScontrol("JobId=6 JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0")?.exitCode == 3)
            #expect(SlurmJobInfo.parseScontrol("JobId=6 Reason=None")?.reason == nil)
            #expect(SlurmJobInfo.parseScontrol("JobId=6 JobState=COMPLETED Reason=None ExitCode=0:0")?.isTerminal == true)
            #expect(SlurmJobInfo.parseScontrol("JobId=6 JobState=PENDING Reason=Dependency")?.isTerminal == false)
        }
    }
}

extension RunnerTests {
    /// The Slurm executor against a real cluster (scripts/checks/slurm-executor.sh starts one and
    /// sets CLP_FLOW_SLURM=1). Skipped otherwise.
    @Suite(.enabled(if: ProcessInfo.processInfo.environment["CLP_FLOW_SLURM"] == "1",
                    "Slurm executor tests need a cluster: run scripts/checks/slurm-executor.sh (sets CLP_FLOW_SLURM=1)"))
    struct SlurmExecutorTests {
        let temp = TemporaryDirectories()

        func slurmOptions(keepGoing: Bool = false, cancellation: CancellationFlag? = nil) -> RunOptions {
            var o = quietOptions(keepGoing: keepGoing, cancellation: cancellation)
            o.executor = .slurm
            o.slurm = SlurmOptions(pollInterval: 0.2)
            o.pollInterval = 0.05
            return o
        }

        func diamond() -> Plan {
            var p = ScriptPlan()
            p.add("prepare[a]", "echo a > \"$CLP_FLOW_WORK_DIR/out.txt\"")
            p.add("train[b=1,c/d]", """
                printf '{"type":"metric","name":"loss","value":0.5,"step":1}\\n' >> "$CLP_FLOW_EVENTS"
                { cat "$CLP_FLOW_INPUT_0/out.txt"; echo b; } > "$CLP_FLOW_WORK_DIR/out.txt"
                """, inputs: ["prepare[a]"])
            p.add("../../c", "{ cat \"$CLP_FLOW_INPUT_0/out.txt\"; echo c; } > \"$CLP_FLOW_WORK_DIR/out.txt\"", inputs: ["prepare[a]"])
            p.add("report", "cat \"$CLP_FLOW_INPUT_0/out.txt\" \"$CLP_FLOW_INPUT_1/out.txt\" > \"$CLP_FLOW_WORK_DIR/out.txt\"",
                  inputs: ["train[b=1,c/d]", "../../c"])
            return p.plan()
        }

        func manifests(_ rd: RunDirectory, _ plan: Plan) -> [String: [ManifestEntry]] {
            var out: [String: [ManifestEntry]] = [:]
            for s in plan.steps {
                if case .valid(let m) = rd.artifacts.verify(cacheKey: s.cacheKey) { out[s.id] = m.files }
            }
            return out
        }

        @Test func diamondMatchesLocalExecutorAndRecordsJobIds() throws {
            let dir = try makeTempDir(temp, "slurm")
            let plan = diamond()
            let launcher = ShellScriptLauncher(publisher: try testHost())
            let slurmDir = RunDirectory(dir.appendingPathComponent("slurm-run"))
            let r = try Runner.run(plan: plan, runDir: slurmDir.root, options: slurmOptions(), launcher: launcher)
            #expect(r.status == .done, "\(r.steps)")
            let localDir = RunDirectory(dir.appendingPathComponent("local-run"))
            let l = try Runner.run(plan: plan, runDir: localDir.root, options: quietOptions(), launcher: launcher)
            #expect(l.status == .done)
            #expect(manifests(slurmDir, plan) == manifests(localDir, plan), "same outputs as the local executor")
            #expect(manifests(slurmDir, plan).count == 4)

            let store = try RunStore(url: slurmDir.storeURL, readOnly: true)
            let steps = try store.steps(runId: r.runId)
            #expect(steps.allSatisfy { $0.slurmJobId != nil && $0.status == .done }, "\(steps)")
            #expect(Set(steps.compactMap(\.slurmJobId)).count == 4)
            #expect(try store.metrics(runId: r.runId, stepId: "train[b=1,c/d]").map(\.value) == [0.5])
            let log = readText(slurmDir.logURL(stepId: "report")) ?? ""
            #expect(log.contains("slurm job"), "\(log)")

            // Rerun: nothing is resubmitted.
            let again = try Runner.run(plan: plan, runDir: slurmDir.root, options: slurmOptions(), launcher: launcher)
            #expect(Set(again.steps.values.map(\.status)) == [.cached])
            #expect(try store.steps(runId: again.runId).allSatisfy { $0.slurmJobId == nil })
        }

        @Test func failureCancelsDependentsAndRerunResubmitsOnlyFailedSubtree() throws {
            let dir = try makeTempDir(temp, "slurm-fail")
            let marker = dir.appendingPathComponent("fixed")
            var p = ScriptPlan()
            p.add("root", "echo r > \"$CLP_FLOW_WORK_DIR/o\"")
            p.add("bad", "[ -e \(shellQuote(marker.path)) ] || { echo broken >&2; exit 3; }; cat \"$CLP_FLOW_INPUT_0/o\" > \"$CLP_FLOW_WORK_DIR/o\"",
                  inputs: ["root"])
            p.add("child", "cat \"$CLP_FLOW_INPUT_0/o\" > \"$CLP_FLOW_WORK_DIR/o\"", inputs: ["bad"])
            p.add("grandchild", "cat \"$CLP_FLOW_INPUT_0/o\" > \"$CLP_FLOW_WORK_DIR/o\"", inputs: ["child"])
            p.add("independent", "sleep 0.5; echo i > \"$CLP_FLOW_WORK_DIR/o\"", inputs: ["root"])
            let plan = p.plan()
            let rd = RunDirectory(dir.appendingPathComponent("run"))
            let launcher = ShellScriptLauncher(publisher: try testHost())
            let r1 = try Runner.run(plan: plan, runDir: rd.root, options: slurmOptions(keepGoing: true), launcher: launcher)
            #expect(r1.status == .failed)
            #expect(r1.steps["root"]?.status == .done)
            #expect(r1.steps["independent"]?.status == .done)
            #expect(r1.steps["bad"]?.status == .failed)
            #expect(r1.steps["bad"]?.exitStatus == 3)
            #expect(r1.steps["bad"]?.logTail.contains("broken") == true, "\(r1.steps["bad"]!)")
            for id in ["child", "grandchild"] {
                let o = try #require(r1.steps[id])
                #expect(o.status == .cancelled, "\(id): \(o)")
                #expect(o.reason?.contains("DependencyNeverSatisfied") == true, "\(id): \(o)")
                #expect(o.slurmJobId != nil, "dependents were submitted with afterok dependencies")
            }
            let store = try RunStore(url: rd.storeURL, readOnly: true)
            let recorded = try store.steps(runId: r1.runId)
            #expect(recorded.first { $0.stepId == "child" }?.status == .cancelled)

            try Data().write(to: marker)
            let r2 = try Runner.run(plan: plan, runDir: rd.root, options: slurmOptions(), launcher: launcher)
            #expect(r2.status == .done, "\(r2.steps)")
            let second = try store.steps(runId: r2.runId)
            let submitted = Set(second.filter { $0.slurmJobId != nil }.map(\.stepId))
            #expect(submitted == ["bad", "child", "grandchild"], "only the failed subtree is resubmitted")
            #expect(second.first { $0.stepId == "root" }?.status == .cached)
            #expect(second.first { $0.stepId == "independent" }?.status == .cached)
        }

        @Test func cancellationScancelsJobs() throws {
            let dir = try makeTempDir(temp, "slurm-cancel")
            var p = ScriptPlan()
            p.add("long", "sleep 60; echo x > \"$CLP_FLOW_WORK_DIR/o\"")
            p.add("after", "echo y > \"$CLP_FLOW_WORK_DIR/o\"", inputs: ["long"])
            let flag = CancellationFlag()
            let t = Thread { usleep(1_500_000); flag.cancel(signal: SIGINT) }
            t.start()
            let rd = RunDirectory(dir.appendingPathComponent("run"))
            let r = try Runner.run(plan: p.plan(), runDir: rd.root, options: slurmOptions(cancellation: flag),
                                   launcher: ShellScriptLauncher(publisher: try testHost()))
            #expect(r.status == .cancelled)
            let job = try #require(r.steps["long"]?.slurmJobId ?? (try RunStore(url: rd.storeURL, readOnly: true).steps(runId: r.runId).first?.slurmJobId))
            let scontrol = try #require(findExecutable("scontrol", in: nil))
            var state = ""
            for _ in 0..<50 {
                state = SlurmJobInfo.parseScontrol(try runTool([scontrol, "show", "job", "-o", job]).out)?.state ?? ""
                if state == "CANCELLED" { break }
                usleep(100_000)
            }
            #expect(state == "CANCELLED")
            #expect(!(RunLock.inspect(rd.lockURL).held))
        }

        @Test func killedRunnerResumesByAdoptingJobsInsteadOfResubmitting() throws {
            let dir = try makeTempDir(temp, "slurm-kill")
            var p = ScriptPlan()
            p.add("a", "sleep 1.5; echo a > \"$CLP_FLOW_WORK_DIR/o\"")
            p.add("b[x=1]", "sleep 0.3; { cat \"$CLP_FLOW_INPUT_0/o\"; echo b; } > \"$CLP_FLOW_WORK_DIR/o\"", inputs: ["a"])
            p.add("c", "{ cat \"$CLP_FLOW_INPUT_0/o\"; echo c; } > \"$CLP_FLOW_WORK_DIR/o\"", inputs: ["b[x=1]"])
            let plan = p.plan()
            let planURL = dir.appendingPathComponent("plan.json")
            try Data(try JSONEncoder().encode(plan)).write(to: planURL)
            let rd = RunDirectory(dir.appendingPathComponent("run"))
            func host() throws -> Process {
                let proc = Process()
                proc.executableURL = try testHost()
                proc.arguments = ["run", "--plan", planURL.path, "--run-dir", rd.root.path, "--slurm", "--display", "plain"]
                proc.standardError = FileHandle.nullDevice
                try proc.run()
                return proc
            }
            let first = try host()
            // Wait until every step is submitted, then kill the runner.
            var submitted: [String: String] = [:]
            for _ in 0..<100 {
                usleep(50_000)
                if let store = try? RunStore(url: rd.storeURL, readOnly: true), let run = try? store.latestRun(),
                   let steps = try? store.steps(runId: run.id) {
                    submitted = Dictionary(uniqueKeysWithValues: steps.compactMap { r in r.slurmJobId.map { (r.stepId, $0) } })
                }
                if submitted.count == 3 { break }
            }
            #expect(submitted.count == 3, "all steps were submitted before the kill")
            kill(first.processIdentifier, SIGKILL)
            first.waitUntilExit()

            let second = try host()
            second.waitUntilExit()
            #expect(second.terminationStatus == 0)
            let store = try RunStore(url: rd.storeURL, readOnly: true)
            let run = try #require(try store.latestRun())
            #expect(run.status == "done")
            for rec in try store.steps(runId: run.id) {
                #expect(rec.status == .done || rec.status == .cached, "\(rec)")
                if rec.status == .done {
                    #expect(rec.slurmJobId == submitted[rec.stepId], "\(rec.stepId) was adopted, not resubmitted")
                    #expect(rec.reason?.contains("adopted slurm job") == true, "\(rec)")
                }
            }
            #expect(try store.steps(runId: run.id).contains { $0.status == .done }, "some job was adopted")
            let cKey = plan.step("c")!.cacheKey
            #expect(readText(rd.artifactsURL.appendingPathComponent("\(cKey)/o")) == "a\nb\nc\n")
        }

        @Test func retriedStepHoldsBackDependentsAndBadPartitionFailsClearly() throws {
            let dir = try makeTempDir(temp, "slurm-retry")
            let counter = shellQuote(dir.appendingPathComponent("count").path)
            var p = ScriptPlan()
            p.add("flaky", "n=$(cat \(counter) 2>/dev/null || echo 0); n=$((n+1)); echo $n > \(counter); [ $n -ge 2 ] || exit 5; echo f > \"$CLP_FLOW_WORK_DIR/o\"",
                  retries: 1)
            p.add("after", "cat \"$CLP_FLOW_INPUT_0/o\" > \"$CLP_FLOW_WORK_DIR/o\"", inputs: ["flaky"])
            var plan = p.plan()
            var bad = plan.steps[0]
            bad.id = "bad-partition"
            bad.cacheKey = String(repeating: "d", count: 64)
            bad.resources = StepResources(cpus: 1, partition: "no-such-partition")
            plan.steps.append(bad)
            let rd = RunDirectory(dir.appendingPathComponent("run"))
            let r = try Runner.run(plan: plan, runDir: rd.root, options: slurmOptions(keepGoing: true),
                                   launcher: ShellScriptLauncher(publisher: try testHost()))
            #expect(r.steps["flaky"]?.status == .done)
            #expect(r.steps["flaky"]?.attempts == 2)
            #expect(r.steps["after"]?.status == .done)
            #expect(r.steps["bad-partition"]?.status == .failed)
            #expect(r.steps["bad-partition"]?.reason?.contains("sbatch failed") == true, "\(r.steps["bad-partition"]!)")
            #expect(r.steps["bad-partition"]?.reason?.lowercased().contains("partition") == true, "\(r.steps["bad-partition"]!)")
        }

        /// Steps see the same numerics variables on Slurm as locally (issue 13, point 2).
        @Test func stepsSeeTheSameNumericsEnvironmentOnBothExecutors() throws {
            let dir = try makeTempDir(temp, "slurm-numerics")
            var p = ScriptPlan()
            p.add("env", "env | grep -E '^(CLP_FLOW_THREADS|OPENBLAS_NUM_THREADS|GOTO_NUM_THREADS|OMP_NUM_THREADS|OPENBLAS_CORETYPE)=' | sort > \"$CLP_FLOW_WORK_DIR/env.txt\"")
            let launcher = ShellScriptLauncher(publisher: try testHost())
            let s = RunDirectory(dir.appendingPathComponent("slurm-run")), l = RunDirectory(dir.appendingPathComponent("local-run"))
            #expect(try Runner.run(plan: p.plan(), runDir: s.root, options: slurmOptions(), launcher: launcher).status == .done)
            #expect(try Runner.run(plan: p.plan(), runDir: l.root, options: quietOptions(), launcher: launcher).status == .done)
            let key = p.steps[0].cacheKey
            let a = readText(try s.artifacts.url(for: key).appendingPathComponent("env.txt")) ?? ""
            let b = readText(try l.artifacts.url(for: key).appendingPathComponent("env.txt")) ?? ""
            #expect(a.contains("OPENBLAS_NUM_THREADS=") && a.contains("OMP_NUM_THREADS="), "\(a)")
            // The same variables on both executors; the thread counts may differ (a local step running
            // alone gets every core, a Slurm job its cpus), which changes no result, so only their
            // consistency within each executor is checked. Everything else must be identical.
            func parse(_ t: String) -> [String: String] {
                var out: [String: String] = [:]
                for line in t.split(separator: "\n") {
                    let kv = line.split(separator: "=", maxSplits: 1)
                    if kv.count == 2 { out[String(kv[0])] = String(kv[1]) }
                }
                return out
            }
            let sa = parse(a), lb = parse(b)
            #expect(Set(sa.keys) == Set(lb.keys), "the Slurm job saw other numerics variables than the local step")
            for env in [sa, lb] {
                let counts = Set(NumericsEnvironment.threadVariables.compactMap { env[$0] })
                #expect(counts.count == 1, "thread variables disagree: \(env)")
                #expect(counts.allSatisfy { (Int($0) ?? 0) >= 1 }, "\(env)")
            }
            #expect(sa["OPENBLAS_CORETYPE"] == lb["OPENBLAS_CORETYPE"])
        }

        /// A job held in the queue: its run time excludes the wait, which is recorded apart (point 9).
        @Test func queueWaitIsRecordedApartFromRunTime() throws {
            let dir = try makeTempDir(temp, "slurm-queue")
            var p = ScriptPlan()
            p.add("quick", "echo 1 > \"$CLP_FLOW_WORK_DIR/x.txt\"")
            var o = slurmOptions()
            o.executor = .slurm
            o.slurm = SlurmOptions(pollInterval: 0.2, extraSbatchArgs: ["--begin=now+4"])
            let r = try Runner.run(plan: p.plan(), runDir: dir, options: o, launcher: ShellScriptLauncher(publisher: try testHost()))
            #expect(r.status == .done)
            let rec = try #require(try RunStore(url: RunDirectory(dir).storeURL, readOnly: true).steps(runId: r.runId).first)
            let t = RunInspection.stepTimes(rec)
            // Held by --begin: at least 3 s (Slurm's clock has whole seconds) between submission and
            // start; the run time starts there, and the two make up the whole span.
            let submitted = try #require(rec.submitted.flatMap(Timestamp.date))
            let ended = try #require(rec.ended.flatMap(Timestamp.date))
            #expect((t.queue ?? 0) >= 3, "\(rec)")
            #expect(abs((t.run ?? -99) + (t.queue ?? -99) - ended.timeIntervalSince(submitted)) <= 0.01,
                    "run time and queue wait do not split the span: \(rec)")
            #expect((t.run ?? 99) < (ended.timeIntervalSince(submitted) - 2.9), "the run time includes the queue wait: \(rec)")
            let status = RunInspection.renderStatus(try RunInspection.status(runDir: dir))
            #expect(status.contains("QUEUE"), "\(status)")
        }
    }
}
