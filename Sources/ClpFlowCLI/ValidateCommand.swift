import ArgumentParser
import ClpFlowCore
import ClpFlowSteps
import ClpFlowWorkflow
import Foundation

/// `clp-flow validate FILE… [--json]`: checks workflow (and template) files.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check workflow files and report every problem with its position.",
        discussion: """
            Prints `FILE: ok` for each valid file (with the number of ablation cells), otherwise \
            every error as `file:line:col: error: message` with the source line and a caret. \
            Files that declare `parameters:` are checked as templates. Exit status: 0 when every \
            file is valid, 2 when one is invalid, 70 on an internal error.
            """)

    @Argument(help: "Workflow or template files.")
    var files: [String]

    @Flag(name: .long, help: "Print one JSON object per run: {files: [{file, valid, kind, cells, diagnostics}]}.")
    var json = false

    func run() throws {
        var anyInvalid = false
        var anyInternal = false
        var reports: [JSONValue] = []
        for file in files {
            var diagnostics: [Diagnostic] = []
            var cells: [String] = []
            var valid = true
            let template = WorkflowLoader.isTemplate(path: file)
            do {
                if template {
                    diagnostics = try WorkflowLoader.checkTemplate(path: file)
                } else {
                    let loaded = try WorkflowLoader.load(path: file, inputChecks: PrepareDataStep.inputChecks)
                    diagnostics = loaded.warnings
                    cells = loaded.cells.map(\.name)
                }
            } catch {
                valid = false
                anyInternal = anyInternal || error.isInternal
                diagnostics = error.errors + error.warnings
            }
            anyInvalid = anyInvalid || !valid
            if json {
                reports.append(.object([
                    "file": .string(file), "valid": .bool(valid), "kind": .string(template ? "template" : "workflow"),
                    "cells": .array(cells.map { .string($0) }), "diagnostics": .array(diagnostics.map(\.json)),
                ]))
            } else {
                for d in diagnostics { FileHandle.standardError.write(Data(d.rendered.utf8)) }
                if valid {
                    var line = "\(file): ok"
                    if template { line += " (template)" } else if cells.count > 1 { line += " (\(cells.count) ablation cells)" }
                    print(line)
                } else {
                    let n = diagnostics.filter { $0.severity == .error }.count
                    FileHandle.standardError.write(Data("\(file): \(n) error\(n == 1 ? "" : "s")\n".utf8))
                }
            }
        }
        if json { print(JSONValue.object(["files": .array(reports)]).prettyCanonical, terminator: "") }
        if anyInternal { throw ExitCode(ClpFlowExit.internalError) }
        if anyInvalid { throw ExitCode(ClpFlowExit.invalidInput) }
    }
}
