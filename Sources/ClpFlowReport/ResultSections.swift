import ClpFlowCore
import Foundation

// The sections on results: problems, summary, Pareto fronts, hypervolume, steerability, KL and
// training curves.

extension ReportRenderer {
    static func problemsSection(_ ctx: Context) -> String {
        let problems = ctx.data.problems
        if problems.isEmpty { return "" }
        return "<section id=\"problems\" class=\"problems\"><h2>Data problems</h2><ul>"
            + problems.map { "<li>" + e($0) + "</li>" }.joined() + "</ul></section>\n"
    }

    static func summarySection(_ ctx: Context) -> String {
        let rows = summaryRows(ctx)
        // Only the metrics the workflow asked for (evaluate.metrics).
        let hv = ctx.data.shows("hypervolume"), steer = ctx.data.shows("steerability"), dom = ctx.data.shows("dominated")
        var o = "<section id=\"summary\"><h2>Summary</h2>"
        var headline: [String] = []
        // A method is named only when it stands out: when every method ties, none is "largest".
        func leaders(_ values: [Double?]) -> [String] { bestIndices(values).sorted().map { rows[$0].method } }
        func names(_ list: [String]) -> String { list.map { "<b>" + e($0) + "</b>" }.joined(separator: ", ") + (list.count > 1 ? " (tied)" : "") }
        if hv, rows.count > 1 {
            let best = leaders(rows.map { $0.hypervolume })
            headline.append(best.isEmpty ? "Every method has the same hypervolume (\(num(rows.first?.hypervolume)))."
                                         : "Largest hypervolume: \(names(best)).")
        }
        if steer, rows.count > 1 {
            let best = leaders(rows.map { $0.meanRho })
            if !best.isEmpty { headline.append("Most steerable (mean Spearman ρ): \(names(best)).") }
        }
        if !headline.isEmpty { o += "<p>" + headline.joined(separator: " ") + "</p>" }
        o += "<div class=\"scroll\"><table class=\"data summary\"><thead><tr><th>Method</th><th>Kind</th><th class=\"n\">Points</th>"
        if hv { o += "<th class=\"n\">Hypervolume</th><th class=\"n\">HV rank</th>" }
        if steer { o += "<th class=\"n\">Mean ρ</th><th class=\"n\">Steer. rank</th>" }
        if dom { o += "<th class=\"n\">Dominated by others</th>" }
        o += "</tr></thead><tbody>"
        for r in rows {
            o += "<tr><td>\(swatch(ctx, r.method))</td><td>\(e(r.kind))</td><td class=\"n\">\(r.points.map(String.init) ?? "–")</td>"
            if hv { o += "<td class=\"n\">\(num(r.hypervolume))</td><td class=\"n\">\(r.hvRank.map(String.init) ?? "–")</td>" }
            if steer { o += "<td class=\"n\">\(ReportText.fixed(r.meanRho, decimals: 3))</td><td class=\"n\">\(r.steerRank.map(String.init) ?? "–")</td>" }
            if dom { o += "<td class=\"n\">\(ReportText.percent(r.dominated))</td>" }
            o += "</tr>"
        }
        o += "</tbody></table></div>"
        o += referencesTable(ctx)
        o += "</section>\n"
        return o
    }

    /// π_ref and the trivial baselines (Lead-k) on the same prompts, each reward as mean ± 1.96 se.
    static func referencesTable(_ ctx: Context) -> String {
        let data = ctx.data
        let rows = (ctx.reference.map { [$0] } ?? []) + data.trivialBaselines.filter { $0.rewardMeans.count == ctx.m }
        guard !rows.isEmpty else { return "" }
        var o = "<h3>Reference points</h3><p class=\"note\">The reference policy and copying the document's first k words (Lead-k), scored with the same rewards on the same prompts (mean ± 1.96 standard errors over prompts).</p>"
        o += "<div class=\"scroll\"><table class=\"data\"><thead><tr><th>Summariser</th>"
        for n in data.rewardNames { o += "<th class=\"n\">\(e(n))</th>" }
        o += "</tr></thead><tbody>"
        for r in rows {
            o += "<tr><td>\(e(r.label))</td>"
            for i in 0..<ctx.m {
                let se = r.rewardStandardErrors.flatMap { i < $0.count ? $0[i] : nil }
                o += "<td class=\"n\">\(ReportText.fixed(r.rewardMeans[i], decimals: 3))\(se.map { " ± " + ReportText.fixed(1.96 * $0, decimals: 3) } ?? "")</td>"
            }
            o += "</tr>"
        }
        return o + "</tbody></table></div>"
    }

    struct SummaryRow {
        var method: String, kind: String, points: Int?
        var hypervolume: Double?, hvRank: Int?, meanRho: Double?, steerRank: Int?, dominated: Double?
    }

    static func summaryRows(_ ctx: Context) -> [SummaryRow] {
        let hvRows = ctx.data.hypervolume?.rows ?? []
        var rows: [SummaryRow] = ctx.methodOrder.filter { name in
            ctx.data.methods.contains { $0.name == name } || hvRows.contains { $0.method == name }
                || ctx.data.steerability.contains { $0.method == name }
        }.map { name in
            let method = ctx.data.methods.first { $0.name == name }
            let hv = hvRows.first { $0.method == name }
            let st = ctx.data.steerability.first { $0.method == name }
            return SummaryRow(method: name, kind: method?.kind ?? "–", points: method?.points.count,
                              hypervolume: hv?.hypervolume, hvRank: nil, meanRho: st?.meanRho,
                              steerRank: nil, dominated: hv?.dominatedShare)
        }
        let hvr = ranks(rows.map { $0.hypervolume }), sr = ranks(rows.map { $0.meanRho })
        for k in rows.indices { rows[k].hvRank = hvr[k]; rows[k].steerRank = sr[k] }
        return rows
    }

    static func paretoSection(_ ctx: Context) -> String {
        guard ctx.m >= 2 else { return "" }
        var o = "<section id=\"pareto\"><h2>Pareto fronts</h2>"
        o += "<p class=\"note\">Each marker is a method evaluated at one weighting (mean reward over the evaluation prompts, whiskers ±1 standard error); the line joins the method's non-dominated points. Higher is better on both axes."
        if ctx.m > 2 { o += " With \(ctx.m) rewards, each panel shows one pair of rewards; the lines are the fronts of the projected points." }
        o += "</p><div class=\"charts\">"
        var pairs: [(Int, Int)] = []
        for i in 0..<ctx.m { for j in (i + 1)..<ctx.m { pairs.append((i, j)) } }
        for (i, j) in pairs {
            o += figure(paretoChart(ctx, i, j))
        }
        o += "</div></section>\n"
        return o
    }

    static func paretoChart(_ ctx: Context, _ i: Int, _ j: Int) -> Chart {
        var series: [ChartSeries] = []
        for method in ctx.data.methods {
            var s = ChartSeries(name: method.name, style: ctx.style(method.name))
            let pts = ctx.validPoints(method)
            for p in pts {
                let se = p.rewardStandardErrors?.count == p.rewardMeans.count ? p.rewardStandardErrors : nil
                // With three or more rewards a panel cannot show the weighting by position: label it.
                s.points.append(ChartPoint(x: p.rewardMeans[i], y: p.rewardMeans[j], xErr: se?[i], yErr: se?[j],
                                           tooltip: pointDescription(ctx, method: method.name, p),
                                           label: ctx.m > 2 ? weightingLabel(p) : nil))
            }
            let front = ParetoFront.polyline2D(pts.map { (x: $0.rewardMeans[i], y: $0.rewardMeans[j]) })
            if front.count >= 2 { s.lines = [front] }
            series.append(s)
        }
        if let r = ctx.reference {
            var s = ChartSeries(name: "reference: \(r.label)", style: referenceStyle)
            s.markerRadius = 5
            s.points = [ChartPoint(x: r.rewardMeans[i], y: r.rewardMeans[j],
                                   tooltip: "reference \(r.label): \(ReportText.vector(r.rewardMeans))")]
            series.append(s)
        }
        if let hv = ctx.data.hypervolume, hv.referencePoint.count == ctx.m,
           hv.referencePoint != ctx.reference?.rewardMeans {
            let s = ChartSeries(name: "hypervolume reference point",
                                style: SeriesStyle(color: "#888888", marker: .triangleDown),
                                points: [ChartPoint(x: hv.referencePoint[i], y: hv.referencePoint[j],
                                                    tooltip: "hypervolume reference point \(ReportText.vector(hv.referencePoint))")])
            series.append(s)
        }
        return Chart(title: "Pareto front: \(ctx.rewardName(i)) vs \(ctx.rewardName(j))",
                     xLabel: ctx.rewardAxis(i), yLabel: ctx.rewardAxis(j), series: series,
                     id: "pareto-\(i)-\(j)")
    }

    static func figure(_ chart: Chart, caption: String? = nil) -> String {
        var o = "<figure>" + chart.svg()
        if let caption { o += "<figcaption>\(e(caption))</figcaption>" }
        return o + "</figure>"
    }

    static func hypervolumeSection(_ ctx: Context) -> String {
        guard let hv = ctx.data.hypervolume, ctx.data.shows("hypervolume") else { return "" }
        var o = "<section id=\"hypervolume\"><h2>Hypervolume</h2>"
        o += "<p class=\"note\">Volume of the objective region dominated by a method's points and bounded below by the reference point <b>\(e(hv.pointText))</b>"
        if let rule = hv.rule { o += ", <span class=\"reference-rule\">reference point: \(e(rule))</span>" }
        if let l = hv.referenceLabel { o += " (\(e(l)))" }
        let dom = ctx.data.shows("dominated")
        let intervals = hv.rows.contains { $0.lower != nil }
        o += ". One point for every method, so the rows are comparable. Larger is better."
        if intervals { o += " The interval is a 95 % percentile bootstrap over prompts: the prompts are resampled jointly for every grid point of a method, the grid means recomputed, and the hypervolume measured against the same fixed reference point." }
        o += (dom ? " “Dominated by others” is the share of the method's points that some point of another method dominates." : "") + "</p>"
        let rk = ranks(hv.rows.map { $0.hypervolume })
        // Rank 1 is highlighted only when it stands out (not when every method ties).
        let top = bestIndices(hv.rows.map { $0.hypervolume })
        let order = hv.rows.indices.sorted { (rk[$0] ?? Int.max, $0) < (rk[$1] ?? Int.max, $1) }
        o += "<div class=\"scroll\"><table class=\"data\"><thead><tr><th class=\"n\">Rank</th><th>Method</th><th class=\"n\">Hypervolume</th>"
            + (intervals ? "<th class=\"n\">95 % interval</th>" : "")
            + (dom ? "<th class=\"n\">Dominated by others</th>" : "") + "<th class=\"n\">Front size</th></tr></thead><tbody>"
        for k in order {
            let r = hv.rows[k]
            o += "<tr\(top.contains(k) ? " class=\"best\"" : "")><td class=\"n\">\(rk[k].map(String.init) ?? "–")</td><td>\(swatch(ctx, r.method))</td>"
            o += "<td class=\"n\">\(num(r.hypervolume))</td>" + (intervals ? "<td class=\"n\">\(e(r.intervalText))</td>" : "")
                + (dom ? "<td class=\"n\">\(ReportText.percent(r.dominatedShare))</td>" : "")
                + "<td class=\"n\">\(r.frontSize.map(String.init) ?? "–")</td></tr>"
        }
        o += "</tbody></table></div></section>\n"
        return o
    }

    static func steerabilitySection(_ ctx: Context) -> String {
        guard ctx.data.shows("steerability") else { return "" }
        var o = "<section id=\"steerability\"><h2>Steerability</h2>"
        o += "<p class=\"note\">ρ is Spearman's rank correlation between the weight wᵢ and the mean reward rᵢ along the weight grid (1 = rᵢ rises monotonically with wᵢ; “–” = undefined because wᵢ or rᵢ is constant). Spread is max − min of rᵢ over the grid. Methods are ranked by mean ρ."
        let rows = ctx.data.steerability
        let uncertain = rows.contains { $0.rewards.contains { $0.permutationP != nil || $0.noiseSpread != nil } }
        if uncertain {
            o += " Beside ρ: its 95 % bootstrap interval over prompts (prompts resampled jointly for every grid point) and the two-sided permutation p-value (the share of reorderings of the grid means whose |ρ| reaches the observed one: is ρ distinguishable from 0?). Beside the spread: the spread noise alone gives (95th percentile when every grid point's prompts are drawn from the values pooled over the grid); a spread below it is no evidence of steering."
        }
        o += "</p>"
        if !rows.isEmpty {
            let rk = ranks(rows.map { $0.meanRho })
            let top = bestIndices(rows.map { $0.meanRho })
            o += "<table class=\"data\"><thead><tr><th class=\"n\">Rank</th><th>Method</th>"
            for i in 0..<ctx.m {
                o += "<th class=\"n\">ρ \(e(ctx.rewardName(i)))</th>"
                if uncertain { o += "<th class=\"n\">95 % interval</th><th class=\"n\">permutation p</th>" }
                o += "<th class=\"n\">spread \(e(ctx.rewardName(i)))</th>"
                if uncertain { o += "<th class=\"n\">noise spread</th>" }
            }
            o += "<th class=\"n\">Mean ρ</th></tr></thead><tbody>"
            let order = rows.indices.sorted { (rk[$0] ?? Int.max, $0) < (rk[$1] ?? Int.max, $1) }
            for k in order {
                let r = rows[k]
                o += "<tr\(top.contains(k) ? " class=\"best\"" : "")><td class=\"n\">\(rk[k].map(String.init) ?? "–")</td><td>\(swatch(ctx, r.method))</td>"
                for i in 0..<ctx.m {
                    let entry = i < r.rewards.count ? r.rewards[i] : nil
                    o += "<td class=\"n\">\(ReportText.fixed(entry?.rho, decimals: 3))</td>"
                    if uncertain {
                        o += "<td class=\"n\">\(e(ReportText.interval(entry?.rhoLower, entry?.rhoUpper)))</td><td class=\"n\">\(e(ReportText.pValue(entry?.permutationP)))</td>"
                    }
                    o += "<td class=\"n\">\(num(entry?.spread))</td>"
                    if uncertain {
                        let below = entry?.spreadAboveNoise == false
                        o += "<td class=\"n\">\(num(entry?.noiseSpread))\(below ? " <span class=\"warn\" title=\"the spread is within what noise alone gives\">(spread ≤ noise)</span>" : "")</td>"
                    }
                }
                o += "<td class=\"n\">\(ReportText.fixed(r.meanRho, decimals: 3))</td></tr>"
            }
            o += "</tbody></table>"
        }
        if ctx.m >= 1 && !ctx.data.methods.isEmpty {
            o += "<div class=\"charts\">"
            for i in 0..<ctx.m { o += figure(steerabilityChart(ctx, i)) }
            o += "</div>"
        }
        return o + "</section>\n"
    }

    static func steerabilityChart(_ ctx: Context, _ i: Int) -> Chart {
        var series: [ChartSeries] = []
        for method in ctx.data.methods {
            var s = ChartSeries(name: method.name, style: ctx.style(method.name))
            let pts = ctx.validPoints(method).filter { $0.weights.count == ctx.m }
            var byWeight: [Double: [Double]] = [:]
            for p in pts {
                let se = p.rewardStandardErrors?.count == p.rewardMeans.count ? p.rewardStandardErrors?[i] : nil
                s.points.append(ChartPoint(x: p.weights[i], y: p.rewardMeans[i], yErr: se,
                                           tooltip: pointDescription(ctx, method: method.name, p)))
                if p.rewardMeans[i].isFinite { byWeight[p.weights[i], default: []].append(p.rewardMeans[i]) }
            }
            let line = byWeight.keys.sorted().map { w in (x: w, y: byWeight[w]!.reduce(0, +) / Double(byWeight[w]!.count)) }
            if line.count >= 2 { s.lines = [line] }
            series.append(s)
        }
        if let r = ctx.reference, r.rewardMeans[i].isFinite {
            var s = ChartSeries(name: "reference: \(r.label)", style: SeriesStyle(color: "#111111", marker: .star, dashed: true))
            s.lines = [[(x: 0, y: r.rewardMeans[i]), (x: 1, y: r.rewardMeans[i])]]
            series.append(s)
        }
        return Chart(title: "Steerability of \(ctx.rewardName(i))",
                     xLabel: "weight w\(subscriptDigits(i + 1)) on \(ctx.rewardName(i))",
                     yLabel: ctx.rewardAxis(i, prefix: "mean "), series: series, id: "steer-\(i)")
    }

    static func subscriptDigits(_ n: Int) -> String {
        let digits = ["₀", "₁", "₂", "₃", "₄", "₅", "₆", "₇", "₈", "₉"]
        return String(n).compactMap { $0.wholeNumberValue.map { digits[$0] } }.joined()
    }

    static func hasKL(_ ctx: Context) -> Bool {
        ctx.data.methods.contains { m in m.points.contains { $0.kl?.isFinite ?? false } }
    }

    static func klSection(_ ctx: Context) -> String {
        guard hasKL(ctx), ctx.m >= 1 else { return "" }
        let multi = ctx.data.methods.contains { m in m.points.contains { $0.alpha != nil } }
        var o = "<section id=\"kl\"><h2>KL vs reward</h2><p class=\"note\">Mean KL divergence to the reference policy against each mean reward."
        if multi { o += " For multi-KL methods, lines join the points of one weighting across KL weights α (hover a marker for its w and α)." }
        o += " Up and to the left is better."
        if ctx.data.methods.contains(where: { m in m.points.contains { ($0.kl ?? 0) < 0 } }) { o += " " + klNote }
        o += "</p><div class=\"charts\">"
        for i in 0..<ctx.m {
            var series: [ChartSeries] = []
            for method in ctx.data.methods {
                let pts = ctx.validPoints(method).filter { $0.kl?.isFinite ?? false }
                if pts.isEmpty { continue }
                var s = ChartSeries(name: method.name, style: ctx.style(method.name))
                for p in pts {
                    let se = p.rewardStandardErrors?.count == p.rewardMeans.count ? p.rewardStandardErrors?[i] : nil
                    s.points.append(ChartPoint(x: p.kl!, y: p.rewardMeans[i], xErr: p.klStandardError, yErr: se,
                                               tooltip: pointDescription(ctx, method: method.name, p)))
                }
                var groups: [[Double]: [WeightingPoint]] = [:]
                var groupOrder: [[Double]] = []
                for p in pts where p.alpha != nil {
                    if groups[p.weights] == nil { groupOrder.append(p.weights) }
                    groups[p.weights, default: []].append(p)
                }
                for w in groupOrder where groups[w]!.count >= 2 {
                    s.lines.append(groups[w]!.sorted { $0.alpha! < $1.alpha! }.map { (x: $0.kl!, y: $0.rewardMeans[i]) })
                }
                series.append(s)
            }
            let chart = Chart(title: "KL vs \(ctx.rewardName(i))", xLabel: "KL to reference policy (nats)",
                              yLabel: ctx.rewardAxis(i, prefix: "mean "), series: series, id: "kl-\(i)")
            o += figure(chart)
        }
        return o + "</div></section>\n"
    }

    static func curvesSection(_ ctx: Context) -> String {
        let curves = ctx.data.trainingCurves
        guard !curves.isEmpty else { return "" }
        var names: [String] = []
        for c in curves { for p in c.points where !names.contains(p.name) { names.append(p.name) } }
        var o = "<section id=\"curves\"><h2>Training curves</h2><div class=\"charts\">"
        for (k, name) in names.enumerated() {
            var series: [ChartSeries] = []
            for c in curves {
                let pts = c.points.filter { $0.name == name && $0.value.isFinite }.sorted { $0.step < $1.step }
                if pts.isEmpty { continue }
                var s = ChartSeries(name: c.method, style: ctx.style(c.method))
                if pts.count >= 2 {
                    s.lines = [pts.map { (x: Double($0.step), y: $0.value) }]
                } else {
                    s.points = pts.map { ChartPoint(x: Double($0.step), y: $0.value, tooltip: "\(c.method): step \($0.step), \(name) = \(num($0.value))") }
                }
                series.append(s)
            }
            o += figure(Chart(title: name, xLabel: "training step", yLabel: name, series: series, id: "curve-\(k)"))
        }
        return o + "</div></section>\n"
    }
}
