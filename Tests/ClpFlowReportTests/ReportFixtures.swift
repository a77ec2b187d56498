import ClpFlowCore
import Foundation
@testable import ClpFlowReport

/// Realistic report data built from a seeded synthetic evaluation: CLP traces a convex front, a
/// Rewarded Soup a slightly worse one, prompting barely moves. Hypervolume and steerability are
/// computed here from the same points, so the tables agree with the charts.
enum ReportFixtures {
    static let script = "<script>alert(1)</script>"
    static let attribute = "\"><img src=x onerror=alert(1)>"

    /// Two rewards, three methods (one multi-KL), curves, ablation and samples.
    static func twoRewards(hostileNames: Bool = false) -> ReportData {
        var rng = SeededRandom(seed: 2026, stream: "report-fixture")
        let names = ["helpfulness", "conciseness"]
        let grid = (0...10).map { Double($0) / 10 }
        let clpName = hostileNames ? "CLP " + attribute + script : "CLP (attention)"
        let specs: [(name: String, kind: String, radius: Double, steer: Double)] = [
            (clpName, "clp", 1.0, 1.0),
            ("Rewarded Soup", "rewarded-soup", 0.86, 0.9),
            ("Prompting", "prompting", 0.7, 0.25),
        ]
        var methods: [MethodResult] = []
        for spec in specs {
            var points: [WeightingPoint] = []
            for w1 in grid {
                let t = 0.5 + spec.steer * (w1 - 0.5)
                let angle = t * Double.pi / 2
                let r1 = 0.2 + spec.radius * sin(angle) + 0.01 * rng.normal()
                let r2 = 0.1 + spec.radius * cos(angle) + 0.01 * rng.normal()
                points.append(WeightingPoint(weights: [w1, 1 - w1], rewardMeans: [r1, r2],
                                             rewardStandardErrors: [0.02 + 0.01 * rng.uniform(), 0.02 + 0.01 * rng.uniform()],
                                             kl: 2 + 6 * spec.steer * abs(w1 - 0.5) + rng.uniform(),
                                             length: 40 + 20 * (1 - w1)))
            }
            methods.append(MethodResult(name: spec.name, kind: spec.kind, points: points))
        }
        // A multi-KL CLP: three weightings, four KL weights each.
        var multi: [WeightingPoint] = []
        for w1 in [0.2, 0.5, 0.8] {
            for alpha in [0.05, 0.1, 0.2, 0.4] {
                let shrink = 1 / (1 + 2 * alpha)
                let angle = w1 * Double.pi / 2
                multi.append(WeightingPoint(weights: [w1, 1 - w1], alpha: alpha,
                                            rewardMeans: [0.2 + 0.95 * shrink * sin(angle), 0.1 + 0.95 * shrink * cos(angle)],
                                            kl: 9 * shrink * shrink, length: 45))
            }
        }
        methods.append(MethodResult(name: "CLP multi-KL", kind: "multi-kl", points: multi))

        let refPoint = [0.35, 0.3]
        let hvRows = methods.map { m -> HypervolumeRow in
            let pts = m.points.map { $0.rewardMeans }
            let others = methods.filter { $0.name != m.name }.flatMap { $0.points.map { $0.rewardMeans } }
            let dominated = pts.filter { p in others.contains { dominates($0, p) } }.count
            return HypervolumeRow(method: m.name, hypervolume: hypervolume2D(pts, reference: refPoint),
                                  dominatedShare: Double(dominated) / Double(pts.count),
                                  frontSize: pts.filter { p in !pts.contains { dominates($0, p) } }.count)
        }
        let steer = methods.map { m in
            SteerabilityRow(method: m.name, rewards: (0..<2).map { i in
                let w = m.points.map { $0.weights[i] }, r = m.points.map { $0.rewardMeans[i] }
                return SteerabilityEntry(rho: spearman(w, r), spread: r.max()! - r.min()!)
            })
        }
        var curves: [TrainingCurve] = []
        for (k, m) in methods.prefix(2).enumerated() {
            var pts: [CurvePoint] = []
            for step in stride(from: 0, through: 400, by: 20) {
                let s = Double(step)
                pts.append(CurvePoint(step: step, name: "mean reward", value: 0.3 + 0.5 * (1 - exp(-s / (120 + 40 * Double(k)))) + 0.01 * rng.normal()))
                pts.append(CurvePoint(step: step, name: "KL (nats)", value: 4 * (1 - exp(-s / 200)) + 0.05 * rng.normal()))
                pts.append(CurvePoint(step: step, name: "policy loss", value: 1.2 * exp(-s / 150) + 0.02 * rng.normal()))
            }
            curves.append(TrainingCurve(method: m.name, points: pts))
        }
        let ablation = AblationMatrix(
            title: "conditioning × learning rate", scoreName: "hypervolume", higherIsBetter: true,
            parameterNames: ["conditioned parameters", "learning rate"],
            cells: ["attention", "logits", "all"].flatMap { c in
                ["1e-5", "3e-5", "1e-4"].map { lr in
                    let base = c == "attention" ? 0.52 : c == "logits" ? 0.47 : 0.5
                    let bonus = lr == "3e-5" ? 0.04 : lr == "1e-4" ? 0.01 : 0
                    return AblationCell(parameters: [c, lr], score: base + bonus + 0.005 * rng.uniform(),
                                        note: c == "all" && lr == "1e-4" ? "diverged once, resumed" : nil)
                }
            })
        let document = hostileNames
            ? "The council met on Tuesday. " + script + " It approved the budget. " + attribute
            : "The city council met on Tuesday evening to discuss the new park budget. After a long debate about maintenance costs and the timeline for construction, members voted 7 to 2 to approve a reduced plan that keeps the playground but delays the second sports field until next year."
        var samples: [SampleGroup] = []
        for k in 0..<2 {
            var gens: [Generation] = []
            for m in methods.prefix(3) {
                for w1 in [0.0, 0.5, 1.0] {
                    var text = w1 > 0.7
                        ? "The council approved a reduced park plan by 7 votes to 2, keeping the playground and delaying the second field to next year because of maintenance costs."
                        : w1 < 0.3 ? "Council approves smaller park plan." : "The council approved a reduced park plan, delaying the second field."
                    if hostileNames && m.name == clpName && w1 == 0.5 { text = "Summary " + script + attribute }
                    gens.append(Generation(method: m.name, weights: [w1, 1 - w1], text: text,
                                           rewards: [0.3 + 0.6 * w1, 0.9 - 0.5 * w1]))
                }
            }
            samples.append(SampleGroup(id: "test-\(k + 1)", prompt: "Summarise the news article.", document: document,
                                       referenceText: k == 0 ? "The council approved a smaller park plan." : nil,
                                       generations: gens))
        }
        let steps = [
            StepSummary(id: "prepare-data", kind: "data", status: "cached", wallTimeSeconds: 0.8, cacheKey: Digest.sha256Hex("data")),
            StepSummary(id: "sft", kind: "train-sft", status: "succeeded", wallTimeSeconds: 312.4, cacheKey: Digest.sha256Hex("sft")),
            StepSummary(id: "clp-attention", kind: "train-clp", status: "succeeded", wallTimeSeconds: 1804.2, cacheKey: Digest.sha256Hex("clp")),
            StepSummary(id: "evaluate", kind: "evaluate", status: "succeeded", wallTimeSeconds: 95.0, cacheKey: Digest.sha256Hex("eval")),
        ]
        let metadata = RunMetadata(
            workflowName: hostileNames ? "wf " + script : "summarise-two-rewards", runID: "run-20261129-0142",
            seed: 42, toolVersion: ClpFlowVersion.tool, engineFormat: ClpFlowVersion.engineFormat,
            status: "succeeded", startedAt: "2026-11-29T01:42:10Z", finishedAt: "2026-11-29T02:22:52Z",
            executor: "local", steps: steps,
            extra: [KeyValue("model", "gpt2-tiny (2 layers, 64 dims)"), KeyValue("evaluation prompts", "64")])
        return ReportData(metadata: metadata, rewardNames: names, rewardUnits: ["score", "score"],
                          methods: methods,
                          reference: ReferencePoint(label: "SFT", rewardMeans: refPoint, rewardStandardErrors: [0.02, 0.02], length: 52),
                          hypervolume: HypervolumeTable(referencePoint: refPoint, referenceLabel: "SFT policy", rows: hvRows),
                          steerability: steer, trainingCurves: curves, ablation: ablation, samples: samples)
    }

    /// Three rewards on a simplex lattice with 4 points per edge (10 weightings), two methods.
    static func threeRewards() -> ReportData {
        var rng = SeededRandom(seed: 7, stream: "three")
        var grid: [[Double]] = []
        for a in 0...3 { for b in 0...(3 - a) { grid.append([Double(a) / 3, Double(b) / 3, Double(3 - a - b) / 3]) } }
        let methods = [("CLP", 1.0), ("Rewarded Soup", 0.85)].map { name, scale in
            MethodResult(name: name, kind: name == "CLP" ? "clp" : "rewarded-soup", points: grid.map { w in
                WeightingPoint(weights: w, rewardMeans: w.map { 0.1 + scale * $0.squareRoot() + 0.01 * rng.normal() })
            })
        }
        let steer = methods.map { m in
            SteerabilityRow(method: m.name, rewards: (0..<3).map { i in
                let r = m.points.map { $0.rewardMeans[i] }
                return SteerabilityEntry(rho: spearman(m.points.map { $0.weights[i] }, r), spread: r.max()! - r.min()!)
            })
        }
        return ReportData(
            metadata: RunMetadata(workflowName: "three-rewards", seed: 3, toolVersion: ClpFlowVersion.tool, status: "succeeded"),
            rewardNames: ["factuality", "conciseness", "fluency"], methods: methods,
            reference: ReferencePoint(label: "SFT", rewardMeans: [0.2, 0.2, 0.2]),
            hypervolume: HypervolumeTable(referencePoint: [0.2, 0.2, 0.2], rows: methods.map { m in
                HypervolumeRow(method: m.name, hypervolume: inclusionExclusionHypervolume(m.points.map { $0.rewardMeans },
                                                                                        reference: [0.2, 0.2, 0.2]))
            }),
            steerability: steer)
    }

    // Small independent helpers for the fixture's own consistency (the engine's ParetoMetrics is
    // the implementation used by runs; these only keep the fixture self-consistent).
    static func dominates(_ a: [Double], _ b: [Double]) -> Bool {
        zip(a, b).allSatisfy { $0 >= $1 } && zip(a, b).contains { $0 > $1 }
    }

    static func hypervolume2D(_ pts: [[Double]], reference r: [Double]) -> Double {
        var area = 0.0, bestY = r[1]
        for p in pts.filter({ $0[0] > r[0] && $0[1] > r[1] }).sorted(by: { $0[0] > $1[0] }) where p[1] > bestY {
            area += (p[0] - r[0]) * (p[1] - bestY)
            bestY = p[1]
        }
        return area
    }

    /// Exact hypervolume of any dimension by inclusion–exclusion over all subsets (fine for the
    /// ten points of a fixture): Σ over non-empty S of (−1)^(|S|+1) · Π_d (min_{p∈S} p_d − r_d)+.
    static func inclusionExclusionHypervolume(_ pts: [[Double]], reference r: [Double]) -> Double {
        var total = 0.0
        for mask in 1..<(1 << pts.count) {
            var corner = [Double](repeating: .infinity, count: r.count)
            var size = 0
            for (k, p) in pts.enumerated() where mask & (1 << k) != 0 {
                size += 1
                for d in 0..<r.count { corner[d] = min(corner[d], p[d]) }
            }
            var volume = 1.0
            for d in 0..<r.count { volume *= max(0, corner[d] - r[d]) }
            total += size % 2 == 1 ? volume : -volume
        }
        return total
    }

    /// Spearman for samples without ties in either vector, or nil when one is constant.
    static func spearman(_ x: [Double], _ y: [Double]) -> Double? {
        func ranks(_ v: [Double]) -> [Double] {
            let order = v.indices.sorted { v[$0] < v[$1] }
            var r = [Double](repeating: 0, count: v.count)
            var i = 0
            while i < order.count {
                var j = i + 1
                while j < order.count && v[order[j]] == v[order[i]] { j += 1 }
                for t in i..<j { r[order[t]] = Double(i + 1 + j) / 2 }
                i = j
            }
            return r
        }
        let rx = ranks(x), ry = ranks(y)
        let n = Double(x.count), mx = rx.reduce(0, +) / n, my = ry.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for k in 0..<x.count { sxy += (rx[k] - mx) * (ry[k] - my); sxx += (rx[k] - mx) * (rx[k] - mx); syy += (ry[k] - my) * (ry[k] - my) }
        return sxx == 0 || syy == 0 ? nil : sxy / (sxx * syy).squareRoot()
    }
}
