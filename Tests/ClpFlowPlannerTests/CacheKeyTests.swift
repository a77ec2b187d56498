import ClpFlowCore
import ClpFlowWorkflow
import Foundation
import Testing
@testable import ClpFlowPlanner

@Suite struct CacheKeyTests {
    @Test func keyIsTheHashOfTheCanonicalMaterial() {
        let plan = Fixtures.plan(Fixtures.multiKL())
        let byId = plan.stepsById
        for s in plan.steps {
            let upstream = s.inputs.map { byId[$0]!.cacheKey }
            let material = CacheKey.material(config: s.config, upstreamKeys: upstream)
            #expect(s.cacheKey == Digest.sha256Hex(material.canonical))
            #expect(material["engine_format"] == .number(Double(ClpFlowVersion.engineFormat)))
        }
        #expect(CacheKey.compute(config: ["a": 1], upstreamKeys: [], engineFormat: 1)
            != CacheKey.compute(config: ["a": 1], upstreamKeys: [], engineFormat: 2))
    }

    @Test func mappingKeyOrderDoesNotChangeTheKey() {
        // The same objects built by inserting keys in different orders.
        var a: [String: JSONValue] = [:], b: [String: JSONValue] = [:]
        let pairs: [(String, JSONValue)] = [("zeta", 1), ("alpha", ["y": 2, "x": [1, "two", nil]]), ("mid", true),
                                             ("Upper", "s"), ("émoji", 2.5), ("a_b", ["k": ["j": 0, "i": 1]])]
        for (k, v) in pairs { a[k] = v }
        for (k, v) in pairs.reversed() { b[k] = v }
        var inner1: [String: JSONValue] = [:], inner2: [String: JSONValue] = [:]
        for i in 0..<40 { inner1["k\(i)"] = .number(Double(i)) }
        for i in (0..<40).reversed() { inner2["k\(i)"] = .number(Double(i)) }
        a["big"] = .object(inner1); b["big"] = .object(inner2)
        let k1 = CacheKey.compute(config: .object(a), upstreamKeys: ["u1", "u2"])
        let k2 = CacheKey.compute(config: .object(b), upstreamKeys: ["u1", "u2"])
        #expect(k1 == k2)
        // Decoding from text with a different key order gives the same key too.
        let text1 = #"{"b": {"d": 1, "c": [1, 2]}, "a": "x"}"#, text2 = #"{"a": "x", "b": {"c": [1, 2], "d": 1}}"#
        #expect(CacheKey.compute(config: try! JSONValue.parse(text1), upstreamKeys: [])
            == CacheKey.compute(config: try! JSONValue.parse(text2), upstreamKeys: []))
        // Upstream order is part of the key (inputs are ordered).
        #expect(CacheKey.compute(config: .object(a), upstreamKeys: ["u2", "u1"]) != k1)
    }

    @Test func changingAnySingleLeafOfAnyConfigChangesTheKey() {
        // Property over every leaf of every step config of two representative plans.
        var checked = 0
        let (ablated, cells) = Fixtures.withAblation(Fixtures.twoRewards(), mechanisms: [.attn, .logit])
        for plan in [Fixtures.plan(Fixtures.multiKL()), Fixtures.plan(ablated, cells: cells)] {
            let byId = plan.stepsById
            for s in plan.steps {
                let upstream = s.inputs.map { byId[$0]!.cacheKey }
                #expect(CacheKey.compute(config: s.config, upstreamKeys: upstream) == s.cacheKey)
                for path in JSONPaths.leaves(s.config) {
                    let changed = JSONPaths.set(s.config, path, JSONPaths.mutate(JSONPaths.get(s.config, path)))
                    #expect(changed != s.config)
                    #expect(CacheKey.compute(config: changed, upstreamKeys: upstream) != s.cacheKey,
                            "\(s.id): leaf \(path) left out of the key")
                    checked += 1
                }
                for i in upstream.indices {
                    var other = upstream; other[i] = String(other[i].reversed())
                    #expect(CacheKey.compute(config: s.config, upstreamKeys: other) != s.cacheKey)
                }
            }
        }
        #expect(checked > 500)
    }

    @Test func workflowChangesReachExactlyTheStepsThatReadThem() {
        let base = Fixtures.twoRewards()
        let a = Fixtures.plan(base)
        func changedIds(_ edit: (inout Workflow) -> Void) -> Set<String> {
            var wf = base; edit(&wf)
            let b = Fixtures.plan(wf)
            return Set(a.steps.filter { b[id: $0.id]?.cacheKey != $0.cacheKey }.map(\.id))
        }
        // The eval grid is read by evaluation only (and the report reads the evaluations).
        #expect(changedIds { $0.weights.eval = .pointsPerEdge(5) }
            == Set(a.ids(.evaluate) + ["report"]))
        // The training weight distribution changes CLP training (not SOFT, not the reference).
        #expect(changedIds { $0.weights.train = .uniform }
            == Set(["train-clp", "train-clp[conditioning.mechanism=prompt]", "evaluate[method=clp]",
                    "evaluate[method=prompt]", "report"]))
        // attn matrices matter to the attn CLP only, not to the prompt baseline.
        #expect(changedIds { $0.conditioning.attnMatrices = [.qkv] }
            == Set(["train-clp", "evaluate[method=clp]", "report"]))
        // The reference steps change every trained policy.
        #expect(changedIds { $0.reference.steps += 1 } == Set(a.steps.map(\.id)).subtracting(["prepare-data"]))
        // One reward's parameter changes that reward's SOFT model, not the other one.
        let rewardChange = changedIds { $0.rewards[1].target = 12 }
        #expect(rewardChange.contains("train-soft[reward=length]"))
        #expect(!rewardChange.contains("train-soft[reward=rougeL]"))
        #expect(!rewardChange.contains("train-reference"))
        // The report's own fields.
        #expect(changedIds { $0.name = "renamed" } == ["report"])
    }

    @Test func sha256StreamingMatchesOneShotForEverySplit() {
        var r = SeededRandom(seed: 5)
        let bytes = (0..<1000).map { _ in UInt8(truncatingIfNeeded: r.next()) }
        let expected = Digest.sha256Hex(bytes)
        for split in [0, 1, 55, 56, 63, 64, 65, 127, 128, 500, 999, 1000] {
            let h = SHA256Hasher()
            h.update(bytes[..<split])
            h.update(Array(bytes[split...]))
            #expect(h.finalizeHex() == expected)
        }
        let h = SHA256Hasher()
        for b in bytes { h.update([b]) }
        #expect(h.finalizeHex() == expected)
        // A non-contiguous sequence goes through the chunked path.
        let lazy = SHA256Hasher()
        lazy.update(bytes.lazy.map { $0 })
        #expect(lazy.finalizeHex() == expected)
        #expect(Digest.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.sha256Hex(String(repeating: "a", count: 55)) == "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318")
    }

    @Test func parameterCountFollowsTheGPT2TensorShapes() {
        // Independent count: sum of the GPT-2 tensors of one model.
        func tensors(v: Int, t: Int, l: Int, c: Int) -> Int {
            var shapes: [[Int]] = [[v, c], [t, c]]
            for _ in 0..<l {
                shapes += [[c], [c], [c, 3 * c], [3 * c], [c, c], [c], [c], [c], [c, 4 * c], [4 * c], [4 * c, c], [c]]
            }
            shapes += [[c], [c]]
            return shapes.map { $0.reduce(1, *) }.reduce(0, +)
        }
        for size in ModelSize.allCases {
            let s = size.shape
            for v in [258, 2048] {
                #expect(ParameterCount.gpt2(vocabulary: v, context: s.context, layers: s.layers, dModel: s.dModel)
                    == tensors(v: v, t: s.context, l: s.layers, c: s.dModel))
                #expect(ParameterCount.gpt2(vocabulary: v, context: s.context, layers: s.layers, dModel: s.dModel, tiedHead: false)
                    == tensors(v: v, t: s.context, l: s.layers, c: s.dModel) + v * s.dModel)
            }
        }
        var bpe = TokenizerSpec(); bpe.vocabSize = 4096
        #expect(ParameterCount.vocabulary(bpe) == 4096)
        var byte = TokenizerSpec(); byte.kind = .byte
        #expect(ParameterCount.vocabulary(byte) == 258)
        var m = ModelSpec(); m.size = .mini; m.layers = 3
        let pm = PlannedModel.from(model: m, conditioning: .attn)
        #expect(pm.name == "mini+overrides" && pm.layers == 3 && pm.dModel == 192)
    }
}

@Suite struct CanonicalAssemblyTests {
    static func randomValue(_ r: inout SeededRandom, depth: Int) -> JSONValue {
        let strings = ["", "a", "Z", "é", "日本", "\"q\"", "back\\slash", "tab\t", "nl\n", "\u{1}", "emoji 🙂", "a.b", "A", "_"]
        switch depth > 2 ? Int(r.next() % 4) : Int(r.next() % 6) {
        case 0: return .null
        case 1: return .bool(r.next() % 2 == 0)
        case 2: return .number([0, -1, 0.1, 1e-7, 3e20, 123456789, 0.5, -2.25][Int(r.next() % 8)])
        case 3: return .string(strings[Int(r.next() % UInt64(strings.count))])
        case 4: return .array((0..<Int(r.next() % 4)).map { _ in randomValue(&r, depth: depth + 1) })
        default:
            var o: [String: JSONValue] = [:]
            for _ in 0..<Int(r.next() % 5) { o[strings[Int(r.next() % UInt64(strings.count))]] = randomValue(&r, depth: depth + 1) }
            return .object(o)
        }
    }

    @Test func assembledTextEqualsJSONValueCanonical() {
        var r = SeededRandom(seed: 99)
        for _ in 0..<300 {
            var members: [String: Canon] = [:]
            for key in ["seed", "é", "Z", "a\"b", "data", "\u{7f}x", "日本"] where r.next() % 2 == 0 {
                members[key] = Canon(Self.randomValue(&r, depth: 0))
            }
            let items = (0..<Int(r.next() % 3)).map { _ in Canon(Self.randomValue(&r, depth: 1)) }
            members["list"] = Canon.array(items)
            members["n"] = Canon.number(r.uniform())
            let assembled = Canon.object(members)
            #expect(assembled.text == assembled.value.canonical)
            #expect(CacheKey.compute(canonicalConfig: assembled.text, upstreamKeys: ["k\"1", "abc"])
                == Digest.sha256Hex(CacheKey.material(config: assembled.value, upstreamKeys: ["k\"1", "abc"]).canonical))
        }
    }
}

@Suite struct NormalisationTests {
    @Test func fieldsASourceOrMechanismDoesNotReadLeaveNoTrace() {
        let base = Fixtures.twoRewards()
        let a = Fixtures.plan(base)
        var wf = base
        wf.data.path = "unused.jsonl"            // synthetic data: path not read
        wf.model.tokenizer.vocabSize = 4096        // byte tokenizer: vocab_size not read
        wf.conditioning.softTokens = 4             // attn mechanism: soft_tokens not read
        let b = Fixtures.plan(wf)
        #expect(a.steps.map(\.cacheKey) == b.steps.map(\.cacheKey))
        #expect(a[id: "prepare-data"]!.config["data"]?["synthetic_examples"] == 500)
        var jsonl = base
        jsonl.data.source = .jsonl; jsonl.data.path = "data/pairs.jsonl"
        let c = Fixtures.plan(jsonl)
        #expect(c[id: "prepare-data"]!.config["data"]?["synthetic_examples"] == nil)
        #expect(c[id: "prepare-data"]!.config["data"]?["path"] == "data/pairs.jsonl")
    }
}

@Suite struct EdgeCaseTests {
    @Test func workflowWithoutStagesEvaluatesTheReference() {
        var wf = Fixtures.twoRewards()
        wf.stages = []
        let plan = Fixtures.plan(wf)
        #expect(plan.ids(.trainCLP).isEmpty && plan.ids(.trainSoft).isEmpty)
        #expect(plan[id: "evaluate[method=clp]"]!.inputs == ["prepare-data", "train-reference", "train-reference"])
        #expect(plan[id: "evaluate[method=rewarded-soups]"]!.inputs.last == "train-reference")
    }

    @Test func repeatedStageNamesGetTheirIndex() {
        var wf = Fixtures.twoRewards()
        wf.baselines = []
        wf.stages = [StageSpec(), StageSpec()]
        let plan = Fixtures.plan(wf)
        #expect(plan.ids(.trainCLP) == ["train-clp/rl1", "train-clp/rl2"])
        #expect(plan[id: "train-clp/rl2"]!.inputs.last == "train-clp/rl1")
    }
}
