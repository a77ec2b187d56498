import ClpFlowCore

/// A tiny deterministic summarisation task for tests and smoke runs. A vocabulary of made-up
/// words (consonant–vowel syllables) is drawn from the seed; each document is a sequence of
/// words drawn with Zipf-like weights (word r has weight 1/(r+1)); the summary is a fixed
/// function of the document:
/// - `firstWords(k)`: its first k words;
/// - `mostFrequent(k)`: its k most frequent words, by decreasing count, ties broken by first
///   occurrence.
public struct SyntheticTask: Sendable, Hashable {
    public enum Rule: Sendable, Hashable {
        case firstWords(Int)
        case mostFrequent(Int)
    }

    public var examples: Int
    public var vocabularySize: Int
    public var minWords: Int
    public var maxWords: Int
    public var rule: Rule

    public init(examples: Int = 2000, vocabularySize: Int = 48, minWords: Int = 8, maxWords: Int = 24, rule: Rule = .firstWords(4)) {
        self.examples = examples; self.vocabularySize = vocabularySize
        self.minWords = minWords; self.maxWords = maxWords; self.rule = rule
    }

    static let consonants = Array("bdfgklmnprstvz")
    static let vowels = Array("aeiou")

    /// The task's word list (deterministic for a seed).
    public func vocabulary(seed: UInt64) -> [String] {
        var rng = SeededRandom(seed: seed, stream: "synthetic-vocabulary")
        var words: [String] = []
        var seen = Set<String>()
        while words.count < vocabularySize {
            let syllables = 1 + Int(rng.next() % 3)
            var w = ""
            for _ in 0..<syllables {
                w.append(Self.consonants[Int(rng.next() % UInt64(Self.consonants.count))])
                w.append(Self.vowels[Int(rng.next() % UInt64(Self.vowels.count))])
            }
            if seen.insert(w).inserted { words.append(w) }
        }
        return words
    }

    public func generate(seed: UInt64) throws -> [SummaryExample] {
        guard examples >= 0, vocabularySize >= 2, minWords >= 1, maxWords >= minWords, vocabularySize <= 2000 else {
            throw DataError.invalidConfiguration("synthetic task needs examples ≥ 0, 2 ≤ vocabulary size ≤ 2000 and 1 ≤ min words ≤ max words")
        }
        let vocab = vocabulary(seed: seed)
        let weights = (0..<vocab.count).map { 1.0 / Double($0 + 1) }
        var cumulative: [Double] = []
        var acc = 0.0
        for w in weights { acc += w; cumulative.append(acc) }
        var rng = SeededRandom(seed: seed, stream: "synthetic-documents")
        var out: [SummaryExample] = []
        out.reserveCapacity(examples)
        for i in 0..<examples {
            let n = minWords + Int(rng.next() % UInt64(maxWords - minWords + 1))
            var words: [String] = []
            for _ in 0..<n {
                let u = rng.uniform() * acc
                var lo = 0, hi = cumulative.count - 1
                while lo < hi { let mid = (lo + hi) / 2; if cumulative[mid] > u { hi = mid } else { lo = mid + 1 } }
                words.append(vocab[lo])
            }
            out.append(SummaryExample(id: "synthetic-\(i)", document: words.joined(separator: " "),
                                      summary: Self.summarize(words, rule: rule).joined(separator: " ")))
        }
        return out
    }

    /// The reference summary of a word sequence under a rule.
    public static func summarize(_ words: [String], rule: Rule) -> [String] {
        switch rule {
        case .firstWords(let k):
            return Array(words.prefix(max(0, k)))
        case .mostFrequent(let k):
            var count: [String: Int] = [:], first: [String: Int] = [:]
            for (i, w) in words.enumerated() { count[w, default: 0] += 1; if first[w] == nil { first[w] = i } }
            let ranked = count.keys.sorted { (count[$0]!, -first[$0]!) > (count[$1]!, -first[$1]!) }
            return Array(ranked.prefix(max(0, k)))
        }
    }
}
