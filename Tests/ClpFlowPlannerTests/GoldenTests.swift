import ClpFlowCore
import ClpFlowWorkflow
import Foundation
import Testing
@testable import ClpFlowPlanner

/// Golden plans: a workflow in, the full plan JSON (ids, inputs, configs, cache keys) out, diffed
/// against files under Tests/ClpFlowPlannerTests/Golden. Regenerate with CLP_FLOW_UPDATE_GOLDENS=1.
enum Golden {
    static let testsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let dir = testsDir.appendingPathComponent("Golden")
    static let repoRoot = testsDir.deletingLastPathComponent().deletingLastPathComponent()
    static var updating: Bool { ProcessInfo.processInfo.environment["CLP_FLOW_UPDATE_GOLDENS"] == "1" }

    /// Compares `plan` with the golden file `name` (or writes it when updating). Returns a
    /// problem description, nil when equal.
    static func check(_ plan: Plan, name: String, in directory: URL = dir) -> String? {
        let text = plan.json.prettyCanonical
        let file = directory.appendingPathComponent(name)
        if updating {
            try? FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? text.write(to: file, atomically: true, encoding: .utf8)
            return nil
        }
        guard let expected = try? String(contentsOf: file, encoding: .utf8) else {
            return "missing golden \(file.path); run CLP_FLOW_UPDATE_GOLDENS=1 swift test --filter ClpFlowPlannerTests"
        }
        if expected == text { return nil }
        let a = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let b = text.split(separator: "\n", omittingEmptySubsequences: false)
        let line = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
        return "\(name) differs at line \(line + 1): expected `\(line < a.count ? a[line] : "<end>")`, got "
            + "`\(line < b.count ? b[line] : "<end>")` (regenerate with CLP_FLOW_UPDATE_GOLDENS=1 if intended)"
    }
}

/// The workflow files whose plans are golden-tested: every `.yaml`/`.yml` under `workflows/`
/// (except `workflows/templates/`, which are fragments) and `examples/`, sorted.
func goldenPlanFiles(root: URL = Golden.repoRoot) -> [URL] {
    var out: [URL] = []
    for top in ["workflows", "examples"] {
        let base = root.appendingPathComponent(top)
        guard let e = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else { continue }
        for case let url as URL in e where ["yaml", "yml"].contains(url.pathExtension) {
            let rel = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
            if rel.hasPrefix("workflows/templates/") { continue }
            out.append(url)
        }
    }
    return out.sorted { $0.path < $1.path }
}

/// Golden file name of a workflow file: its repository-relative path with `/` → `--`.
func goldenPlanName(_ url: URL, root: URL = Golden.repoRoot) -> String {
    let rel = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
    return "files/" + rel.replacingOccurrences(of: "/", with: "--") + ".plan.json"
}

/// Real files, but a fixed apt index so goldens do not depend on the machine's apt lists.
struct GoldenFileSystem: PlannerFileSystem {
    let real = SystemFileSystem()
    func fileSHA256(_ url: URL) -> String? { real.fileSHA256(url) }
    func isRegularFile(_ url: URL) -> Bool { real.isRegularFile(url) }
    func directoryFingerprint(_ url: URL) -> JSONValue { real.directoryFingerprint(url) }
    func aptIndexFingerprint() -> JSONValue { .array([.string(Digest.sha256Hex("golden Translation-en"))]) }
    func readJSON(_ url: URL) -> JSONValue? { real.readJSON(url) }
}

/// Plans every file of `goldenPlanFiles()` with `load` (the workflow loader: file → base workflow
/// and its ablation cells) and compares each with its golden. Returns the problems found.
func checkGoldenPlanFiles(load: (URL) throws -> (Workflow, [PlannerCell])) -> [String] {
    var problems: [String] = []
    for url in goldenPlanFiles() {
        do {
            let (wf, cells) = try load(url)
            let plan = try Planner.plan(workflow: wf, cells: cells, workflowDir: url.deletingLastPathComponent(),
                                    fileSystem: GoldenFileSystem())
            if let p = Golden.check(plan, name: goldenPlanName(url)) { problems.append(p) }
        } catch {
            problems.append("\(url.path): \(error)")
        }
    }
    return problems
}

@Suite struct GoldenPlanTests {
    @Test func twoRewardsPlan() {
        #expect(Golden.check(Fixtures.plan(Fixtures.twoRewards()), name: "two-rewards.plan.json") == nil)
    }

    @Test func multiKLSeedsStagesPlan() {
        #expect(Golden.check(Fixtures.plan(Fixtures.multiKL()), name: "multi-kl.plan.json") == nil)
    }

    @Test func conditioningAblationPlan() {
        let (wf, cells) = Fixtures.withAblation(Fixtures.twoRewards(), mechanisms: [.full, .attn, .logit, .prompt])
        #expect(Golden.check(Fixtures.plan(wf, cells: cells), name: "conditioning-ablation.plan.json") == nil)
    }

    @Test func goldensRoundTripThroughJSON() throws {
        let plan = Fixtures.plan(Fixtures.multiKL())
        let text = try String(contentsOf: Golden.dir.appendingPathComponent("multi-kl.plan.json"), encoding: .utf8)
        let parsed = try JSONValue.parse(text)
        #expect(parsed["steps"]?.arrayValue?.map { $0["cache_key"]! } == plan.steps.map { .string($0.cacheKey) })
    }

    @Test func goldenPlanFilesFindsWorkflowsAndExamplesButNotTemplates() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("clp-golden-\(getpid())")
        defer { try? FileManager.default.removeItem(at: root) }
        for f in ["workflows/a.yaml", "workflows/sub/b.yml", "workflows/templates/t.yaml", "examples/q.yaml",
                  "examples/notes.md", "other/x.yaml"] {
            let url = root.appendingPathComponent(f)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try "name: x\n".write(to: url, atomically: true, encoding: .utf8)
        }
        let files = goldenPlanFiles(root: root).map { goldenPlanName($0, root: root) }
        #expect(files == ["files/examples--q.yaml.plan.json", "files/workflows--a.yaml.plan.json",
                          "files/workflows--sub--b.yml.plan.json"])
    }
}
