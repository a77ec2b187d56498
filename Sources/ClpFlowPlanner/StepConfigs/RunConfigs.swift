import ClpFlowCore
import ClpFlowWorkflow

/// ablate: the ablation matrix and its cells, over every evaluate step.
public struct AblateConfig: StepConfiguration, Equatable {
    public static let kinds: [StepKind] = [.ablate]

    public struct Axis: Codable, Sendable, Equatable {
        public var path: String
        public var values: [JSONValue]
        public init(path: String, values: [JSONValue]) { self.path = path; self.values = values }
    }

    public struct Assignment: Codable, Sendable, Equatable {
        public var path: String
        public var value: JSONValue
        public init(path: String, value: JSONValue) { self.path = path; self.value = value }
    }

    public struct Cell: Codable, Sendable, Equatable {
        public var name: String
        public var assignments: [Assignment]
        public init(name: String, assignments: [Assignment]) { self.name = name; self.assignments = assignments }
    }

    public var matrix: [Axis]
    /// The cell-name template (`ablate.name`), when the workflow names its cells.
    public var name: String?
    public var cells: [Cell]
    /// `evaluate.seeds`.
    public var seeds: Int
    /// `evaluate.reference_point` when declared; nil for `auto` (not written, so plans without
    /// it keep their keys).
    public var referencePoint: [Double]?

    public init(matrix: [Axis], name: String?, cells: [Cell], seeds: Int, referencePoint: [Double]? = nil) {
        self.matrix = matrix; self.name = name; self.cells = cells; self.seeds = seeds; self.referencePoint = referencePoint
    }

    private struct Ablate: Codable { var matrix: [Axis]; var name: String? }
    private struct Seeds: Codable {
        var seeds: Int
        var referencePoint: [Double]?
        enum CodingKeys: String, CodingKey { case seeds, referencePoint = "reference_point" }
    }

    public init(config: JSONValue) throws {
        let r = try SectionReader(config, kind: "ablate")
        let a: Ablate = try r.value("ablate")
        let e = try r.value("evaluate", as: Seeds.self)
        self.init(matrix: a.matrix, name: a.name, cells: try r.value("cells"), seeds: e.seeds, referencePoint: e.referencePoint)
    }

    var json: JSONValue {
        var ablate: [String: JSONValue] = ["matrix": .array(matrix.map { ["path": .string($0.path), "values": .array($0.values)] })]
        if let name { ablate["name"] = .string(name) }
        return ["ablate": .object(ablate),
                "cells": .array(cells.map { c in
                    ["name": .string(c.name),
                     "assignments": .array(c.assignments.map { ["path": .string($0.path), "value": $0.value] })]
                }),
                "evaluate": evaluateJSON]
    }

    private var evaluateJSON: JSONValue {
        var e: [String: JSONValue] = ["seeds": .number(Double(seeds))]
        if let referencePoint { e["reference_point"] = .array(referencePoint.map { .number($0) }) }
        return .object(e)
    }

    public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) }
}

/// report: what the report shows (titles, metrics, sample count, cell names).
public struct ReportConfig: StepConfiguration, Equatable {
    public static let kinds: [StepKind] = [.report]
    public var name: String
    public var description: String
    /// `evaluate.metrics`.
    public var metrics: [EvalMetric]
    /// `evaluate.sample_prompts`.
    public var samplePrompts: Int
    /// Names of the ablation cells ("" for a workflow without `ablate`).
    public var cells: [String]
    /// `evaluate.reference_point` when declared; nil for `auto` (not written).
    public var referencePoint: [Double]?

    public init(name: String, description: String, metrics: [EvalMetric], samplePrompts: Int, cells: [String],
                referencePoint: [Double]? = nil) {
        self.name = name; self.description = description; self.metrics = metrics
        self.samplePrompts = samplePrompts; self.cells = cells; self.referencePoint = referencePoint
    }

    private struct Evaluate: Codable {
        var metrics: [EvalMetric]
        var samplePrompts: Int
        var referencePoint: [Double]?
        enum CodingKeys: String, CodingKey { case metrics, samplePrompts = "sample_prompts", referencePoint = "reference_point" }
    }

    public init(config: JSONValue) throws {
        let r = try SectionReader(config, kind: "report")
        let e: Evaluate = try r.value("evaluate")
        self.init(name: try r.value("name"), description: try r.value("description"), metrics: e.metrics,
                  samplePrompts: e.samplePrompts, cells: try r.value("cells"), referencePoint: e.referencePoint)
    }

    var json: JSONValue {
        var e: [String: JSONValue] = ["metrics": .array(metrics.map { .string($0.rawValue) }),
                                      "sample_prompts": .number(Double(samplePrompts))]
        if let referencePoint { e["reference_point"] = .array(referencePoint.map { .number($0) }) }
        return ["name": .string(name), "description": .string(description), "evaluate": .object(e),
                "cells": .array(cells.map { .string($0) })]
    }

    public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) }
}
