import ClpFlowCore
@testable import ClpFlowEngine
import ClpFlowReport
import Foundation
import Testing
@testable import ClpFlowSteps

/// Artifact files are written with snake_case keys and read in either spelling, so run
/// directories written before (camelCase keys) keep working.
@Suite struct ArtifactJSONTests {
    /// evaluation.json as versions before snake_case keys wrote it (every field present).
    static let oldEvaluation = #"""
    {
      "conditioning" : "attn",
      "evaluation" : {
        "forwardPassesPerToken" : 1,
        "method" : "clp",
        "points" : [
          {
            "alpha" : 0.05,
            "kl" : { "mean" : 0.25, "se" : 0.01 },
            "length" : { "mean" : 6, "se" : 0 },
            "perPrompt" : { "kl" : [0.2, 0.3], "rewards" : [[0.5, 1.5], [0.7, 1.25]] },
            "rewards" : [ { "mean" : 0.6, "se" : 0.1 }, { "mean" : 1.375, "se" : 0.125 } ],
            "weights" : [0.25, 0.75]
          }
        ],
        "prompts" : 2,
        "rewardNames" : ["rougeL", "valid_len"],
        "samples" : [ { "alpha" : 0.05, "exampleId" : "ex-7", "text" : "a short synopsis", "weights" : [0.25, 0.75] } ],
        "seeds" : 1,
        "tokensPerSecond" : 812.5
      },
      "hypervolume" : 0.4375,
      "label" : "clp-attn",
      "lead" : [ { "k" : 8, "rewards" : [ { "mean" : 0.3, "se" : 0.05 }, { "mean" : 1, "se" : 0 } ] } ],
      "method" : "clp",
      "objective" : [ { "alpha" : 0.05, "interval" : { "level" : 0.95, "lower" : -0.1, "upper" : 0.3 }, "mean" : 0.1, "weights" : [0.25, 0.75] } ],
      "reference" : {
        "kl" : { "mean" : 0, "se" : 0 },
        "length" : { "mean" : 5, "se" : 0 },
        "perPrompt" : { "kl" : [0, 0], "rewards" : [[0.4, 1], [0.5, 1]] },
        "rewards" : [ { "mean" : 0.45, "se" : 0.05 }, { "mean" : 1, "se" : 0 } ],
        "weights" : [0.5, 0.5]
      },
      "rewardNames" : ["rougeL", "valid_len"],
      "steerability" : [ { "rewardIndex" : 0, "rho" : 1, "spread" : 0.2 }, { "rewardIndex" : 1, "spread" : 0 } ]
    }
    """#

    static func write(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("clp-artifact-json-\(UUID().uuidString).json")
        try Data(text.utf8).write(to: url)
        return url
    }

    /// Every object key of a JSON value with its path, except inside the objects `skip` names.
    static func keys(_ v: Any, path: String = "", skip: Set<String> = []) -> [String] {
        if let o = v as? [String: Any] {
            return o.keys.sorted().flatMap { k in
                [path + "." + k] + (skip.contains(k) ? [] : keys(o[k]!, path: path + "." + k, skip: skip))
            }
        }
        if let a = v as? [Any] { return a.flatMap { keys($0, path: path + "[]", skip: skip) } }
        return []
    }

    @Test func oldCamelCaseEvaluationLoadsAndIsRewrittenSnakeCase() throws {
        let oldURL = try Self.write(Self.oldEvaluation)
        defer { try? FileManager.default.removeItem(at: oldURL) }
        let old = try Files.readJSON(EvaluationArtifact.self, from: oldURL)
        #expect(old.rewardNames == ["rougeL", "valid_len"], "reward names are data: never converted")
        #expect(old.evaluation.tokensPerSecond == 812.5 && old.evaluation.forwardPassesPerToken == 1)
        #expect(old.evaluation.points[0].perPrompt?.rewards == [[0.5, 1.5], [0.7, 1.25]])
        #expect(old.reference.perPrompt?.kl == [0, 0])
        #expect(old.evaluation.samples[0].exampleId == "ex-7")
        #expect(old.steerability.map(\.rewardIndex) == [0, 1])
        #expect(old.objective?[0].interval?.upper == 0.3)

        let newURL = oldURL.deletingPathExtension().appendingPathExtension("new.json")
        defer { try? FileManager.default.removeItem(at: newURL) }
        try Files.writeJSON(old, to: newURL)
        let text = String(decoding: try Data(contentsOf: newURL), as: UTF8.self)
        for key in ["reward_names", "tokens_per_second", "forward_passes_per_token", "per_prompt", "example_id", "reward_index"] {
            #expect(text.contains("\"\(key)\""), "\(key) in \(text)")
        }
        let all = Self.keys(try JSONSerialization.jsonObject(with: Data(text.utf8)))
        #expect(all.count > 40)
        #expect(all.filter { $0.split(separator: ".").last!.contains(where: \.isUppercase) }.isEmpty, "\(all)")

        // The snake_case file reads back to the same value.
        let again = try Files.readJSON(EvaluationArtifact.self, from: newURL)
        let enc = ArtifactJSON.encoder()
        #expect(try enc.encode(again) == enc.encode(old))
    }

    @Test func acronymFieldsReadInBothSpellings() throws {
        let row = AblationRow(stepId: "evaluate[method=clp]", labels: ["method": "clp"], method: "clp", label: "clp-attn",
                              cells: ["a"], hypervolume: 0.5, meanSpearman: 0.9, rewardMeans: [1, 2], meanKL: 0.125)
        let new = try ArtifactJSON.encoder().encode(row)
        let newText = String(decoding: new, as: UTF8.self)
        #expect(newText.contains("\"mean_kl\"") && newText.contains("\"step_id\"") && newText.contains("\"reward_means\""), "\(newText)")
        #expect(try ArtifactJSON.decoder().decode(AblationRow.self, from: new) == row)
        let old = #"{"stepId": "evaluate[method=clp]", "labels": {"method": "clp"}, "method": "clp", "label": "clp-attn", "cells": ["a"],"#
            + #" "hypervolume": 0.5, "meanSpearman": 0.9, "rewardMeans": [1, 2], "meanKL": 0.125}"#
        #expect(try ArtifactJSON.decoder().decode(AblationRow.self, from: Data(old.utf8)) == row)

        let meta = RunMetadata(workflowName: "w", runID: "7", seed: 3, toolVersion: "1", engineFormat: 2, status: "succeeded",
                               startedAt: nil, finishedAt: nil, executor: nil, steps: [], extra: [])
        let metaText = String(decoding: try ArtifactJSON.encoder().encode(meta), as: UTF8.self)
        #expect(metaText.contains("\"run_id\"") && metaText.contains("\"workflow_name\""), "\(metaText)")
        #expect(try ArtifactJSON.decoder().decode(RunMetadata.self, from: Data(metaText.utf8)) == meta)
        let oldMeta = #"{"workflowName": "w", "runID": "7", "seed": 3, "toolVersion": "1", "engineFormat": 2, "status": "succeeded"}"#
        #expect(try ArtifactJSON.decoder().decode(RunMetadata.self, from: Data(oldMeta.utf8)) == meta)
    }

    @Test func summaryKeysAndMetricNames() throws {
        // The pretraining summary always had snake_case keys; curve metrics are data.
        let s = PretrainTrainer.Summary(steps: 4, tokensSeen: 512, epochs: 0.5, finalTrainLoss: 3.25, validLoss: 3.5, validPerplexity: 33.1)
        let text = String(decoding: try ArtifactJSON.encoder().encode(s), as: UTF8.self)
        #expect(text.contains("\"tokens_seen\"") && text.contains("\"final_train_loss\"") && text.contains("\"valid_perplexity\""), "\(text)")
        #expect(try ArtifactJSON.decoder().decode(PretrainTrainer.Summary.self, from: Data(text.utf8)) == s)
        let curve = [TrainPolicyStep.Curve(step: 3, metrics: ["reward/rougeL": 0.5, "valid_loss": 2, "kl": 0.1])]
        let c = try ArtifactJSON.encoder().encode(curve)
        let back = try ArtifactJSON.decoder().decode([TrainPolicyStep.Curve].self, from: c)
        #expect(back.first?.metrics == ["reward/rougeL": 0.5, "valid_loss": 2, "kl": 0.1])
    }

    @Test func keyForms() {
        #expect(ArtifactJSON.snakeCase("tokensPerSecond") == "tokens_per_second")
        #expect(ArtifactJSON.snakeCase("meanKL") == "mean_kl")
        #expect(ArtifactJSON.snakeCase("runIDValue") == "run_id_value")
        #expect(ArtifactJSON.snakeCase("sha256") == "sha256")
        #expect(ArtifactJSON.matchingKey("tokens_per_second") == "tokensPerSecond")
        #expect(ArtifactJSON.matchingKey("tokensPerSecond") == "tokensPerSecond")
        #expect(ArtifactJSON.matchingKey("mean_kl") == "meanKl" && ArtifactJSON.matchingKey("meanKL") == "meanKl")
        #expect(ArtifactJSON.matchingKey("steps") == "steps")
    }
}
