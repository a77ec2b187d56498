import ClpFlowReport
import Foundation
import Testing

/// The seed summary and the J(w) table as the renderer shows them: HTML, terminal, Markdown;
/// escaping, `evaluate.metrics`, JSON round trip.
@Suite struct SeedSectionsTests {
    static func data(seeds: Int = 3, hostile: Bool = false) -> ReportData {
        var d = ReportFixtures.twoRewards()
        let clp = hostile ? "<b>clp</b> | x\u{1B}[31m" : "CLP (attention)"
        let soup = "Rewarded Soup"
        let metrics = [SeedMetric(name: "hypervolume", kind: "hypervolume"), SeedMetric(name: "mean ρ", kind: "steerability"),
                       SeedMetric(name: "helpfulness (grid mean)", kind: "reward"), SeedMetric(name: "J(w) (grid mean)", kind: "objective")]
        let over = seeds > 1 ? "seeds" : "prompts"
        func cell(_ m: Double, _ lo: Double, _ hi: Double) -> EstimateCell { EstimateCell(mean: m, lower: lo, upper: hi, over: over, seeds: seeds) }
        let labels = (0..<seeds).map(String.init)
        d.seedSummary = SeedSummary(
            seedCount: seeds, metrics: metrics,
            rows: [SeedSummaryRow(method: clp, kind: "clp", seeds: labels,
                                  values: [cell(0.4321, 0.41, 0.45), cell(0.8, 0.7, 0.9), cell(0.6, 0.55, 0.65), cell(0.12, 0.05, 0.2)],
                                  forwardPassesPerToken: 1),
                   SeedSummaryRow(method: soup, kind: "rewarded-soups", seeds: labels,
                                  values: [cell(0.2891, 0.27, 0.31), nil, cell(0.5, 0.45, 0.55), cell(-0.03, -0.08, 0.01)],
                                  forwardPassesPerToken: 1)],
            differences: [SeedDifferenceRow(method: clp, baseline: soup,
                                            values: [cell(0.143, 0.12, 0.16), nil, cell(0.1, -0.01, 0.2), cell(0.15, 0.1, 0.2)])],
            perSeed: labels.flatMap { s in
                [PerSeedRow(method: clp, seed: s, stepId: "evaluate[method=clp,seed=\(s)]", values: [0.43, 0.8, 0.6, 0.12]),
                 PerSeedRow(method: soup, seed: s, stepId: "evaluate[method=rewarded-soups,seed=\(s)]", values: [0.29, nil, 0.5, -0.03])]
            },
            note: seeds > 1 ? "Mean over \(seeds) seeds." : "One seed: intervals are over prompts only.")
        d.objectiveTable = ObjectiveTable(
            methods: [clp, soup],
            rows: [ObjectiveRow(weights: [1, 0], alpha: nil, entries: [
                       ObjectiveEntry(objective: cell(0.2, 0.1, 0.3), regret: EstimateCell(mean: 0), best: true),
                       ObjectiveEntry(objective: cell(-0.05, -0.1, 0.0), regret: cell(0.25, 0.2, 0.3), best: false)]),
                   ObjectiveRow(weights: [0.5, 0.5], alpha: nil, entries: [
                       ObjectiveEntry(objective: cell(0.01, -0.02, 0.04), regret: cell(0.02, -0.01, 0.05), best: false),
                       ObjectiveEntry(objective: cell(0.03, 0.0, 0.06), regret: EstimateCell(mean: 0), best: true)]),
                   ObjectiveRow(weights: [0, 1], alpha: nil, entries: [
                       ObjectiveEntry(objective: cell(0.1, 0.05, 0.15), regret: EstimateCell(mean: 0), best: true), nil])],
            note: "J(w) = Σᵢ wᵢ r̃ᵢ − α·KL, relative to π_ref, whose J is 0.")
        return d
    }

    static func section(_ html: String, _ id: String) throws -> String {
        try #require(html.components(separatedBy: "id=\"\(id)\"").dropFirst().first?.components(separatedBy: "</section>").first)
    }

    @Test func htmlShowsRowsDifferencesPerSeedAndObjective() throws {
        let html = ReportRenderer.html(Self.data())
        let seeds = try Self.section(html, "seeds")
        #expect(seeds.contains("<h2>Methods over 3 seeds</h2>"))
        #expect(seeds.contains("0.432 [0.410, 0.450]"))
        // The differences: bold where the interval excludes 0, plain where it does not.
        #expect(seeds.contains("CLP (attention) − Rewarded Soup"))
        #expect(seeds.contains("<b>0.143 [0.120, 0.160]</b>") && seeds.contains(">0.100 [-0.010, 0.200]<"))
        #expect(seeds.contains("<details><summary>Per-seed values (6 evaluations)</summary>"))
        #expect(seeds.contains("evaluate[method=rewarded-soups,seed=2]"))
        let objective = try Self.section(html, "objective")
        #expect(objective.contains("whose J is 0"))
        #expect(objective.contains("<td class=\"n best\">J 0.200 [0.100, 0.300]<br><span class=\"cell-note\">best at this w</span>"))
        #expect(objective.contains("regret 0.250 [0.200, 0.300]"))
        #expect(objective.components(separatedBy: "<td class=\"n\">–</td>").count == 2, "one method missing at one weighting")
        #expect(html.contains("<a href=\"#seeds\">Over seeds</a>") && html.contains("<a href=\"#objective\">J(w)</a>"))
    }

    @Test func evaluateMetricsDecideTheHypervolumeAndSteerabilityColumns() throws {
        var d = Self.data()
        d.metrics = ["steerability"]
        let seeds = try Self.section(ReportRenderer.html(d), "seeds")
        #expect(!seeds.contains("hypervolume") && seeds.contains("mean ρ"))
        #expect(!ReportRenderer.terminalSummary(d).contains("0.432 [0.410, 0.450]"))
    }

    @Test func terminalSummaryAndMarkdown() throws {
        let d = Self.data()
        let text = ReportRenderer.terminalSummary(d)
        #expect(text.contains("Methods over 3 seeds (mean [95 % interval over seeds])"))
        #expect(text.contains("CLP (attention) − Rewarded Soup") && text.contains("0.143 [0.120, 0.160] *"))
        #expect(text.contains("Per-seed values") && text.contains("Regret to the best method at each w"))
        #expect(text.split(separator: "\n").contains { $0.hasPrefix("  (1, 0)") && $0.contains("best") && $0.contains("0.250 [0.200, 0.300]") })
        // Wide tables are split into blocks no wider than 120 characters.
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 120 || $0.hasPrefix("  J(w) =") || $0.hasPrefix("  Mean") })

        #expect(!ReportRenderer.markdown(d).contains("Generation speed"))
        let md = ReportRenderer.markdown(d, speed: [SpeedRow(method: "CLP (attention)", forwardPassesPerToken: 1,
                                                             tokensPerSecond: EstimateCell(mean: 2012.5, lower: 1900, upper: 2100, over: "seeds", seeds: 3)),
                                                    SpeedRow(method: "Rewarded Soup", forwardPassesPerToken: 2, tokensPerSecond: nil)])
        #expect(md.contains("| method | seeds | hypervolume | mean ρ | helpfulness (grid mean) | J(w) (grid mean) |"))
        #expect(md.contains("| CLP (attention) | 1 | 2012 [1900, 2100] |") || md.contains("| CLP (attention) | 1 | 2013 [1900, 2100] |"), "\(md)")
        #expect(md.contains("| Rewarded Soup | 2 | – |"))
        #expect(md.contains("| CLP (attention) | 3 | 0.432 [0.410, 0.450] |"))
        #expect(md.contains("| CLP (attention) − Rewarded Soup | **0.143 [0.120, 0.160]** |"))
        #expect(md.contains("| (1, 0) | best | 0.250 [0.200, 0.300] |"))
        #expect(md.contains("| (0, 1) | 0.100 [0.050, 0.150] | – |"))
        #expect(md.contains("`evaluate[method=clp,seed=1]`"))
    }

    @Test func oneSeedSaysPrompts() {
        let d = Self.data(seeds: 1)
        #expect(ReportRenderer.html(d).contains("<h2>Methods, one seed</h2>"))
        let text = ReportRenderer.terminalSummary(d)
        #expect(text.contains("Methods, one seed (mean [95 % interval over prompts])"))
        #expect(text.contains("paired over prompts") && !text.contains("Per-seed values"))
    }

    @Test func hostileNamesAreEscapedEverywhere() {
        let d = Self.data(hostile: true)
        let html = ReportRenderer.html(d)
        #expect(!html.contains("<b>clp</b>") && html.contains("&lt;b&gt;clp&lt;/b&gt;"))
        #expect(!ReportRenderer.terminalSummary(d).contains("\u{1B}"))
        let md = ReportRenderer.markdown(d)
        #expect(!md.contains("\u{1B}") && md.contains("<b>clp</b> \\| x?[31m"))
    }

    @Test func roundTripsThroughJSONAndIsAbsentWithoutData() throws {
        let d = Self.data()
        let decoded = try JSONDecoder().decode(ReportData.self, from: try JSONEncoder().encode(d))
        #expect(decoded == d && decoded.seedSummary != nil && decoded.objectiveTable != nil)
        let plain = ReportFixtures.twoRewards()
        let html = ReportRenderer.html(plain)
        #expect(!html.contains("id=\"seeds\"") && !html.contains("id=\"objective\""))
        #expect(!ReportRenderer.terminalSummary(plain).contains("Trained objective"))
    }

    @Test func estimateCellsKeepThreeSignificantDigits() {
        #expect(EstimateCell(mean: 0.00246, lower: -0.00111, upper: 0.00708).text == "0.00246 [-0.00111, 0.00708]")
        #expect(EstimateCell(mean: 0.5, lower: 0.25, upper: 0.75).text == "0.500 [0.250, 0.750]")
        #expect(EstimateCell(mean: 12.345).text == "12.345")
        #expect(EstimateCell(mean: -9.9e-9, lower: -2e-8, upper: 1e-8).text == "0.000 [0.000, 0.000]")
        #expect(EstimateCell(mean: 0.3, lower: 0.1, upper: 0.5).aboveZero && !EstimateCell(mean: 0.3, lower: -0.1, upper: 0.5).aboveZero)
    }
}
