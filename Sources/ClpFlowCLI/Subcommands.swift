import ArgumentParser

extension ClpFlowCommand {
    /// Every subcommand, in the order `--help` lists them.
    static let allSubcommands: [ParsableCommand.Type] = [
        DebugLogitsCommand.self,
        DebugInitModelCommand.self,
        DebugTokenizeCommand.self,
        ValidateCommand.self,
        StepCommand.self,
        GenerateCommand.self,
        SchemaCommand.self,
        StatusCommand.self,
        MetricsCommand.self,
        ExplainCommand.self,
        PublishArtifactCommand.self,
    ]
}
