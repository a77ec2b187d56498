import ArgumentParser

extension ClpFlowCommand {
    /// Every subcommand, in the order `--help` lists them.
    static let allSubcommands: [ParsableCommand.Type] = [
        RunCommand.self,
        ValidateCommand.self,
        PlanCommand.self,
        GraphCommand.self,
        StatusCommand.self,
        MetricsCommand.self,
        ExplainCommand.self,
        ReportCommand.self,
        GenerateCommand.self,
        ExportCommand.self,
        ServeCommand.self,
        SchemaCommand.self,
        StepCommand.self,
        PublishArtifactCommand.self,
        DebugLogitsCommand.self,
        DebugInitModelCommand.self,
        DebugTokenizeCommand.self,
        DebugMetricsCommand.self,
        DebugPolicyLogitsCommand.self,
    ]
}
