import Foundation

/// A client error: the HTTP status and the message returned as `{"error": message}`.
public struct ServeError: Error, CustomStringConvertible, Equatable, Sendable {
    public let status: Int
    public let message: String
    public init(_ status: Int, _ message: String) { self.status = status; self.message = message }
    public static func badRequest(_ message: String) -> ServeError { ServeError(400, message) }
    public var description: String { message }
}

/// Checks of a reward weighting shared by `clp-flow export` and `clp-flow serve`.
public enum Weighting {
    /// Sum tolerance: weights must sum to 1 within this.
    public static let tolerance = 1e-4

    /// nil when `w` is a valid weighting of `count` rewards, else why not.
    public static func problem(_ w: [Double], count: Int, names: [String]) -> String? {
        if w.count != count {
            return "weights has \(w.count) value\(w.count == 1 ? "" : "s"); the run has \(count) reward\(count == 1 ? "" : "s") (\(names.joined(separator: ", ")))"
        }
        if let bad = w.first(where: { !$0.isFinite }) { return "weights must be finite numbers, got \(bad)" }
        if let neg = w.first(where: { $0 < 0 }) { return "weights must be non-negative, got \(neg)" }
        let s = w.reduce(0, +)
        if abs(s - 1) > tolerance { return "weights must sum to 1, they sum to \(s)" }
        return nil
    }

    /// Parses `0.2,0.8` (as given to --weights).
    public static func parse(_ text: String) -> (weights: [Double], problem: String?) {
        var out: [Double] = []
        for p in text.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let v = Double(p), v.isFinite else { return ([], "\"\(p)\" is not a number") }
            out.append(v)
        }
        return (out, nil)
    }
}

/// Limits of `clp-flow serve`, set by its flags.
public struct ServeLimits: Sendable, Equatable {
    /// Longest input document, in characters.
    public var maxInputCharacters = 4000
    /// Most samples per request.
    public var maxSamples = 8
    /// Most new tokens per sample.
    public var maxNewTokens = 64
    /// Largest request body, in bytes.
    public var maxBodyBytes = 65_536
    /// Generations running at once; further requests wait.
    public var maxConcurrent = 2
    /// Requests waiting for a generation slot; beyond this the server answers 503.
    public var maxQueued = 64
    public init() {}
}
