import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process: the one way clp-flow starts programs (reward commands, Slurm tools, step
/// processes, apt-helper).
///
/// It is started with posix_spawn, with default signal dispositions, an empty signal mask and no
/// file descriptor other than 0, 1 and 2. By default standard input, output and error are pipes
/// and the child stays in clp-flow's process group (so that stopping a step's process group stops
/// its reward processes too); `Options` can instead send output and error to a file (the child's
/// standard input is then /dev/null) and start the child in a session of its own. All I/O is
/// non-blocking and driven by poll(2) against a deadline on one thread, so a program that stops
/// reading, floods its standard error or hangs can never block clp-flow. Standard error is
/// drained whenever clp-flow talks to the process; its last `Options.errorLimit` bytes are kept.
///
/// `ChildProcess.run` is the synchronous form: start, read both pipes to the end, wait.
///
/// Not thread-safe: one thread uses a process at a time.
public final class ChildProcess {
    public enum Exit: Equatable, Sendable { case exited(Int32), signalled(Int32), unknown }
    public enum Outcome: Sendable { case done, endOfOutput, timedOut }

    /// How a child is started.
    public struct Options: Sendable {
        /// The child's complete environment; nil gives it clp-flow's own.
        public var environment: [String: String]?
        public var workingDirectory: String?
        /// A file descriptor that receives standard output and error (appended, as for a log);
        /// nil gives pipes.
        public var outputFile: Int32?
        /// Start the child in a new session (and so a new process group whose id is its pid), so
        /// that signalling the group `-pid` reaches it and its own children.
        public var newSession: Bool
        /// Stop the child if clp-flow exits without having waited for it.
        public var stopAtExit: Bool
        /// Bytes of standard error kept (the last ones); nil keeps all of it.
        public var errorLimit: Int?

        public init(environment: [String: String]? = nil, workingDirectory: String? = nil, outputFile: Int32? = nil,
                    newSession: Bool = false, stopAtExit: Bool = false, errorLimit: Int? = 8192) {
            self.environment = environment; self.workingDirectory = workingDirectory; self.outputFile = outputFile
            self.newSession = newSession; self.stopAtExit = stopAtExit; self.errorLimit = errorLimit
        }
    }

    public let pid: pid_t
    private var stdinFD: Int32
    private var stdoutFD: Int32
    private var stderrFD: Int32
    private let errorLimit: Int?
    /// Standard output received and not consumed yet.
    public private(set) var output: [UInt8] = []
    private var errTail: [UInt8] = []
    /// Set once the process has been waited for.
    public private(set) var exit: Exit?
    /// User + system CPU time of the process, known once it has been waited for.
    public private(set) var cpuSeconds: Double = 0

    /// Starts `executable` (an absolute path) with `argv` (argv[0] included).
    public init(executable: String, argv: [String], options: Options = Options()) throws {
        _ = ChildProcess.setUp
        errorLimit = options.errorLimit
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        func closeAll() { for fd in inPipe + outPipe + errPipe where fd >= 0 { close(fd) } }
        let piped = options.outputFile == nil
        guard !piped || (ChildProcess.makePipe(&inPipe) && ChildProcess.makePipe(&outPipe) && ChildProcess.makePipe(&errPipe)) else {
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
        if let file = options.outputFile {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, file, 1)
            posix_spawn_file_actions_adddup2(&actions, file, 2)
        } else {
            posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
            posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
            posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        }
        var path = executable, args = argv
        if let workingDirectory = options.workingDirectory {
            if !ChildProcess.addChdir(&actions, workingDirectory) {
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
        if let closeFrom = ChildProcess.addCloseFrom { _ = closeFrom(&actions, 3) }
        #else
        flags |= Int32(POSIX_SPAWN_CLOEXEC_DEFAULT)
        #endif
        if options.newSession { flags |= ChildProcess.setSessionFlag }
        var allSignals = sigset_t(), noSignals = sigset_t()
        sigfillset(&allSignals); sigemptyset(&noSignals)
        // SIGKILL and SIGSTOP cannot be reset; glibc skips them, other systems may refuse them.
        sigdelset(&allSignals, SIGKILL); sigdelset(&allSignals, SIGSTOP)
        posix_spawnattr_setsigdefault(&attr, &allSignals)
        posix_spawnattr_setsigmask(&attr, &noSignals)
        posix_spawnattr_setflags(&attr, Int16(flags))

        let env = options.environment ?? ProcessInfo.processInfo.environment
        let envStrings = env.map { "\($0.key)=\($0.value)" }.sorted()
        var childPid: pid_t = 0
        let rc = ChildProcess.withCStrings(args) { argvPtr in
            ChildProcess.withCStrings(envStrings) { envPtr in
                posix_spawn(&childPid, path, &actions, &attr, argvPtr, envPtr)
            }
        }
        for fd in [inPipe[0], outPipe[1], errPipe[1]] where fd >= 0 { close(fd) }
        guard rc == 0 else {
            for fd in [inPipe[1], outPipe[0], errPipe[0]] where fd >= 0 { close(fd) }
            throw SpawnError(message: String(cString: strerror(rc)))
        }
        pid = childPid
        stdinFD = inPipe[1]; stdoutFD = outPipe[0]; stderrFD = errPipe[0]
        for fd in [stdinFD, stdoutFD, stderrFD] where fd >= 0 { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        tracked = options.stopAtExit
        outputToFile = !piped
        if tracked { LiveChildProcesses.shared.add(pid) }
    }

    private var tracked = false
    private let outputToFile: Bool

    /// A child with pipes is stopped when its `ChildProcess` goes away; one writing to a file
    /// (a step) is left to run.
    deinit {
        if outputToFile { return }
        terminate()
    }

    /// The program could not be started.
    public struct SpawnError: Error, CustomStringConvertible, Sendable {
        public var message: String
        public var description: String { message }
    }

    // MARK: synchronous use

    /// What `run` returns.
    public struct Result: Sendable {
        public var exit: Exit
        public var output: [UInt8]
        public var errorOutput: [UInt8]

        /// The exit status, 128 + the signal number for a process killed by a signal, -1 when
        /// unknown.
        public var status: Int32 {
            switch exit {
            case .exited(let s): return s
            case .signalled(let s): return 128 + s
            case .unknown: return -1
            }
        }
        public var outputText: String { String(decoding: output, as: UTF8.self) }
        public var errorText: String { String(decoding: errorOutput, as: UTF8.self) }
    }

    /// Runs `argv` (argv[0] an absolute path) to completion with an empty standard input, reading
    /// its standard output and error in full (both at once, so a chatty program never blocks on
    /// a full pipe).
    public static func run(_ argv: [String], environment: [String: String]? = nil) throws -> Result {
        precondition(!argv.isEmpty, "ChildProcess.run: empty argv")
        let p = try ChildProcess(executable: argv[0], argv: argv,
                                 options: Options(environment: environment, errorLimit: nil))
        _ = p.exchange([], closeInput: true, deadline: nil) { _ in false }
        let exit = p.waitForExit(deadline: nil) ?? .unknown
        p.pollOutputNow()
        return Result(exit: exit, output: p.output, errorOutput: p.errTail)
    }

    // MARK: I/O

    /// Writes `input` to standard input (closing it afterwards when `closeInput`), reading
    /// standard output and error meanwhile, until `isComplete(output)` holds, standard output
    /// ends, or `deadline` (DispatchTime uptime nanoseconds) passes. A program that stops reading
    /// its input is not an error here: the rest of the input is dropped and its output decides.
    /// A nil deadline waits as long as it takes.
    public func exchange(_ input: [UInt8], closeInput: Bool, deadline: UInt64?, isComplete: ([UInt8]) -> Bool) -> Outcome {
        var pending = input[...]
        if pending.isEmpty && closeInput { closeStdin() }
        while true {
            if isComplete(output) { return .done }
            if stdoutFD < 0 { return .endOfOutput }
            var waitMs: Int32 = -1
            if let deadline {
                let now = DispatchTime.now().uptimeNanoseconds
                if now >= deadline { return .timedOut }
                waitMs = Int32(min(UInt64(Int32.max), (deadline - now + 999_999) / 1_000_000))
            }
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
    public func pollOutputNow() {
        if stdoutFD >= 0 { _ = readAvailable(fd: &stdoutFD, into: &output, limit: nil) }
        drainStderr()
    }

    /// Removes the first `count` bytes of the received output.
    public func consumeOutput(_ count: Int) { output.removeFirst(min(count, output.count)) }

    public func closeStdin() {
        if stdinFD >= 0 { close(stdinFD); stdinFD = -1 }
    }

    private func drainStderr() {
        guard stderrFD >= 0 else { return }
        _ = readAvailable(fd: &stderrFD, into: &errTail, limit: errorLimit)
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

    /// The last `lines` lines of standard error (of the part kept, see `Options.errorLimit`).
    public func stderrTail(lines: Int = 20) -> String {
        drainStderr()
        let text = String(decoding: errTail, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    // MARK: exit

    /// Waits until the process exits or `deadline` passes, draining standard error (and
    /// keeping further standard output) meanwhile. Returns the exit, or nil at the deadline (a nil
    /// deadline waits as long as it takes).
    @discardableResult
    public func waitForExit(deadline: UInt64?) -> Exit? {
        while exit == nil {
            if checkExited() { break }
            var waitMs: Int32 = 20
            if let deadline {
                let now = DispatchTime.now().uptimeNanoseconds
                if now >= deadline { return nil }
                waitMs = Int32(min(20, (deadline - now + 999_999) / 1_000_000))
            }
            var fds: [pollfd] = []
            if stdoutFD >= 0 { fds.append(pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)) }
            if stderrFD >= 0 { fds.append(pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)) }
            if fds.isEmpty { usleep(UInt32(waitMs) * 1000) } else { _ = poll(&fds, nfds_t(fds.count), waitMs) }
            pollOutputNow()
        }
        return exit
    }

    /// Reaps the process if it has exited (without waiting); true once it has.
    public func checkExited() -> Bool {
        if exit != nil { return true }
        var status: Int32 = 0
        var usage = rusage()
        let r = wait4(pid, &status, WNOHANG, &usage)
        if r == pid {
            exit = ChildProcess.decode(status)
            cpuSeconds = ChildProcess.seconds(usage)
        } else if r < 0 && errno == ECHILD {
            // Someone else waited for it (a process-wide waitpid(-1) elsewhere in the program).
            exit = .unknown
        } else {
            return false
        }
        if tracked { LiveChildProcesses.shared.remove(pid) }
        return true
    }

    /// Stops the process if it still runs (SIGTERM, then SIGKILL after `grace` seconds), waits for
    /// it and closes the pipes. Safe to call more than once.
    public func terminate(grace: Double = 1) {
        closeStdin()
        if !checkExited() {
            _ = sendSignal(pid, SIGTERM)
            let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(grace * 1e9)
            if waitForExit(deadline: deadline) == nil {
                _ = sendSignal(pid, SIGKILL)
                var status: Int32 = 0
                var usage = rusage()
                while true {
                    let r = wait4(pid, &status, 0, &usage)
                    if r == pid { exit = ChildProcess.decode(status); cpuSeconds = ChildProcess.seconds(usage); break }
                    if r < 0 && errno == EINTR { continue }
                    exit = .unknown; break
                }
                if tracked { LiveChildProcesses.shared.remove(pid) }
            }
        }
        pollOutputNow()
        if stdoutFD >= 0 { close(stdoutFD); stdoutFD = -1 }
        if stderrFD >= 0 { close(stderrFD); stderrFD = -1 }
    }

    /// Sends SIGKILL without waiting (from another thread, to abort a batch); the owning thread
    /// sees the end of the output and reaps the process.
    public static func forceKill(pid: pid_t) { _ = sendSignal(pid, SIGKILL) }

    static func seconds(_ u: rusage) -> Double {
        Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
    }

    /// User + system CPU time of this process (all threads) so far.
    public static func ownCPUSeconds() -> Double {
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
        LiveChildProcesses.installExitHandler()
    }()

    #if canImport(Glibc)
    /// glibc's POSIX_SPAWN_SETSID (2.26; a GNU extension Swift's Glibc module does not declare).
    private static let setSessionFlag: Int32 = 0x80
    #else
    private static let setSessionFlag = Int32(POSIX_SPAWN_SETSID)
    #endif

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
