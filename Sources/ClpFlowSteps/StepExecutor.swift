import ClpFlowPlanner
import ClpFlowRunner

/// Runs the step of a `clp-flow step` process.
public enum StepExecutor {
    public static func run(_ ctx: StepContext) throws {
        // What this artifact's numbers depend on (BLAS library and core type, thread counts).
        try NumericsRecord.current().write(to: ctx.workDir)
        switch ctx.step.kind {
        case .prepareData: try PrepareDataStep.run(ctx)
        case .trainTokenizer: try TrainTokenizerStep.run(ctx)
        case .pretrain: try PretrainStep.run(ctx)
        case .trainReference: try TrainReferenceStep.run(ctx)
        case .trainSoft, .trainCLP: try TrainPolicyStep.run(ctx)
        case .evaluate: try EvaluateStep.run(ctx)
        case .ablate: try AblateStep.run(ctx)
        case .report: try ReportStep.run(ctx)
        }
    }
}
