@testable import ClpFlowRunner
import Foundation
import Testing

extension RunnerTests {
    @Suite struct ProgressRenderingTests {
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)

        @Test func durationsBarsAndEta() {
            #expect(ProgressRendering.duration(0) == "0s")
            #expect(ProgressRendering.duration(59.4) == "59s")
            #expect(ProgressRendering.duration(185) == "3m05s")
            #expect(ProgressRendering.duration(3720) == "1h02m")
            #expect(ProgressRendering.bar(fraction: 0.5, width: 10) == "[#####.....]")
            #expect(ProgressRendering.bar(fraction: 2, width: 4) == "[####]")
            #expect(ProgressRendering.bar(fraction: .nan, width: 4) == "[....]")
            #expect(ProgressRendering.eta(elapsed: 30, step: 50, total: 200) == 90)
            #expect(ProgressRendering.eta(elapsed: 30, step: 0, total: 200) == nil)
            #expect(ProgressRendering.eta(elapsed: 30, step: 200, total: 200) == 0)
        }

        @Test func liveLine() {
            let p = StepProgressState(id: "train-clp[conditioning=attn]", started: t0, attempt: 1, step: 50, total: 200,
                                      metrics: ["reward/rouge": 0.3125, "reward/len": -0.5, "loss": 2])
            let line = ProgressRendering.liveLine(p, now: t0.addingTimeInterval(30), width: 120)
            #expect(line == "train-clp[conditioning=attn]             [#####...............] 50/200 30s ETA 1m30s len=-0.500 rouge=0.312")
            let starting = ProgressRendering.liveLine(StepProgressState(id: "x", started: t0, attempt: 2), now: t0.addingTimeInterval(2), width: 80)
            #expect(starting == "x                          [....................] starting 2s (attempt 2)")
            let narrow = ProgressRendering.liveLine(p, now: t0.addingTimeInterval(30), width: 40)
            #expect(narrow.count == 40)
            #expect(narrow.hasSuffix("…"))
        }

        @Test func redrawMovesUpClearsAndShrinks() {
            let e = "\u{1B}["
            #expect(ProgressRendering.redraw(previousLineCount: 0, lines: ["a", "b"]) == "\r\(e)2Ka\n\r\(e)2Kb\n")
            #expect(ProgressRendering.redraw(previousLineCount: 2, lines: ["c"]) == "\(e)2A\r\(e)2Kc\n\r\(e)2K\n\(e)1A")
            #expect(ProgressRendering.clear(previousLineCount: 1) == "\(e)1A\r\(e)2K\n\(e)1A")
            #expect(ProgressRendering.clear(previousLineCount: 0) == "")
        }

        @Test func plainLineAndSummaryTable() {
            #expect(ProgressRendering.plainLine("start x", at: t0) == "2027-01-15T08:00:00Z start x")
            let table = ProgressRendering.summaryTable([
                SummaryRow(stepId: "prepare-data", status: .cached, attempts: 0, elapsed: nil, reason: "artifact verified"),
                SummaryRow(stepId: "train[a]", status: .failed, attempts: 2, elapsed: 75, reason: "exited with status 3"),
                SummaryRow(stepId: "report", status: .skipped, attempts: 0, elapsed: nil, reason: "upstream 'train[a]' failed"),
            ], status: .failed)
            #expect(table == """
                STEP          STATUS   ATTEMPTS  TIME   NOTE
                prepare-data  cached   -         -
                train[a]      failed   2         1m15s  exited with status 3
                report        skipped  -         -      upstream 'train[a]' failed
                run failed: 1 cached, 1 failed, 1 skipped

                """)
        }

        @Test func displayModes() {
            #expect(DisplayMode.auto.resolved(isTTY: true) == .live)
            #expect(DisplayMode.auto.resolved(isTTY: false) == .plain)
            #expect(DisplayMode.quiet.resolved(isTTY: true) == .quiet)

            let quiet = OutputBuffer()
            let q = ProgressDisplay(mode: .quiet, write: quiet.append)
            q.runStarted(runId: 1, workflow: "w", total: 2, cached: 0)
            q.stepStarted(id: "a", attempt: 1, jobId: nil, now: t0)
            q.stepFinished(id: "a", status: .done, reason: nil, logTail: [], now: t0)
            #expect(quiet.value == "", "quiet prints no progress")
            q.stepFinished(id: "b", status: .failed, reason: "exited with status 1", logTail: ["oops"], now: t0)
            #expect(quiet.value == "error: step b failed: exited with status 1\n  last lines of its log:\n  | oops\n")

            let live = OutputBuffer()
            let l = ProgressDisplay(mode: .live, write: live.append)
            l.stepStarted(id: "a", attempt: 1, jobId: nil, now: t0)
            l.stepEvent(id: "a", .progress(step: 1, total: 4, metrics: ["reward/r": 0.5]), now: t0)
            l.tick(now: t0.addingTimeInterval(1))
            #expect(live.value.contains("\u{1B}[1A"), "live mode redraws in place")
            #expect(live.value.contains("1/4"))
            #expect(live.value.contains("r=0.500"))
        }
    }
}
