/// "How far does each method's KL move with α?": in multi-KL runs, the KL to π_ref of every
/// method at each evaluated KL weight α, with its standard error and 95 % interval (normal
/// approximation over prompts), one row per α (per weighting and α when the run evaluates several
/// weightings), and the span KL(smallest α) − KL(largest α) of each method. A policy that steers
/// with α has a large span; one that ignores α has a span near 0.
extension ReportRenderer {
    /// One row of the table: a weighting, an α and each method's KL there (nil: not evaluated).
    struct KLPerAlphaRow: Equatable {
        var weights: [Double]
        var alpha: Double
        var cells: [KLCell?]
    }

    struct KLCell: Equatable {
        var mean: Double
        var standardError: Double?

        /// "6.61 ± 0.40 [5.83, 7.39]", or the mean alone without a standard error.
        var text: String {
            guard let se = standardError, se.isFinite else { return num(mean) }
            return "\(num(mean)) ± \(num(se)) [\(num(mean - 1.96 * se)), \(num(mean + 1.96 * se))]"
        }
    }

    /// The methods with KL at some α, in display order, and the rows sorted by weighting (in
    /// order of first appearance) and by α.
    static func klPerAlpha(_ ctx: Context) -> (methods: [String], rows: [KLPerAlphaRow]) {
        let methods = ctx.data.methods.filter { m in ctx.validPoints(m).contains { $0.alpha != nil && ($0.kl?.isFinite ?? false) } }
        guard !methods.isEmpty else { return ([], []) }
        var keys: [[Double]: Set<Double>] = [:]
        var weightOrder: [[Double]] = []
        for m in methods {
            for p in ctx.validPoints(m) where p.alpha != nil && (p.kl?.isFinite ?? false) {
                if keys[p.weights] == nil { weightOrder.append(p.weights) }
                keys[p.weights, default: []].insert(p.alpha!)
            }
        }
        var rows: [KLPerAlphaRow] = []
        for w in weightOrder {
            for a in keys[w]!.sorted() {
                let cells: [KLCell?] = methods.map { m in
                    guard let p = ctx.validPoints(m).first(where: { $0.weights == w && $0.alpha == a && ($0.kl?.isFinite ?? false) })
                    else { return nil }
                    return KLCell(mean: p.kl!, standardError: p.klStandardError)
                }
                rows.append(KLPerAlphaRow(weights: w, alpha: a, cells: cells))
            }
        }
        return (methods.map(\.name), rows)
    }

    /// KL at the smallest evaluated α minus KL at the largest, per method, for one weighting
    /// (nil unless the method has both).
    static func klSpan(_ rows: [KLPerAlphaRow], weights: [Double], method k: Int) -> Double? {
        let mine = rows.filter { $0.weights == weights && $0.cells[k] != nil }
        guard let lo = mine.min(by: { $0.alpha < $1.alpha }), let hi = mine.max(by: { $0.alpha < $1.alpha }), lo.alpha < hi.alpha
        else { return nil }
        return lo.cells[k]!.mean - hi.cells[k]!.mean
    }

    static func klPerAlphaSection(_ ctx: Context) -> String {
        let (methods, rows) = klPerAlpha(ctx)
        guard !rows.isEmpty else { return "" }
        var weightOrder: [[Double]] = []
        for r in rows where !weightOrder.contains(r.weights) { weightOrder.append(r.weights) }
        let showWeights = weightOrder.count > 1 || ctx.m > 1
        var o = "<section id=\"kl-per-alpha\"><h2>KL per α</h2><p class=\"note\">KL to π_ref (nats per response) of each method at each evaluated KL weight α: mean over the evaluation prompts ± standard error, with the 95 % interval (mean ± 1.96 standard errors). The last row of each weighting is the span KL(smallest α) − KL(largest α): how far the method moves along the KL axis over the evaluated range.</p>"
        o += "<div class=\"scroll\"><table><thead><tr>\(showWeights ? "<th>w</th>" : "")<th class=\"n\">α</th>"
        o += methods.map { "<th class=\"n\">\(swatch(ctx, $0))</th>" }.joined() + "</tr></thead><tbody>"
        for w in weightOrder {
            for r in rows where r.weights == w {
                o += "<tr>\(showWeights ? "<td>\(e(ReportText.vector(w)))</td>" : "")<td class=\"n\">\(num(r.alpha))</td>"
                o += r.cells.map { "<td class=\"n\">\(e($0?.text ?? "–"))</td>" }.joined() + "</tr>"
            }
            o += "<tr>\(showWeights ? "<td>\(e(ReportText.vector(w)))</td>" : "")<td class=\"n\"><b>span</b></td>"
            o += methods.indices.map { "<td class=\"n\"><b>\(num(klSpan(rows, weights: w, method: $0)))</b></td>" }.joined() + "</tr>"
        }
        return o + "</tbody></table></div></section>\n"
    }
}
