import ClpFlowCore

/// Character-length filters applied to normalised examples (lengths count Swift `Character`s,
/// i.e. user-perceived characters).
public struct LengthFilter: Sendable, Hashable, Codable {
    public var minDocumentChars: Int
    public var maxDocumentChars: Int
    public var minSummaryChars: Int
    public var maxSummaryChars: Int

    public init(minDocumentChars: Int = 40, maxDocumentChars: Int = 600, minSummaryChars: Int = 1, maxSummaryChars: Int = 120) {
        self.minDocumentChars = minDocumentChars; self.maxDocumentChars = maxDocumentChars
        self.minSummaryChars = minSummaryChars; self.maxSummaryChars = maxSummaryChars
    }

    /// No filtering at all.
    public static let none = LengthFilter(minDocumentChars: 0, maxDocumentChars: .max, minSummaryChars: 0, maxSummaryChars: .max)

    public func accepts(_ e: SummaryExample) -> Bool {
        let d = e.document.count, s = e.summary.count
        return d >= minDocumentChars && d <= maxDocumentChars && s >= minSummaryChars && s <= maxSummaryChars
    }
}

/// How many examples go to each split.
public enum SplitSizes: Sendable, Hashable {
    /// Each example goes to a split by comparing its hash position u ∈ [0, 1) with the cumulative
    /// fractions (train, then valid, then test); examples beyond the sum are left out. An
    /// example's split depends only on its id and the seed, not on the other examples.
    case fractions(train: Double, valid: Double, test: Double)
    /// Examples are ordered by their hash; the first `valid` go to valid, the next `test` to test,
    /// and the next `train` (all the rest when nil) to train.
    case counts(train: Int?, valid: Int, test: Int)
}

/// Deterministic split by hashing each example's id with the seed.
public enum DataSplitter {
    /// The 64-bit hash position of an id: FNV-1a (64-bit) over the UTF-8 bytes of
    /// "<seed>:<id>", followed by the SplitMix64 finaliser so that nearby ids spread uniformly.
    public static func hashKey(id: String, seed: UInt64) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        @inline(__always) func eat(_ b: UInt8) { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        for b in String(seed).utf8 { eat(b) }
        eat(UInt8(ascii: ":"))
        for b in id.utf8 { eat(b) }
        var z = h
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Orders examples by hash position (ties, which need equal ids, keep input order).
    public static func hashOrder(_ examples: [SummaryExample], seed: UInt64) -> [SummaryExample] {
        let keyed = examples.enumerated().map { (hashKey(id: $0.element.id, seed: seed), $0.offset, $0.element) }
        return keyed.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.map { $0.2 }
    }

    /// Splits examples. With `limit`, only the first `limit` examples in hash order are kept
    /// (a deterministic subsample) before splitting. Each split is in hash order.
    public static func split(_ examples: [SummaryExample], sizes: SplitSizes, seed: UInt64, limit: Int? = nil) throws -> DatasetSplits {
        if let limit, limit < 0 { throw DataError.invalidSplit("limit must be non-negative, got \(limit)") }
        var keyed = examples.enumerated().map { (key: hashKey(id: $0.element.id, seed: seed), index: $0.offset, example: $0.element) }
        keyed.sort { ($0.key, $0.index) < ($1.key, $1.index) }
        if let limit, keyed.count > limit { keyed = Array(keyed.prefix(limit)) }
        let ordered = keyed.map(\.example)
        switch sizes {
        case .fractions(let ft, let fv, let fs):
            guard ft >= 0, fv >= 0, fs >= 0, ft + fv + fs <= 1 + 1e-9, ft + fv + fs > 0 else {
                throw DataError.invalidSplit("fractions must be non-negative with a positive sum of at most 1, got train \(ft), valid \(fv), test \(fs)")
            }
            var out = DatasetSplits(train: [], valid: [], test: [])
            for k in keyed {
                let u = Double(k.key >> 11) * 0x1.0p-53
                let e = k.example
                if u < ft { out.train.append(e) } else if u < ft + fv { out.valid.append(e) } else if u < ft + fv + fs { out.test.append(e) }
            }
            return out
        case .counts(let nt, let nv, let ns):
            guard nv >= 0, ns >= 0, (nt ?? 0) >= 0 else {
                throw DataError.invalidSplit("counts must be non-negative, got train \(nt.map(String.init) ?? "rest"), valid \(nv), test \(ns)")
            }
            let needed = nv + ns + (nt ?? 1)
            if ordered.count < needed {
                throw DataError.tooFewExamples(needed: needed, available: ordered.count,
                    detail: "valid \(nv) + test \(ns) + train \(nt.map(String.init) ?? "at least 1")")
            }
            let valid = Array(ordered[0..<nv])
            let test = Array(ordered[nv..<(nv + ns)])
            let rest = ordered[(nv + ns)...]
            let train = nt.map { Array(rest.prefix($0)) } ?? Array(rest)
            return DatasetSplits(train: train, valid: valid, test: test)
        }
    }
}
