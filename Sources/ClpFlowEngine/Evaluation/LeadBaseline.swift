import ClpFlowCore
import Foundation

/// Lead-k: the trivial extractive summary made of the document's first k words (split on white
/// space, kept as written). It is scored with the workflow's own rewards on the same prompts as
/// every method, so π_ref and the policies can be read against copying.
public enum LeadBaseline {
    /// The k values shown by default.
    public static let defaultKs = [4, 6, 8, 10]

    /// The first `k` white-space separated words of `document`, joined by single spaces.
    public static func text(_ document: String, k: Int) -> String {
        guard k > 0 else { return "" }
        return document.split(whereSeparator: { $0.isWhitespace }).prefix(k).joined(separator: " ")
    }

    /// One Lead-k result: each reward's mean and standard error over the prompts.
    public struct Point: Sendable, Hashable, Codable {
        public var k: Int
        public var rewards: [Estimate]
        public init(k: Int, rewards: [Estimate]) { self.k = k; self.rewards = rewards }
    }

    /// Scores Lead-k for every k in `ks` on `examples` (prompt text as the policies see it).
    public static func evaluate(_ examples: [RLExample], ks: [Int] = defaultKs, prompt: (RLExample) -> String,
                                score: RewardScorer) throws -> [Point] {
        try ks.map { k in
            let inputs = examples.map {
                RewardInput(prompt: prompt($0), document: $0.document, response: text($0.document, k: k), reference: $0.reference)
            }
            let rows = try score(inputs)
            let m = rows.first?.count ?? 0
            return Point(k: k, rewards: (0..<m).map { i in Estimate(rows.map { $0[i] }) })
        }
    }
}
