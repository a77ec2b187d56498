import ClpFlowCore

/// The order in which a runner launches ready steps when it cannot launch them all: longest
/// remaining path first (critical-path list scheduling).
///
/// Each step gets an estimate of its work from its configuration (`estimatedWork`): the number of
/// token positions its model processes, so a 60-step RL stage weighs twice a 30-step one and an
/// evaluation of 48 prompts far less than either. A step's priority is its own work plus the
/// largest priority among the steps that consume its output; ready steps launch in decreasing
/// priority, ties in plan order. The order changes when steps start, never what they compute, so
/// results stay byte-identical whatever the order.
public enum LaunchOrder {
    /// Relative work of a step (token positions processed; 1 for bookkeeping steps).
    public static func estimatedWork(_ s: PlannedStep) -> Double {
        let c = s.config
        let doc = Double(c["data"]?["max_document_tokens"]?.intValue ?? 128)
        let summary = Double(c["data"]?["max_summary_tokens"]?.intValue ?? 32)
        func int(_ v: JSONValue?, _ d: Int) -> Double { Double(v?.intValue ?? d) }
        switch s.kind {
        case .prepareData, .trainTokenizer, .ablate, .report:
            return 1
        case .pretrain:
            let p = c["pretrain"]
            return max(1, int(p?["steps"], 0) * int(p?["batch"], 1) * (doc + summary))
        case .trainReference:
            let r = c["reference"]
            return max(1, int(r?["steps"], 0) * int(r?["batch"], 1) * (doc + summary))
        case .trainSoft, .trainCLP:
            let st = c["stage"]
            let new = int(st?["max_new_tokens"], 16)
            // Sampling, then the policy's forward and backward pass and π_ref's forward pass.
            return max(1, int(st?["steps"], 0) * int(st?["batch"], 1) * int(st?["samples"], 1) * 3 * (doc + new))
        case .evaluate:
            let e = c["evaluate"]
            let new = int(e?["max_new_tokens"], 16)
            let m = c["rewards"]?.arrayValue?.count ?? 1
            return max(1, int(e?["prompts"], 1) * Double(gridSize(c["weights"], rewards: m)) * 2 * (doc + new))
        }
    }

    /// Number of evaluated weightings, from `weights.eval`: an explicit list, or the simplex
    /// lattice of `rewards` objectives with `points_per_edge` points on each edge,
    /// C(n − 1 + m − 1, m − 1); 1 when absent.
    static func gridSize(_ weights: JSONValue?, rewards m: Int) -> Int {
        guard let e = weights?["eval"] else { return 1 }
        if let list = e.arrayValue { return max(1, list.count) }
        if let list = e["points"]?.arrayValue { return max(1, list.count) }
        guard let n = e["points_per_edge"]?.intValue, n >= 1, m >= 1 else { return 1 }
        var c = 1.0
        for i in 0..<(m - 1) { c = c * Double(n - 1 + m - 1 - i) / Double(i + 1) }
        return max(1, Int(c.rounded()))
    }

    /// Launch priority of every step: its work plus the largest priority of its consumers.
    public static func priorities(_ plan: Plan) -> [String: Double] {
        var consumers: [String: [String]] = [:]
        for s in plan.steps { for i in s.inputs { consumers[i, default: []].append(s.id) } }
        var out: [String: Double] = [:]
        // Plan steps are in dependency order, so consumers come later: walk backwards.
        for s in plan.steps.reversed() {
            let downstream = (consumers[s.id] ?? []).compactMap { out[$0] }.max() ?? 0
            out[s.id] = estimatedWork(s) + downstream
        }
        return out
    }

    /// The plan's steps in launch-preference order (decreasing priority, ties in plan order).
    public static func ordered(_ plan: Plan) -> [PlannedStep] {
        let p = priorities(plan)
        return plan.steps.enumerated().sorted { a, b in
            let pa = p[a.element.id] ?? 0, pb = p[b.element.id] ?? 0
            return pa != pb ? pa > pb : a.offset < b.offset
        }.map(\.element)
    }
}
