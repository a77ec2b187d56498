import ClpFlowCore
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A reward computed by the user's program (docs/rewards.md, "External rewards"). The argv list
/// is run directly (no shell), in `workingDirectory`.
///
/// - **Per batch** (the default): one process per batch. The batch is written to its standard
///   input as JSON Lines (one object per input with the keys `prompt`, `document`, `response`,
///   `reference`), standard input is closed, and the program prints exactly one number per input
///   line on standard output, in order (blank lines are ignored), then exits with status 0.
/// - **Persistent**: the process starts at the first batch and stays alive until the reward is
///   released (the end of the step). Each batch is one line on its standard input, a JSON array
///   of input objects; the program answers each with one line on standard output, a JSON array
///   of as many finite numbers, in order. When its standard input ends, it exits.
///
/// With `workers` = N > 1 a batch is split into N contiguous parts of near-equal size (sizes
/// differ by at most one, larger parts first) scored by N processes at once, and the answers are
/// put back in order. A batch that takes longer than `timeout` seconds (in persistent mode: per
/// batch, the first one including start-up) is an error; the process is sent SIGTERM, then
/// SIGKILL one second later, and waited for. Every process started is always waited for.
public final class CommandReward: Reward, @unchecked Sendable {
    public let name: String
    public let argv: [String]
    public let timeout: Double
    /// Directory the program runs in and relative paths are resolved against (default: the
    /// current directory).
    public let workingDirectory: String?
    /// One long-lived process (per worker) for all batches instead of one per batch.
    public let persistent: Bool
    /// Processes scoring parts of each batch at the same time.
    public let workers: Int

    /// What the reward has done so far.
    public struct Statistics: Sendable, Equatable {
        /// Batches scored (calls of `score` with at least one input, including failed ones).
        public var batches = 0
        public var items = 0
        /// Wall time spent in `score`, in seconds.
        public var seconds = 0.0
        /// Wall time of the first batch; in persistent mode it includes starting the processes
        /// (and whatever they load before answering).
        public var firstBatchSeconds: Double? = nil
        /// Processes started.
        public var processesStarted = 0
        /// Wall time from the start of the first batch to the end of the last one, in seconds
        /// (the caller's own work between batches included).
        public var span = 0.0
        /// CPU time (user + system) of the reward processes that have ended, in seconds.
        public var processCPUSeconds = 0.0
        /// CPU time of this process (every thread) over the span, in seconds.
        public var callerCPUSeconds = 0.0
    }

    private let lock = NSLock()
    /// Persistent mode: one slot per worker, started when first needed.
    private var pool: [ChildProcess?] = []
    private var stats = Statistics()
    private var firstStart: UInt64?
    private var firstStartCPU = 0.0

    public init(name: String, argv: [String], timeout: Double = 60, workingDirectory: String? = nil,
                persistent: Bool = false, workers: Int = 1) throws {
        guard let first = argv.first, !first.isEmpty else {
            throw RewardError.invalidOption(reward: name, message: "`command` must be a non-empty argv list, e.g. [python3, reward.py]")
        }
        guard timeout > 0, timeout.isFinite else { throw RewardError.invalidOption(reward: name, message: "timeout must be > 0 seconds, got \(timeout)") }
        guard workers >= 1 else { throw RewardError.invalidOption(reward: name, message: "workers must be at least 1, got \(workers)") }
        self.name = name; self.argv = argv; self.timeout = timeout; self.workingDirectory = workingDirectory
        self.persistent = persistent; self.workers = workers
    }

    deinit { shutdown() }

    public var statistics: Statistics { lock.lock(); defer { lock.unlock() }; return stats }

    /// Process ids of the persistent processes now running, by worker (nil: not started).
    public var processIds: [Int32?] {
        lock.lock(); defer { lock.unlock() }
        return pool.map { $0?.pid }
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
        if let found = ExecutableSearch.find(exe) { return found }
        throw RewardError.executableNotFound(reward: name, executable: exe, searched: "searched PATH=\(ExecutableSearch.pathVariable())")
    }

    static func inputObject(_ b: RewardInput) -> JSONValue {
        ["prompt": .string(b.prompt), "document": .string(b.document), "response": .string(b.response), "reference": .string(b.reference)]
    }

    /// The JSON Lines sent on standard input in per-batch mode.
    public static func encodeBatch(_ batch: [RewardInput]) -> String {
        var out = ""
        for b in batch { out += inputObject(b).canonical + "\n" }
        return out
    }

    /// The line sent for one batch in persistent mode: a JSON array of input objects.
    public static func encodeFrame(_ batch: [RewardInput]) -> String {
        "[" + batch.map { inputObject($0).canonical }.joined(separator: ",") + "]\n"
    }

    /// Parses the program's standard output (per-batch mode) into exactly `expected` finite numbers.
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

    /// Parses one answer line of persistent mode: a JSON array of finite numbers. Nil if it is
    /// not one.
    public static func parseAnswer(_ line: String) -> [Double]? {
        let t = line.trimmingCharacters(in: .whitespaces)
        guard t.hasPrefix("["), t.hasSuffix("]") else { return nil }
        let inner = t.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
        if inner.isEmpty { return [] }
        var out: [Double] = []
        for part in inner.split(separator: ",", omittingEmptySubsequences: false) {
            let s = part.trimmingCharacters(in: .whitespaces)
            // JSON numbers only: no NaN/Infinity words, no hexadecimal, no leading '+' or '.'.
            guard let c = s.first, c == "-" || c.isASCII && c.isNumber,
                  s.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }),
                  let v = Double(s), v.isFinite else { return nil }
            out.append(v)
        }
        return out
    }

    /// Chunks of `count` items for `parts` workers: contiguous, sizes differing by at most one.
    public static func chunks(count: Int, parts: Int) -> [Range<Int>] {
        let k = max(1, min(parts, count))
        let base = count / k, extra = count % k
        var out: [Range<Int>] = [], start = 0
        for i in 0..<k {
            let size = base + (i < extra ? 1 : 0)
            out.append(start..<(start + size)); start += size
        }
        return out
    }

    public func score(_ batch: [RewardInput]) throws -> [Double] {
        if batch.isEmpty { return [] }
        lock.lock(); defer { lock.unlock() }
        let exe = try resolveExecutable()
        let start = DispatchTime.now().uptimeNanoseconds
        stats.batches += 1
        stats.items += batch.count
        if firstStart == nil { firstStart = start; firstStartCPU = ChildProcess.ownCPUSeconds() }
        defer {
            stats.callerCPUSeconds = ChildProcess.ownCPUSeconds() - firstStartCPU
            let end = DispatchTime.now().uptimeNanoseconds
            let s = Double(end - start) / 1e9
            stats.seconds += s
            if stats.firstBatchSeconds == nil { stats.firstBatchSeconds = s }
            stats.span = Double(end - (firstStart ?? start)) / 1e9
        }
        return persistent ? try scorePersistent(batch, executable: exe) : try scorePerBatch(batch, executable: exe)
    }

    // MARK: per-batch mode

    private func environment(worker: Int, mode: String) -> [String: String] {
        ["CLP_FLOW_REWARD_PROTOCOL": mode, "CLP_FLOW_REWARD_NAME": name,
         "CLP_FLOW_REWARD_WORKER": String(worker), "CLP_FLOW_REWARD_WORKERS": String(workers)]
    }

    private func spawn(executable: String, worker: Int, mode: String) throws -> ChildProcess {
        do {
            var env = ProcessInfo.processInfo.environment
            for (k, v) in environment(worker: worker, mode: mode) { env[k] = v }
            let p = try ChildProcess(executable: executable, argv: argv,
                                     options: .init(environment: env, workingDirectory: workingDirectory, stopAtExit: true))
            stats.processesStarted += 1
            return p
        } catch let e as ChildProcess.SpawnError {
            throw RewardError.launchFailed(reward: name, command: argv.joined(separator: " "), message: e.message)
        }
    }

    private func scorePerBatch(_ batch: [RewardInput], executable: String) throws -> [Double] {
        let ranges = Self.chunks(count: batch.count, parts: workers)
        var procs: [ChildProcess] = []
        defer { for p in procs { p.terminate(); stats.processCPUSeconds += p.cpuSeconds } }
        for i in ranges.indices { procs.append(try spawn(executable: executable, worker: i, mode: "batch")) }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout * 1e9)
        let parts = try Self.inParallel(procs: procs) { i, p, abort in
            try self.runOnce(p, Array(batch[ranges[i]]), deadline: deadline, abort: abort, worker: i)
        }
        return parts.flatMap { $0 }
    }

    private func runOnce(_ p: ChildProcess, _ items: [RewardInput], deadline: UInt64, abort: BatchAbort, worker: Int) throws -> [Double] {
        let input = Array(Self.encodeBatch(items).utf8)
        let outcome = p.exchange(input, closeInput: true, deadline: deadline) { _ in false }
        abort.finish(worker)
        if outcome == .timedOut || p.waitForExit(deadline: deadline) == nil {
            p.terminate()
            throw RewardError.timeout(reward: name, seconds: timeout)
        }
        let tail = p.stderrTail()
        switch p.exit {
        case .signalled(let s)?: throw RewardError.killedBySignal(reward: name, signal: s, stderrTail: tail)
        case .exited(let s)? where s != 0: throw RewardError.exitStatus(reward: name, status: s, stderrTail: tail)
        default: break
        }
        return try parseOutput(String(decoding: p.output, as: UTF8.self), expected: items.count)
    }

    // MARK: persistent mode

    private func scorePersistent(_ batch: [RewardInput], executable: String) throws -> [Double] {
        let ranges = Self.chunks(count: batch.count, parts: workers)
        if pool.count != workers { pool = Array(repeating: nil, count: workers) }
        do {
            for i in ranges.indices where pool[i] == nil {
                pool[i] = try spawn(executable: executable, worker: i, mode: "persistent")
            }
        } catch {
            stopAll(); throw error
        }
        let procs = ranges.indices.map { pool[$0]! }
        let batchNumber = stats.batches
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout * 1e9)
        do {
            let parts = try Self.inParallel(procs: procs) { i, p, abort in
                try self.ask(p, Array(batch[ranges[i]]), deadline: deadline, abort: abort, worker: i, batch: batchNumber)
            }
            return parts.flatMap { $0 }
        } catch {
            // A failed batch fails the step: no process of this reward is left running.
            stopAll()
            throw error
        }
    }

    /// Sends one batch to a persistent process and reads its answer line.
    private func ask(_ p: ChildProcess, _ items: [RewardInput], deadline: UInt64, abort: BatchAbort, worker: Int, batch: Int) throws -> [Double] {
        func fail(_ problem: RewardProcessProblem) -> RewardError {
            abort.finish(worker)
            p.terminate()
            return RewardError.persistentFailure(reward: name, batch: batch, worker: worker + 1, workers: workers,
                                                 problem: problem, stderrTail: p.stderrTail())
        }
        // Anything printed since the last answer breaks the one-line-per-batch framing.
        p.pollOutputNow()
        let leftover = String(decoding: p.output, as: UTF8.self)
        if !leftover.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw fail(.unexpectedOutput(Self.excerpt(leftover)))
        }
        p.consumeOutput(p.output.count)
        let frame = Array(Self.encodeFrame(items).utf8)
        let outcome = p.exchange(frame, closeInput: false, deadline: deadline) { Self.answerLine(in: $0) != nil }
        switch outcome {
        case .timedOut:
            throw fail(.timedOut(seconds: timeout))
        case .endOfOutput:
            // Standard output closed: report how the process ended (it usually has).
            let grace = min(deadline, DispatchTime.now().uptimeNanoseconds + 2_000_000_000)
            switch p.waitForExit(deadline: grace) {
            case .exited(let s)?: throw fail(.exited(status: s))
            case .signalled(let s)?: throw fail(.killedBySignal(s))
            case .unknown?: throw fail(.exited(status: -1))
            case nil: throw fail(.closedOutput)
            }
        case .done:
            let (line, consumed) = Self.answerLine(in: p.output)!
            p.consumeOutput(consumed)
            guard let scores = Self.parseAnswer(line) else { throw fail(.malformed(Self.excerpt(line))) }
            guard scores.count == items.count else { throw fail(.wrongCount(expected: items.count, got: scores.count)) }
            let rest = String(decoding: p.output, as: UTF8.self)
            if !rest.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw fail(.unexpectedOutput(Self.excerpt(rest))) }
            abort.finish(worker)
            return scores
        }
    }

    /// The first non-blank complete line of `bytes` and the number of bytes up to and including
    /// its newline.
    static func answerLine(in bytes: [UInt8]) -> (String, Int)? {
        var start = 0
        while let nl = bytes[start...].firstIndex(of: 10) {
            let line = String(decoding: bytes[start..<nl], as: UTF8.self)
            if !line.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return (line, nl + 1) }
            start = nl + 1
        }
        return nil
    }

    static func excerpt(_ s: String) -> String {
        let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
        return t.count > 200 ? String(t.prefix(200)) + "…" : t
    }

    // MARK: workers

    /// Runs `body` for each process, on threads of their own when there are several. The first
    /// failure kills the processes still working (so nobody waits for a batch that is lost anyway)
    /// and is the error thrown.
    private static func inParallel(procs: [ChildProcess], _ body: @escaping @Sendable (Int, ChildProcess, BatchAbort) throws -> [Double]) throws -> [[Double]] {
        let abort = BatchAbort()
        for (i, p) in procs.enumerated() { abort.start(i, p.pid) }
        if procs.count == 1 {
            do { return [try body(0, procs[0], abort)] } catch { abort.finish(0); throw error }
        }
        let results = ResultBox(count: procs.count)
        let group = DispatchGroup()
        for (i, p) in procs.enumerated() {
            group.enter()
            // The job drops the body (and what it holds, the reward itself) before the group is
            // left, so the reward is released when its owner lets go, not when a thread ends.
            let job = Job(body: body, process: p)
            Thread.detachNewThread {
                do { results.set(i, .success(try job.run(i, abort))) } catch {
                    abort.finish(i)
                    if results.fail(i, error) { abort.abortAll() }
                }
                job.clear()
                group.leave()
            }
        }
        group.wait()
        return try results.collect()
    }

    // MARK: shutdown

    private func stopAll() {
        for p in pool { p?.terminate(); stats.processCPUSeconds += p?.cpuSeconds ?? 0 }
        pool = Array(repeating: nil, count: pool.count)
    }

    /// Closes the persistent processes' input, gives them up to min(timeout, 10) s to exit, stops
    /// the ones that do not, and prints what the reward did on standard error. Called when the
    /// reward is released; safe to call more than once (a later batch starts new processes).
    public func shutdown() {
        lock.lock(); defer { lock.unlock() }
        let live = pool.compactMap { $0 }
        var notes: [String] = []
        if !live.isEmpty {
            for p in live { p.closeStdin() }
            let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(min(timeout, 10) * 1e9)
            for p in live {
                switch p.waitForExit(deadline: deadline) {
                case nil:
                    p.terminate()
                    notes.append("process \(p.pid) did not exit within \(JSONNumber.format(min(timeout, 10))) s after its input was closed and was stopped")
                case .exited(let s)? where s != 0:
                    let tail = p.stderrTail(lines: 5)
                    notes.append("process \(p.pid) exited with status \(s) after its input was closed" + (tail.isEmpty ? "" : ": \(tail)"))
                case .signalled(let s)?:
                    notes.append("process \(p.pid) was killed by signal \(s) after its input was closed")
                default: break
                }
                p.terminate()
                stats.processCPUSeconds += p.cpuSeconds
            }
            pool = Array(repeating: nil, count: pool.count)
        }
        if stats.batches > 0 && (!live.isEmpty || !persistent) && !summaryPrinted {
            summaryPrinted = !persistent
            var line = "reward \"\(name)\": " + summary()
            for n in notes { line += "\nreward \"\(name)\": warning: " + n }
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }
    private var summaryPrinted = false

    /// One line on throughput: batches, items, scoring time and items per second.
    public func summary() -> String {
        let s = stats
        let procs = workers == 1 ? "1 process" : "\(workers) processes"
        var text = "\(s.batches) batches, \(s.items) items, \(String(format: "%.2f", s.seconds)) s scoring within \(String(format: "%.2f", s.span)) s from the first batch to the last"
        if persistent {
            text += " (persistent, \(procs))"
            if let first = s.firstBatchSeconds {
                text += "; first batch \(String(format: "%.2f", first)) s including start-up"
                let rest = s.seconds - first
                if s.batches > 1 && rest > 0 {
                    let items = Double(s.items) * Double(s.batches - 1) / Double(s.batches)
                    text += ", then \(String(format: "%.1f", items / rest)) items/s"
                }
            }
        } else {
            text += " (\(s.processesStarted) processes: one per batch\(workers == 1 ? "" : " and worker"))"
            if s.seconds > 0 { text += "; \(String(format: "%.1f", Double(s.items) / s.seconds)) items/s" }
        }
        text += "; CPU: reward processes \(String(format: "%.2f", s.processCPUSeconds)) s, clp-flow \(String(format: "%.2f", s.callerCPUSeconds)) s over the span"
        return text
    }
}
