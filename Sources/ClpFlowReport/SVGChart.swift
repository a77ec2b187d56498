import Foundation

// A small, dependency-free SVG chart: linear scales with "nice" ticks, grid, axis labels, a title,
// scatter markers (with optional error bars and tooltips), polylines and a legend. Every chart is
// one self-contained inline <svg> element; all text goes through ReportText.html.

/// Tick values for a linear axis at "nice" round numbers (1, 2 or 5 × 10^k apart) that cover
/// [min, max] with at most `maxTicks` ticks: the smallest such step wins, so the axis wastes
/// little room. A degenerate range is widened around its value.
public struct NiceScale: Sendable, Equatable {
    public let lower: Double
    public let upper: Double
    public let step: Double
    public let ticks: [Double]

    public init(min lo: Double, max hi: Double, maxTicks: Int = 7) {
        var lo = lo, hi = hi
        if !lo.isFinite || !hi.isFinite { lo = 0; hi = 1 }
        if lo > hi { swap(&lo, &hi) }
        if lo == hi {
            let pad = lo == 0 ? 1 : abs(lo) * 0.1
            lo -= pad; hi += pad
        }
        let limit = Swift.max(2, maxTicks)
        var magnitude = pow(10, floor(log10((hi - lo) / Double(limit))))
        var chosen: (step: Double, first: Double, last: Double)? = nil
        while chosen == nil {
            for m in [1.0, 2.0, 5.0] {
                let step = m * magnitude
                let first = (lo / step).rounded(.down), last = (hi / step).rounded(.up)
                if last - first + 1 <= Double(limit) { chosen = (step, first, last); break }
            }
            magnitude *= 10
        }
        let (step, first, last) = chosen!
        self.step = step
        self.lower = first * step
        self.upper = last * step
        var ticks: [Double] = []
        var k = first
        while k <= last + 0.5 {
            let v = k * step
            ticks.append(v == 0 ? 0 : v)  // no negative zero
            k += 1
        }
        self.ticks = ticks
    }

    /// Tick label with just enough decimals for the step.
    public func label(_ v: Double) -> String {
        let magnitude = Swift.max(abs(lower), abs(upper))
        if magnitude >= 1e6 || (magnitude > 0 && magnitude < 1e-3) {
            return String(format: "%.2g", v)
        }
        let decimals = Swift.max(0, Int(-floor(log10(step) + 1e-9)))
        return ReportText.fixed(v, decimals: decimals)
    }
}

/// Maps a data interval onto a pixel interval.
struct LinearScale {
    let d0: Double, d1: Double, r0: Double, r1: Double
    func callAsFunction(_ v: Double) -> Double { r0 + (v - d0) / (d1 - d0) * (r1 - r0) }
}

enum MarkerShape: CaseIterable {
    case circle, square, triangle, diamond, triangleDown, star
}

struct SeriesStyle {
    var color: String
    var marker: MarkerShape
    var dashed = false
}

struct ChartPoint {
    var x: Double
    var y: Double
    var xErr: Double? = nil
    var yErr: Double? = nil
    /// Tooltip text (shown by the browser on hover, via <title>).
    var tooltip: String = ""
    /// A short label drawn next to the marker (visible without hovering), e.g. the weighting.
    var label: String? = nil
}

struct ChartSeries {
    var name: String
    var style: SeriesStyle
    var points: [ChartPoint] = []
    var lines: [[(x: Double, y: Double)]] = []
    var markerRadius = 4.5
}

/// One chart rendered as an inline <svg>.
struct Chart {
    var title: String
    var xLabel: String
    var yLabel: String
    var series: [ChartSeries]
    /// Stable element id prefix (from the section), used for aria-labelledby.
    var id: String
    var width = 540.0
    var plotHeight = 300.0

    private let left = 70.0, right = 18.0, top = 36.0, bottom = 50.0

    func svg() -> String {
        let plotLeft = left, plotRight = width - right
        let plotTop = top, plotBottom = top + plotHeight

        var xs: [Double] = [], ys: [Double] = []
        for s in series {
            for p in s.points where p.x.isFinite && p.y.isFinite {
                xs.append(p.x); ys.append(p.y)
                if let e = p.xErr, e.isFinite { xs.append(p.x - e); xs.append(p.x + e) }
                if let e = p.yErr, e.isFinite { ys.append(p.y - e); ys.append(p.y + e) }
            }
            for line in s.lines { for q in line where q.x.isFinite && q.y.isFinite { xs.append(q.x); ys.append(q.y) } }
        }
        let hasData = !xs.isEmpty
        let xScale = NiceScale(min: xs.min() ?? 0, max: xs.max() ?? 1)
        let yScale = NiceScale(min: ys.min() ?? 0, max: ys.max() ?? 1)
        // A small inset keeps markers at the ends of the range off the frame.
        let inset = 8.0
        let sx = LinearScale(d0: xScale.lower, d1: xScale.upper, r0: plotLeft + inset, r1: plotRight - inset)
        let sy = LinearScale(d0: yScale.lower, d1: yScale.upper, r0: plotBottom - inset, r1: plotTop + inset)

        let legend = legendLayout(maxWidth: width - 24)
        let height = plotBottom + bottom + legend.height + 6

        var o = ""
        let titleID = "\(id)-title"
        o += "<svg class=\"chart\" width=\"\(px(width))\" height=\"\(px(height))\" viewBox=\"0 0 \(px(width)) \(px(height))\" role=\"img\" aria-labelledby=\"\(ReportText.html(titleID))\">"
        o += "<title id=\"\(ReportText.html(titleID))\">\(ReportText.html(title))</title>"
        o += "<rect class=\"bg\" x=\"0\" y=\"0\" width=\"\(px(width))\" height=\"\(px(height))\" fill=\"#ffffff\"/>"
        o += "<text class=\"chart-title\" x=\"\(px(width / 2))\" y=\"22\" text-anchor=\"middle\">\(ReportText.html(title))</text>"

        // Grid and ticks.
        o += "<g class=\"grid\" stroke=\"#e3e6ea\" stroke-width=\"1\">"
        for t in xScale.ticks { let x = sx(t); o += "<line x1=\"\(px(x))\" y1=\"\(px(plotTop))\" x2=\"\(px(x))\" y2=\"\(px(plotBottom))\"/>" }
        for t in yScale.ticks { let y = sy(t); o += "<line x1=\"\(px(plotLeft))\" y1=\"\(px(y))\" x2=\"\(px(plotRight))\" y2=\"\(px(y))\"/>" }
        o += "</g>"
        o += "<rect class=\"frame\" x=\"\(px(plotLeft))\" y=\"\(px(plotTop))\" width=\"\(px(plotRight - plotLeft))\" height=\"\(px(plotHeight))\" fill=\"none\" stroke=\"#5f6b7a\" stroke-width=\"1\"/>"
        o += "<g class=\"x-ticks\" font-size=\"11\" fill=\"#333\" text-anchor=\"middle\">"
        for t in xScale.ticks {
            let x = sx(t)
            o += "<line x1=\"\(px(x))\" y1=\"\(px(plotBottom))\" x2=\"\(px(x))\" y2=\"\(px(plotBottom + 5))\" stroke=\"#5f6b7a\"/>"
            o += "<text x=\"\(px(x))\" y=\"\(px(plotBottom + 18))\">\(ReportText.html(xScale.label(t)))</text>"
        }
        o += "</g><g class=\"y-ticks\" font-size=\"11\" fill=\"#333\" text-anchor=\"end\">"
        for t in yScale.ticks {
            let y = sy(t)
            o += "<line x1=\"\(px(plotLeft - 5))\" y1=\"\(px(y))\" x2=\"\(px(plotLeft))\" y2=\"\(px(y))\" stroke=\"#5f6b7a\"/>"
            o += "<text x=\"\(px(plotLeft - 8))\" y=\"\(px(y + 4))\">\(ReportText.html(yScale.label(t)))</text>"
        }
        o += "</g>"
        o += "<text class=\"x-label\" x=\"\(px((plotLeft + plotRight) / 2))\" y=\"\(px(plotBottom + 40))\" text-anchor=\"middle\" font-size=\"12.5\">\(ReportText.html(xLabel))</text>"
        let ly = (plotTop + plotBottom) / 2
        o += "<text class=\"y-label\" x=\"16\" y=\"\(px(ly))\" text-anchor=\"middle\" font-size=\"12.5\" transform=\"rotate(-90 16 \(px(ly)))\">\(ReportText.html(yLabel))</text>"

        if !hasData {
            o += "<text x=\"\(px((plotLeft + plotRight) / 2))\" y=\"\(px(ly))\" text-anchor=\"middle\" fill=\"#777\">no data</text>"
        }

        // Lines first, then error bars, then markers on top.
        for s in series {
            for line in s.lines {
                let pts = line.filter { $0.x.isFinite && $0.y.isFinite }
                guard pts.count >= 2 else { continue }
                let d = pts.map { "\(px(sx($0.x))),\(px(sy($0.y)))" }.joined(separator: " ")
                let dash = s.style.dashed ? " stroke-dasharray=\"6 4\"" : ""
                o += "<polyline class=\"series-line\" points=\"\(d)\" fill=\"none\" stroke=\"\(s.style.color)\" stroke-width=\"2\" stroke-linejoin=\"round\"\(dash)/>"
            }
        }
        for s in series {
            for p in s.points where p.x.isFinite && p.y.isFinite {
                let cx = sx(p.x), cy = sy(p.y)
                if let e = p.yErr, e.isFinite, e > 0 {
                    let y0 = sy(p.y - e), y1 = sy(p.y + e)
                    o += "<path class=\"err\" d=\"M\(px(cx)),\(px(y0))V\(px(y1))M\(px(cx - 3)),\(px(y0))H\(px(cx + 3))M\(px(cx - 3)),\(px(y1))H\(px(cx + 3))\" stroke=\"\(s.style.color)\" stroke-opacity=\"0.55\" fill=\"none\"/>"
                }
                if let e = p.xErr, e.isFinite, e > 0 {
                    let x0 = sx(p.x - e), x1 = sx(p.x + e)
                    o += "<path class=\"err\" d=\"M\(px(x0)),\(px(cy))H\(px(x1))M\(px(x0)),\(px(cy - 3))V\(px(cy + 3))M\(px(x1)),\(px(cy - 3))V\(px(cy + 3))\" stroke=\"\(s.style.color)\" stroke-opacity=\"0.55\" fill=\"none\"/>"
                }
            }
        }
        for s in series {
            o += "<g class=\"series\" data-series=\"\(ReportText.html(s.name))\">"
            for p in s.points where p.x.isFinite && p.y.isFinite {
                o += Chart.marker(s.style, x: sx(p.x), y: sy(p.y), r: s.markerRadius,
                                  tooltip: p.tooltip.isEmpty ? s.name : p.tooltip)
            }
            o += "</g>"
        }
        for s in series where s.points.contains(where: { $0.label != nil }) {
            o += "<g class=\"point-labels\" font-size=\"9.5\" fill=\"\(s.style.color)\">"
            for p in s.points where p.x.isFinite && p.y.isFinite {
                guard let label = p.label, !label.isEmpty else { continue }
                o += "<text class=\"point-label\" x=\"\(px(sx(p.x) + 6))\" y=\"\(px(sy(p.y) - 6))\">\(ReportText.html(label))</text>"
            }
            o += "</g>"
        }

        // Legend below the plot.
        o += "<g class=\"legend\" font-size=\"12\" fill=\"#222\">"
        let legendTop = plotBottom + bottom + 4
        for item in legend.items {
            let s = series[item.index]
            let x = 12 + item.x, y = legendTop + item.y
            if !s.lines.isEmpty {
                let dash = s.style.dashed ? " stroke-dasharray=\"5 3\"" : ""
                o += "<line x1=\"\(px(x))\" y1=\"\(px(y))\" x2=\"\(px(x + 22))\" y2=\"\(px(y))\" stroke=\"\(s.style.color)\" stroke-width=\"2\"\(dash)/>"
            }
            if !s.points.isEmpty || s.lines.isEmpty {
                o += Chart.marker(s.style, x: x + 11, y: y, r: 4.5, tooltip: s.name)
            }
            o += "<text class=\"legend-entry\" x=\"\(px(x + 28))\" y=\"\(px(y + 4))\">\(ReportText.html(item.label))</text>"
        }
        o += "</g></svg>"
        return o
    }

    private struct LegendItem { var index: Int; var label: String; var x: Double; var y: Double }

    private func legendLayout(maxWidth: Double) -> (items: [LegendItem], height: Double) {
        var items: [LegendItem] = []
        var x = 0.0, y = 8.0
        for (i, s) in series.enumerated() {
            let label = s.name.count > 48 ? String(s.name.prefix(47)) + "…" : s.name
            let w = 36 + 6.8 * Double(label.count)
            if x > 0 && x + w > maxWidth { x = 0; y += 20 }
            items.append(LegendItem(index: i, label: label, x: x, y: y))
            x += w + 14
        }
        return (items, series.isEmpty ? 0 : y + 12)
    }

    static func marker(_ style: SeriesStyle, x: Double, y: Double, r: Double, tooltip: String) -> String {
        let fill = "fill=\"\(style.color)\" stroke=\"#ffffff\" stroke-width=\"0.9\""
        let t = "<title>\(ReportText.html(tooltip))</title>"
        switch style.marker {
        case .circle:
            return "<circle cx=\"\(px(x))\" cy=\"\(px(y))\" r=\"\(px(r))\" \(fill)>\(t)</circle>"
        case .square:
            let s = r * 0.9
            return "<rect x=\"\(px(x - s))\" y=\"\(px(y - s))\" width=\"\(px(2 * s))\" height=\"\(px(2 * s))\" \(fill)>\(t)</rect>"
        case .triangle:
            let s = r * 1.2
            return "<path d=\"M\(px(x)),\(px(y - s))L\(px(x + s)),\(px(y + s * 0.8))L\(px(x - s)),\(px(y + s * 0.8))Z\" \(fill)>\(t)</path>"
        case .triangleDown:
            let s = r * 1.2
            return "<path d=\"M\(px(x)),\(px(y + s))L\(px(x + s)),\(px(y - s * 0.8))L\(px(x - s)),\(px(y - s * 0.8))Z\" \(fill)>\(t)</path>"
        case .diamond:
            let s = r * 1.25
            return "<path d=\"M\(px(x)),\(px(y - s))L\(px(x + s)),\(px(y))L\(px(x)),\(px(y + s))L\(px(x - s)),\(px(y))Z\" \(fill)>\(t)</path>"
        case .star:
            var d = ""
            let outer = r * 1.6, inner = r * 0.7
            for k in 0..<10 {
                let a = -Double.pi / 2 + Double(k) * Double.pi / 5
                let rr = k % 2 == 0 ? outer : inner
                d += (k == 0 ? "M" : "L") + "\(px(x + rr * cos(a))),\(px(y + rr * sin(a)))"
            }
            return "<path d=\"\(d)Z\" \(fill)>\(t)</path>"
        }
    }
}

/// Pixel coordinate with one decimal.
@inline(__always) func px(_ v: Double) -> String {
    guard v.isFinite else { return "0" }
    let r = (v * 10).rounded() / 10
    if r == r.rounded() { return String(Int(r)) }
    return String(format: "%.1f", r)
}
