import ClpFlowCore
import Foundation

/// A workflow read from a file: the base workflow, its ablation cells and the warnings.
public struct LoadedWorkflow: Sendable {
    /// The path given to the loader.
    public var file: String
    /// The base workflow, templates applied, validated.
    public var workflow: Workflow
    /// One unnamed cell equal to the base when there is no `ablate`.
    public var cells: [AblationCell]
    public var warnings: [Diagnostic]
    /// Every file read (the workflow, then its templates), for cache keys.
    public var files: [String]

    /// The resolved base workflow as canonical JSON.
    public var resolvedJSON: JSONValue { workflow.resolvedJSON }
}

extension Workflow {
    /// The resolved form: every key present with its value (defaults filled), enums in their
    /// YAML shape. Keys are snake_case; serialize with `.canonical` / `.prettyCanonical`.
    public var resolvedJSON: JSONValue {
        do { return try encodeToJSON(self) } catch { preconditionFailure("a workflow always encodes: \(error)") }
    }

    /// Reads a resolved form back (e.g. from a run directory).
    public init(resolvedJSON: JSONValue) throws {
        self = try JSONDecoder().decode(Workflow.self, from: Data(resolvedJSON.canonical.utf8))
    }
}

/// Reads workflow files: YAML → document tree → templates → typed, validated `Workflow` and cells.
public enum WorkflowLoader {
    /// Loads and validates the workflow at `path`. Relative paths in it (templates, data files,
    /// checkpoints) are relative to the file that writes them. `inputChecks` also reads the
    /// inputs (the data file) the way the steps will.
    public static func load(path: String, inputChecks: InputChecks? = nil) throws(ValidationFailure) -> LoadedWorkflow {
        let sink = DiagnosticSink()
        let resolver = TemplateResolver(sink: sink)
        guard let root = resolver.parseFile(path, reportAt: nil) else { throw ValidationFailure(diagnostics: sink.sorted, isInternal: sink.internalFailure) }
        return try finish(root: root, file: path, sink: sink, resolver: resolver, checkFiles: true,
                          inputChecks: inputChecks.map(InputCheckCache.init))
    }

    /// Loads a workflow from text as if it were the file `file` (templates are looked up next to it).
    public static func load(text: String, file: String, checkFiles: Bool = true) throws(ValidationFailure) -> LoadedWorkflow {
        let sink = DiagnosticSink()
        let resolver = TemplateResolver(sink: sink)
        guard let root = resolver.parseText(Array(text.utf8), file: file) else { throw ValidationFailure(diagnostics: sink.sorted, isInternal: sink.internalFailure) }
        return try finish(root: root, file: file, sink: sink, resolver: resolver, checkFiles: checkFiles)
    }

    /// Loads a workflow from raw bytes as if they were the file `file` (for fuzzing and stdin).
    public static func load(bytes: [UInt8], file: String, checkFiles: Bool = true) throws(ValidationFailure) -> LoadedWorkflow {
        let sink = DiagnosticSink()
        let resolver = TemplateResolver(sink: sink)
        guard let root = resolver.parseText(bytes, file: file) else { throw ValidationFailure(diagnostics: sink.sorted, isInternal: sink.internalFailure) }
        return try finish(root: root, file: file, sink: sink, resolver: resolver, checkFiles: checkFiles)
    }

    /// Parses bytes only (no decoding); for tests and tools.
    public static func parseTree(bytes: [UInt8], file: String) throws(ValidationFailure) -> YAMLNode {
        let sink = DiagnosticSink()
        guard let root = YAMLParser.parse(bytes: bytes, file: file, sink: sink), !sink.hasErrors else { throw ValidationFailure(diagnostics: sink.sorted, isInternal: sink.internalFailure) }
        return root
    }

    private static func finish(root: YAMLNode, file: String, sink: DiagnosticSink, resolver: TemplateResolver, checkFiles: Bool,
                               inputChecks: InputCheckCache? = nil) throws(ValidationFailure) -> LoadedWorkflow {
        let key = TemplateResolver.key(file)
        if root.pairs?.contains(where: { $0.key == "parameters" }) == true {
            sink.error("this is a template file (it declares `parameters`); use it from a workflow with `extends` or `uses`", at: root.position)
            throw ValidationFailure(diagnostics: sink.sorted, isInternal: sink.internalFailure)
        }
        guard let merged = resolver.resolve(root, file: file, chain: [key]) else { throw ValidationFailure(diagnostics: sink.sorted, isInternal: sink.internalFailure) }
        let baseDir = (file as NSString).deletingLastPathComponent
        let decodeCell: (YAMLNode, DiagnosticSink) -> Workflow? = { tree, s in
            decode(tree, sink: s, baseDirectory: baseDir, checkFiles: checkFiles, inputChecks: inputChecks)
        }
        let decodedBase = decodeCell(merged, sink)
        guard let base = decodedBase, !sink.hasErrors else {
            // Every problem at once: an invalid base does not hide problems of the ablation's
            // values (each cell is decoded on its own; what the base already reported is not
            // repeated for the cells).
            if merged["ablate"] != nil, !sink.internalFailure {
                var expander = AblationExpander(sink: sink, decode: decodeCell)
                expander.alreadyReported = Set(sink.diagnostics.map(AblationExpander.key))
                _ = expander.expand(root: merged, base: nil)
            }
            throw ValidationFailure(diagnostics: sink.sorted, isInternal: sink.internalFailure)
        }
        let expander = AblationExpander(sink: sink, decode: decodeCell)
        guard let cells = expander.expand(root: merged, base: base), !sink.hasErrors else {
            throw ValidationFailure(diagnostics: sink.sorted, isInternal: sink.internalFailure)
        }
        return LoadedWorkflow(file: file, workflow: base, cells: cells,
                              warnings: sink.sorted.filter { $0.severity == .warning }, files: resolver.filesRead)
    }

    /// Walks, decodes and validates one tree.
    static func decode(_ tree: YAMLNode, sink: DiagnosticSink, baseDirectory: String, checkFiles: Bool,
                       inputChecks: InputCheckCache? = nil) -> Workflow? {
        let walker = SchemaWalker(sink: sink)
        let structural = sink.errorCount
        guard let json = walker.walkWorkflow(tree) else { return nil }
        let walkFailed = sink.errorCount > structural
        // After structural errors, the cross-field checks still run on the values that were
        // valid (invalid ones took their defaults), so that every problem is reported at once;
        // their findings inside the invalid values are dropped.
        if walkFailed, walker.failedPaths.contains(where: { $0 == "rewards" || $0.hasPrefix("rewards.") }) { return nil }
        var w: Workflow
        do {
            w = try JSONDecoder().decode(Workflow.self, from: Data(json.canonical.utf8))
        } catch {
            sink.error("internal error: the checked workflow could not be decoded (\(error)); please report this", at: tree.position)
            sink.internalFailure = true
            return nil
        }
        let before = sink.errorCount
        let locator = NodeLocator(root: tree)
        let semanticSink = walkFailed ? DiagnosticSink() : sink
        semanticSink.inherit(from: sink)
        var validator = SemanticValidator(sink: semanticSink, locator: locator, baseDirectory: baseDirectory, checkFiles: checkFiles)
        validator.inputChecks = inputChecks
        validator.validate(&w)
        if walkFailed {
            var suppressed = Set<SourcePosition>()
            func collect(_ n: YAMLNode) {
                suppressed.insert(n.position)
                for c in n.items ?? [] { collect(c) }
                for p in n.pairs ?? [] { suppressed.insert(p.keyNode.position); collect(p.value) }
            }
            for path in walker.failedPaths {
                if let n = locator.exact(path.split(separator: ".").map(String.init)) { collect(n) }
            }
            for d in semanticSink.diagnostics where !suppressed.contains(d.position) { sink.add(d) }
            return nil
        }
        return sink.errorCount > before ? nil : w
    }
}

extension WorkflowLoader {
    /// Whether the file at `path` declares `parameters` (a template file rather than a workflow).
    public static func isTemplate(path: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: path),
              let root = YAMLParser.parse(bytes: [UInt8](data), file: path, sink: DiagnosticSink()) else { return false }
        return root["parameters"] != nil
    }

    /// Checks a template file on its own: syntax, parameter declarations, `${…}` references,
    /// its own `extends` / `uses`, and that its top-level keys are workflow keys. Returns the warnings.
    public static func checkTemplate(path: String) throws(ValidationFailure) -> [Diagnostic] {
        let sink = DiagnosticSink()
        let resolver = TemplateResolver(sink: sink)
        let anchor = SourcePosition(file: path, line: 1, column: 1)
        guard resolver.parseFile(path, reportAt: nil) != nil else { throw ValidationFailure(diagnostics: sink.sorted, isInternal: sink.internalFailure) }
        // Instantiate it the way an including file would, giving required parameters a marker value.
        let ref = YAMLNode.scalar(path.hasPrefix("/") ? path : "./" + (path as NSString).lastPathComponent, at: anchor)
        let dir = (path as NSString).deletingLastPathComponent
        let includer = ((dir.isEmpty ? "." : dir) as NSString).appendingPathComponent(".template-check")
        // The template is checked through a reference made up here: diagnostics name the file as
        // given, without a note about that reference.
        let own = TemplateResolver.key(path)
        func asGiven(_ ds: [Diagnostic]) -> [Diagnostic] {
            ds.map { d in
                var d = d
                if TemplateResolver.key(d.file) == own {
                    d.file = path
                    d.includedFrom.removeAll { TemplateResolver.key($0.file) == own && $0.line == anchor.line && $0.column == anchor.column }
                }
                return d
            }
        }
        guard let body = resolver.instantiateForCheck(ref, from: includer) else { throw ValidationFailure(diagnostics: asGiven(sink.sorted), isInternal: sink.internalFailure) }
        // The fragment's values are checked like a workflow's (types, ranges, unknown keys),
        // without requiring the keys a workflow must have. A required parameter's value comes
        // from the including file, so what is found at its marker value is not reported.
        if !sink.hasErrors, var pairs = body.pairs {
            pairs.removeAll { $0.key.hasPrefix("x-") }
            if !pairs.contains(where: { $0.key == "name" }) {
                pairs.insert(YAMLPair(keyNode: .scalar("name", at: anchor), value: .scalar("template", style: .doubleQuoted, at: anchor)), at: 0)
            }
            let walked = DiagnosticSink()
            walked.inherit(from: sink)
            _ = SchemaWalker(sink: walked).walkWorkflow(YAMLNode(.mapping(pairs), at: body.position))
            for d in walked.diagnostics where !resolver.markerPositions.contains(d.position) { sink.add(d) }
        }
        if sink.hasErrors { throw ValidationFailure(diagnostics: asGiven(sink.sorted), isInternal: sink.internalFailure) }
        return asGiven(sink.sorted)
    }
}
