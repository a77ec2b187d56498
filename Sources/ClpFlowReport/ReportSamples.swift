// Generated texts a report shows side by side.

/// One evaluation prompt with the texts each method generated for it.
public struct SampleGroup: Codable, Sendable, Equatable {
    public var id: String?
    /// The model's input (the text it read before generating), shared by the methods whose
    /// input is the document alone; empty when not recorded.
    public var prompt: String
    /// The source document (e.g. the text to summarise).
    public var document: String
    /// A human reference output, if the dataset has one.
    public var referenceText: String?
    public var generations: [Generation]

    public init(id: String? = nil, prompt: String, document: String, referenceText: String? = nil,
                generations: [Generation]) {
        self.id = id
        self.prompt = prompt
        self.document = document
        self.referenceText = referenceText
        self.generations = generations
    }
}

public struct Generation: Codable, Sendable, Equatable {
    public var method: String
    public var weights: [Double]
    public var alpha: Double?
    public var text: String
    /// Reward values of this text (one per reward), if scored.
    public var rewards: [Double]?
    /// This generation's input when it differs from the group's `prompt` (e.g. prompt
    /// conditioning writes the weighting before the document).
    public var input: String?

    public init(method: String, weights: [Double], alpha: Double? = nil, text: String, rewards: [Double]? = nil,
                input: String? = nil) {
        self.method = method
        self.weights = weights
        self.alpha = alpha
        self.text = text
        self.rewards = rewards
        self.input = input
    }
}
