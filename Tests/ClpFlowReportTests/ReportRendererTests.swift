import Foundation
import Testing
@testable import ClpFlowReport
import ClpFlowCore

private func count(_ needle: String, in hay: String) -> Int {
    hay.components(separatedBy: needle).count - 1
}

/// The text of every <svg>…</svg> element, in order.
private func svgs(_ html: String) -> [String] {
    html.components(separatedBy: "<svg ").dropFirst().map { "<svg " + $0.components(separatedBy: "</svg>")[0] + "</svg>" }
}

/// Tags and attribute names of an HTML document, scanned like a browser's tokenizer would for
/// our output: `<name attr="value" …>`, with quoted values skipped as a whole. Unquoted values
/// are reported as problems, since escaping only protects quoted attributes.
private func scanTags(_ html: String) -> (tags: [String], attributes: [String], problems: [String]) {
    var tags: [String] = [], attributes: [String] = [], problems: [String] = []
    let chars = Array(html.unicodeScalars)
    var i = 0
    func isNameChar(_ c: Unicode.Scalar) -> Bool {
        CharacterSet.alphanumerics.contains(c) || c == "-" || c == ":" || c == "_"
    }
    var inStyle = false
    while i < chars.count {
        guard chars[i] == "<" else { i += 1; continue }
        i += 1
        if i < chars.count, chars[i] == "!" { while i < chars.count && chars[i] != ">" { i += 1 }; continue }
        var closing = false
        if i < chars.count, chars[i] == "/" { closing = true; i += 1 }
        var name = ""
        while i < chars.count, isNameChar(chars[i]) { name.unicodeScalars.append(chars[i]); i += 1 }
        if name.isEmpty { problems.append("bare < at \(i)"); continue }
        if inStyle && !(closing && name == "style") { continue }
        if closing { if name == "style" { inStyle = false }; while i < chars.count && chars[i] != ">" { i += 1 }; continue }
        tags.append(name)
        if name == "style" { inStyle = true }
        while i < chars.count && chars[i] != ">" {
            if chars[i] == " " || chars[i] == "/" || chars[i] == "\n" { i += 1; continue }
            var attr = ""
            while i < chars.count, isNameChar(chars[i]) { attr.unicodeScalars.append(chars[i]); i += 1 }
            if attr.isEmpty { problems.append("unexpected \(chars[i]) in <\(name)>"); i += 1; continue }
            attributes.append(attr.lowercased())
            if i < chars.count, chars[i] == "=" {
                i += 1
                guard i < chars.count, chars[i] == "\"" else { problems.append("unquoted value of \(attr) in <\(name)>"); continue }
                i += 1
                while i < chars.count && chars[i] != "\"" {
                    if chars[i] == "<" { problems.append("raw < inside \(attr) of <\(name)>") }
                    i += 1
                }
                i += 1
            }
        }
        i += 1
    }
    return (tags, attributes, problems)
}

@Test func hostileTextIsEscapedEverywhere() {
    let data = ReportFixtures.twoRewards(hostileNames: true)
    let html = ReportRenderer.html(data)
    // Raw payloads never appear.
    #expect(!html.contains(ReportFixtures.script))
    #expect(!html.contains(ReportFixtures.attribute))
    #expect(!html.lowercased().contains("<script"))
    #expect(!html.lowercased().contains("<img"))
    let scan = scanTags(html)
    #expect(scan.problems.isEmpty, "\(scan.problems.prefix(5))")
    #expect(!scan.attributes.contains { $0.hasPrefix("on") }, "no event-handler attribute")
    #expect(!scan.tags.contains("script") && !scan.tags.contains("img"))
    // Escaped forms do appear: in the document, a sample, the method name, the workflow name.
    let escapedScript = "&lt;script&gt;alert(1)&lt;/script&gt;"
    let escapedAttribute = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
    #expect(html.contains("The council met on Tuesday. " + escapedScript))
    #expect(html.contains("Summary " + escapedScript + escapedAttribute))
    #expect(html.contains("CLP " + escapedAttribute + escapedScript))
    #expect(html.contains("<title>clp-flow report: wf " + escapedScript + "</title>"))
    // The method name also lands in attribute contexts (data-series) and SVG tooltips, escaped.
    #expect(html.contains("data-series=\"CLP " + escapedAttribute + escapedScript + "\""))
    #expect(count("onerror=alert(1)", in: html) == count("&lt;img src=x onerror=alert(1)&gt;", in: html))
}

@Test func escapingCoversAttributeAndControlCharacters() {
    #expect(ReportText.html("a&b<c>d\"e'f") == "a&amp;b&lt;c&gt;d&quot;e&#39;f")
    #expect(ReportText.html("line\nnext\ttab") == "line\nnext\ttab")
    #expect(ReportText.html("bell\u{07}esc\u{1B}[31m") == "bell\u{FFFD}esc\u{FFFD}[31m")
    #expect(ReportText.terminal("red\u{1B}[31m\nx") == "red?[31m x")
}

private let allowedTags: Set<String> = [
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "span", "b", "nav", "a",
    "section", "table", "thead", "tbody", "tr", "th", "td", "div", "figure", "figcaption", "ul", "li", "article",
    "details", "summary", "br", "footer",
    "svg", "rect", "text", "g", "line", "polyline", "path", "circle",
]

@Test func outputIsSelfContainedWithoutScriptsOrNetwork() {
    for data in [ReportFixtures.twoRewards(), ReportFixtures.threeRewards()] {
        let html = ReportRenderer.html(data)
        let lower = html.lowercased()
        #expect(lower.hasPrefix("<!doctype html>"))
        #expect(!lower.contains("<script"))
        #expect(!lower.contains("http://") && !lower.contains("https://"))
        #expect(!lower.contains(" src="))
        #expect(!lower.contains("url("))
        #expect(!lower.contains("@import"))
        #expect(!lower.contains("<link"))
        #expect(!lower.contains("<iframe") && !lower.contains("<object") && !lower.contains("<embed"))
        let scan = scanTags(html)
        #expect(scan.problems.isEmpty, "\(scan.problems.prefix(5))")
        #expect(!scan.attributes.contains { $0.hasPrefix("on") || $0 == "src" || $0 == "srcset" || $0 == "xlink:href" })
        #expect(Set(scan.tags).isSubset(of: allowedTags), "unexpected tags \(Set(scan.tags).subtracting(allowedTags))")
        #expect(!lower.contains("javascript:"))
        for href in html.components(separatedBy: "href=\"").dropFirst() {
            #expect(href.hasPrefix("#"), "only in-page links, found href=\"\(href.prefix(30))")
        }
    }
}

@Test func twoRewardReportHasOneSvgPerChartWithLegends() {
    let data = ReportFixtures.twoRewards()
    let html = ReportRenderer.html(data)
    let charts = svgs(html)
    // 1 Pareto chart + 2 steerability + 2 KL-vs-reward + 3 training-curve metrics.
    #expect(charts.count == 8)
    #expect(count("<svg ", in: html) == count("</svg>", in: html))
    #expect(count("<figure>", in: html) == charts.count, "each chart sits in its own figure")
    for svg in charts {
        #expect(svg.contains("class=\"legend\""))
        #expect(svg.contains("class=\"x-label\"") && svg.contains("class=\"y-label\""))
        #expect(count("class=\"x-ticks\"", in: svg) == 1 && count("class=\"y-ticks\"", in: svg) == 1)
        #expect(count("<text x=", in: svg) >= 6, "tick labels present")
    }
    let pareto = charts[0]
    #expect(pareto.contains("Pareto front: helpfulness vs conciseness"))
    #expect(pareto.contains("helpfulness (score)") && pareto.contains("conciseness (score)"))
    for m in data.methods {
        #expect(pareto.contains("<text class=\"legend-entry\" x=") && pareto.contains(">\(m.name)</text>"),
                "legend entry for \(m.name)")
        // One marker per point, grouped per series.
        let group = pareto.components(separatedBy: "data-series=\"\(m.name)\">")[1].components(separatedBy: "</g>")[0]
        #expect(count("<title>", in: group) == m.points.count)
    }
    #expect(pareto.contains(">reference: SFT</text>"), "reference point in the legend")
    #expect(count("class=\"series-line\"", in: pareto) == data.methods.count, "a front polyline per method")
    // Steerability charts: x axis is the weight on each reward.
    #expect(charts[1].contains("weight w₁ on helpfulness") && charts[2].contains("weight w₂ on conciseness"))
    // KL charts and training curves.
    #expect(charts[3].contains("KL to reference policy (nats)"))
    #expect(charts[5].contains(">mean reward</text>") && charts[5].contains("training step"))
    // The multi-KL method draws one line per weighting across α.
    #expect(count("class=\"series-line\"", in: charts[3].components(separatedBy: "data-series=\"CLP multi-KL\"")[0]) >= 3)
}

@Test func threeRewardReportHasPairwisePanels() {
    let data = ReportFixtures.threeRewards()
    let html = ReportRenderer.html(data)
    let charts = svgs(html)
    // 3 pairwise Pareto panels + 3 steerability charts; no KL, no curves.
    #expect(charts.count == 6)
    #expect(charts[0].contains("factuality vs conciseness"))
    #expect(charts[1].contains("factuality vs fluency"))
    #expect(charts[2].contains("conciseness vs fluency"))
    #expect(!html.contains("id=\"kl\"") && !html.contains("id=\"curves\""))
    #expect(html.contains("<th class=\"n\">ρ fluency</th>"))
}

@Test func tablesRankMethodsAndMarkTheBestAblationCell() throws {
    let data = ReportFixtures.twoRewards()
    let html = ReportRenderer.html(data)
    let hvSection = html.components(separatedBy: "id=\"hypervolume\"")[1].components(separatedBy: "</section>")[0]
    let best = try #require(data.hypervolume?.rows.max { $0.hypervolume < $1.hypervolume })
    #expect(hvSection.contains("<tr class=\"best\"><td class=\"n\">1</td><td><span class=\"swatch\" style=\"background:#"))
    let firstRow = hvSection.components(separatedBy: "<tbody>")[1].components(separatedBy: "</tr>")[0]
    #expect(firstRow.contains(best.method))
    #expect(firstRow.contains(ReportText.number(best.hypervolume)))

    let ablation = html.components(separatedBy: "id=\"ablation\"")[1].components(separatedBy: "</section>")[0]
    #expect(count("★ best", in: ablation) == 1)
    let cells = try #require(data.ablation?.cells)
    let top = try #require(cells.max { ($0.score ?? 0) < ($1.score ?? 0) })
    #expect(ablation.contains("<td class=\"n best\">\(ReportText.number(top.score)) <span class=\"badge\">★ best</span>"))
    #expect(ablation.contains("conditioned parameters \\ learning rate"))
    #expect(ablation.contains("diverged once, resumed"))

    // Lower-is-better ablation marks the minimum; a list layout for three parameters.
    var lower = data
    lower.ablation = AblationMatrix(title: "loss", scoreName: "final loss", higherIsBetter: false,
                                    parameterNames: ["a", "b", "c"],
                                    cells: [AblationCell(parameters: ["1", "2", "3"], score: 0.5),
                                            AblationCell(parameters: ["4", "5", "6"], score: 0.25),
                                            AblationCell(parameters: ["7", "8", "9"], score: nil)])
    let lowerHTML = ReportRenderer.html(lower)
    #expect(lowerHTML.contains("<tr class=\"best\"><td>4</td><td>5</td><td>6</td><td class=\"n\">0.25 <span class=\"badge\">★ best</span>"))
}

@Test func samplesAreSideBySideAndMetadataIsShown() {
    let data = ReportFixtures.twoRewards()
    let html = ReportRenderer.html(data)
    let samples = html.components(separatedBy: "id=\"samples\"")[1].components(separatedBy: "</section>")[0]
    #expect(count("<article class=\"sample\">", in: samples) == 2)
    let firstTable = samples.components(separatedBy: "<table class=\"data samples\">")[1].components(separatedBy: "</table>")[0]
    // Header: one column per method that generated text (3) plus the weighting column.
    let header = firstTable.components(separatedBy: "</thead>")[0]
    #expect(count("</th>", in: header) == 4)
    let body = firstTable.components(separatedBy: "<tbody>")[1]
    #expect(count("<tr><th class=\"w\">", in: body) == 3, "one row per weighting")
    #expect(samples.contains("Council approves smaller park plan."))
    let meta = html.components(separatedBy: "id=\"metadata\"")[1]
    #expect(meta.contains("<th>Seed</th><td>42</td>"))
    #expect(meta.contains(data.metadata.steps[2].cacheKey!))
    #expect(meta.contains("30 min 04 s"), "clp-attention wall time 1804.2 s")
    #expect(meta.contains("<th>model</th><td>gpt2-tiny (2 layers, 64 dims)</td>"))
}

@Test func terminalSummaryHasHeadlineNumbers() throws {
    let data = ReportFixtures.twoRewards()
    let text = ReportRenderer.terminalSummary(data)
    let hv = try #require(data.hypervolume)
    for row in hv.rows {
        #expect(text.contains(row.method))
        #expect(text.contains(ReportText.number(row.hypervolume)))
    }
    for row in data.steerability {
        #expect(text.contains(ReportText.fixed(row.meanRho, decimals: 3)))
    }
    // The best hypervolume is listed first with rank 1.
    let best = try #require(hv.rows.max { $0.hypervolume < $1.hypervolume })
    let lines = text.split(separator: "\n").map(String.init)
    let headerIndex = try #require(lines.firstIndex { $0.contains("rank") && $0.contains("hypervolume") })
    #expect(lines[headerIndex + 1].contains(best.method) && lines[headerIndex + 1].hasPrefix("     1"))
    #expect(!text.contains("<"), "plain text, no markup")

    var hostile = data
    hostile.methods[0].name = "evil\u{1B}[2J"
    hostile.hypervolume!.rows[0].method = "evil\u{1B}[2J"
    #expect(!ReportRenderer.terminalSummary(hostile).contains("\u{1B}"))
}

@Test func niceScaleTicks() {
    let a = NiceScale(min: 0, max: 1)
    #expect(a.ticks == [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1] || a.ticks.map { ($0 * 10).rounded() } == [0, 2, 4, 6, 8, 10])
    #expect(a.lower == 0 && a.upper == 1 && a.step == 0.2)
    #expect(a.label(0.6000000000000001) == "0.6")
    let b = NiceScale(min: 0.13, max: 0.87)
    #expect(b.lower <= 0.13 && b.upper >= 0.87 && b.step == 0.2)
    let c = NiceScale(min: -3.2, max: 47)
    #expect(c.step == 10 && c.lower == -10 && c.upper == 50 && c.ticks.count == 7)
    #expect(c.label(-10) == "-10" && c.label(0) == "0")
    let d = NiceScale(min: 5, max: 5)
    #expect(d.lower < 5 && d.upper > 5)
    let e = NiceScale(min: 0, max: 0)
    #expect(e.lower == -1 && e.upper == 1)
    let g = NiceScale(min: 1200, max: 95_000)
    #expect(g.step == 20_000 && g.label(40_000) == "40000")
    #expect(!NiceScale(min: -0.3, max: 0.3).ticks.contains { $0.sign == .minus && $0 == 0 })
}

@Test func numberFormatting() {
    #expect(ReportText.number(0.123456) == "0.1235")
    #expect(ReportText.number(12.5) == "12.5")
    #expect(ReportText.number(1234.567) == "1235")
    #expect(ReportText.number(nil) == "–" && ReportText.number(.nan) == "–")
    #expect(ReportText.number(2e-6) == "2.000e-06")
    #expect(ReportText.percent(0.25) == "25%")
    #expect(ReportText.duration(0.8) == "0.80 s" && ReportText.duration(312.4) == "5 min 12 s")
    #expect(ReportText.duration(3725) == "1 h 02 min")
    #expect(ReportText.vector([0.1, 0.9]) == "(0.1, 0.9)")
}

@Test func ranksAndFrontHelpers() {
    #expect(ReportRenderer.ranks([0.5, 0.9, 0.5, nil, 0.1]) == [2, 1, 2, nil, 4])
    let front = ParetoFront.polyline2D([(1, 3), (2, 2), (1.5, 1.5), (3, 1), (2, 2)])
    #expect(front.map { [$0.x, $0.y] } == [[1, 3], [2, 2], [3, 1]])
    // Non-finite points are never on the front and do not hide finite ones.
    let withNaN = ParetoFront.polyline2D([(.nan, 9), (1, 1), (.infinity, 5), (0, 2)])
    #expect(withNaN.map { [$0.x, $0.y] } == [[0, 2], [1, 1]])
}

@Test func reportDataRoundTripsThroughJSON() throws {
    let data = ReportFixtures.twoRewards()
    let encoded = try JSONEncoder().encode(data)
    let decoded = try JSONDecoder().decode(ReportData.self, from: encoded)
    #expect(decoded == data)
    #expect(ReportRenderer.html(decoded) == ReportRenderer.html(data), "rendering is deterministic")
}

@Test func minimalJSONDecodesWithEmptyLists() throws {
    let json = #"""
    {"metadata": {"workflowName": "w", "seed": 1, "toolVersion": "0.1.0", "status": "failed"},
     "rewardNames": ["a", "b"],
     "methods": [{"name": "m", "kind": "clp", "points": [{"weights": [0.5, 0.5], "rewardMeans": [1, 2]}]}]}
    """#
    let data = try JSONDecoder().decode(ReportData.self, from: Data(json.utf8))
    #expect(data.metadata.steps.isEmpty && data.steerability.isEmpty && data.samples.isEmpty)
    #expect(data.methods[0].points[0].rewardMeans == [1, 2])
    let html = ReportRenderer.html(data)
    #expect(html.contains("<span class=\"status bad\">failed</span>"))
    #expect(svgs(html).count == 3, "a Pareto chart and two steerability charts")
    // Required fields stay required, with the decoder naming the missing key.
    #expect(throws: DecodingError.self) {
        try JSONDecoder().decode(ReportData.self, from: Data(#"{"rewardNames": []}"#.utf8))
    }
}

@Test func inconsistentDataIsReportedNotDrawn() {
    var data = ReportFixtures.twoRewards()
    data.methods[1].points[0].rewardMeans = [0.5]
    data.reference = ReferencePoint(label: "SFT", rewardMeans: [1, 2, 3])
    let problems = data.problems
    #expect(problems.contains { $0.contains("Rewarded Soup") && $0.contains("point 1") && $0.contains("1 reward means for 2 rewards") })
    #expect(problems.contains { $0.contains("reference") })
    let html = ReportRenderer.html(data)
    #expect(html.contains("id=\"problems\""))
    let pareto = svgs(html)[0]
    let group = pareto.components(separatedBy: "data-series=\"Rewarded Soup\">")[1].components(separatedBy: "</g>")[0]
    #expect(count("<title>", in: group) == data.methods[1].points.count - 1)
    #expect(!pareto.contains("reference: SFT"))
    #expect(ReportRenderer.terminalSummary(data).contains("data problems"))
    #expect(ReportFixtures.twoRewards().problems.isEmpty)
}
