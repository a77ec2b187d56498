// The methods aggregated over seeds: one row per method (mean and interval over seeds), paired
// differences CLP − baseline, and the per-seed values, in HTML, terminal and Markdown form.

extension ReportRenderer {
    /// The seed summary's columns the report shows: hypervolume and mean ρ follow
    /// `evaluate.metrics`.
    static func seedColumns(_ data: ReportData) -> [Int] {
        guard let s = data.seedSummary else { return [] }
        return s.metrics.indices.filter { k in
            switch s.metrics[k].kind {
            case "hypervolume": return data.shows("hypervolume")
            case "steerability": return data.shows("steerability")
            default: return true
            }
        }
    }

    static func seedTitle(_ s: SeedSummary) -> String {
        s.seedCount > 1 ? "Methods over \(s.seedCount) seeds" : "Methods, one seed"
    }

    static func intervalWord(_ s: SeedSummary) -> String {
        s.seedCount > 1 ? "95 % interval over seeds" : "95 % interval over prompts"
    }

    static func seedSection(_ ctx: Context) -> String {
        guard let s = ctx.data.seedSummary, !s.rows.isEmpty else { return "" }
        let cols = seedColumns(ctx.data)
        var o = "<section id=\"seeds\"><h2>\(e(seedTitle(s)))</h2><p class=\"note\">\(e(s.note))</p>"
        o += "<div class=\"scroll\"><table class=\"data seeds\"><thead><tr><th>Method</th><th class=\"n\">Seeds</th>"
        for k in cols { o += "<th class=\"n\">\(e(s.metrics[k].name))</th>" }
        o += "</tr></thead><tbody>"
        for r in s.rows {
            o += "<tr><td>\(methodCell(ctx, r.method))</td><td class=\"n\">\(r.seeds.count)</td>"
            for k in cols { o += "<td class=\"n\">\(e(estimateText(r.values, k)))</td>" }
            o += "</tr>"
        }
        o += "</tbody></table></div>"
        if !s.differences.isEmpty {
            o += "<h3>Paired differences: CLP − baseline</h3><p class=\"note\">Each CLP variant minus each baseline, "
                + (s.seedCount > 1 ? "per seed (paired by seed), averaged over the seeds both were run with; "
                                   : "on the same prompts (paired over prompts); ")
                + "positive: CLP is higher. Bold: the interval excludes 0.</p>"
            o += "<div class=\"scroll\"><table class=\"data seeds\"><thead><tr><th>CLP − baseline</th>"
            for k in cols { o += "<th class=\"n\">\(e(s.metrics[k].name))</th>" }
            o += "</tr></thead><tbody>"
            for d in s.differences {
                o += "<tr><td>\(e(d.method)) − \(e(d.baseline))</td>"
                for k in cols {
                    let c = k < d.values.count ? d.values[k] : nil
                    let text = e(c?.text ?? "–")
                    o += "<td class=\"n\">" + ((c?.aboveZero ?? false) || (c?.belowZero ?? false) ? "<b>\(text)</b>" : text) + "</td>"
                }
                o += "</tr>"
            }
            o += "</tbody></table></div>"
        }
        o += "<details><summary>Per-seed values (\(s.perSeed.count) evaluation\(s.perSeed.count == 1 ? "" : "s"))</summary>"
        o += "<div class=\"scroll\"><table class=\"data seeds\"><thead><tr><th>Method</th><th>Seed</th><th>Step</th>"
        for k in cols { o += "<th class=\"n\">\(e(s.metrics[k].name))</th>" }
        o += "</tr></thead><tbody>"
        for r in s.perSeed {
            o += "<tr><td>\(e(r.method))</td><td>\(e(r.seed.isEmpty ? "–" : r.seed))</td><td class=\"key\">\(e(r.stepId))</td>"
            for k in cols { o += "<td class=\"n\">\(num(valueAt(r.values, k)))</td>" }
            o += "</tr>"
        }
        return o + "</tbody></table></div></details></section>\n"
    }

    /// A method's name with its colour swatch when it has a colour in the report (a method whose
    /// evaluations are one per seed has none of its own: its seeds are drawn separately).
    static func methodCell(_ ctx: Context, _ name: String) -> String {
        ctx.styles[name] == nil ? e(name) : swatch(ctx, name)
    }

    static func estimateText(_ values: [EstimateCell?], _ k: Int) -> String {
        (k < values.count ? values[k] : nil)?.text ?? "–"
    }

    /// Terminal: one row per method, then the paired differences and the per-seed values; wide
    /// tables are split into column blocks.
    static func seedSummaryText(_ data: ReportData) -> String {
        guard let s = data.seedSummary, !s.rows.isEmpty else { return "" }
        let t = ReportText.terminal
        let cols = seedColumns(data)
        var out = "\n\(seedTitle(s)) (mean [\(intervalWord(s))])\n"
        out += chunkedTable(["method", "seeds"] + cols.map { t(s.metrics[$0].name) },
                            s.rows.map { r in [t(r.method), String(r.seeds.count)] + cols.map { estimateText(r.values, $0) } }, fixed: 2)
        let diffCols = cols
        if !s.differences.isEmpty {
            out += "\nPaired differences CLP − baseline (\(s.seedCount > 1 ? "paired by seed" : "paired over prompts"); * interval excludes 0)\n"
            out += chunkedTable(["CLP − baseline"] + diffCols.map { t(s.metrics[$0].name) },
                                s.differences.map { d in
                                    [t(d.method) + " − " + t(d.baseline)] + diffCols.map { k in
                                        let c = k < d.values.count ? d.values[k] : nil
                                        return (c?.text ?? "–") + ((c?.aboveZero ?? false) || (c?.belowZero ?? false) ? " *" : "")
                                    }
                                }, fixed: 1)
        }
        if s.seedCount > 1 {
            out += "\nPer-seed values\n"
            out += chunkedTable(["method", "seed"] + cols.map { t(s.metrics[$0].name) },
                                s.perSeed.map { r in [t(r.method), t(r.seed)] + cols.map { ReportText.number(valueAt(r.values, $0)) } }, fixed: 2)
        }
        out += "  " + t(s.note) + "\n"
        return out
    }

    static func valueAt(_ values: [Double?], _ i: Int) -> Double? { i < values.count ? values[i] : nil }

    /// A table whose columns after the first `fixed` ones are split into blocks no wider than
    /// `maxWidth` characters; each block repeats the fixed columns.
    static func chunkedTable(_ header: [String], _ rows: [[String]], fixed: Int, maxWidth: Int = 120) -> String {
        let all = [header] + rows
        let width = header.indices.map { c in all.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        let fixedWidth = width.prefix(fixed).reduce(2) { $0 + $1 + 2 }
        var blocks: [[Int]] = []
        var current: [Int] = [], used = fixedWidth
        for c in fixed..<header.count {
            if !current.isEmpty && used + width[c] + 2 > maxWidth {
                blocks.append(current); current = []; used = fixedWidth
            }
            current.append(c); used += width[c] + 2
        }
        if !current.isEmpty || blocks.isEmpty { blocks.append(current) }
        var out = ""
        for (b, block) in blocks.enumerated() {
            if b > 0 { out += "\n" }
            let cols = Array(0..<fixed) + block
            out += table(all.map { r in cols.map { $0 < r.count ? r[$0] : "" } }, rightAligned: Set(fixed..<cols.count))
        }
        return out
    }
}
