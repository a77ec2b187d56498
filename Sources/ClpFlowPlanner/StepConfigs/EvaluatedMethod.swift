import ClpFlowWorkflow

/// The methods an evaluate step compares (its `method`), and that `generate`, `export` and
/// `serve` open from a run: the conditioned policy and the baselines built from SOFT policies
/// or a prompt-conditioned model.
public enum EvaluatedMethod: String, Codable, Sendable, CaseIterable {
    /// The workflow's conditioned policy (π_ref itself when the workflow has no RL stage).
    case clp
    /// Weights written into the prompt, one multi-task model.
    case prompt
    /// θ_RS(w) = Σ wᵢ θ_SOFTᵢ.
    case rewardedSoups = "rewarded-soups"
    /// Σ wᵢ log πᵢ per token over the SOFT policies.
    case logitMixing = "logit-mixing"
    /// One single-objective policy per reward, answering at vertices only.
    case soft
    /// Decoding-time realignment of the first SOFT policy toward π_ref.
    case dera

    /// The method a workflow baseline is evaluated as.
    public init(_ b: Baseline) {
        switch b {
        case .soft: self = .soft
        case .rewardedSoups: self = .rewardedSoups
        case .dera: self = .dera
        case .logitMixing: self = .logitMixing
        case .prompt: self = .prompt
        }
    }

    /// Whether the method is built from the SOFT policies (one per reward).
    public var usesSoftPolicies: Bool { [.soft, .rewardedSoups, .logitMixing, .dera].contains(self) }

    /// Every name, in declaration order.
    public static var names: [String] { allCases.map(\.rawValue) }
}

extension PlannedStep {
    /// The method an evaluate step evaluates (nil for other kinds).
    public var evaluatedMethod: EvaluatedMethod? {
        guard kind == .evaluate, let name = config["method"]?.stringValue else { return nil }
        return EvaluatedMethod(rawValue: name)
    }
}
