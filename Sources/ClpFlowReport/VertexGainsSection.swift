/// "Does each vertex beat π_ref on its own reward?": the gain of every method at each vertex eᵢ
/// over π_ref on reward i, with its interval, and a loud warning for the baselines' single-reward
/// policies (SOFT, Rewarded Soups' endpoints) that do not, since comparing with them measures a
/// failed run.
extension ReportRenderer {
    static func hasVertexGains(_ data: ReportData) -> Bool {
        data.methods.contains { !($0.vertexGains ?? []).isEmpty }
    }

    /// One sentence per single-reward baseline endpoint whose gain interval is not above 0.
    static func failedBaselineWarnings(_ data: ReportData) -> [String] {
        data.methods.filter(\.isSingleRewardBaseline).flatMap { m in
            m.verticesNotBeatingReference.map { g in
                "\(m.name): the \(g.reward) endpoint does not beat π_ref on \(g.reward) (gain \(g.text)); comparisons with \(m.name) measure a policy that did not learn its reward"
            }
        }
    }

    static func vertexGainsSection(_ ctx: Context) -> String {
        guard hasVertexGains(ctx.data) else { return "" }
        var o = "<section id=\"vertices\"><h2>Vertices against π_ref</h2><p class=\"note\">Each method at the weighting that asks for one reward alone, against π_ref on that reward: the mean gain over the same prompts with its 95 % bootstrap interval (paired over prompts).</p>"
        let warnings = failedBaselineWarnings(ctx.data)
        if !warnings.isEmpty {
            o += "<div class=\"problems\"><strong>Baselines that did not learn their reward.</strong><ul>"
                + warnings.map { "<li>" + e($0) + "</li>" }.joined() + "</ul></div>"
        }
        o += "<div class=\"scroll\"><table><thead><tr><th>method</th><th>reward</th><th class=\"n\">gain over π_ref</th><th>beats π_ref</th></tr></thead><tbody>"
        for m in ctx.data.methods {
            for g in m.vertexGains ?? [] {
                o += "<tr><td>\(e(m.name))</td><td>\(e(g.reward))</td><td class=\"n\">\(e(g.text))</td><td>\(g.beatsReference ? "yes" : "<strong>no</strong>")</td></tr>"
            }
        }
        return o + "</tbody></table></div></section>\n"
    }

    static func vertexGainsSummary(_ data: ReportData) -> String {
        guard hasVertexGains(data) else { return "" }
        let t = ReportText.terminal
        var out = "\nVertices against π_ref (gain on its own reward, 95 % interval over prompts)\n"
        var rows = [["method", "reward", "gain over π_ref", "beats π_ref"]]
        for m in data.methods {
            for g in m.vertexGains ?? [] { rows.append([t(m.name), t(g.reward), g.text, g.beatsReference ? "yes" : "NO"]) }
        }
        out += table(rows, rightAligned: [])
        for w in failedBaselineWarnings(data) { out += "WARNING: \(t(w))\n" }
        return out
    }
}
