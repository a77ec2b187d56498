import ClpFlowReport
import Testing

/// The report says whether each vertex beats π_ref on its own reward, and warns loudly when a
/// baseline's single-reward policy does not.
@Suite struct VertexGainsTests {
    static func data() -> ReportData {
        var d = ReportFixtures.twoRewards()
        d.methods[0].vertexGains = [VertexGainRow(reward: "helpfulness", mean: 0.031, lower: 0.004, upper: 0.06),
                                    VertexGainRow(reward: "conciseness", mean: 0.012, lower: -0.01, upper: 0.03)]
        d.methods[1].kind = "rewarded-soups"
        d.methods[1].vertexGains = [VertexGainRow(reward: "helpfulness", mean: -0.005, lower: -0.02, upper: 0.01),
                                    VertexGainRow(reward: "conciseness", mean: 0.05, lower: 0.02, upper: 0.08)]
        return d
    }

    @Test func failedBaselineEndpointsAreFlaggedInTheReportAndTheSummary() throws {
        let d = Self.data()
        let html = ReportRenderer.html(d)
        let section = try #require(html.components(separatedBy: "id=\"vertices\"").dropFirst().first?
            .components(separatedBy: "</section>").first)
        #expect(section.contains("Baselines that did not learn their reward"))
        #expect(section.contains("Rewarded Soup: the helpfulness endpoint does not beat π_ref on helpfulness (gain -0.005 [-0.020, 0.010])"))
        // CLP's conciseness vertex does not beat π_ref either, but CLP is not a single-reward baseline.
        #expect(!section.contains("CLP (attention): the conciseness endpoint"))
        #expect(section.contains("+0.031 [0.004, 0.060]") && section.contains("<strong>no</strong>"))
        #expect(html.contains("<a href=\"#vertices\">Vertices</a>"))

        let summary = ReportRenderer.terminalSummary(d)
        #expect(summary.contains("Vertices against π_ref"))
        #expect(summary.contains("WARNING: Rewarded Soup: the helpfulness endpoint does not beat π_ref"))
        #expect(!summary.contains("WARNING: Rewarded Soup: the conciseness"))
    }

    @Test func withoutGainsThereIsNoSection() {
        let d = ReportFixtures.twoRewards()
        #expect(!ReportRenderer.html(d).contains("id=\"vertices\""))
        #expect(!ReportRenderer.terminalSummary(d).contains("Vertices against"))
    }
}
