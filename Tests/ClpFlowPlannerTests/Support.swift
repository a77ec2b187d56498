import ClpFlowCore
import ClpFlowWorkflow
import Foundation
import Testing
@testable import ClpFlowPlanner

/// Workflows built in Swift for the planner tests (the same shapes the YAML examples describe).
enum Fixtures {
    static let dir = URL(fileURLWithPath: "/project/workflows")

    /// Two conflicting rewards, synthetic data, attn-CLP against every baseline but DeRa.
    static func twoRewards() -> Workflow {
        var wf = Workflow(name: "two-rewards")
        wf.seed = 7
        wf.data.source = .synthetic
        wf.data.syntheticExamples = 500
        wf.model.size = .nano
        wf.model.tokenizer.kind = .byte
        wf.reference.steps = 100
        var len = RewardSpec(name: "length", kind: .length)
        len.target = 8; len.tolerance = 2
        wf.rewards = [RewardSpec(name: "rougeL", kind: .rougeL), len]
        wf.stages[0].steps = 101
        wf.baselines = [.soft, .rewardedSoups, .logitMixing, .prompt]
        return wf
    }

    /// One reward with multi-KL and DeRa, BPE tokenizer, jsonl data, a command reward script.
    static func multiKL() -> Workflow {
        var wf = Workflow(name: "multi-kl")
        wf.seed = 3
        wf.data.source = .jsonl
        wf.data.path = "data/pairs.jsonl"
        wf.model.tokenizer.vocabSize = 512
        var cmd = RewardSpec(name: "judge", kind: .command)
        cmd.command = ["python3", "scripts/judge.py", "--fast"]
        cmd.timeout = 30
        wf.rewards = [cmd]
        var range = KLRange(min: 0.01, max: 1)
        range.eval = [0.01, 0.1, 1]
        wf.kl.range = range
        var second = StageSpec()
        second.name = "rl-long"; second.steps = 50; second.learningRate = 5e-4
        wf.stages = [StageSpec(), second]
        wf.baselines = [.dera]
        wf.evaluate.seeds = 2
        wf.executor.kind = .slurm
        wf.executor.resources.cpus = 2
        wf.executor.resources.partition = "cpu"
        var heavy = SlurmResources(); heavy.cpus = 8; heavy.timeMinutes = 120
        wf.executor.overrides = [StepOverride(match: "train-*", resources: heavy)]
        return wf
    }

    static func files() -> InMemoryFileSystem {
        InMemoryFileSystem(files: [
            "/project/workflows/data/pairs.jsonl": #"{"document": "a b c", "summary": "a"}"# + "\n",
            "/project/workflows/scripts/judge.py": "import sys\nprint(1)\n",
        ], aptIndex: [.string(Digest.sha256Hex("deb_Translation-en.lz4 contents"))])
    }

    /// An ablation matrix over the conditioning mechanism (and optionally model size).
    static func cells(_ base: Workflow, mechanisms: [ConditioningMechanism],
                      sizes: [ModelSize] = []) -> [PlannerCell] {
        var out: [PlannerCell] = []
        for m in mechanisms {
            for size in sizes.isEmpty ? [base.model.size] : sizes {
                var wf = base
                wf.conditioning.mechanism = m
                wf.model.size = size
                var a: [(path: String, value: YAMLScalarValue)] = [("conditioning.mechanism", .string(m.rawValue))]
                if !sizes.isEmpty { a.append(("model.size", .string(size.rawValue))) }
                out.append(PlannerCell(name: a.map { "\($0.path)=\(Planner.label($0.value))" }.joined(separator: ","),
                                       assignments: a, workflow: wf))
            }
        }
        return out
    }

    static func withAblation(_ base: Workflow, mechanisms: [ConditioningMechanism], sizes: [ModelSize] = []) -> (Workflow, [PlannerCell]) {
        var wf = base
        var matrix = [MatrixAxis(path: "conditioning.mechanism", values: mechanisms.map { .string($0.rawValue) })]
        if !sizes.isEmpty { matrix.append(MatrixAxis(path: "model.size", values: sizes.map { .string($0.rawValue) })) }
        wf.ablate = AblateSpec(matrix: matrix)
        return (wf, cells(wf, mechanisms: mechanisms, sizes: sizes))
    }

    static func plan(_ wf: Workflow, cells: [PlannerCell] = [], fs: InMemoryFileSystem = files()) -> Plan {
        do { return try Planner.plan(workflow: wf, cells: cells, workflowDir: dir, fileSystem: fs) } catch {
            Issue.record("planning failed: \(error)")
            return Plan(workflowName: wf.name, seed: wf.seed, steps: [])
        }
    }
}

extension Plan {
    func ids(_ kind: StepKind) -> [String] { steps.filter { $0.kind == kind }.map(\.id) }
    subscript(id id: String) -> PlannedStep? { step(id) }
}

/// Every leaf of a JSON value with a setter path.
enum JSONPaths {
    enum Component: Hashable { case key(String), index(Int) }

    static func leaves(_ v: JSONValue, prefix: [Component] = []) -> [[Component]] {
        switch v {
        case .object(let o):
            if o.isEmpty { return [prefix] }
            return o.keys.sorted().flatMap { leaves(o[$0]!, prefix: prefix + [.key($0)]) }
        case .array(let a):
            if a.isEmpty { return [prefix] }
            return a.indices.flatMap { leaves(a[$0], prefix: prefix + [.index($0)]) }
        default:
            return [prefix]
        }
    }

    static func get(_ v: JSONValue, _ path: [Component]) -> JSONValue {
        guard let first = path.first else { return v }
        switch (first, v) {
        case (.key(let k), .object(let o)): return get(o[k]!, Array(path.dropFirst()))
        case (.index(let i), .array(let a)): return get(a[i], Array(path.dropFirst()))
        default: fatalError("bad path")
        }
    }

    static func set(_ v: JSONValue, _ path: [Component], _ new: JSONValue) -> JSONValue {
        guard let first = path.first else { return new }
        switch (first, v) {
        case (.key(let k), .object(var o)): o[k] = set(o[k]!, Array(path.dropFirst()), new); return .object(o)
        case (.index(let i), .array(var a)): a[i] = set(a[i], Array(path.dropFirst()), new); return .array(a)
        default: fatalError("bad path")
        }
    }

    /// A different value of the same JSON type (or a string for null / empty containers).
    static func mutate(_ v: JSONValue) -> JSONValue {
        switch v {
        case .null: return .string("x")
        case .bool(let b): return .bool(!b)
        case .number(let d): return .number(d + 1)
        case .string(let s): return .string(s + "x")
        case .array(let a): return .array(a + [.null])
        case .object(let o): var o = o; o["added"] = .null; return .object(o)
        }
    }
}
