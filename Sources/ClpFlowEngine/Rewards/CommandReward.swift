import ClpFlowCore
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A reward computed by the user's program. The argv list is run directly (no shell). The whole
/// batch is written to its standard input as JSON Lines, one object per input with the keys
/// `prompt`, `document`, `response` and `reference`; the program must print exactly one number
/// per input line on standard output, in order (blank lines are ignored). A run that exceeds
/// `timeout` seconds is killed (SIGTERM, then SIGKILL after one second).
public struct CommandReward: Reward {
    public let name: String
    public let argv: [String]
    public let timeout: Double
    /// Directory the program runs in and relative paths are resolved against (default: the
    /// current directory).
    public let workingDirectory: String?

    public init(name: String, argv: [String], timeout: Double = 60, workingDirectory: String? = nil) throws {
        guard let first = argv.first, !first.isEmpty else {
            throw RewardError.invalidOption(reward: name, message: "`command` must be a non-empty argv list, e.g. [python3, reward.py]")
        }
        guard timeout > 0 else { throw RewardError.invalidOption(reward: name, message: "timeout must be > 0 seconds, got \(timeout)") }
        self.name = name; self.argv = argv; self.timeout = timeout; self.workingDirectory = workingDirectory
    }

    /// The executable's absolute path: argv[0] itself when it contains a slash (relative to the
    /// working directory), otherwise the first match on PATH.
    public func resolveExecutable() throws -> String {
        let exe = argv[0]
        let fm = FileManager.default
        let base = workingDirectory ?? fm.currentDirectoryPath
        if exe.contains("/") {
            let path = exe.hasPrefix("/") ? exe : (base as NSString).appendingPathComponent(exe)
            guard fm.isExecutableFile(atPath: path) else {
                let why = fm.fileExists(atPath: path) ? "\(path) is not executable" : "no file at \(path)"
                throw RewardError.executableNotFound(reward: name, executable: exe, searched: why)
            }
            return path
        }
        let pathVar = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in pathVar.split(separator: ":") where !dir.isEmpty {
            let candidate = (String(dir) as NSString).appendingPathComponent(exe)
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: candidate, isDirectory: &isDir), !isDir.boolValue, fm.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        throw RewardError.executableNotFound(reward: name, executable: exe, searched: "searched PATH=\(pathVar)")
    }

    /// The JSON Lines sent on standard input.
    public static func encodeBatch(_ batch: [RewardInput]) -> String {
        var out = ""
        for b in batch {
            let v: JSONValue = ["prompt": .string(b.prompt), "document": .string(b.document),
                                "response": .string(b.response), "reference": .string(b.reference)]
            out += v.canonical + "\n"
        }
        return out
    }

    /// Parses the program's standard output into exactly `expected` finite numbers.
    public func parseOutput(_ text: String, expected: Int) throws -> [Double] {
        var scores: [Double] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            guard let v = Double(line), v.isFinite else { throw RewardError.notANumber(reward: name, line: i + 1, text: String(line.prefix(200))) }
            scores.append(v)
        }
        guard scores.count == expected else { throw RewardError.wrongCount(reward: name, expected: expected, got: scores.count) }
        return scores
    }

    public func score(_ batch: [RewardInput]) throws -> [Double] {
        if batch.isEmpty { return [] }
        let exe = try resolveExecutable()
        _ = CommandReward.ignoreSIGPIPE
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = Array(argv.dropFirst())
        if let workingDirectory { p.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        p.standardInput = stdin; p.standardOutput = stdout; p.standardError = stderr
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        do { try p.run() } catch {
            throw RewardError.launchFailed(reward: name, command: argv.joined(separator: " "), message: "\(error)")
        }
        let box = OutputBox()
        let readers = DispatchGroup()
        readers.enter()
        Thread.detachNewThread { box.setOut(stdout.fileHandleForReading.readDataToEndOfFile()); readers.leave() }
        readers.enter()
        Thread.detachNewThread { box.setErr(stderr.fileHandleForReading.readDataToEndOfFile()); readers.leave() }
        let input = Data(Self.encodeBatch(batch).utf8)
        Thread.detachNewThread {
            // A program that exits without reading everything makes this fail (EPIPE); its
            // exit status or missing output is reported instead.
            try? stdin.fileHandleForWriting.write(contentsOf: input)
            try? stdin.fileHandleForWriting.close()
        }
        if done.wait(timeout: .now() + timeout) == .timedOut {
            let pid = p.processIdentifier
            kill(pid, SIGTERM)
            if done.wait(timeout: .now() + 1) == .timedOut {
                kill(pid, SIGKILL)
                _ = done.wait(timeout: .now() + 5)
            }
            throw RewardError.timeout(reward: name, seconds: timeout)
        }
        // The process has exited; its pipes close unless it left children holding them.
        _ = readers.wait(timeout: .now() + 5)
        let errTail = Self.tail(box.err, lines: 20)
        if p.terminationReason == .uncaughtSignal {
            throw RewardError.killedBySignal(reward: name, signal: p.terminationStatus, stderrTail: errTail)
        }
        if p.terminationStatus != 0 {
            throw RewardError.exitStatus(reward: name, status: p.terminationStatus, stderrTail: errTail)
        }
        return try parseOutput(String(decoding: box.out, as: UTF8.self), expected: batch.count)
    }

    static func tail(_ data: Data, lines: Int) -> String {
        let text = String(decoding: data.suffix(8192), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Writing to a program that has exited must not kill clp-flow.
    static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    final class OutputBox: @unchecked Sendable {
        private let lock = NSLock()
        private var _out = Data(), _err = Data()
        func setOut(_ d: Data) { lock.lock(); _out = d; lock.unlock() }
        func setErr(_ d: Data) { lock.lock(); _err = d; lock.unlock() }
        var out: Data { lock.lock(); defer { lock.unlock() }; return _out }
        var err: Data { lock.lock(); defer { lock.unlock() }; return _err }
    }
}
