import ArgumentParser
import ClpFlowPlanner

/// `clp-flow graph FILE --format dot|mermaid|json`.
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Print the workflow's step graph as Graphviz DOT, Mermaid or JSON.",
        discussion: "Example: `clp-flow graph workflow.yaml --format dot | dot -Tsvg > plan.svg`. DOT and Mermaid are drawn transitively reduced (an input also reached through another input is not drawn again); --all-edges draws every input, JSON always lists every one. Exit status: 0, 2 on an invalid workflow."
    )

    @Argument(help: "The workflow file.")
    var file: String

    @Option(name: .long, help: "Output format: dot, mermaid or json.")
    var format: GraphRenderer.Format = .dot

    @Flag(name: .customLong("all-edges"), help: "Draw every input edge (dot, mermaid); by default an edge implied by a longer path is left out.")
    var allEdges = false

    func run() throws {
        print(GraphRenderer.render(try planWorkflow(file: file).1, format: format, allEdges: allEdges), terminator: "")
    }
}

extension GraphRenderer.Format: ExpressibleByArgument {}
