import ClpFlowCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An attempt folder (`work/<key>.tmp-<run>-<attempt>`) removed because no live process owned it.
public struct RemovedAttempt: Sendable, Equatable, Codable {
    public var runId: Int64
    /// The folder name inside `work/`.
    public var name: String
    public var bytes: Int64
    /// When it was removed: `run start` or `after publishing <step>`.
    public var when: String
    public var removed: String

    public init(runId: Int64, name: String, bytes: Int64, when: String, removed: String = Timestamp.string()) {
        self.runId = runId; self.name = name; self.bytes = bytes; self.when = when; self.removed = removed
    }
}

/// Finds and removes attempt folders left behind by killed attempts (docs/runner.md, "Attempt
/// folders"). A folder is *owned* when
///
/// * it belongs to an attempt the current runner has in flight (`protected`), or
/// * a live process on this host has its current directory in it (every step process starts
///   there; read from `/proc/<pid>/cwd`), or
/// * the run store records a Slurm job for that attempt and Slurm says the job is pending or
///   running (or Slurm cannot be asked).
///
/// Everything else matching `<hex key>.tmp-<run>-<attempt>` is removed. Other entries of `work/`
/// are never touched.
struct AttemptSweeper {
    let rd: RunDirectory
    let store: RunStore
    /// Whether a Slurm job is still queued or running; nil when Slurm cannot be asked.
    let slurmJobAlive: (String) -> Bool?

    /// (key, run, attempt) of an attempt folder name, nil for anything else.
    static func parse(_ name: String) -> (key: String, run: Int64, attempt: Int)? {
        guard let r = name.range(of: ".tmp-") else { return nil }
        let key = String(name[..<r.lowerBound])
        let parts = name[r.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
        guard SafeName.isValidCacheKey(key), parts.count == 2, let run = Int64(parts[0]), let attempt = Int(parts[1]),
              run >= 1, attempt >= 1 else { return nil }
        return (key, run, attempt)
    }

    /// Canonical paths that are the current directory of a live process of this host.
    static func liveCurrentDirectories() -> [String] {
        guard let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var out: [String] = []
        for p in pids where !p.isEmpty && p.allSatisfy(\.isNumber) {
            if let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(p)/cwd") { out.append(cwd) }
        }
        return out
    }

    static func canonical(_ path: String) -> String {
        guard let r = realpath(path, nil) else { return path }
        defer { free(r) }
        return String(cString: r)
    }

    static func size(of url: URL) -> Int64 {
        var total: Int64 = 0
        if let e = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey]) {
            for case let f as URL in e {
                if let v = try? f.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey]), v.isRegularFile == true {
                    total += Int64(v.fileSize ?? 0)
                }
            }
        }
        return total
    }

    /// Removes the attempt folders nothing owns; returns what was removed (not yet recorded).
    func sweep(runId: Int64, protected: Set<String>, when: String) -> [RemovedAttempt] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: rd.workURL.path) else { return [] }
        let candidates = names.sorted().filter { !protected.contains($0) && AttemptSweeper.parse($0) != nil }
        guard !candidates.isEmpty else { return [] }
        let workCanonical = AttemptSweeper.canonical(rd.workURL.path)
        let live = AttemptSweeper.liveCurrentDirectories().filter { $0.hasPrefix(workCanonical + "/") }
        var stepsByRun: [Int64: [StepRecord]] = [:]
        var out: [RemovedAttempt] = []
        for name in candidates {
            let (key, run, attempt) = AttemptSweeper.parse(name)!
            let path = workCanonical + "/" + name
            if live.contains(where: { $0 == path || $0.hasPrefix(path + "/") }) { continue }
            if stepsByRun[run] == nil { stepsByRun[run] = (try? store.steps(runId: run)) ?? [] }
            if let job = stepsByRun[run]!.first(where: { $0.cacheKey == key && $0.attempt == attempt && $0.slurmJobId != nil })?.slurmJobId,
               slurmJobAlive(job) != false {
                continue
            }
            let url = rd.workURL.appendingPathComponent(name)
            let bytes = AttemptSweeper.size(of: url)
            if (try? fm.removeItem(at: url)) != nil {
                out.append(RemovedAttempt(runId: runId, name: name, bytes: bytes, when: when))
            }
        }
        return out
    }

    /// Asks `scontrol` (on PATH or in `binDir`) whether a job is still pending or running.
    static func slurmProbe(binDir: String?) -> (String) -> Bool? {
        guard let scontrol = findExecutable("scontrol", in: binDir) else { return { _ in nil } }
        return { job in
            guard let r = try? runTool([scontrol, "show", "job", "-o", job]) else { return nil }
            if r.status != 0 {
                // Slurm forgot the job (it ended long ago) or is unreachable.
                return r.err.contains("Invalid job id") ? false : nil
            }
            guard let info = r.out.split(separator: "\n").compactMap({ SlurmJobInfo.parseScontrol(String($0)) }).first else { return nil }
            return !info.isTerminal
        }
    }
}
