import Foundation

/// Finds nodes by key path in a document tree, for positions of semantic errors.
struct NodeLocator {
    let root: YAMLNode

    /// The node at `path`, or the deepest existing ancestor (never nil: the root at worst).
    func node(_ path: [String]) -> YAMLNode {
        var cur = root
        for seg in path {
            if let next = child(cur, seg) { cur = next } else { break }
        }
        return cur
    }

    /// The node at exactly `path`, nil when it is not written in the file.
    func exact(_ path: [String]) -> YAMLNode? {
        var cur = root
        for seg in path {
            guard let next = child(cur, seg) else { return nil }
            cur = next
        }
        return cur
    }

    /// The key node of the last segment (for "this key does not apply" errors).
    func key(_ path: [String]) -> YAMLNode? {
        guard let last = path.last, let parent = exact(Array(path.dropLast())) else { return nil }
        return parent.pairs?.first(where: { $0.key == last })?.keyNode
    }

    private func child(_ n: YAMLNode, _ seg: String) -> YAMLNode? {
        switch n.kind {
        case .mapping(let pairs): return pairs.first(where: { $0.key == seg })?.value
        case .sequence(let items): if let i = Int(seg), i >= 0, i < items.count { return items[i] }; return nil
        case .scalar: return nil
        }
    }
}

/// Checks that need the whole workflow (cross-field rules), with the position of the offending
/// node, and fills kind-specific defaults so the resolved form is explicit.
struct SemanticValidator {
    let sink: DiagnosticSink
    let locator: NodeLocator
    /// Directory of the workflow file; relative paths are resolved against the file that wrote them.
    let baseDirectory: String
    let checkFiles: Bool
    /// Checks that read the inputs (the data file) with the engine, when the caller gave them.
    var inputChecks: InputCheckCache? = nil

    static let tolerance = 1e-6

    func err(_ msg: String, _ path: [String]) { sink.error(msg, at: locator.node(path).position) }
    func warn(_ msg: String, _ path: [String]) { sink.warning(msg, at: locator.node(path).position) }
    func errKey(_ msg: String, _ path: [String]) {
        sink.error(msg, at: (locator.key(path) ?? locator.node(path)).position)
    }
    func warnKey(_ msg: String, _ path: [String]) {
        sink.warning(msg, at: (locator.key(path) ?? locator.node(path)).position)
    }
    func written(_ path: [String]) -> Bool { locator.exact(path) != nil }

    func validate(_ w: inout Workflow) {
        if w.name.trimmingCharacters(in: .whitespaces).isEmpty {
            err("the workflow `name` must not be empty", ["name"])
        } else if w.name.contains("/") || w.name.contains("\0") {
            err("the workflow `name` is used in directory names and must not contain '/'", ["name"])
        }
        checkRewards(&w)
        checkData(&w)
        checkModel(&w)
        checkPretrain(&w)
        checkKL(&w)
        checkConditioning(w)
        checkWeights(w)
        checkStages(w)
        checkBaselines(w)
        checkEvaluate(w)
        checkExecutor(w)
    }

    // MARK: rewards

    func checkRewards(_ w: inout Workflow) {
        if w.rewards.isEmpty {
            if written(["rewards"]) { err("a workflow needs at least one reward; `rewards` is empty", ["rewards"]) }
            else { err("a workflow needs at least one reward; add a `rewards:` list (e.g. `- {name: rougeL, kind: rougeL}`)", []) }
            return
        }
        var seen: [String: Int] = [:]
        for (i, r) in w.rewards.enumerated() {
            let p = ["rewards", String(i)]
            if r.name.isEmpty { err("reward names must not be empty", p + ["name"]) }
            if let first = seen[r.name] {
                err("duplicate reward name '\(r.name)' (also `rewards.\(first)`); reward names must be unique", p + ["name"])
            } else { seen[r.name] = i }
            let k = r.kind
            if k == .command {
                if r.command == nil {
                    err("reward '\(r.name)' of kind `command` needs `command`: an argv list such as [python3, score.py]", p)
                } else if let c = r.command, c[0].trimmingCharacters(in: .whitespaces).isEmpty {
                    err("reward '\(r.name)': the program (first item of `command`) is empty", p + ["command", "0"])
                } else if let c = r.command, c.count == 1, c[0].contains(" ") {
                    warn("reward '\(r.name)': `command` is an argv list, not a shell string; '\(c[0])' is run as one program name", p + ["command", "0"])
                }
                if checkFiles { checkCommandFiles(r, p, onSlurm: w.executor.kind == .slurm) }
                if w.rewards[i].timeout == nil { w.rewards[i].timeout = 60 }
                if w.rewards[i].persistent == nil { w.rewards[i].persistent = false }
                if w.rewards[i].workers == nil { w.rewards[i].workers = 1 }
            } else {
                if r.command != nil { errKey("`command` applies only to `command` rewards; reward '\(r.name)' is \(k.rawValue)", p + ["command"]) }
                if r.timeout != nil { errKey("`timeout` applies only to `command` rewards; reward '\(r.name)' is \(k.rawValue)", p + ["timeout"]) }
                if r.persistent != nil { errKey("`persistent` applies only to `command` rewards; reward '\(r.name)' is \(k.rawValue)", p + ["persistent"]) }
                if r.workers != nil { errKey("`workers` applies only to `command` rewards; reward '\(r.name)' is \(k.rawValue)", p + ["workers"]) }
            }
            if k == .length {
                if r.target == nil { err("reward '\(r.name)' of kind `length` needs `target` (a length in words)", p) }
                if w.rewards[i].tolerance == nil { w.rewards[i].tolerance = 0 }
            } else {
                if r.target != nil { errKey("`target` applies only to `length` rewards; reward '\(r.name)' is \(k.rawValue)", p + ["target"]) }
                if r.tolerance != nil { errKey("`tolerance` applies only to `length` rewards; reward '\(r.name)' is \(k.rawValue)", p + ["tolerance"]) }
            }
            if k == .novelty || k == .repetition {
                if w.rewards[i].n == nil { w.rewards[i].n = 2 }
            } else if r.n != nil {
                errKey("`n` applies only to `novelty` and `repetition` rewards; reward '\(r.name)' is \(k.rawValue)", p + ["n"])
            }
        }
    }

    /// Extensions of the script files checked in a `command` reward's argv.
    static let scriptExtensions: Set<String> = ["py", "sh", "bash", "zsh", "pl", "rb", "js", "mjs", "cjs", "ts", "r", "jl", "lua", "php", "tcl", "awk"]
    /// Options after which an interpreter takes code or a module name, not a file.
    static let inlineCodeOptions: Set<String> = ["-c", "-e", "-m", "-E", "--eval", "--command", "-r"]

    /// The program of a `command` reward must exist (on PATH, or at a path relative to the
    /// workflow's directory, where the reward runs), and every script file named in its argv
    /// (an argument ending in .py, .sh, … that is not an option) must exist there too, or the
    /// run would stop at the first training step that scores. A program missing from PATH is only
    /// a warning with the Slurm executor (jobs may run with another PATH).
    func checkCommandFiles(_ r: RewardSpec, _ p: [String], onSlurm: Bool) {
        guard let argv = r.command, let exe = argv.first, !exe.trimmingCharacters(in: .whitespaces).isEmpty,
              !(argv.count == 1 && exe.contains(" ")) else { return }
        let fm = FileManager.default
        let dir = baseDirectory.isEmpty ? "." : baseDirectory
        func inDir(_ path: String) -> String {
            if path.hasPrefix("/") { return (path as NSString).standardizingPath }
            let base = dir.hasPrefix("/") ? dir : (fm.currentDirectoryPath as NSString).appendingPathComponent(dir)
            return ((base as NSString).appendingPathComponent(path) as NSString).standardizingPath
        }
        if exe.contains("/") {
            let abs = inDir(exe)
            var isDir: ObjCBool = false
            if !fm.fileExists(atPath: abs, isDirectory: &isDir) {
                let why = exe.hasPrefix("/") ? "" : " (looked for \(abs); a relative path is relative to the workflow's directory, where the reward runs)"
                err("reward '\(r.name)': the program '\(exe)' does not exist\(why)", p + ["command", "0"])
            } else if isDir.boolValue || !fm.isExecutableFile(atPath: abs) {
                err("reward '\(r.name)': '\(exe)' is not an executable file (make it executable, or run it with its interpreter, e.g. [python3, \(exe)])", p + ["command", "0"])
            }
        } else {
            let dirs = ExecutableSearch.pathDirectories()
            if ExecutableSearch.find(exe, in: dirs) == nil {
                // Program names are short; a long string (e.g. a pasted command line) gets no suggestion.
                let programs = exe.count > 64 ? [] : dirs.flatMap { (try? fm.contentsOfDirectory(atPath: $0)) ?? [] }
                let near = suggestion(for: exe, among: Array(Set(programs)).sorted()).map { "; did you mean '\($0)'?" } ?? ""
                let msg = "reward '\(r.name)': the program '\(exe)' is not on PATH"
                if onSlurm { warn(msg + " here (Slurm jobs may run with another PATH)" + near, p + ["command", "0"]) }
                else { err(msg + near, p + ["command", "0"]) }
            }
        }
        var skipNext = false
        for (i, a) in argv.enumerated().dropFirst() {
            if skipNext { skipNext = false; continue }
            if SemanticValidator.inlineCodeOptions.contains(a) { skipNext = true; continue }
            let ext = (a as NSString).pathExtension.lowercased()
            guard !a.hasPrefix("-"), !a.contains("\n"), SemanticValidator.scriptExtensions.contains(ext) else { continue }
            let abs = inDir(a)
            if !fm.fileExists(atPath: abs) {
                err("reward '\(r.name)': script '\(a)' does not exist (looked for \(abs); `command` runs in the workflow's directory, so paths are relative to it)", p + ["command", String(i)])
            }
        }
    }

    // MARK: data and model

    /// Resolves a path written at `nodePath` against the file that wrote it; returns the path
    /// relative to the workflow's directory when possible.
    func resolveFile(_ value: String, at nodePath: [String]) -> (absolute: String, rewritten: String) {
        let node = locator.node(nodePath)
        let dir = (node.position.file as NSString).deletingLastPathComponent
        let abs = value.hasPrefix("/") ? value : ((dir.isEmpty ? "." : dir) as NSString).appendingPathComponent(value)
        let standardized = (abs as NSString).standardizingPath
        if value.hasPrefix("/") { return (standardized, value) }
        let base = ((baseDirectory.isEmpty ? "." : baseDirectory) as NSString).standardizingPath
        if (dir as NSString).standardizingPath == base || dir == baseDirectory { return (standardized, value) }
        return (standardized, relativePath(from: absolutize(base), to: absolutize(standardized)))
    }

    private func absolutize(_ p: String) -> String {
        if p.hasPrefix("/") { return (p as NSString).standardizingPath }
        return ((FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(p) as NSString).standardizingPath
    }

    private func relativePath(from base: String, to target: String) -> String {
        let b = base.split(separator: "/"), t = target.split(separator: "/")
        var i = 0
        while i < b.count, i < t.count, b[i] == t[i] { i += 1 }
        let up = Array(repeating: "..", count: b.count - i)
        let rest = t[i...].map(String.init)
        let parts = up + rest
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }

    func checkData(_ w: inout Workflow) {
        let d = w.data
        let errorsBefore = sink.errorCount
        var dataFile: String? = nil
        if d.source == .jsonl {
            if let path = d.path {
                let (abs, rewritten) = resolveFile(path, at: ["data", "path"])
                var isDir: ObjCBool = false
                if checkFiles {
                    if !FileManager.default.fileExists(atPath: abs, isDirectory: &isDir) {
                        err("data file '\(path)' does not exist (looked for \(abs))", ["data", "path"])
                    } else if isDir.boolValue {
                        err("data file '\(path)' is a directory; give a JSON Lines file", ["data", "path"])
                    } else {
                        dataFile = abs.hasPrefix("./") ? String(abs.dropFirst(2)) : abs
                    }
                }
                w.data.path = rewritten
            } else {
                err("`data.source: jsonl` needs `data.path` (a JSON Lines file relative to the workflow file)", written(["data", "source"]) ? ["data", "source"] : ["data"])
            }
        } else {
            if d.path != nil { errKey("`data.path` applies only to `source: jsonl` (source is \(d.source.rawValue))", ["data", "path"]) }
            if written(["data", "fields"]) { warnKey("`data.fields` is ignored unless `source: jsonl`", ["data", "fields"]) }
        }
        if d.source != .synthetic, written(["data", "synthetic_examples"]) {
            warnKey("`data.synthetic_examples` is ignored unless `source: synthetic`", ["data", "synthetic_examples"])
        }
        if d.minDocumentChars >= d.maxDocumentChars {
            err("`data.min_document_chars` (\(d.minDocumentChars)) must be below `max_document_chars` (\(d.maxDocumentChars))",
                written(["data", "min_document_chars"]) ? ["data", "min_document_chars"] : ["data", "max_document_chars"])
        }
        checkSplits(d)
        // Read the data file as the prepare step will, once the section itself is sound.
        if let inputChecks, checkFiles, sink.errorCount == errorsBefore, d.source == .jsonl, dataFile != nil {
            var resolved = w.data
            resolved.path = d.path
            for p in inputChecks.data(resolved, file: dataFile, seed: w.seed) {
                let at = written(p.at) ? p.at : ["data"]
                if p.severity == .error { err(p.message, at) } else { warn(p.message, at) }
            }
        }
    }

    /// Split sizes are all counts or all fractions. Counts must fit `data.limit` (and the size
    /// of a synthetic source); fractions must leave a training split (sum below 1, or at most 1
    /// with an explicit `train`).
    func checkSplits(_ d: DataSpec) {
        let fractional = [d.train, d.valid, d.test].contains { $0?.fraction != nil }
        if fractional {
            // A count of 0 validation examples is the same as the fraction 0.
            var ok = true
            for (key, size) in [("train", d.train), ("valid", Optional(d.valid)), ("test", Optional(d.test))] {
                guard let size, let n = size.count, !(key == "valid" && n == 0) else { continue }
                let example = key == "train" ? "0.8" : "0.1"
                if written(["data", key]) {
                    err("`data.\(key)` is a count (\(n)) but another split is a fraction; give every split as a fraction (e.g. `\(key): \(example)`) or every one as a count", ["data", key])
                } else {
                    err("with fractional splits, give `data.\(key)` as a fraction too (e.g. `\(key): \(example)`); its default is a count (\(n))",
                        written(["data", "train"]) ? ["data", "train"] : ["data"])
                }
                ok = false
            }
            guard ok else { return }
            let v = d.valid.fraction ?? 0, t = d.test.fraction ?? 0
            if let tr = d.train?.fraction {
                if tr + v + t > 1 + 1e-9 {
                    err("the split fractions sum to \(fmt(tr + v + t)) (train \(fmt(tr)) + valid \(fmt(v)) + test \(fmt(t))); they must sum to at most 1", ["data", "train"])
                }
            } else if v + t >= 1 - 1e-9 {
                err("`data.valid` + `data.test` (\(fmt(v + t))) leave no examples for training; make them sum to less than 1", ["data", "test"])
            }
            return
        }
        let train = d.train?.count, valid = d.valid.count ?? 0, test = d.test.count ?? 0
        let needed = valid + test + (train ?? 1)
        // The limit applies to every source; a synthetic source also has its own size.
        var available = d.limit
        var which = "limit"
        if d.source == .synthetic, d.limit.map({ d.syntheticExamples < $0 }) ?? true {
            available = d.syntheticExamples
            which = "synthetic_examples"
        }
        if let available, needed > available {
            err("the splits need \(needed) examples (train \(train.map(String.init) ?? "≥ 1") + valid \(valid) + test \(test)) but `data.\(which)` is \(available)",
                written(["data", which]) ? ["data", which] : ["data"])
        }
    }

    func checkModel(_ w: inout Workflow) {
        let m = w.model
        let shape = m.shape
        let dModel = shape.dModel, heads = shape.heads
        if dModel % heads != 0 {
            let at: [String] = m.heads != nil ? ["model", "heads"] : m.dModel != nil ? ["model", "d_model"] : ["model", "size"]
            err("`model.heads` (\(heads)) must divide `model.d_model` (\(dModel))", at)
        }
        if let initDir = m.initFrom {
            let (abs, rewritten) = resolveFile(initDir, at: ["model", "init"])
            var isDir: ObjCBool = false
            if checkFiles {
                if !FileManager.default.fileExists(atPath: abs, isDirectory: &isDir) {
                    err("checkpoint directory '\(initDir)' does not exist (looked for \(abs))", ["model", "init"])
                } else if !isDir.boolValue {
                    err("`model.init` must be a checkpoint directory (model.safetensors, config.json, …), '\(initDir)' is a file", ["model", "init"])
                }
            }
            w.model.initFrom = rewritten
            for k in ["layers", "d_model", "heads", "context"] where written(["model", k]) {
                warnKey("`model.\(k)` is ignored with `model.init` (the checkpoint's shape wins)", ["model", k])
            }
        }
        if m.tokenizer.kind == .byte, written(["model", "tokenizer", "vocab_size"]) {
            warnKey("`vocab_size` is ignored by the byte tokenizer", ["model", "tokenizer", "vocab_size"])
        }
        let context = shape.context
        if m.initFrom == nil, w.data.maxDocumentTokens + w.data.maxSummaryTokens + 4 > context {
            let at: [String] = written(["data", "max_document_tokens"]) ? ["data", "max_document_tokens"] : (m.context != nil ? ["model", "context"] : ["model", "size"])
            err("document and summary tokens (\(w.data.maxDocumentTokens) + \(w.data.maxSummaryTokens) + 4 special tokens) exceed the model context (\(context))", at)
        }
    }

    func checkPretrain(_ w: inout Workflow) {
        guard let p = w.pretrain else { return }
        switch p.corpus {
        case .jsonl:
            guard let path = p.path else {
                err("`pretrain.corpus: jsonl` needs `pretrain.path` (a JSON Lines file relative to the workflow file)",
                    written(["pretrain", "corpus"]) ? ["pretrain", "corpus"] : ["pretrain"])
                return
            }
            let (abs, rewritten) = resolveFile(path, at: ["pretrain", "path"])
            if checkFiles, !FileManager.default.fileExists(atPath: abs) {
                err("pretraining corpus '\(path)' does not exist (looked for \(abs))", ["pretrain", "path"])
            }
            w.pretrain?.path = rewritten
        case .data:
            if p.path != nil { errKey("`pretrain.path` applies only to `corpus: jsonl`", ["pretrain", "path"]) }
            if written(["pretrain", "field"]) { warnKey("`pretrain.field` is ignored unless `corpus: jsonl`", ["pretrain", "field"]) }
        }
        if p.warmup >= p.steps, written(["pretrain", "warmup"]) {
            warn("pretraining warm-up (\(p.warmup)) is not shorter than its \(p.steps) steps", ["pretrain", "warmup"])
        }
    }

    func fmt(_ d: Double) -> String { ClpFlowCoreFormat.number(d) }
}

import ClpFlowCore
enum ClpFlowCoreFormat {
    static func number(_ d: Double) -> String { JSONValue.formatNumber(d) }
}
