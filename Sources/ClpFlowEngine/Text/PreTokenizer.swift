/// GPT-2's pre-tokenisation, written out by hand. It splits text into the same pieces as the
/// pattern
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// matched left to right over Unicode scalars, trying the alternatives in order at each position:
/// 1. an apostrophe contraction (`'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d`, case-sensitive);
/// 2. an optional U+0020 space followed by a run of letters (general category L*);
/// 3. an optional space followed by a run of numbers (N*);
/// 4. an optional space followed by a run of scalars that are neither whitespace nor letters nor
///    numbers;
/// 5. a run of whitespace (the Unicode White_Space property) that is followed by the end of text
///    or, after backtracking one scalar, by whitespace — so the last space before a word is left
///    to attach to that word;
/// 6. otherwise a run of whitespace.
public enum PreTokenizer {
    enum Class { case letter, number, space, other }

    /// Classes of the ASCII scalars (White_Space in ASCII is U+0009–U+000D and U+0020).
    static let asciiClass: [Class] = (0..<128).map { v -> Class in
        switch v {
        case 0x09...0x0D, 0x20: return .space
        case 0x30...0x39: return .number
        case 0x41...0x5A, 0x61...0x7A: return .letter
        default: return .other
        }
    }

    @inline(__always) static func classify(_ u: Unicode.Scalar) -> Class {
        if u.value < 0x80 { return asciiClass[Int(u.value)] }
        let p = u.properties
        if p.isWhitespace { return .space }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }

    /// Ranges (scalar offsets into `s`) of the pieces of `s`, in order. They tile `s` exactly.
    public static func split(_ s: ArraySlice<Unicode.Scalar>) -> [Range<Int>] {
        var out: [Range<Int>] = []
        let base = s.startIndex
        let n = s.count
        if n == 0 { return out }
        var cls = [Class](repeating: .other, count: n)
        for k in 0..<n { cls[k] = classify(s[base + k]) }
        @inline(__always) func at(_ k: Int) -> Unicode.Scalar { s[base + k] }
        func runEnd(_ from: Int, _ c: Class) -> Int {
            var j = from
            while j < n && cls[j] == c { j += 1 }
            return j
        }
        var i = 0
        while i < n {
            // 1. contractions
            if at(i) == "'" && i + 1 < n {
                let a = at(i + 1)
                if a == "s" || a == "t" || a == "m" || a == "d" { out.append(i..<(i + 2)); i += 2; continue }
                if i + 2 < n {
                    let b = at(i + 2)
                    if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") {
                        out.append(i..<(i + 3)); i += 3; continue
                    }
                }
            }
            // 2–4. optional space, then a run of one class
            let c = cls[i]
            if at(i) == " " && i + 1 < n && cls[i + 1] != .space {
                let j = runEnd(i + 1, cls[i + 1])
                out.append(i..<j); i = j; continue
            }
            if c != .space {
                let j = runEnd(i, c)
                out.append(i..<j); i = j; continue
            }
            // 5–6. whitespace
            let j = runEnd(i, .space)
            if j == n || j - i == 1 {
                out.append(i..<j); i = j
            } else {
                out.append(i..<(j - 1)); i = j - 1
            }
        }
        return out
    }

    /// Convenience: the pieces of a string.
    public static func pieces(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        return split(scalars[...]).map { r in
            var v = String.UnicodeScalarView()
            v.append(contentsOf: scalars[r])
            return String(v)
        }
    }
}
