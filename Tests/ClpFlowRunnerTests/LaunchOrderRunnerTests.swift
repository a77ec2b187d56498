import ClpFlowCore
import ClpFlowPlanner
@testable import ClpFlowRunner
import Foundation
import Testing

@Suite struct LaunchOrderRunnerTests {
    /// With one slot, the runner starts the step heading the longest chain first, not the first
    /// step of the plan; every step still runs after its inputs.
    @Test func oneSlotStartsTheLongestChainFirst() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("launch-order-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let trace = shellQuote(dir.appendingPathComponent("trace.txt").path)
        var p = ScriptPlan()
        p.add("short", "echo short >> \(trace)")
        p.add("chain-1", "echo chain-1 >> \(trace)")
        p.add("chain-2", "echo chain-2 >> \(trace)", inputs: ["chain-1"])
        p.add("chain-3", "echo chain-3 >> \(trace)", inputs: ["chain-2"])
        let r = try Runner.run(plan: p.plan(), runDir: dir.appendingPathComponent("run"),
                               options: quietOptions(parallel: 1), launcher: ShellScriptLauncher())
        #expect(r.status == .done)
        let order = (readText(dir.appendingPathComponent("trace.txt")) ?? "").split(separator: "\n").map(String.init)
        #expect(order.first == "chain-1", "\(order)")
        #expect(order.count == 4)
        #expect(order.firstIndex(of: "chain-2")! > order.firstIndex(of: "chain-1")!)
        #expect(order.firstIndex(of: "chain-3")! > order.firstIndex(of: "chain-2")!)
    }
}
