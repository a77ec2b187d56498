import Foundation

// The sections on the run: samples side by side and the run metadata.

extension ReportRenderer {
    /// Why a KL can be negative.
    static let klNote = "KL is estimated from the sampled texts (mean of log π(y|x) − log π_ref(y|x) over the samples); on few short samples the estimate can come out slightly negative although the true KL is ≥ 0."

    static func samplesSection(_ ctx: Context) -> String {
        let groups = ctx.data.samples
        guard !groups.isEmpty else { return "" }
        var o = "<section id=\"samples\"><h2>Samples</h2><p class=\"note\">Generated texts side by side: one column per method, one row per weighting.</p>"
        for (k, g) in groups.enumerated() {
            o += "<article class=\"sample\"><h3>Sample \(k + 1)\(g.id.map { ": " + e($0) } ?? "")</h3>"
            o += "<p><b>Model input:</b> " + (g.prompt.isEmpty ? "<i>not recorded</i>" : "<span class=\"input\">\(e(g.prompt))</span>") + "</p>"
            o += "<details open><summary>Document (\(g.document.count) characters)</summary><div class=\"doc\">\(e(g.document))</div></details>"
            if let r = g.referenceText { o += "<p><b>Reference:</b> \(e(r))</p>" }
            var methods: [String] = []
            for name in ctx.methodOrder where g.generations.contains(where: { $0.method == name }) { methods.append(name) }
            struct Key: Hashable { var weights: [Double]; var alpha: Double? }
            var keys: [Key] = []
            for gen in g.generations {
                let key = Key(weights: gen.weights, alpha: gen.alpha)
                if !keys.contains(key) { keys.append(key) }
            }
            keys.sort { a, b in
                if a.weights != b.weights { return a.weights.lexicographicallyPrecedes(b.weights) }
                return (a.alpha ?? -.infinity) < (b.alpha ?? -.infinity)
            }
            o += "<div class=\"scroll\"><table class=\"data samples\"><thead><tr><th class=\"w\">Weighting</th>"
            for name in methods { o += "<th>\(swatch(ctx, name))</th>" }
            o += "</tr></thead><tbody>"
            for key in keys {
                o += "<tr><th class=\"w\">w = \(e(ReportText.vector(key.weights)))\(key.alpha.map { "<br>α = " + num($0) } ?? "")</th>"
                for name in methods {
                    let gens = g.generations.filter { $0.method == name && $0.weights == key.weights && $0.alpha == key.alpha }
                    o += "<td>"
                    for gen in gens {
                        o += "<div class=\"gen\">\(e(gen.text))</div>"
                        if let input = gen.input { o += "<div class=\"input\">input: \(e(input))</div>" }
                        if let r = gen.rewards, r.count == ctx.m {
                            o += "<div class=\"rewards\">" + (0..<ctx.m).map { "\(e(ctx.rewardName($0))) \(num(r[$0]))" }.joined(separator: " · ") + "</div>"
                        }
                    }
                    if gens.isEmpty { o += "–" }
                    o += "</td>"
                }
                o += "</tr>"
            }
            o += "</tbody></table></div></article>"
        }
        return o + "</section>\n"
    }

    static func metadataSection(_ ctx: Context) -> String {
        let md = ctx.data.metadata
        var kv: [(String, String)] = [("Workflow", md.workflowName)]
        if let r = md.runID { kv.append(("Run", r)) }
        kv.append(("Seed", String(md.seed)))
        kv.append(("clp-flow version", md.toolVersion))
        if let f = md.engineFormat { kv.append(("Engine format", String(f))) }
        kv.append(("Status", md.status))
        if let x = md.executor { kv.append(("Executor", x)) }
        if let s = md.startedAt { kv.append(("Started", s)) }
        if let s = md.finishedAt { kv.append(("Finished", s)) }
        let times = md.steps.compactMap { $0.wallTimeSeconds }.filter { $0.isFinite }
        if !times.isEmpty { kv.append(("Total step wall time", ReportText.duration(times.reduce(0, +)))) }
        for x in md.extra { kv.append((x.key, x.value)) }
        var o = "<section id=\"metadata\"><h2>Run metadata</h2><table class=\"kv\"><tbody>"
        for (k, v) in kv { o += "<tr><th>\(e(k))</th><td>\(e(v))</td></tr>" }
        o += "</tbody></table>"
        if !md.steps.isEmpty {
            o += "<h3>Steps</h3><div class=\"scroll\"><table class=\"data steps\"><thead><tr><th>Step</th><th>Kind</th><th>Status</th><th class=\"n\">Wall time</th><th>Cache key</th></tr></thead><tbody>"
            for s in md.steps {
                o += "<tr><td>\(e(s.id))</td><td>\(e(s.kind))</td><td><span class=\"status \(statusClass(s.status))\">\(e(s.status))</span></td>"
                o += "<td class=\"n\">\(ReportText.duration(s.wallTimeSeconds))</td><td class=\"key\">\(s.cacheKey.map(e) ?? "–")</td></tr>"
            }
            o += "</tbody></table></div>"
        }
        return o + "</section>\n"
    }

    static func statusClass(_ status: String) -> String {
        switch status.lowercased() {
        case "succeeded", "success", "completed", "ok", "cached": return "ok"
        case "failed", "error", "cancelled": return "bad"
        default: return "warn"
        }
    }
}
