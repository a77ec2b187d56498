import ArgumentParser
import ClpFlowPlanner

/// `clp-flow graph FILE --format dot|mermaid|json`.
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Print the workflow's step graph as Graphviz DOT, Mermaid or JSON.",
        discussion: "Example: `clp-flow graph workflow.yaml --format dot | dot -Tsvg > plan.svg`. Exit status: 0, 2 on an invalid workflow."
    )

    @Argument(help: "The workflow file.")
    var file: String

    @Option(name: .long, help: "Output format: dot, mermaid or json.")
    var format: GraphRenderer.Format = .dot

    func run() throws {
        print(GraphRenderer.render(try planWorkflow(file: file).1, format: format), terminator: "")
    }
}

extension GraphRenderer.Format: ExpressibleByArgument {}
