import ArgumentParser
import ClpFlowCore
import ClpFlowEngine
import Foundation

/// Hidden developer command: evaluates the evaluation metrics on cases read as JSON from stdin and
/// prints the results as JSON. Used by scripts/checks/metrics.sh to compare hypervolume, Spearman
/// ρ, its permutation p-value and bootstrap intervals with an independent implementation.
struct DebugMetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug-metrics",
        abstract: "Compute evaluation metrics on JSON cases from stdin (developer tool).",
        discussion: """
            Reads {"hypervolume": [{"points": [[…]], "reference": […]}], "spearman": [{"x": […], "y": […]}], \
            "bootstrap": [{"values": […], "resamples": N, "level": 0.95, "seed": S}], \
            "grids": [{"points": [{"weights": […], "alpha": a, "rewards": [[…] per prompt], "kl": […]}], \
            "reference": {π_ref's point}, "declared": […] or absent for auto, "resamples": N, "seed": S}]} and \
            prints the same lists with "value" (hypervolume, rho), "p" (exact or Monte-Carlo permutation \
            p-value of ρ), "lower"/"upper" (bootstrap interval of the mean; for grids, of the hypervolume \
            over prompts resampled jointly) and, for grids, "point" (the reference point) and "hypervolume" added.
            """,
        shouldDisplay: false
    )

    struct HVCase: Codable { var points: [[Double]]; var reference: [Double]; var value: Double? }
    struct RhoCase: Codable { var x: [Double]; var y: [Double]; var value: Double?; var p: Double? }
    struct BootCase: Codable {
        var values: [Double]; var resamples: Int?; var level: Double?; var seed: UInt64?
        var lower: Double?; var upper: Double?
    }
    struct GridPoint: Codable {
        var weights: [Double]; var alpha: Double?; var rewards: [[Double]]; var kl: [Double]
        var evaluationPoint: EvaluationPoint {
            let m = rewards.first?.count ?? 0
            return EvaluationPoint(weights: weights, alpha: alpha, rewards: (0..<m).map { i in Estimate(rewards.map { $0[i] }) },
                                   kl: Estimate(kl), length: Estimate([0]), perPrompt: .init(rewards: rewards, kl: kl))
        }
    }
    struct GridCase: Codable {
        var points: [GridPoint]; var reference: GridPoint; var declared: [Double]?
        var resamples: Int?; var seed: UInt64?
        var point: [Double]?; var hypervolume: Double?; var lower: Double?; var upper: Double?
    }
    struct Cases: Codable {
        var hypervolume: [HVCase]?
        var spearman: [RhoCase]?
        var bootstrap: [BootCase]?
        var grids: [GridCase]?
    }

    func run() throws {
        let input = FileHandle.standardInput.readDataToEndOfFile()
        var cases: Cases
        do { cases = try JSONDecoder().decode(Cases.self, from: input) } catch {
            FileHandle.standardError.write(Data("error: stdin is not a metrics case file: \(error)\n".utf8))
            throw ExitCode(ClpFlowExit.invalidInput)
        }
        cases.hypervolume = cases.hypervolume?.map { c in
            var c = c; c.value = ParetoMetrics.hypervolume(c.points, reference: c.reference); return c
        }
        cases.spearman = cases.spearman?.map { c in
            var c = c
            c.value = ParetoMetrics.spearman(c.x, c.y)
            c.p = Uncertainty.spearmanPermutationP(c.x, c.y, seed: 1)
            return c
        }
        cases.bootstrap = cases.bootstrap?.map { c in
            var c = c
            let i = Uncertainty.meanInterval(c.values, resamples: c.resamples ?? Uncertainty.defaultResamples,
                                             level: c.level ?? Uncertainty.defaultLevel, seed: c.seed ?? 0)
            c.lower = i?.lower; c.upper = i?.upper
            return c
        }
        cases.grids = try cases.grids?.map { c in
            var c = c
            let points = c.points.map(\.evaluationPoint), reference = c.reference.evaluationPoint
            let m = reference.rewards.count
            let names = (0..<m).map { "r\($0)" }
            let run = try RunHypervolume.compute([.init(points: points, reference: reference, seed: nil)], declared: c.declared, rewardNames: names)
            c.point = run.reference.point
            c.hypervolume = run.results[0].hypervolume
            let i = GridBootstrap.hypervolumeInterval(points, reference: run.reference.point, multiKL: run.multiKL, seed: c.seed ?? 0,
                                                      resamples: c.resamples ?? Uncertainty.defaultResamples)
            c.lower = i?.lower; c.upper = i?.upper
            return c
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        FileHandle.standardOutput.write(try enc.encode(cases))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}
