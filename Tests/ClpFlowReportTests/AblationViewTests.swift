import Foundation
import Testing
@testable import ClpFlowReport

/// The ablation compared cell by cell, ties, KL explanations and visible weighting labels.
@Suite struct AblationViewTests {
    static func section(_ html: String, _ id: String) -> String {
        html.components(separatedBy: "id=\"\(id)\"").dropFirst().first?.components(separatedBy: "</section>").first ?? ""
    }

    static func viewData(hypervolumes: [Double], kl: Double = 0.02) -> ReportData {
        var data = ReportFixtures.twoRewards()
        let cells = ["full", "attn", "logit"].map { AblationViewCell(name: $0, values: [$0]) }
        let clp = AblationViewRow(method: "clp", entries: hypervolumes.enumerated().map { i, hv in
            AblationViewEntry(stepId: "evaluate[method=clp,cell=\(cells[i].name)]", hypervolume: hv, meanRho: 0.5 + 0.1 * Double(i),
                              objective: -0.1 * Double(i), rewardMeans: [0.3, 0.4 + 0.01 * Double(i)], kl: kl)
        })
        let shared = AblationViewEntry(stepId: "evaluate[method=rewarded-soups]", hypervolume: 0.2, meanRho: 0.4, objective: -0.3,
                                       rewardMeans: [0.2, 0.2], kl: kl)
        let soups = AblationViewRow(method: "rewarded-soups", entries: [shared, shared, shared])
        data.ablation = nil
        data.ablationView = AblationView(axes: ["conditioning.mechanism"], cells: cells, rows: [clp, soups], objectiveNote: "J(w) note.")
        return data
    }

    @Test func cellsAreColumnsAndMethodsAreRows() throws {
        let html = ReportRenderer.html(Self.viewData(hypervolumes: [0.1, 0.3, 0.2]))
        let s = Self.section(html, "ablation")
        #expect(s.contains("<h2>Ablation: conditioning.mechanism</h2>"))
        #expect(!html.contains("Ablation: Ablation"))
        for c in ["full", "attn", "logit"] { #expect(s.contains("<th class=\"n\">\(c)</th>")) }
        for metric in ["hypervolume", "mean ρ", "J(w), mean over the grid", "mean \(ReportFixtures.twoRewards().rewardNames[0])", "mean KL"] {
            #expect(s.contains("<td>\(metric)</td>"), "\(metric)")
        }
        // Best per ranked row: attn's hypervolume, logit's ρ, full's J(w); none for the shared baseline.
        let rows = s.components(separatedBy: "<tr>")
        let hvRow = try #require(rows.first { $0.contains(">hypervolume<") })
        #expect(hvRow.components(separatedBy: "★ best").count == 2 && hvRow.contains("0.3 <span class=\"badge\">★ best"), "\(hvRow)")
        let shared = try #require(rows.first { $0.contains("rewarded-soups") })
        #expect(!shared.contains("★") && shared.contains("one evaluation shared by every cell"))
        let text = ReportRenderer.terminalSummary(Self.viewData(hypervolumes: [0.1, 0.3, 0.2]))
        #expect(text.contains("Ablation: conditioning.mechanism"))
        #expect(text.split(separator: "\n").contains { $0.contains("hypervolume") && $0.contains("0.3 ★") })
        #expect(text.contains("rewarded-soups *") && text.contains("* one evaluation shared by every cell"))
    }

    @Test func tiesMarkNothingBest() {
        let html = ReportRenderer.html(Self.viewData(hypervolumes: [0, 0, 0]))
        let hvRow = Self.section(html, "ablation").components(separatedBy: "<tr>").first { $0.contains(">hypervolume<") } ?? ""
        #expect(!hvRow.contains("★"), "\(hvRow)")
        #expect(!ReportRenderer.terminalSummary(Self.viewData(hypervolumes: [0, 0, 0])).split(separator: "\n")
            .contains { $0.contains("hypervolume") && $0.contains("★") })
        #expect(ReportRenderer.bestIndices([0, 0, 0]).isEmpty)
        #expect(ReportRenderer.bestIndices([1, nil, 1, 0]) == [0, 2])
        #expect(ReportRenderer.bestIndices([2, 1], higherIsBetter: false) == [1])
        #expect(ReportRenderer.bestIndices([5]).isEmpty)

        // The generic score matrix: all cells tie, so nothing is marked, and the title is not doubled.
        var data = ReportFixtures.twoRewards()
        data.ablation = AblationMatrix(title: "Ablation: hypervolume per cell", scoreName: "hypervolume",
                                       parameterNames: ["method", "conditioning.mechanism"],
                                       cells: [AblationCell(parameters: ["clp", "full"], score: 0), AblationCell(parameters: ["clp", "attn"], score: 0)])
        let m = ReportRenderer.html(data)
        #expect(!Self.section(m, "ablation").contains("★ best"))
        #expect(m.contains("<h2>Ablation: hypervolume per cell</h2>"))
    }

    @Test func summaryNamesNoLeaderWhenAllTie() {
        var data = ReportFixtures.twoRewards()
        for k in data.hypervolume!.rows.indices { data.hypervolume!.rows[k].hypervolume = 0 }
        let s = Self.section(ReportRenderer.html(data), "summary")
        #expect(!s.contains("Largest hypervolume") && s.contains("Every method has the same hypervolume"))
        #expect(!Self.section(ReportRenderer.html(data), "hypervolume").contains("class=\"best\""), "a tie highlights no row")
        data.hypervolume!.rows[0].hypervolume = 1
        let named = Self.section(ReportRenderer.html(data), "summary")
        #expect(named.contains("Largest hypervolume: <b>\(ReportText.html(data.hypervolume!.rows[0].method))</b>."))
        // The summary tables scroll inside their section instead of overflowing a narrow window.
        #expect(named.contains("<div class=\"scroll\"><table class=\"data summary\">"))
    }

    @Test func negativeKLIsExplained() {
        let positive = ReportRenderer.html(Self.viewData(hypervolumes: [0.1, 0.2, 0.3], kl: 0.02))
        #expect(!positive.contains("estimated from the sampled texts"))
        let negative = ReportRenderer.html(Self.viewData(hypervolumes: [0.1, 0.2, 0.3], kl: -0.01))
        #expect(Self.section(negative, "ablation").contains("estimated from the sampled texts"))
        var data = ReportFixtures.twoRewards()
        data.methods[0].points[0].kl = -0.003
        #expect(Self.section(ReportRenderer.html(data), "kl").contains("can come out slightly negative"))
    }

    @Test func threeRewardPointsCarryVisibleWeightingLabels() {
        let data = ReportFixtures.threeRewards()
        let pareto = Self.section(ReportRenderer.html(data), "pareto")
        let labels = pareto.components(separatedBy: "class=\"point-label\"").count - 1
        let points = data.methods.map(\.points.count).reduce(0, +)
        #expect(labels == 3 * points, "\(labels) labels for \(points) points in 3 panels")
        #expect(pareto.contains(">100/0/0</text>") && pareto.contains(">33.3/33.3/33.3</text>"))
        // Two rewards: the position says the weighting; no labels.
        #expect(!Self.section(ReportRenderer.html(ReportFixtures.twoRewards()), "pareto").contains("point-label"))
    }
}
