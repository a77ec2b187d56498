/// ROUGE-N and ROUGE-L F1 of the response against the reference (Lin, 2004), on `Words.words`
/// (no stemming, no stop-word removal).
public struct RougeReward: Reward {
    public enum Variant: Sendable, Hashable {
        /// Clipped n-gram overlap: matches = Σ_g min(count_resp(g), count_ref(g)).
        case n(Int)
        /// Longest common subsequence of the two word sequences.
        case l
    }

    public let name: String
    public let variant: Variant

    public init(name: String, variant: Variant) throws {
        if case .n(let k) = variant, k < 1 { throw RewardError.invalidOption(reward: name, message: "ROUGE-N needs n ≥ 1, got \(k)") }
        self.name = name; self.variant = variant
    }

    public func score(_ batch: [RewardInput]) throws -> [Double] {
        batch.map { Self.f1(response: Words.words($0.response), reference: Words.words($0.reference), variant: variant) }
    }

    /// F1 = 2PR/(P+R) with P = matches/|response units|, R = matches/|reference units|; 0 when
    /// there are no matches (including when either side is empty).
    public static func f1(response: [String], reference: [String], variant: Variant) -> Double {
        let matches: Int, respTotal: Int, refTotal: Int
        switch variant {
        case .n(let k):
            let r = Words.ngramCounts(response, k), g = Words.ngramCounts(reference, k)
            var m = 0
            for (gram, c) in r { m += min(c, g[gram] ?? 0) }
            matches = m
            respTotal = max(0, response.count - k + 1)
            refTotal = max(0, reference.count - k + 1)
        case .l:
            matches = lcs(response, reference)
            respTotal = response.count
            refTotal = reference.count
        }
        if matches == 0 || respTotal == 0 || refTotal == 0 { return 0 }
        let p = Double(matches) / Double(respTotal), r = Double(matches) / Double(refTotal)
        return 2 * p * r / (p + r)
    }

    /// Length of the longest common subsequence (dynamic programming, O(|a|·|b|) time, O(|b|) memory).
    public static func lcs(_ a: [String], _ b: [String]) -> Int {
        if a.isEmpty || b.isEmpty { return 0 }
        var prev = [Int](repeating: 0, count: b.count + 1), cur = prev
        for i in 1...a.count {
            for j in 1...b.count {
                cur[j] = a[i - 1] == b[j - 1] ? prev[j - 1] + 1 : max(prev[j], cur[j - 1])
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}
