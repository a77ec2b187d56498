extension ReportRenderer {
    /// Plain-text summary with the report's headline numbers: hypervolume (with rank and the
    /// share of points dominated by other methods) and steerability (ρ and spread per reward,
    /// mean ρ and rank) per method. Text from the data is stripped of control characters.
    public static func terminalSummary(_ data: ReportData) -> String {
        let ctx = Context(data)
        let t = ReportText.terminal
        let md = data.metadata
        var out = "clp-flow report: \(t(md.workflowName))\n"
        out += "status \(t(md.status)), seed \(md.seed), clp-flow \(t(md.toolVersion))"
        if let r = md.runID { out += ", run \(t(r))" }
        out += "\n"
        out += "rewards: \(data.rewardNames.map(t).joined(separator: ", "))\n"
        if let r = ctx.reference {
            out += "reference \(t(r.label)): \(ReportText.vector(r.rewardMeans))\n"
        }
        if !data.trivialBaselines.isEmpty {
            out += "copying the document's first k words: "
            out += data.trivialBaselines.map { "\(t($0.label)) \(ReportText.vector($0.rewardMeans))" }.joined(separator: ", ") + "\n"
        }
        let problems = data.problems
        if !problems.isEmpty {
            out += "data problems:\n" + problems.map { "  - " + t($0) + "\n" }.joined()
        }

        let showHV = data.hypervolume != nil && data.shows("hypervolume")
        let showSteer = !data.steerability.isEmpty && data.shows("steerability")
        let dom = data.shows("dominated")
        if let hv = data.hypervolume, showHV {
            out += "\nHypervolume (reference point \(t(hv.pointText))"
            if let rule = hv.rule { out += ", \(t(rule))" }
            out += "; larger is better)\n"
            if let l = hv.referenceLabel { out += "  reference point: \(t(l))\n" }
            let rk = ranks(hv.rows.map { $0.hypervolume })
            let order = hv.rows.indices.sorted { (rk[$0] ?? Int.max, $0) < (rk[$1] ?? Int.max, $1) }
            let intervals = hv.rows.contains { $0.lower != nil }
            var rows = [["rank", "method", "hypervolume"] + (intervals ? ["95% interval"] : []) + (dom ? ["dominated"] : [])]
            for k in order {
                let r = hv.rows[k]
                rows.append([rk[k].map(String.init) ?? "–", t(r.method), ReportText.number(r.hypervolume)]
                            + (intervals ? [r.intervalText] : [])
                            + (dom ? [ReportText.percent(r.dominatedShare)] : []))
            }
            out += table(rows, rightAligned: [0, 2, 3, 4])
        }

        if showSteer {
            let uncertain = data.steerability.contains { $0.rewards.contains { $0.permutationP != nil || $0.noiseSpread != nil } }
            out += "\nSteerability (Spearman ρ(wᵢ, rᵢ) / spread of rᵢ; ranked by mean ρ)\n"
            if uncertain {
                out += "  ρ [95% bootstrap interval over prompts] and permutation p; spread (the spread noise alone gives, 95th percentile; ! = not above it)\n"
            }
            let rk = ranks(data.steerability.map { $0.meanRho })
            let order = data.steerability.indices.sorted { (rk[$0] ?? Int.max, $0) < (rk[$1] ?? Int.max, $1) }
            var header = ["rank", "method"]
            for i in 0..<ctx.m { header.append(t(ctx.rewardName(i))) }
            header.append("mean ρ")
            var rows = [header]
            for k in order {
                let r = data.steerability[k]
                var row = [rk[k].map(String.init) ?? "–", t(r.method)]
                for i in 0..<ctx.m {
                    if i < r.rewards.count {
                        let en = r.rewards[i]
                        var cell = ReportText.fixed(en.rho, decimals: 3)
                        if uncertain, en.rho != nil { cell += " " + ReportText.interval(en.rhoLower, en.rhoUpper) + " " + ReportText.pValue(en.permutationP) }
                        cell += " / " + ReportText.number(en.spread, significant: 3)
                        if uncertain { cell += " (noise " + ReportText.number(en.noiseSpread, significant: 3) + (en.spreadAboveNoise == false ? " !" : "") + ")" }
                        row.append(cell)
                    } else {
                        row.append("–")
                    }
                }
                row.append(ReportText.fixed(r.meanRho, decimals: 3))
                rows.append(row)
            }
            out += table(rows, rightAligned: Set([0]).union(Set(2..<(ctx.m + 3))))
        }
        out += objectiveSummaryText(data)
        out += seedSummaryText(data)
        out += vertexGainsSummary(data)
        if let v = data.ablationView { out += ablationSummary(ctx, v) }
        if !showHV && !showSteer {
            out += data.metrics == nil ? "\nno hypervolume or steerability results in this report\n"
                : "\nno hypervolume or steerability results in this report (evaluate.metrics: \(data.metrics!.map(t).joined(separator: ", ")))\n"
        }
        return out
    }

    /// The ablation, cells as columns: per method kind its hypervolume, mean ρ, J(w), reward
    /// means and KL; ★ marks the best cell of a ranked row when the cells differ.
    static func ablationSummary(_ ctx: Context, _ v: AblationView) -> String {
        let t = ReportText.terminal
        var out = "\n\(t(ablationTitle(v.axes.joined(separator: " × ")))) (one column per cell; ★ best where the cells differ)\n"
        var rows = [["method", "metric"] + v.cells.map { t($0.name) }]
        for row in v.rows {
            for (k, metric) in ablationMetrics(ctx, row).enumerated() {
                var line = [k == 0 ? t(row.method) + (row.shared ? " *" : "") : "", metric.label]
                let best = metric.ranked && !row.shared ? bestIndices(metric.values) : []
                for (i, value) in metric.values.enumerated() {
                    line.append(ReportText.number(value) + (best.contains(i) ? " ★" : ""))
                }
                rows.append(line)
            }
        }
        out += table(rows, rightAligned: Set(2..<(2 + v.cells.count)))
        if v.rows.contains(where: \.shared) { out += "  * one evaluation shared by every cell: the method does not depend on the ablated settings\n" }
        if let n = v.objectiveNote { out += "  " + t(n) + "\n" }
        if v.rows.contains(where: { $0.entries.contains { ($0?.kl ?? 0) < 0 } }) { out += "  " + klNote + "\n" }
        return out
    }

    /// Columns padded to their widest cell (counting characters), two spaces apart.
    static func table(_ rows: [[String]], rightAligned: Set<Int>) -> String {
        let columns = rows.map { $0.count }.max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for r in rows { for (c, cell) in r.enumerated() { widths[c] = max(widths[c], cell.count) } }
        var out = ""
        for r in rows {
            var line = "  "
            for (c, cell) in r.enumerated() {
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                line += rightAligned.contains(c) ? pad + cell : cell + pad
                if c < r.count - 1 { line += "  " }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}
