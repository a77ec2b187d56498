import Foundation

/// Faithfulness: the share of the response's content-word occurrences (stop words removed) that
/// also occur as a word anywhere in the source document. 0 when the response has no content word.
public struct FaithfulnessReward: Reward {
    public let name: String
    public init(name: String = "faithfulness") { self.name = name }

    public func score(_ batch: [RewardInput]) throws -> [Double] {
        batch.map { input in
            let resp = Words.contentWords(input.response)
            if resp.isEmpty { return 0 }
            let doc = Set(Words.words(input.document))
            return Double(resp.filter { doc.contains($0) }.count) / Double(resp.count)
        }
    }
}

/// Coverage: TF-IDF weighted recall of the document's content words. Each content-word type t of
/// the document weighs tf(t) · idf(t), with tf the count in the document and the smoothed
/// idf(t) = ln((1 + N) / (1 + df(t))) + 1 computed from N corpus texts (the training split's
/// documents), df(t) being the number of them containing t. The score is the weight of the types
/// that also appear in the response divided by the total weight; 0 when the document has no
/// content word.
public struct CoverageReward: Reward {
    public let name: String
    public let corpusSize: Int
    let documentFrequency: [String: Int]

    public init(name: String = "coverage", idfCorpus: [String]) {
        self.name = name
        self.corpusSize = idfCorpus.count
        var df: [String: Int] = [:]
        for text in idfCorpus { for w in Set(Words.contentWords(text)) { df[w, default: 0] += 1 } }
        self.documentFrequency = df
    }

    public func idf(_ word: String) -> Double {
        log(Double(1 + corpusSize) / Double(1 + (documentFrequency[word] ?? 0))) + 1
    }

    public func score(_ batch: [RewardInput]) throws -> [Double] {
        batch.map { input in
            var tf: [String: Int] = [:]
            for w in Words.contentWords(input.document) { tf[w, default: 0] += 1 }
            if tf.isEmpty { return 0 }
            let resp = Set(Words.words(input.response))
            var total = 0.0, covered = 0.0
            for (w, c) in tf.sorted(by: { $0.key < $1.key }) {
                let weight = Double(c) * idf(w)
                total += weight
                if resp.contains(w) { covered += weight }
            }
            return covered / total
        }
    }
}

/// Novelty: the share of the response's word n-gram occurrences that do not occur in the source
/// document. 0 when the response has fewer than n words.
public struct NoveltyReward: Reward {
    public let name: String
    public let n: Int
    public init(name: String = "novelty", n: Int = 2) throws {
        guard n >= 1 else { throw RewardError.invalidOption(reward: name, message: "n must be ≥ 1, got \(n)") }
        self.name = name; self.n = n
    }

    public func score(_ batch: [RewardInput]) throws -> [Double] {
        batch.map { input in
            let grams = Words.ngrams(Words.words(input.response), n)
            if grams.isEmpty { return 0 }
            let doc = Set(Words.ngrams(Words.words(input.document), n))
            return Double(grams.filter { !doc.contains($0) }.count) / Double(grams.count)
        }
    }
}
