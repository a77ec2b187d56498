import ClpFlowCore
import ClpFlowPlanner
import Foundation

/// Errors raised by the runner. Every message says what went wrong and what to do about it.
public enum RunnerError: Error, CustomStringConvertible, Equatable {
    case invalidPlan(String)
    case locked(path: String, pid: Int32, host: String, since: String)
    case io(String)
    case artifact(String)
    case store(String)
    case slurm(String)

    public var description: String {
        switch self {
        case .invalidPlan(let m): return "invalid plan: \(m)"
        case .locked(let path, let pid, let host, let since):
            return "run directory is in use: \(path) is held by pid \(pid) on host \(host) since \(since). "
                + "Wait for that run to finish, or stop it (kill \(pid) on \(host)) and retry; if that process "
                + "is gone, delete the lock file."
        case .io(let m): return m
        case .artifact(let m): return "artifact error: \(m)"
        case .store(let m): return "run store error: \(m)"
        case .slurm(let m): return "slurm: \(m)"
        }
    }
}

/// Derives file names from arbitrary step ids. Ids contain characters such as `[`, `]`, `=`, `,`
/// and `/`, and a hostile plan may use `../../x` or absolute paths: the result is always a single
/// path component made of `[A-Za-z0-9._-]`, never `.` or `..`, never hidden, and distinct ids map
/// to distinct names (a hash of the full id is appended).
public enum SafeName {
    public static func fileName(for id: String, maxPrefix: Int = 80) -> String {
        var prefix = ""
        for u in id.unicodeScalars {
            if prefix.unicodeScalars.count >= maxPrefix { break }
            switch u {
            case "a"..."z", "A"..."Z", "0"..."9", "-", "_": prefix.unicodeScalars.append(u)
            case ".": prefix += prefix.isEmpty || prefix.hasSuffix(".") || prefix.hasSuffix("_") ? "_" : "."
            default: if !prefix.hasSuffix("_") { prefix += "_" }
            }
        }
        while prefix.hasPrefix("_") || prefix.hasPrefix(".") || prefix.hasPrefix("-") { prefix.removeFirst() }
        while prefix.hasSuffix("_") || prefix.hasSuffix(".") { prefix.removeLast() }
        let digest = String(Digest.sha256Hex(id).prefix(10))
        return prefix.isEmpty ? "step-\(digest)" : "\(prefix)-\(digest)"
    }

    /// A Slurm job name: printable ASCII without spaces or shell-sensitive characters.
    public static func jobName(for id: String) -> String {
        "clp-" + fileName(for: id, maxPrefix: 60)
    }

    /// Cache keys are used as directory names: they must be lowercase hex.
    public static func isValidCacheKey(_ key: String) -> Bool {
        !key.isEmpty && key.count <= 128 && key.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

/// The layout of a run directory (see docs/runner.md):
///
///     plan.json             the plan being executed (pretty JSON, sorted keys)
///     runs.sqlite           run store (runs, steps, metrics, step_keys)
///     lock                  pid, host and start time of the runner holding the directory
///     artifacts/<key>/      a completed step's outputs + MANIFEST.json
///     work/<key>.tmp-<n>/   in-progress outputs of one attempt (n = run id "-" attempt)
///     logs/<safe-name>.log  stdout + stderr of every attempt of a step
///     slurm/<safe-name>.sh  batch scripts (Slurm executor only)
public struct RunDirectory: Sendable, Hashable {
    public let root: URL

    public init(_ root: URL) { self.root = root.standardizedFileURL }
    public init(path: String) { self.init(URL(fileURLWithPath: path)) }

    public var planURL: URL { root.appendingPathComponent("plan.json") }
    public var storeURL: URL { root.appendingPathComponent("runs.sqlite") }
    public var lockURL: URL { root.appendingPathComponent("lock") }
    public var artifactsURL: URL { root.appendingPathComponent("artifacts", isDirectory: true) }
    public var workURL: URL { root.appendingPathComponent("work", isDirectory: true) }
    public var logsURL: URL { root.appendingPathComponent("logs", isDirectory: true) }
    public var slurmURL: URL { root.appendingPathComponent("slurm", isDirectory: true) }

    public var artifacts: ArtifactStore { ArtifactStore(root: artifactsURL) }

    public func logURL(stepId: String) -> URL {
        logsURL.appendingPathComponent(SafeName.fileName(for: stepId) + ".log")
    }

    public func workDir(cacheKey: String, attempt: String) throws -> URL {
        guard SafeName.isValidCacheKey(cacheKey) else { throw RunnerError.invalidPlan("cache key '\(cacheKey)' is not lowercase hex") }
        let safeAttempt = SafeName.fileName(for: attempt)
        return workURL.appendingPathComponent("\(cacheKey).tmp-\(attempt.allSatisfy { $0.isNumber || $0 == "-" } ? attempt : safeAttempt)", isDirectory: true)
    }

    /// Creates the directory and its subfolders.
    public func create() throws {
        let fm = FileManager.default
        for dir in [root, artifactsURL, workURL, logsURL] {
            do { try fm.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
                throw RunnerError.io("cannot create directory \(dir.path): \(error.localizedDescription)")
            }
        }
    }

    /// Writes plan.json atomically (sorted keys; encoded directly so 64-bit seeds stay exact).
    public func writePlan(_ plan: Plan) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        do { try (encoder.encode(plan) + Data("\n".utf8)).write(to: planURL, options: .atomic) } catch {
            throw RunnerError.io("cannot write \(planURL.path): \(error.localizedDescription)")
        }
    }

    public func readPlan() throws -> Plan {
        guard let data = FileManager.default.contents(atPath: planURL.path) else {
            throw RunnerError.io("no plan.json in \(root.path): is this a clp-flow run directory?")
        }
        do { return try JSONDecoder().decode(Plan.self, from: data) } catch {
            throw RunnerError.io("cannot read \(planURL.path): \(error)")
        }
    }
}

extension Plan {
    /// Checks what the runner relies on: unique ids, valid cache keys, inputs that name earlier steps.
    public func validateForExecution() throws {
        var seen = Set<String>()
        for step in steps {
            if step.id.isEmpty { throw RunnerError.invalidPlan("a step has an empty id") }
            if step.id.unicodeScalars.contains("\0") { throw RunnerError.invalidPlan("step id contains a NUL character") }
            if !seen.insert(step.id).inserted { throw RunnerError.invalidPlan("duplicate step id '\(step.id)'") }
            guard SafeName.isValidCacheKey(step.cacheKey) else {
                throw RunnerError.invalidPlan("step '\(step.id)' has cache key '\(step.cacheKey)', expected lowercase hex")
            }
            for input in step.inputs where !seen.contains(input) || input == step.id {
                throw RunnerError.invalidPlan("step '\(step.id)' reads '\(input)', which is not an earlier step of the plan")
            }
            if step.resources.retries < 0 { throw RunnerError.invalidPlan("step '\(step.id)' has negative retries") }
        }
    }
}
