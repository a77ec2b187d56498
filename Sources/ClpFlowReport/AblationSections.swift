import Foundation

// The ablation sections: the planner's ablation table and the grouped ablation view.

extension ReportRenderer {
    /// Indices of the best finite values (maximum, or minimum when `higherIsBetter` is false);
    /// empty when fewer than two values are finite or all of them tie, so nothing is "best".
    static func bestIndices(_ values: [Double?], higherIsBetter: Bool = true) -> Set<Int> {
        let finite = values.enumerated().compactMap { i, v in v.flatMap { $0.isFinite ? (i, $0) : nil } }
        guard finite.count >= 2, let lo = finite.map(\.1).min(), let hi = finite.map(\.1).max(), lo != hi else { return [] }
        let best = higherIsBetter ? hi : lo
        return Set(finite.filter { $0.1 == best }.map(\.0))
    }

    /// "Ablation: …" once, whether or not the title already starts with it.
    static func ablationTitle(_ title: String) -> String {
        title.lowercased().hasPrefix("ablation") ? title : "Ablation: " + title
    }

    /// The metrics of one method kind in the ablation view, as (label, value per cell, ranked).
    static func ablationMetrics(_ ctx: Context, _ row: AblationViewRow) -> [(label: String, values: [Double?], ranked: Bool)] {
        var out: [(String, [Double?], Bool)] = []
        if ctx.data.shows("hypervolume") { out.append(("hypervolume", row.entries.map { $0?.hypervolume }, true)) }
        if ctx.data.shows("steerability") { out.append(("mean ρ", row.entries.map { $0?.meanRho }, true)) }
        out.append(("J(w), mean over the grid", row.entries.map { $0?.objective }, true))
        for i in 0..<ctx.m {
            out.append(("mean \(ctx.rewardName(i))", row.entries.map { e in e.flatMap { i < $0.rewardMeans.count ? $0.rewardMeans[i] : nil } }, false))
        }
        out.append(("mean KL", row.entries.map { $0?.kl }, false))
        return out
    }

    static func ablationSection(_ ctx: Context) -> String {
        if let v = ctx.data.ablationView { return ablationViewSection(ctx, v) }
        guard let a = ctx.data.ablation else { return "" }
        let bestSet = bestIndices(a.cells.map { $0.score }, higherIsBetter: a.higherIsBetter)
        let bestScores = Set(bestSet.compactMap { a.cells[$0].score })
        func isBest(_ c: AblationCell) -> Bool { c.score.map { bestScores.contains($0) } ?? false }
        func cellHTML(_ c: AblationCell) -> String {
            var s = num(c.score)
            if isBest(c) { s += " <span class=\"badge\">★ best</span>" }
            if let n = c.note, !n.isEmpty { s += "<div class=\"cell-note\">\(e(n))</div>" }
            return s
        }
        var o = "<section id=\"ablation\"><h2>\(e(ablationTitle(a.title)))</h2>"
        o += "<p class=\"note\">Score: \(e(a.scoreName)) (\(a.higherIsBetter ? "higher" : "lower") is better); "
        o += bestScores.isEmpty ? "no cell is marked best: the scores tie.</p>" : "the best cell is marked ★.</p>"
        let valid = a.cells.filter { $0.parameters.count == a.parameterNames.count }
        if a.parameterNames.count == 2 {
            var rowValues: [String] = [], colValues: [String] = []
            for c in valid {
                if !rowValues.contains(c.parameters[0]) { rowValues.append(c.parameters[0]) }
                if !colValues.contains(c.parameters[1]) { colValues.append(c.parameters[1]) }
            }
            o += "<table class=\"data ablation\"><thead><tr><th>\(e(a.parameterNames[0])) \\ \(e(a.parameterNames[1]))</th>"
            for c in colValues { o += "<th class=\"n\">\(e(c))</th>" }
            o += "</tr></thead><tbody>"
            for r in rowValues {
                o += "<tr><th>\(e(r))</th>"
                for c in colValues {
                    if let cell = valid.first(where: { $0.parameters == [r, c] }) {
                        o += "<td class=\"n\(isBest(cell) ? " best" : "")\">\(cellHTML(cell))</td>"
                    } else {
                        o += "<td class=\"n\">–</td>"
                    }
                }
                o += "</tr>"
            }
        } else {
            o += "<table class=\"data ablation\"><thead><tr>"
            for p in a.parameterNames { o += "<th>\(e(p))</th>" }
            o += "<th class=\"n\">\(e(a.scoreName))</th></tr></thead><tbody>"
            for c in valid {
                o += "<tr\(isBest(c) ? " class=\"best\"" : "")>"
                for v in c.parameters { o += "<td>\(e(v))</td>" }
                o += "<td class=\"n\">\(cellHTML(c))</td></tr>"
            }
        }
        return o + "</tbody></table></section>\n"
    }

    /// The ablation compared cell by cell: a table per workflow with one block of rows per method
    /// kind (hypervolume, mean ρ, J(w), each reward's mean, KL) and one column per cell.
    static func ablationViewSection(_ ctx: Context, _ v: AblationView) -> String {
        var o = "<section id=\"ablation\"><h2>\(e(ablationTitle(v.axes.joined(separator: " × "))))</h2>"
        o += "<p class=\"note\">One column per cell, one block of rows per method. Hypervolume, mean ρ and J(w): larger is better; ★ marks the best cell of a row when the cells differ. Reward means are raw scores averaged over the evaluation grid."
        if let n = v.objectiveNote { o += " " + e(n) }
        if v.rows.contains(where: { $0.entries.contains { ($0?.kl ?? 0) < 0 } }) { o += " " + e(klNote) }
        o += "</p>"
        o += "<div class=\"scroll\"><table class=\"data ablation\"><thead><tr><th>Method</th><th>Metric</th>"
        for c in v.cells { o += "<th class=\"n\">\(e(c.name))</th>" }
        o += "</tr></thead><tbody>"
        for row in v.rows {
            let metrics = ablationMetrics(ctx, row)
            for (k, metric) in metrics.enumerated() {
                o += "<tr>"
                if k == 0 {
                    o += "<th rowspan=\"\(metrics.count)\">\(e(row.method))"
                    if row.shared { o += "<div class=\"cell-note\">one evaluation shared by every cell (does not depend on the ablated settings)</div>" }
                    o += "</th>"
                }
                o += "<td>\(e(metric.label))</td>"
                let best = metric.ranked && !row.shared ? bestIndices(metric.values) : []
                for (i, value) in metric.values.enumerated() {
                    o += "<td class=\"n\(best.contains(i) ? " best" : "")\">\(num(value))"
                    if best.contains(i) { o += " <span class=\"badge\">★ best</span>" }
                    o += "</td>"
                }
                o += "</tr>"
            }
        }
        return o + "</tbody></table></div></section>\n"
    }
}
