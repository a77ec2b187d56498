import Foundation

/// Where examples come from.
public enum DataSourceConfig: Sendable {
    case debianDescriptions(DebianDescriptions)
    case jsonl(JSONLSource)
    case synthetic(SyntheticTask)
}

/// What the prepare step does: load, normalise/deduplicate (source-specific), filter by length,
/// optionally subsample, then split deterministically.
public struct DataPreparation: Sendable {
    public var source: DataSourceConfig
    public var filter: LengthFilter
    public var sizes: SplitSizes
    public var limit: Int?
    public var seed: UInt64

    public init(source: DataSourceConfig, filter: LengthFilter = LengthFilter(), sizes: SplitSizes, limit: Int? = nil, seed: UInt64) {
        self.source = source; self.filter = filter; self.sizes = sizes; self.limit = limit; self.seed = seed
    }

    /// Counts describing what happened, for logs and run records.
    public struct Report: Sendable, Equatable {
        public var loaded = 0
        public var afterFilter = 0
        public var train = 0, valid = 0, test = 0
        /// debian-descriptions only.
        public var debian: DebianDescriptions.Stats? = nil
    }

    public func run() throws -> (splits: DatasetSplits, report: Report) {
        var report = Report()
        let examples: [SummaryExample]
        switch source {
        case .debianDescriptions(let d):
            let (ex, stats) = try d.load()
            examples = ex; report.debian = stats
        case .jsonl(let j):
            examples = try j.load()
        case .synthetic(let s):
            examples = try s.generate(seed: seed)
        }
        report.loaded = examples.count
        let kept = examples.filter(filter.accepts)
        report.afterFilter = kept.count
        let splits = try DataSplitter.split(kept, sizes: sizes, seed: seed, limit: limit)
        report.train = splits.train.count; report.valid = splits.valid.count; report.test = splits.test.count
        return (splits, report)
    }
}
