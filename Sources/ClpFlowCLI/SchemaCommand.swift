import ArgumentParser
import ClpFlowWorkflow

/// `clp-flow schema`: prints the JSON Schema of workflow files (schemas/clp-flow.schema.json).
struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema (2020-12) of workflow and template files.",
        discussion: "Point your editor's YAML support at it, or run `clp-flow schema > schemas/clp-flow.schema.json`.")

    @Flag(name: .long, help: "Print the Markdown key reference of docs/workflow-language.md instead.")
    var markdown = false

    func run() throws {
        print(markdown ? WorkflowSchema.markdownReference : WorkflowSchema.jsonSchemaText, terminator: "")
    }
}
