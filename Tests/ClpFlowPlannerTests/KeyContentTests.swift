import ClpFlowCore
import ClpFlowWorkflow
import Foundation
import Testing
@testable import ClpFlowPlanner

/// Cache keys hold what changes a step's outputs and nothing else (issue 13, point 5).
@Suite struct KeyContentTests {
    func key(_ plan: Plan, _ kind: StepKind) -> String? { plan.steps.first { $0.kind == kind }?.cacheKey }

    @Test func tokenLimitsDoNotRetrainDataOrTokenizer() throws {
        var wf = Fixtures.multiKL()  // BPE tokenizer: a train-tokenizer step exists
        let a = Fixtures.plan(wf)
        wf.data.maxDocumentTokens += 16
        wf.data.maxSummaryTokens += 4
        let b = Fixtures.plan(wf)
        #expect(key(a, .trainTokenizer) != nil)
        // prepare-data reads no token limit: neither it nor the tokenizer trained on its output changes…
        #expect(key(a, .prepareData) == key(b, .prepareData))
        #expect(key(a, .trainTokenizer) == key(b, .trainTokenizer))
        #expect(a.steps.first { $0.kind == .prepareData }?.config["data"]?["max_document_tokens"] == nil)
        // …while the steps that build model inputs do.
        #expect(key(a, .trainReference) != key(b, .trainReference))
        // A field prepare-data reads still changes its key.
        wf.data.maxDocumentChars += 1
        #expect(key(Fixtures.plan(wf), .prepareData) != key(a, .prepareData))
    }

    @Test func evaluateMetricsOnlyChangeTheReport() throws {
        var wf = Fixtures.twoRewards()
        let a = Fixtures.plan(wf)
        wf.evaluate.metrics = [.hypervolume]
        let b = Fixtures.plan(wf)
        for (x, y) in zip(a.steps, b.steps) where x.kind != .report {
            #expect(x.cacheKey == y.cacheKey, "\(x.id) changed with evaluate.metrics")
        }
        #expect(key(a, .report) != key(b, .report))
        #expect(b.steps.last?.config["evaluate"]?["metrics"] == .array(["hypervolume"]))
    }

    @Test func aptIndexIsFingerprintedByContent() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-apt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let index = dir.appendingPathComponent("deb.debian.org_debian_dists_bookworm_main_i18n_Translation-en.lz4")
        let security = dir.appendingPathComponent("deb.debian.org_debian-security_dists_bookworm-security_main_i18n_Translation-en.lz4")
        try Data("Package: a\nDescription-en: x\n".utf8).write(to: index)
        try Data("Package: b\nDescription-en: y\n".utf8).write(to: security)
        let fs = SystemFileSystem(aptListsDirectory: dir)
        let before = fs.aptIndexFingerprint()
        #expect(before.arrayValue?.count == 2)

        // New times, same bytes (apt-get update rewriting identical files): same fingerprint.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000)], ofItemAtPath: index.path)
        try Data("Package: a\nDescription-en: x\n".utf8).write(to: security.deletingLastPathComponent()
            .appendingPathComponent("deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4"))
        try Data("ignored".utf8).write(to: dir.appendingPathComponent("x_i18n_Translation-en.diff"))
        #expect(fs.aptIndexFingerprint() == before, "times and files the source does not read must not matter")

        // Same size, different content: a different fingerprint.
        try Data("Package: a\nDescription-en: z\n".utf8).write(to: index)
        #expect(fs.aptIndexFingerprint() != before)
    }

    @Test func sectionsThatCannotBeEncodedFailPlanning() throws {
        var wf = Fixtures.twoRewards()
        wf.kl.alpha = .nan  // no JSON form (validation rejects it; a Workflow built in code need not)
        #expect(throws: PlannerError.self) {
            _ = try Planner.plan(workflow: wf, cells: [], workflowDir: Fixtures.dir, fileSystem: Fixtures.files())
        }
        do {
            _ = try Planner.plan(workflow: wf, cells: [], workflowDir: Fixtures.dir, fileSystem: Fixtures.files())
        } catch let e as PlannerError {
            #expect(e.description.contains("`kl`"), "\(e)")
        }
    }
}
