/// Learns byte-level BPE merges from a corpus.
///
/// The corpus is pre-tokenised exactly as `encode` does (see `PreTokenizer`), identical pieces are
/// counted once with their frequency, and merges are learned greedily: at each step the adjacent
/// pair of tokens with the highest total frequency becomes a new token. Ties are broken by the
/// smaller left id, then the smaller right id (byte tokens have ids 0–255 in byte order, learned
/// tokens take increasing ids from 258 in the order they are created), so training is fully
/// deterministic and independent of hash-table ordering. Training stops when the vocabulary
/// reaches `vocabSize` ids (including the 256 bytes and the 2 special tokens) or when no pair
/// occurs at least `minFrequency` times; the resulting `vocabSize` may then be smaller.
public struct BPETrainer: Sendable {
    public var vocabSize: Int
    public var minFrequency: Int

    public init(vocabSize: Int, minFrequency: Int = 2) {
        self.vocabSize = vocabSize
        self.minFrequency = max(1, minFrequency)
    }

    struct Entry {
        var count: Int
        var left: Int32
        var right: Int32
        /// True when `self` should be popped before `o`.
        @inline(__always) func before(_ o: Entry) -> Bool {
            if count != o.count { return count > o.count }
            if left != o.left { return left < o.left }
            return right < o.right
        }
    }

    struct Heap {
        var a: [Entry] = []
        mutating func push(_ e: Entry) {
            a.append(e)
            var i = a.count - 1
            while i > 0 {
                let p = (i - 1) / 2
                if a[i].before(a[p]) { a.swapAt(i, p); i = p } else { break }
            }
        }
        mutating func pop() -> Entry? {
            guard !a.isEmpty else { return nil }
            let top = a[0]
            let last = a.removeLast()
            if !a.isEmpty {
                a[0] = last
                var i = 0
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var m = i
                    if l < a.count && a[l].before(a[m]) { m = l }
                    if r < a.count && a[r].before(a[m]) { m = r }
                    if m == i { break }
                    a.swapAt(i, m); i = m
                }
            }
            return top
        }
    }

    /// Trains on the given texts and returns the tokenizer.
    public func train<S: Sequence>(_ corpus: S) throws -> BPETokenizer where S.Element == String {
        guard vocabSize >= SpecialTokens.firstMergeId else {
            throw TokenizerError.invalidVocabSize(requested: vocabSize, minimum: SpecialTokens.firstMergeId)
        }
        // 1. Count pre-tokenised pieces.
        var pieceCounts: [[UInt8]: Int] = [:]
        for text in corpus {
            let scalars = Array(text.unicodeScalars)
            for r in PreTokenizer.split(scalars[...]) {
                var b: [UInt8] = []
                for k in r { b.append(contentsOf: UTF8.encode(scalars[k])!) }
                pieceCounts[b, default: 0] += 1
            }
        }
        // Sort pieces so word indices do not depend on dictionary order.
        let sortedPieces = pieceCounts.sorted { $0.key.lexicographicallyPrecedes($1.key) }
        var words: [[Int32]] = sortedPieces.map { $0.key.map { Int32($0) } }
        let freq: [Int] = sortedPieces.map { $0.value }

        // 2. Initial pair statistics.
        var pairCount: [UInt64: Int] = [:]
        var pairWords: [UInt64: [Int32]] = [:]
        for (w, sym) in words.enumerated() where sym.count >= 2 {
            for k in 0..<(sym.count - 1) {
                let key = BPETokenizer.pairKey(Int(sym[k]), Int(sym[k + 1]))
                pairCount[key, default: 0] += freq[w]
                pairWords[key, default: []].append(Int32(w))
            }
        }
        var heap = Heap()
        for (key, c) in pairCount { heap.push(Entry(count: c, left: Int32(key >> 32), right: Int32(truncatingIfNeeded: key))) }

        var bytesOf: [[UInt8]] = (0..<256).map { [UInt8($0)] } + [[], []]
        var merges: [BPETokenizer.Merge] = []
        var touched = Set<UInt64>()

        while bytesOf.count < vocabSize, let top = heap.pop() {
            let key = BPETokenizer.pairKey(Int(top.left), Int(top.right))
            guard let current = pairCount[key], current == top.count else { continue }  // stale entry
            if current < minFrequency { break }
            let newId = Int32(bytesOf.count)
            bytesOf.append(bytesOf[Int(top.left)] + bytesOf[Int(top.right)])
            merges.append(.init(left: Int(top.left), right: Int(top.right), result: Int(newId)))
            touched.removeAll(keepingCapacity: true)
            var seen = Set<Int32>()
            for w32 in pairWords[key] ?? [] {
                if !seen.insert(w32).inserted { continue }
                let w = Int(w32)
                let old = words[w]
                if old.count < 2 { continue }
                // Does the word still contain the pair?
                var contains = false
                for k in 0..<(old.count - 1) where old[k] == top.left && old[k + 1] == top.right { contains = true; break }
                if !contains { continue }
                let f = freq[w]
                for k in 0..<(old.count - 1) {
                    let p = BPETokenizer.pairKey(Int(old[k]), Int(old[k + 1]))
                    pairCount[p]! -= f
                    touched.insert(p)
                }
                var merged: [Int32] = []
                merged.reserveCapacity(old.count)
                var k = 0
                while k < old.count {
                    if k + 1 < old.count && old[k] == top.left && old[k + 1] == top.right {
                        merged.append(newId); k += 2
                    } else {
                        merged.append(old[k]); k += 1
                    }
                }
                words[w] = merged
                if merged.count >= 2 {
                    for k in 0..<(merged.count - 1) {
                        let p = BPETokenizer.pairKey(Int(merged[k]), Int(merged[k + 1]))
                        let before = pairCount[p] ?? 0
                        pairCount[p] = before + f
                        touched.insert(p)
                        if merged[k] == newId || merged[k + 1] == newId { pairWords[p, default: []].append(w32) }
                    }
                }
            }
            pairWords[key] = nil
            for p in touched {
                let c = pairCount[p] ?? 0
                if c <= 0 { pairCount[p] = nil; continue }
                heap.push(Entry(count: c, left: Int32(p >> 32), right: Int32(truncatingIfNeeded: p)))
            }
        }
        let specials = Dictionary(uniqueKeysWithValues: SpecialTokens.all.map { ($0.id, $0.text) })
        return BPETokenizer(bytesOf: bytesOf, specials: specials, merges: merges)
    }
}
