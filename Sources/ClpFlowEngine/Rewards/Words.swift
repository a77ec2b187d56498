import Foundation

/// The word tokenisation shared by the built-in rewards (docs/rewards.md): the text is put in
/// Unicode NFC form and lowercased, then a word is a maximal run of scalars whose general
/// category is a letter (L*), a mark (M*) or a number (N*). Everything else separates words, so
/// "don't" gives "don" and "t", and "GPT-2" gives "gpt" and "2".
public enum Words {
    public static func words(_ text: String) -> [String] {
        let normalized = text.precomposedStringWithCanonicalMapping.lowercased()
        var out: [String] = []
        var current = String.UnicodeScalarView()
        for u in normalized.unicodeScalars {
            if isWordScalar(u) {
                current.append(u)
            } else if !current.isEmpty {
                out.append(String(current)); current = String.UnicodeScalarView()
            }
        }
        if !current.isEmpty { out.append(String(current)) }
        return out
    }

    @inline(__always) static func isWordScalar(_ u: Unicode.Scalar) -> Bool {
        if u.value < 0x80 {
            let v = u.value
            return (0x30...0x39).contains(v) || (0x61...0x7A).contains(v) || (0x41...0x5A).contains(v)
        }
        switch u.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark,
             .decimalNumber, .letterNumber, .otherNumber:
            return true
        default:
            return false
        }
    }

    /// Words that are not stop words.
    public static func contentWords(_ text: String) -> [String] {
        words(text).filter { !stopWords.contains($0) }
    }

    /// Contiguous n-grams of a word list (empty when there are fewer than n words).
    public static func ngrams(_ words: [String], _ n: Int) -> [[String]] {
        guard n >= 1, words.count >= n else { return [] }
        return (0...(words.count - n)).map { Array(words[$0..<($0 + n)]) }
    }

    /// Multiset of n-grams.
    public static func ngramCounts(_ words: [String], _ n: Int) -> [[String]: Int] {
        var c: [[String]: Int] = [:]
        for g in ngrams(words, n) { c[g, default: 0] += 1 }
        return c
    }

    /// English function words ignored by "content word" rewards (faithfulness, coverage).
    public static let stopWords: Set<String> = [
        "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are",
        "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by",
        "can", "could", "did", "do", "does", "doing", "down", "during", "each", "either", "else", "etc",
        "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers",
        "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself",
        "just", "may", "me", "might", "more", "most", "must", "my", "myself", "no", "nor", "not", "now",
        "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own",
        "same", "shall", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs",
        "them", "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too",
        "under", "until", "up", "upon", "very", "via", "was", "we", "were", "what", "when", "where",
        "which", "while", "who", "whom", "why", "will", "with", "within", "without", "would", "you",
        "your", "yours", "yourself", "yourselves",
    ]
}
