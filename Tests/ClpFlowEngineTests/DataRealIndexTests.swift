import Foundation
import Testing
@testable import ClpFlowEngine

/// Whether apt has an English description index here (not on non-Debian systems, nor before a
/// first `apt-get update`).
private let hasDebianIndex = (try? DebianDescriptions().indexFiles()) != nil

/// Reads the machine's real apt description index; reported as skipped, with the reason, where
/// there is none.
@Test(.enabled(if: hasDebianIndex, "no English package description index (*_i18n_Translation-en*) in /var/lib/apt/lists: run `apt-get update` on Debian or Ubuntu"))
func realDebianIndexGivesTensOfThousandsOfPairs() throws {
    let source = DebianDescriptions()
    let prep = DataPreparation(source: .debianDescriptions(source), filter: LengthFilter(),
                               sizes: .counts(train: nil, valid: 256, test: 256), seed: 1)
    let (splits, report) = try prep.run()
    let stats = try #require(report.debian)
    #expect(stats.uniqueDescriptions > 40_000)
    #expect(stats.uniqueDocuments <= stats.uniqueDescriptions && stats.uniqueDescriptions <= stats.stanzas)
    #expect(report.loaded == stats.uniqueDocuments)
    #expect(report.afterFilter > 30_000 && report.afterFilter < report.loaded)
    let all = splits.train + splits.valid + splits.test
    #expect(Set(all.map(\.id)).count == all.count)
    #expect(splits.valid.count == 256 && splits.test.count == 256)
    for e in all.prefix(2000) {
        #expect(!e.document.contains("  ") && !e.summary.contains("\n") && e.summary == e.summary.trimmingCharacters(in: .whitespaces))
        #expect(e.document.count >= 40 && e.document.count <= 600 && e.summary.count <= 120)
    }
}
