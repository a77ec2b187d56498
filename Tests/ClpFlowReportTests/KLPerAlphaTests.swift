import ClpFlowReport
import Testing

/// The report's "KL per α" table: every method's KL at each evaluated α with its standard error
/// and interval, and the span KL(smallest α) − KL(largest α).
@Suite struct KLPerAlphaTests {
    static func data() -> ReportData {
        func point(_ a: Double, _ kl: Double, _ se: Double?, w: [Double] = [1]) -> WeightingPoint {
            WeightingPoint(weights: w, alpha: a, rewardMeans: [0.2], rewardStandardErrors: [0.01], kl: kl, klStandardError: se)
        }
        let clp = MethodResult(name: "clp-attn", kind: "clp", points: [point(0.5, 6.6, 0.4), point(0.02, 8.1, 0.5), point(0.1, 7.0, 0.45)])
        let dera = MethodResult(name: "dera", kind: "dera", points: [point(0.02, 13.7, 1.0), point(0.5, 0.2, nil)])
        return ReportData(metadata: RunMetadata(workflowName: "multi-kl", seed: 1, toolVersion: "test", status: "succeeded"),
                          rewardNames: ["rougeL"], methods: [clp, dera])
    }

    static func section(_ html: String) throws -> String {
        try #require(html.components(separatedBy: "<section id=\"kl-per-alpha\">").dropFirst().first?
            .components(separatedBy: "</section>").first)
    }

    @Test func tableHasEveryMethodAtEveryAlphaAndTheSpan() throws {
        let s = try Self.section(ReportRenderer.html(Self.data()))
        let rows = s.components(separatedBy: "<tr>").dropFirst().map { $0.components(separatedBy: "</tr>")[0] }
        #expect(rows.count == 1 + 3 + 1)
        // Sorted by α; DeRa was not evaluated at 0.1.
        #expect(rows[1].contains(">0.02<") && rows[1].contains("8.1 ± 0.5 [7.12, 9.08]") && rows[1].contains("13.7 ± 1 [11.74, 15.66]"))
        #expect(rows[2].contains(">0.1<") && rows[2].contains("7 ± 0.45") && rows[2].contains(">–<"))
        #expect(rows[3].contains(">0.5<") && rows[3].contains("6.6 ± 0.4") && rows[3].contains(">0.2<"))
        // Span: 8.1 − 6.6 = 1.5 for CLP, 13.7 − 0.2 = 13.5 for DeRa.
        #expect(rows[4].contains("span") && rows[4].contains("<b>1.5</b>") && rows[4].contains("<b>13.5</b>"), "\(rows[4])")
        #expect(!s.contains("<th>w</th>"), "one reward and one weighting: no weighting column")
    }

    @Test func severalWeightingsGetOneBlockEach() throws {
        var d = Self.data()
        d.rewardNames = ["a", "b"]
        d.methods = [MethodResult(name: "clp", kind: "clp", points: [
            WeightingPoint(weights: [1, 0], alpha: 0.1, rewardMeans: [0, 0], kl: 3),
            WeightingPoint(weights: [0, 1], alpha: 0.1, rewardMeans: [0, 0], kl: 2),
            WeightingPoint(weights: [1, 0], alpha: 1, rewardMeans: [0, 0], kl: 1),
        ])]
        let s = try Self.section(ReportRenderer.html(d))
        #expect(s.contains("<th>w</th>"))
        let rows = s.components(separatedBy: "<tr>").dropFirst().map { $0.components(separatedBy: "</tr>")[0] }
        #expect(rows.count == 1 + 2 + 1 + 1 + 1)
        #expect(rows[3].contains("(1, 0)") && rows[3].contains("<b>2</b>"))
        #expect(rows[5].contains("(0, 1)") && rows[5].contains("<b>–</b>"))
    }

    @Test func withoutKLWeightsThereIsNoSection() {
        var d = Self.data()
        for k in d.methods.indices { for j in d.methods[k].points.indices { d.methods[k].points[j].alpha = nil } }
        #expect(!ReportRenderer.html(d).contains("kl-per-alpha"))
    }
}
