// J(w) per weighting for every method, with the regret to the best method at each weighting, in
// HTML, terminal and Markdown form.

extension ReportRenderer {
    static func hasObjectiveTable(_ data: ReportData) -> Bool { data.objectiveTable != nil }

    /// "(0.5, 0.5)" or "(0.5, 0.5) α 0.1".
    static func weightingText(_ r: ObjectiveRow) -> String {
        ReportText.vector(r.weights) + (r.alpha.map { " α " + ReportText.number($0, significant: 3) } ?? "")
    }

    static func regretText(_ entry: ObjectiveEntry) -> String {
        entry.best ? "best" : entry.regret.text
    }

    static func objectiveSection(_ ctx: Context) -> String {
        guard let table = ctx.data.objectiveTable else { return "" }
        var o = "<section id=\"objective\"><h2>Trained objective J(w)</h2><p class=\"note\">\(e(table.note))</p>"
        guard !table.rows.isEmpty else { return o + "</section>\n" }
        o += "<div class=\"scroll\"><table class=\"data objective\"><thead><tr><th>Weighting w</th>"
        for m in table.methods { o += "<th class=\"n\">\(methodCell(ctx, m))</th>" }
        o += "</tr></thead><tbody>"
        for r in table.rows {
            o += "<tr><td>\(e(weightingText(r)))</td>"
            for (k, _) in table.methods.enumerated() {
                guard k < r.entries.count, let entry = r.entries[k] else { o += "<td class=\"n\">–</td>"; continue }
                o += "<td class=\"n\(entry.best ? " best" : "")\">J \(e(entry.objective.text))"
                o += "<br><span class=\"cell-note\">" + (entry.best ? "best at this w" : "regret " + e(entry.regret.text)) + "</span></td>"
            }
            o += "</tr>"
        }
        return o + "</tbody></table></div></section>\n"
    }

    /// Terminal: the J(w) table and the regret table (weightings as rows, methods as columns).
    static func objectiveSummaryText(_ data: ReportData) -> String {
        guard let table = data.objectiveTable else { return "" }
        let t = ReportText.terminal
        var out = "\nTrained objective J(w) per weighting (relative to π_ref, whose J is 0)\n"
        guard !table.rows.isEmpty else { return out + "  " + t(table.note) + "\n" }
        let header = ["w"] + table.methods.map(t)
        out += chunkedTable(header, table.rows.map { r in
            [weightingText(r)] + table.methods.indices.map { k in (k < r.entries.count ? r.entries[k] : nil)?.objective.text ?? "–" }
        }, fixed: 1)
        out += "\nRegret to the best method at each w (best − this method's J)\n"
        out += chunkedTable(header, table.rows.map { r in
            [weightingText(r)] + table.methods.indices.map { k in (k < r.entries.count ? r.entries[k] : nil).map(regretText) ?? "–" }
        }, fixed: 1)
        out += "  " + t(table.note) + "\n"
        return out
    }
}
