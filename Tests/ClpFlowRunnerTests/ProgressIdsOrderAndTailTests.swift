@testable import ClpFlowRunner
import Foundation
import Testing

extension RunnerTests {
    /// Progress lines keep ablation cells apart on an 80-column terminal and list rewards in the
    /// workflow's order; the log tail of a failed step covers only the attempt that failed.
    @Suite struct ProgressIdsOrderAndTailTests {
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)

        @Test func ablationCellsStayDistinctOn80Columns() {
            let cells = ["full", "attn", "logit"]
            let ids = cells.map { "evaluate[method=clp,conditioning.mechanism=\($0)]" }
                + cells.map { "train-clp[conditioning.mechanism=\($0),model.size=nano]" }
            var lines: [String] = []
            for id in ids {
                let p = StepProgressState(id: id, started: t0, step: 3, total: 10, metrics: ["reward/rouge": 0.25])
                let line = ProgressRendering.liveLine(p, now: t0.addingTimeInterval(6), width: 79)
                #expect(line.count <= 79)
                lines.append(line)
            }
            // Every line names its cell, and no two lines share their step-name column.
            for (id, line) in zip(ids, lines) {
                let cell = cells.first { id.contains("=\($0)") }!
                #expect(line.contains(cell), "\(line)")
                #expect(line.hasPrefix(id.hasPrefix("evaluate") ? "evaluate[" : "train-clp["), "\(line)")
            }
            let nameColumns = lines.map { String($0.prefix(26)) }
            #expect(Set(nameColumns).count == ids.count, "\(nameColumns)")
            #expect(ProgressRendering.fitId("evaluate[method=clp,conditioning.mechanism=full]", 26) == "evaluate[clp,full]")
            #expect(ProgressRendering.fitId("evaluate[method=clp,conditioning.mechanism=full]", 40) == "evaluate[method=clp,mechanism=full]")
            #expect(ProgressRendering.fitId("train-clp[conditioning.mechanism=logit,model.size=nano]", 26) == "train-clp[logit,nano]")
            // Short ids are not touched; ids without cells lose their middle.
            #expect(ProgressRendering.fitId("report", 26) == "report")
            #expect(ProgressRendering.fitId("abcdefghijklmnopqrstuvwxyz0123", 10) == "abc…yz0123")
        }

        @Test func rewardsFollowTheWorkflowOrder() {
            let metrics = ["reward/rougeL": 0.25, "reward/length": 0.5, "reward/fresh": -1.0, "kl": 0.1]
            #expect(ProgressRendering.rewards(metrics, order: ["rougeL", "length", "fresh"]) == "rougeL=0.250 length=0.500 fresh=-1.000")
            let p = StepProgressState(id: "train-clp", started: t0, step: 1, total: 2, metrics: metrics,
                                      rewardOrder: ["rougeL", "length", "fresh"])
            #expect(ProgressRendering.liveLine(p, now: t0, width: 200).hasSuffix("rougeL=0.250 length=0.500 fresh=-1.000"))
            // Through the display, as the runner starts a step with its rewards.
            let out = OutputBuffer()
            let d = ProgressDisplay(mode: .plain, write: out.append)
            d.stepStarted(id: "train-clp", attempt: 1, jobId: nil, now: t0, rewardOrder: ["rougeL", "length", "fresh"])
            d.stepEvent(id: "train-clp", .progress(step: 2, total: 2, metrics: metrics), now: t0)
            #expect(out.value.contains("rougeL=0.250 length=0.500 fresh=-1.000"), "\(out.value)")
        }

        @Test func logTailStartsAtTheAttemptsHeader() throws {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tail-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let log = dir.appendingPathComponent("step.log")
            try """
                == 2026-11-30T10:00:00.000Z attempt 1 of train-clp on host
                Traceback: KeyError 'x'
                == 2026-11-30T11:00:00.000Z attempt 1 of train-clp on host
                == not a header: attempt 1 of train-clp on host
                first failure of this run
                == 2026-11-30T11:00:05.000Z attempt 2 of train-clp on host
                second failure of this run
                == 2026-11-30T12:00:00Z attempt 1 on node7 (slurm job 42)
                slurm failure

                """.write(to: log, atomically: true, encoding: .utf8)
            #expect(Runner.tail(of: log, attempt: 1) == ["== 2026-11-30T12:00:00Z attempt 1 on node7 (slurm job 42)", "slurm failure"])
            #expect(Runner.tail(of: log, attempt: 2) == ["== 2026-11-30T11:00:05.000Z attempt 2 of train-clp on host", "second failure of this run",
                                                              "== 2026-11-30T12:00:00Z attempt 1 on node7 (slurm job 42)", "slurm failure"])
            // Without a header (a log written by hand) it is the plain tail.
            #expect(Runner.tail(of: log, lines: 2, attempt: 9) == ["== 2026-11-30T12:00:00Z attempt 1 on node7 (slurm job 42)", "slurm failure"])
            #expect(Runner.tail(of: log, lines: 3).count == 3)
        }
    }
}
