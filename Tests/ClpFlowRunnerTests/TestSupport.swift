import ClpFlowCore
import ClpFlowPlanner
@testable import ClpFlowRunner
import Foundation
import Testing

/// The runner tests, one suite per concern. They run one at a time: several start processes,
/// kill them and time their progress.
@Suite(.serialized) enum RunnerTests {}

/// Temporary directories of one test; a suite holds one, so they are removed when the test's
/// suite instance goes away at the end of the test.
final class TemporaryDirectories: @unchecked Sendable {
    private let lock = NSLock()
    private var urls: [URL] = []
    init() {}
    func add(_ url: URL) { lock.lock(); urls.append(url); lock.unlock() }
    deinit { for url in urls { try? FileManager.default.removeItem(at: url) } }
}

/// A fresh temporary directory, removed when the test ends.
func makeTempDir(_ temp: TemporaryDirectories, _ label: String = "runner") throws -> URL {
    let dir = URL(fileURLWithPath: NSTemporaryDirectory())
        .appendingPathComponent("clp-flow-\(label)-\(getpid())-\(UUID().uuidString.prefix(8))", isDirectory: true)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    temp.add(dir)
    return dir
}

/// Builds plans of shell-script steps; cache keys hash the script and the upstream keys, like the
/// planner does with real configurations.
struct ScriptPlan {
    var steps: [PlannedStep] = []

    mutating func add(_ id: String, _ script: String, inputs: [String] = [], retries: Int = 0, extra: JSONValue = .null) {
        let upstream = inputs.map { i in steps.first { $0.id == i }!.cacheKey }
        let config: JSONValue = ["script": .string(script), "extra": extra]
        let key = Digest.sha256Hex(JSONValue.object(["config": config, "inputs": .array(upstream.map { .string($0) })]).canonical)
        steps.append(PlannedStep(id: id, kind: .evaluate, config: config, inputs: inputs, cacheKey: key,
                                 resources: StepResources(cpus: 1, retries: retries)))
    }

    func plan(_ name: String = "test") -> Plan { Plan(workflowName: name, seed: 1, steps: steps) }
}

/// Collects display output.
final class OutputBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var text = ""
    func append(_ s: String) { lock.lock(); text += s; lock.unlock() }
    var value: String { lock.lock(); defer { lock.unlock() }; return text }
}

func quietOptions(parallel: Int = 2, keepGoing: Bool = false, buffer: OutputBuffer? = nil,
                  cancellation: CancellationFlag? = nil) -> RunOptions {
    RunOptions(maxParallel: parallel, keepGoing: keepGoing, display: .plain, argv: ["test"], pollInterval: 0.01,
               handleSignals: false, cancellation: cancellation, output: { s in buffer?.append(s) })
}

/// A class of the test bundle, to find the bundle.
private final class BundleMarker {}

/// The directory holding the built products (test bundle and executables).
func productsDir() -> URL {
    let candidates = [Bundle(for: BundleMarker.self).bundleURL, Bundle.main.bundleURL,
                      Bundle(for: BundleMarker.self).bundleURL.deletingLastPathComponent()]
    return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("clp-flow-runner-testhost").path) }
        ?? candidates[0]
}

/// The runner test host executable, built with the package.
func testHost() throws -> URL {
    let url = productsDir().appendingPathComponent("clp-flow-runner-testhost")
    guard FileManager.default.isExecutableFile(atPath: url.path) else {
        struct Missing: Error, CustomStringConvertible { let description: String }
        throw Missing(description: "\(url.path) is missing: build the package (swift build) before the tests")
    }
    return url
}

func readText(_ url: URL) -> String? {
    FileManager.default.contents(atPath: url.path).map { String(decoding: $0, as: UTF8.self) }
}

/// Runs a tool to completion and returns (status, stdout).
@discardableResult
func shell(_ argv: [String], env: [String: String]? = nil) throws -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: argv[0])
    p.arguments = Array(argv.dropFirst())
    if let env { p.environment = env }
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

typealias ClpFlowPlannerPlan = Plan

struct PlannedStepSpec {
    var id: String, key: String, inputs: [String]
    var step: PlannedStep { PlannedStep(id: id, kind: .evaluate, config: [:], inputs: inputs, cacheKey: key) }
}
