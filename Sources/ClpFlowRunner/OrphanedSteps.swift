import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Step processes left running by a runner that died (`kill -9`, a crash): they live on with
/// parent pid 1 and would compete with the new runner's copy of the same step. A step process is
/// recognised by the environment its runner gave it (`CLP_FLOW_WORK_DIR`, the attempt folder,
/// read from `/proc/<pid>/environ`), which its own children (a reward script, a shell's commands)
/// inherit too; a recycled pid or an unrelated process never matches.
public enum OrphanedSteps {
    public struct StepProcess: Sendable, Equatable {
        public var pid: Int32
        /// `CLP_FLOW_STEP_ID` of the process.
        public var stepId: String
        /// The attempt folder it works in (canonical path).
        public var workDir: String
    }

    /// Live processes of this host (other than this one) whose `CLP_FLOW_WORK_DIR` is one of
    /// `workDirs`, in pid order.
    public static func find(workDirs: [URL]) -> [StepProcess] {
        let wanted = Set(workDirs.map { AttemptSweeper.canonical($0.path) })
        guard !wanted.isEmpty, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var out: [StepProcess] = []
        let me = getpid()
        for e in entries where !e.isEmpty && e.allSatisfy(\.isNumber) {
            guard let pid = Int32(e), pid != me, isAlive(pid),
                  let env = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(e)/environ")) else { continue }
            var work: String? = nil
            var step = ""
            for field in env.split(separator: 0) {
                let s = String(decoding: field, as: UTF8.self)
                if s.hasPrefix(StepContext.Env.workDir + "=") { work = String(s.dropFirst(StepContext.Env.workDir.count + 1)) }
                if s.hasPrefix(StepContext.Env.stepId + "=") { step = String(s.dropFirst(StepContext.Env.stepId.count + 1)) }
            }
            guard let work else { continue }
            let canonical = AttemptSweeper.canonical(work)
            if wanted.contains(canonical) { out.append(StepProcess(pid: pid, stepId: step, workDir: canonical)) }
        }
        return out.sorted { $0.pid < $1.pid }
    }

    /// True while `pid` exists and is not a zombie.
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].drop(while: { $0 == " " }).first
        return state != nil && state != "Z" && state != "X"
    }

    /// Field `index` after the command of `/proc/<pid>/stat` (0: state, 1: ppid, 2: pgrp).
    static func statField(_ pid: Int32, _ index: Int) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > index ? Int32(fields[index]) : nil
    }

    /// The process group of `pid`.
    static func processGroup(_ pid: Int32) -> Int32? { statField(pid, 2) }

    /// The processes whose parent is not among `processes` (the step processes themselves; the
    /// others are what they started).
    public static func roots(_ processes: [StepProcess]) -> [StepProcess] {
        let pids = Set(processes.map(\.pid))
        return processes.filter { p in statField(p.pid, 1).map { !pids.contains($0) } ?? true }
    }

    /// Stops the processes: SIGTERM to each one's process group when it leads it (a step process
    /// leads its own group, so the step's children stop with it) and to the process itself, then
    /// SIGKILL after `grace` seconds to whatever is left. Returns the pids that were signalled.
    @discardableResult
    public static func stop(_ processes: [StepProcess], grace: Double = 5) -> [Int32] {
        let pids = processes.map(\.pid)
        func signal(_ sig: Int32) {
            for pid in pids where isAlive(pid) {
                if processGroup(pid) == pid { kill(-pid, sig) }
                kill(pid, sig)
            }
        }
        signal(SIGTERM)
        let deadline = Date().addingTimeInterval(grace)
        while pids.contains(where: isAlive) && Date() < deadline { usleep(20_000) }
        if pids.contains(where: isAlive) {
            signal(SIGKILL)
            let end = Date().addingTimeInterval(2)
            while pids.contains(where: isAlive) && Date() < end { usleep(20_000) }
        }
        return pids
    }
}
