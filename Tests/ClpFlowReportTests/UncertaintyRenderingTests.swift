import Testing
@testable import ClpFlowReport

/// The hypervolume table states the reference point by objective and its rule, with intervals;
/// the steerability table shows ρ's interval and permutation p-value and the noise spread, in the
/// HTML report and the terminal summary.
@Suite struct UncertaintyRenderingTests {
    static func data() -> ReportData {
        var d = ReportFixtures.twoRewards()
        let names = d.rewardNames
        d.hypervolume = HypervolumeTable(referencePoint: [0.05, 0.2], referenceLabel: "declared in the workflow (evaluate.reference_point)",
                                         rows: d.hypervolume!.rows.enumerated().map { k, r in
                                             var r = r
                                             (r.lower, r.upper) = k == 0 ? (0.125, 0.5) : (nil, nil)
                                             return r
                                         }, rule: "declared", objectives: names)
        d.steerability = d.steerability.enumerated().map { k, row in
            var row = row
            row.rewards = row.rewards.map { e in
                var e = e
                if k == 0 { (e.rhoLower, e.rhoUpper, e.permutationP, e.noiseSpread) = (0.25, 0.75, 2.0 / 120, e.spread * 2) }
                return e
            }
            return row
        }
        return d
    }

    @Test func htmlShowsThePointTheRuleAndTheIntervals() {
        let d = Self.data()
        let html = ReportRenderer.html(d)
        let hv = html.components(separatedBy: "id=\"hypervolume\"")[1].components(separatedBy: "</section>")[0]
        #expect(hv.contains("(\(d.rewardNames[0]) 0.05, \(d.rewardNames[1]) 0.2)"), "\(hv.prefix(600))")
        #expect(hv.contains("reference point: declared") && hv.contains("95 % interval") && hv.contains("[0.125, 0.5]"))
        let steer = html.components(separatedBy: "id=\"steerability\"")[1].components(separatedBy: "</section>")[0]
        #expect(steer.contains("permutation p") && steer.contains("p = 0.017") && steer.contains("[0.25, 0.75]"))
        #expect(steer.contains("noise spread") && steer.contains("(spread ≤ noise)"))
    }

    @Test func terminalSummaryShowsThemToo() {
        let d = Self.data()
        let text = ReportRenderer.terminalSummary(d)
        #expect(text.contains("Hypervolume (reference point (\(d.rewardNames[0]) 0.05, \(d.rewardNames[1]) 0.2), declared; larger is better)"), "\(text)")
        #expect(text.contains("95% interval") && text.contains("[0.125, 0.5]"))
        #expect(text.contains("[0.25, 0.75] p = 0.017") && text.contains("!)"), "\(text)")
        // Without recorded uncertainty, the tables keep their former columns.
        var plain = ReportFixtures.twoRewards()
        plain.hypervolume?.rule = nil
        let old = ReportRenderer.terminalSummary(plain)
        #expect(!old.contains("95% interval") && !old.contains("permutation") && !old.contains("noise"))
    }
}
