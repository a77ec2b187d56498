import ArgumentParser

extension ClpFlowCommand {
    /// Every subcommand, in the order `--help` lists them.
    static let allSubcommands: [ParsableCommand.Type] = [
        StatusCommand.self,
        MetricsCommand.self,
        ExplainCommand.self,
        PublishArtifactCommand.self,
    ]
}
