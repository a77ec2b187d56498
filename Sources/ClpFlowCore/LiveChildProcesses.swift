import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sends `sig` to `pid` (kill(2)).
#if canImport(Glibc)
func sendSignal(_ pid: pid_t, _ sig: Int32) -> Int32 { Glibc.kill(pid, sig) }
#else
func sendSignal(_ pid: pid_t, _ sig: Int32) -> Int32 { Darwin.kill(pid, sig) }
#endif

/// Children started with `stopAtExit` that have not been waited for yet. When clp-flow exits
/// without releasing them (exit() from an error path), the exit handler stops them, so none
/// outlives its step.
final class LiveChildProcesses: @unchecked Sendable {
    static let shared = LiveChildProcesses()
    private let lock = NSLock()
    private var pids: Set<pid_t> = []

    func add(_ pid: pid_t) { lock.lock(); pids.insert(pid); lock.unlock() }
    func remove(_ pid: pid_t) { lock.lock(); pids.remove(pid); lock.unlock() }
    var current: Set<pid_t> { lock.lock(); defer { lock.unlock() }; return pids }

    static func installExitHandler() {
        atexit {
            let pids = LiveChildProcesses.shared.current
            for pid in pids { _ = sendSignal(pid, SIGTERM) }
            // A short grace so well-behaved programs exit; then no survivors.
            let deadline = DispatchTime.now().uptimeNanoseconds + 500_000_000
            var left = pids
            while !left.isEmpty && DispatchTime.now().uptimeNanoseconds < deadline {
                for pid in left {
                    var status: Int32 = 0
                    let r = waitpid(pid, &status, WNOHANG)
                    if r == pid || (r < 0 && errno == ECHILD) { left.remove(pid) }
                }
                if !left.isEmpty { usleep(10_000) }
            }
            for pid in left { _ = sendSignal(pid, SIGKILL); var status: Int32 = 0; _ = waitpid(pid, &status, 0) }
        }
    }
}
