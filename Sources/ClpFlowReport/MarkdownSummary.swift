import Foundation

// The report's result tables as Markdown (`clp-flow report RUN_DIR --markdown`): the methods
// aggregated over seeds, the paired differences, J(w) and regret per weighting, the per-seed
// values, and per evaluation hypervolume, dominated share and steerability.

extension ReportRenderer {
    /// Markdown tables of the report's results, for pasting into documents; `speed` adds the
    /// generation speed per method (not part of the report's data: it is a clock measurement).
    public static func markdown(_ data: ReportData, speed: [SpeedRow] = []) -> String {
        let c = md
        var out = "# clp-flow results: \(c(data.metadata.workflowName))\n\n"
        out += "Rewards: \(data.rewardNames.map(c).joined(separator: ", ")); workflow seed \(data.metadata.seed)"
        if let s = data.seedSummary { out += "; \(s.seedCount) seed\(s.seedCount == 1 ? "" : "s")" }
        if let hv = data.hypervolume {
            out += "; hypervolume reference: \(c(hv.referenceLabel ?? "point")) \(ReportText.vector(hv.referencePoint))"
        }
        out += ".\n"
        if let s = data.seedSummary, !s.rows.isEmpty {
            let cols = seedColumns(data)
            out += "\n## \(seedTitle(s))\n\nMean [\(intervalWord(s))]. \(c(s.note))\n\n"
            out += mdTable(["method", "seeds"] + cols.map { c(s.metrics[$0].name) },
                           s.rows.map { r in [c(r.method), String(r.seeds.count)] + cols.map { estimateText(r.values, $0) } })
            let diffCols = cols
            if !s.differences.isEmpty {
                out += "\n## Paired differences: CLP − baseline\n\n"
                out += (s.seedCount > 1 ? "Per seed, paired by seed, averaged over the shared seeds" : "On the same prompts, paired over prompts")
                    + "; positive: CLP is higher; **bold**: the interval excludes 0.\n\n"
                out += mdTable(["CLP − baseline"] + diffCols.map { c(s.metrics[$0].name) },
                               s.differences.map { d in
                                   [c(d.method) + " − " + c(d.baseline)] + diffCols.map { k in
                                       let v = k < d.values.count ? d.values[k] : nil
                                       let text = v?.text ?? "–"
                                       return (v?.aboveZero ?? false) || (v?.belowZero ?? false) ? "**\(text)**" : text
                                   }
                               })
            }
            if let table = data.objectiveTable {
                out += "\n## Trained objective J(w)\n\n\(c(table.note))\n"
                if !table.rows.isEmpty {
                    let header = ["w"] + table.methods.map(c)
                    out += "\n" + mdTable(header, table.rows.map { r in
                        [weightingText(r)] + table.methods.indices.map { k in (k < r.entries.count ? r.entries[k] : nil)?.objective.text ?? "–" }
                    })
                    out += "\nRegret to the best method at each w (best − this method's J):\n\n"
                    out += mdTable(header, table.rows.map { r in
                        [weightingText(r)] + table.methods.indices.map { k in (k < r.entries.count ? r.entries[k] : nil).map(regretText) ?? "–" }
                    })
                }
            }
            out += "\n## Per-seed values\n\n"
            out += mdTable(["method", "seed", "step"] + cols.map { c(s.metrics[$0].name) },
                           s.perSeed.map { r in
                               [c(r.method), r.seed.isEmpty ? "–" : c(r.seed), "`" + c(r.stepId) + "`"]
                                   + cols.map { ReportText.number(valueAt(r.values, $0)) }
                           }, left: 3)
        }
        let hvRows = data.hypervolume?.rows ?? []
        if !hvRows.isEmpty || !data.steerability.isEmpty {
            let oneReward = data.rewardNames.count == 1
            out += "\n## Per evaluation: hypervolume and steerability\n\n"
            var names: [String] = hvRows.map(\.method)
            for r in data.steerability where !names.contains(r.method) { names.append(r.method) }
            out += mdTable(["method", "hypervolume", "dominated share"]
                           + data.rewardNames.map { "ρ(\(oneReward ? "1/α" : "w"), \(c($0))) / spread" },
                           names.map { name in
                               let hv = hvRows.first { $0.method == name }
                               let st = data.steerability.first { $0.method == name }
                               return [c(name), ReportText.number(hv?.hypervolume), ReportText.number(hv?.dominatedShare)]
                                   + data.rewardNames.indices.map { i in
                                       guard let st, i < st.rewards.count else { return "–" }
                                       return ReportText.number(st.rewards[i].rho) + " / " + ReportText.number(st.rewards[i].spread)
                                   }
                           })
        }
        if !speed.isEmpty {
            out += "\n## Generation speed\n\nTokens generated per second of wall time while evaluating (mean [95 % interval over seeds] with several seeds; a clock measurement that depends on the machine and its load).\n\n"
            out += mdTable(["method", "forward passes per token", "generation tokens/s"],
                           speed.map { [c($0.method), String($0.forwardPassesPerToken), $0.tokensPerSecond.map { cell in
                               cell.lower == nil ? ReportText.number(cell.mean) : "\(ReportText.number(cell.mean)) [\(ReportText.number(cell.lower)), \(ReportText.number(cell.upper))]"
                           } ?? "–"] })
        }
        return out
    }

    /// Text safe inside a Markdown table cell: no control characters, `|` escaped.
    static func md(_ s: String) -> String {
        ReportText.terminal(s).replacingOccurrences(of: "|", with: "\\|")
    }

    /// A table whose first `left` columns are left-aligned and the others (numbers) right-aligned.
    static func mdTable(_ header: [String], _ rows: [[String]], left: Int = 1) -> String {
        var out = "| " + header.joined(separator: " | ") + " |\n"
        out += "|" + header.indices.map { $0 < left ? "---" : "---:" }.joined(separator: "|") + "|\n"
        for r in rows { out += "| " + r.joined(separator: " | ") + " |\n" }
        return out
    }
}
