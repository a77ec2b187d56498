import Foundation

/// Escaping and number formatting shared by the HTML, SVG and terminal output.
public enum ReportText {
    /// Escapes text for HTML and SVG element content AND double- or single-quoted attribute
    /// values: `& < > " '` become character references. Control characters other than tab,
    /// newline and carriage return (which HTML forbids) become U+FFFD.
    public static func html(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(u)
            default:
                if u.value < 0x20 || u.value == 0x7f || (0x80..<0xa0).contains(u.value) {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }

    /// Makes text safe to print on a terminal: control characters (including ESC, so no ANSI
    /// sequence from data can reach the terminal) become "?", newlines become spaces.
    public static func terminal(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            if u == "\n" || u == "\r" || u == "\t" {
                out += " "
            } else if u.value < 0x20 || u.value == 0x7f || (0x80..<0xa0).contains(u.value) {
                out += "?"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// A number with `significant` significant digits, no exponent for ordinary magnitudes;
    /// "–" for nil or non-finite values.
    public static func number(_ v: Double?, significant: Int = 4) -> String {
        guard let v, v.isFinite else { return "–" }
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e6 || a < 1e-4 { return String(format: "%.\(max(1, significant - 1))e", v) }
        let digitsBefore = Int(floor(log10(a))) + 1
        let decimals = max(0, significant - digitsBefore)
        var s = String(format: "%.\(decimals)f", v)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        if s == "-0" { s = "0" }
        return s
    }

    /// A number with a fixed count of decimals; "–" for nil or non-finite values.
    public static func fixed(_ v: Double?, decimals: Int) -> String {
        guard let v, v.isFinite else { return "–" }
        let s = String(format: "%.\(decimals)f", v)
        return s.hasPrefix("-") && Double(s) == 0 ? String(s.dropFirst()) : s
    }

    /// "(0.3, 0.7)"
    public static func vector(_ w: [Double]) -> String {
        "(" + w.map { number($0, significant: 3) }.joined(separator: ", ") + ")"
    }

    /// A share 0…1 as a percentage, "–" for nil.
    public static func percent(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "–" }
        return fixed(v * 100, decimals: 0) + "%"
    }

    /// Wall time: "0.42 s", "12.3 s", "4 min 05 s", "1 h 02 min".
    public static func duration(_ seconds: Double?) -> String {
        guard let s = seconds, s.isFinite, s >= 0 else { return "–" }
        if s < 10 { return fixed(s, decimals: 2) + " s" }
        if s < 60 { return fixed(s, decimals: 1) + " s" }
        let total = Int(s.rounded())
        if total < 3600 { return "\(total / 60) min " + String(format: "%02d", total % 60) + " s" }
        return "\(total / 3600) h " + String(format: "%02d", (total % 3600) / 60) + " min"
    }
}
