// The ablation data of a report: the planner's ablation matrix and the grouped ablation view.

/// Results of a parameter sweep.
public struct AblationMatrix: Codable, Sendable, Equatable {
    public var title: String
    /// What the score is, e.g. "hypervolume".
    public var scoreName: String
    public var higherIsBetter: Bool
    public var parameterNames: [String]
    public var cells: [AblationCell]

    public init(title: String, scoreName: String, higherIsBetter: Bool = true,
                parameterNames: [String], cells: [AblationCell]) {
        self.title = title
        self.scoreName = scoreName
        self.higherIsBetter = higherIsBetter
        self.parameterNames = parameterNames
        self.cells = cells
    }
}

public struct AblationCell: Codable, Sendable, Equatable {
    /// One value per entry of `AblationMatrix.parameterNames`, as displayed.
    public var parameters: [String]
    /// nil when the cell did not produce a score (e.g. its run failed).
    public var score: Double?
    public var note: String?

    public init(parameters: [String], score: Double?, note: String? = nil) {
        self.parameters = parameters
        self.score = score
        self.note = note
    }
}

/// An ablation seen cell by cell. Columns are the cells (in matrix order); each row is one
/// method kind (`clp`, `rewarded-soups`, …) with its scores in every cell.
public struct AblationView: Codable, Sendable, Equatable {
    /// The ablated key paths (`conditioning.mechanism`, …).
    public var axes: [String]
    public var cells: [AblationViewCell]
    public var rows: [AblationViewRow]
    /// How J(w) was computed, or why it could not be.
    public var objectiveNote: String?

    public init(axes: [String], cells: [AblationViewCell], rows: [AblationViewRow], objectiveNote: String? = nil) {
        self.axes = axes; self.cells = cells; self.rows = rows; self.objectiveNote = objectiveNote
    }
}

public struct AblationViewCell: Codable, Sendable, Equatable {
    /// The cell's label: its `ablate.name`, else its value (one axis) or `path=value` pairs.
    public var name: String
    /// The cell's value per axis (nil where the cell does not set it).
    public var values: [String?]

    public init(name: String, values: [String?]) { self.name = name; self.values = values }
}

public struct AblationViewRow: Codable, Sendable, Equatable {
    /// The method kind, e.g. `clp`.
    public var method: String
    /// One entry per cell (nil: no finished evaluation for that cell).
    public var entries: [AblationViewEntry?]

    public init(method: String, entries: [AblationViewEntry?]) { self.method = method; self.entries = entries }

    /// True when every cell uses one and the same evaluation (the method does not depend on the
    /// ablated settings).
    public var shared: Bool {
        let ids = entries.map { $0?.stepId }
        return ids.count > 1 && ids.allSatisfy { $0 != nil && $0 == ids[0] }
    }
}

public struct AblationViewEntry: Codable, Sendable, Equatable {
    /// The evaluate step behind the numbers.
    public var stepId: String
    public var hypervolume: Double?
    /// Mean Spearman ρ(wᵢ, rᵢ) over the rewards.
    public var meanRho: Double?
    /// Mean over the evaluation grid of J(w) = Σ wᵢ r̃ᵢ − α·KL; nil when it cannot be computed.
    public var objective: Double?
    /// Mean over the evaluation grid of each reward's mean (raw scores), one per reward.
    public var rewardMeans: [Double]
    /// Mean KL estimate over the grid.
    public var kl: Double?

    public init(stepId: String, hypervolume: Double?, meanRho: Double?, objective: Double?, rewardMeans: [Double], kl: Double? = nil) {
        self.stepId = stepId; self.hypervolume = hypervolume; self.meanRho = meanRho; self.objective = objective
        self.rewardMeans = rewardMeans; self.kl = kl
    }
}
