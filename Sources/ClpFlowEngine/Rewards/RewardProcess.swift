import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One child process of a `command` reward with pipes on its standard input, output and error.
///
/// It is started with posix_spawn in clp-flow's own process group (so that stopping a step's
/// process group stops its reward processes too), with default signal dispositions, an empty
/// signal mask and no file descriptor other than 0, 1 and 2. All I/O is non-blocking and driven
/// by poll(2) against a deadline on one thread, so a program that stops reading, floods its
/// standard error or hangs can never block clp-flow. Standard error is drained whenever clp-flow
/// talks to the process; its last 8 KiB are kept for error messages.
///
/// Not thread-safe: one thread uses a process at a time.
final class RewardProcess {
    enum Exit: Equatable { case exited(Int32), signalled(Int32), unknown }
    enum Outcome { case done, endOfOutput, timedOut }

    let pid: pid_t
    private var stdinFD: Int32
    private var stdoutFD: Int32
    private var stderrFD: Int32
    /// Standard output received and not consumed yet.
    private(set) var output: [UInt8] = []
    private var errTail: [UInt8] = []
    private static let errTailBytes = 8192
    /// Set once the process has been waited for.
    private(set) var exit: Exit?
    /// User + system CPU time of the process, known once it has been waited for.
    private(set) var cpuSeconds: Double = 0

    /// Starts `executable` (an absolute path) with `argv` (argv[0] included) in `workingDirectory`
    /// with `environment` added to clp-flow's own.
    init(executable: String, argv: [String], workingDirectory: String?, environment: [String: String]) throws {
        _ = RewardProcess.setUp
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        func closeAll() { for fd in inPipe + outPipe + errPipe where fd >= 0 { close(fd) } }
        guard RewardProcess.makePipe(&inPipe), RewardProcess.makePipe(&outPipe), RewardProcess.makePipe(&errPipe) else {
            let e = errno; closeAll()
            throw SpawnError(message: "cannot create pipes: \(String(cString: strerror(e)))")
        }
        #if canImport(Glibc)
        var actions = posix_spawn_file_actions_t()
        var attr = posix_spawnattr_t()
        #else
        var actions: posix_spawn_file_actions_t?
        var attr: posix_spawnattr_t?
        #endif
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attr)
        defer { posix_spawn_file_actions_destroy(&actions); posix_spawnattr_destroy(&attr) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        var path = executable, args = argv
        if let workingDirectory {
            if !RewardProcess.addChdir(&actions, workingDirectory) {
                // No posix_spawn chdir action in this C library: a shell changes directory and
                // execs the program (same pid).
                path = "/bin/sh"
                args = ["sh", "-c", "cd -- \"$0\" && exec \"$@\"", workingDirectory, executable] + argv.dropFirst()
            }
        }
        var flags = Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        #if canImport(Glibc)
        // Everything above 2 is closed in the child (descriptors other code opened without
        // close-on-exec must not keep pipes or files open in a long-lived reward process).
        if let closeFrom = RewardProcess.addCloseFrom { _ = closeFrom(&actions, 3) }
        #else
        flags |= Int32(POSIX_SPAWN_CLOEXEC_DEFAULT)
        #endif
        var allSignals = sigset_t(), noSignals = sigset_t()
        sigfillset(&allSignals); sigemptyset(&noSignals)
        // SIGKILL and SIGSTOP cannot be reset; glibc skips them, other systems may refuse them.
        sigdelset(&allSignals, SIGKILL); sigdelset(&allSignals, SIGSTOP)
        posix_spawnattr_setsigdefault(&attr, &allSignals)
        posix_spawnattr_setsigmask(&attr, &noSignals)
        posix_spawnattr_setflags(&attr, Int16(flags))

        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let envStrings = env.map { "\($0.key)=\($0.value)" }.sorted()
        var childPid: pid_t = 0
        let rc = RewardProcess.withCStrings(args) { argvPtr in
            RewardProcess.withCStrings(envStrings) { envPtr in
                posix_spawn(&childPid, path, &actions, &attr, argvPtr, envPtr)
            }
        }
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        guard rc == 0 else {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            throw SpawnError(message: String(cString: strerror(rc)))
        }
        pid = childPid
        stdinFD = inPipe[1]; stdoutFD = outPipe[0]; stderrFD = errPipe[0]
        for fd in [stdinFD, stdoutFD, stderrFD] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        LiveRewardProcesses.shared.add(pid)
    }

    deinit {
        terminate()
    }

    struct SpawnError: Error { var message: String }

    // MARK: I/O

    /// Writes `input` to standard input (closing it afterwards when `closeInput`), reading
    /// standard output and error meanwhile, until `isComplete(output)` holds, standard output
    /// ends, or `deadline` (DispatchTime uptime nanoseconds) passes. A program that stops reading
    /// its input is not an error here: the rest of the input is dropped and its output decides.
    func exchange(_ input: [UInt8], closeInput: Bool, deadline: UInt64, isComplete: ([UInt8]) -> Bool) -> Outcome {
        var pending = input[...]
        if pending.isEmpty && closeInput { closeStdin() }
        while true {
            if isComplete(output) { return .done }
            if stdoutFD < 0 { return .endOfOutput }
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= deadline { return .timedOut }
            let waitMs = Int32(min(UInt64(Int32.max), (deadline - now + 999_999) / 1_000_000))
            var fds: [pollfd] = []
            let writing = stdinFD >= 0 && !pending.isEmpty
            if writing { fds.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
            fds.append(pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0))
            if stderrFD >= 0 { fds.append(pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)) }
            let n = poll(&fds, nfds_t(fds.count), waitMs)
            if n < 0 {
                if errno == EINTR { continue }
                return .endOfOutput
            }
            if n == 0 { continue }
            for p in fds where p.revents != 0 {
                if p.fd == stdinFD {
                    let written = pending.withUnsafeBytes { write(stdinFD, $0.baseAddress, $0.count) }
                    if written > 0 {
                        pending = pending.dropFirst(written)
                        if pending.isEmpty && closeInput { closeStdin() }
                    } else if written < 0 && errno != EAGAIN && errno != EINTR {
                        // EPIPE: the program closed its input or exited.
                        pending = [][...]
                        closeStdin()
                    }
                } else if p.fd == stdoutFD {
                    _ = readAvailable(fd: &stdoutFD, into: &output, limit: nil)
                } else if p.fd == stderrFD {
                    drainStderr()
                }
            }
        }
    }

    /// Reads what standard output and error hold now, without waiting.
    func pollOutputNow() {
        if stdoutFD >= 0 { _ = readAvailable(fd: &stdoutFD, into: &output, limit: nil) }
        drainStderr()
    }

    /// Removes the first `count` bytes of the received output.
    func consumeOutput(_ count: Int) { output.removeFirst(min(count, output.count)) }

    func closeStdin() {
        if stdinFD >= 0 { close(stdinFD); stdinFD = -1 }
    }

    private func drainStderr() {
        guard stderrFD >= 0 else { return }
        _ = readAvailable(fd: &stderrFD, into: &errTail, limit: RewardProcess.errTailBytes)
    }

    /// Reads until the descriptor would block; closes it (sets it to -1) at end of file. Returns
    /// false at end of file.
    private func readAvailable(fd: inout Int32, into buffer: inout [UInt8], limit: Int?) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while fd >= 0 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
                if let limit, buffer.count > limit { buffer.removeFirst(buffer.count - limit) }
                continue
            }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { return true }
            close(fd); fd = -1
            return false
        }
        return false
    }

    /// The last `lines` lines of standard error (of at most its last 8 KiB).
    func stderrTail(lines: Int = 20) -> String {
        drainStderr()
        let text = String(decoding: errTail, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    // MARK: exit

    /// Waits until the process exits or `deadline` passes, draining standard error (and
    /// discarding further standard output) meanwhile. Returns the exit, or nil at the deadline.
    @discardableResult
    func waitForExit(deadline: UInt64) -> Exit? {
        while exit == nil {
            if reapIfExited() { break }
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= deadline { return nil }
            var fds: [pollfd] = []
            if stdoutFD >= 0 { fds.append(pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)) }
            if stderrFD >= 0 { fds.append(pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)) }
            let waitMs = Int32(min(20, (deadline - now + 999_999) / 1_000_000))
            if fds.isEmpty { usleep(UInt32(waitMs) * 1000) } else { _ = poll(&fds, nfds_t(fds.count), waitMs) }
            pollOutputNow()
        }
        return exit
    }

    private func reapIfExited() -> Bool {
        if exit != nil { return true }
        var status: Int32 = 0
        var usage = rusage()
        let r = wait4(pid, &status, WNOHANG, &usage)
        if r == pid {
            exit = RewardProcess.decode(status)
            cpuSeconds = RewardProcess.seconds(usage)
        } else if r < 0 && errno == ECHILD {
            // Someone else waited for it (a process-wide waitpid(-1) elsewhere in the program).
            exit = .unknown
        } else {
            return false
        }
        LiveRewardProcesses.shared.remove(pid)
        return true
    }

    /// Stops the process if it still runs (SIGTERM, then SIGKILL after `grace` seconds), waits for
    /// it and closes the pipes. Safe to call more than once.
    func terminate(grace: Double = 1) {
        closeStdin()
        if !reapIfExited() {
            _ = sendSignal(pid, SIGTERM)
            let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(grace * 1e9)
            if waitForExit(deadline: deadline) == nil {
                _ = sendSignal(pid, SIGKILL)
                var status: Int32 = 0
                var usage = rusage()
                while true {
                    let r = wait4(pid, &status, 0, &usage)
                    if r == pid { exit = RewardProcess.decode(status); cpuSeconds = RewardProcess.seconds(usage); break }
                    if r < 0 && errno == EINTR { continue }
                    exit = .unknown; break
                }
                LiveRewardProcesses.shared.remove(pid)
            }
        }
        pollOutputNow()
        if stdoutFD >= 0 { close(stdoutFD); stdoutFD = -1 }
        if stderrFD >= 0 { close(stderrFD); stderrFD = -1 }
    }

    /// Sends SIGKILL without waiting (from another thread, to abort a batch); the owning thread
    /// sees the end of the output and reaps the process.
    static func forceKill(pid: pid_t) { _ = sendSignal(pid, SIGKILL) }

    static func seconds(_ u: rusage) -> Double {
        Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
    }

    /// User + system CPU time of this process (all threads) so far.
    static func ownCPUSeconds() -> Double {
        var u = rusage()
        #if canImport(Glibc)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        #else
        getrusage(RUSAGE_SELF, &u)
        #endif
        return seconds(u)
    }

    private static func decode(_ status: Int32) -> Exit {
        let sig = status & 0x7f
        if sig == 0 { return .exited((status >> 8) & 0xff) }
        return .signalled(sig)
    }

    // MARK: helpers

    /// Writing to a program that has exited must not kill clp-flow (EPIPE is reported instead).
    private static let setUp: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
        LiveRewardProcesses.installExitHandler()
    }()

    private static func makePipe(_ fds: inout [Int32]) -> Bool {
        guard fds.withUnsafeMutableBufferPointer({ pipe($0.baseAddress!) }) == 0 else { return false }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return true
    }

    #if canImport(Glibc)
    // glibc's posix_spawn_file_actions_addchdir_np (2.29) and _addclosefrom_np (2.34) are GNU
    // extensions that Swift's Glibc module does not declare; they are looked up at run time.
    private typealias ChdirAction = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private typealias CloseFromAction = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addChdirFunction: ChdirAction? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np")
        .map { unsafeBitCast($0, to: ChdirAction.self) }
    private static let addCloseFrom: CloseFromAction? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: CloseFromAction.self) }

    private static func addChdir(_ actions: inout posix_spawn_file_actions_t, _ dir: String) -> Bool {
        guard let f = addChdirFunction else { return false }
        return f(&actions, dir) == 0
    }
    #else
    private static func addChdir(_ actions: inout posix_spawn_file_actions_t?, _ dir: String) -> Bool {
        posix_spawn_file_actions_addchdir_np(&actions, dir) == 0
    }
    #endif

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for p in pointers { free(p) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

#if canImport(Glibc)
private func sendSignal(_ pid: pid_t, _ sig: Int32) -> Int32 { Glibc.kill(pid, sig) }
#else
private func sendSignal(_ pid: pid_t, _ sig: Int32) -> Int32 { Darwin.kill(pid, sig) }
#endif

/// Reward processes that have not been waited for yet. When clp-flow exits without releasing a
/// reward (exit() from an error path), the exit handler stops them, so none outlives its step.
final class LiveRewardProcesses: @unchecked Sendable {
    static let shared = LiveRewardProcesses()
    private let lock = NSLock()
    private var pids: Set<pid_t> = []

    func add(_ pid: pid_t) { lock.lock(); pids.insert(pid); lock.unlock() }
    func remove(_ pid: pid_t) { lock.lock(); pids.remove(pid); lock.unlock() }
    var current: Set<pid_t> { lock.lock(); defer { lock.unlock() }; return pids }

    static func installExitHandler() {
        atexit {
            let pids = LiveRewardProcesses.shared.current
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
