import ArgumentParser
import ClpFlowCore

/// The `clp-flow` root command. Each subcommand lives in its own file.
public struct ClpFlowCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "clp-flow",
        abstract: "Steerable multi-objective fine-tuning of language models as a declarative workflow.",
        discussion: """
            Write a YAML workflow (model size, conditioning mechanism, rewards, weight sampling, \
            training stages), then `clp-flow run workflow.yaml`. See docs/workflow-language.md.
            """,
        version: ClpFlowVersion.tool,
        subcommands: ClpFlowCommand.allSubcommands
    )

    public init() {}
}
