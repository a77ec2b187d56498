import ClpFlowCore
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The pieces `CommandReward` uses to score one batch with several worker processes at once.

/// Why a persistent reward process failed a batch.
public enum RewardProcessProblem: Equatable, Sendable, CustomStringConvertible {
    case exited(status: Int32)
    case killedBySignal(Int32)
    case timedOut(seconds: Double)
    case malformed(String)
    case wrongCount(expected: Int, got: Int)
    case unexpectedOutput(String)
    case closedOutput

    public var description: String {
        switch self {
        case .exited(let s) where s < 0: return "the process exited before answering"
        case .exited(let s): return "the process exited with status \(s) before answering"
        case .killedBySignal(let s): return "the process was killed by signal \(s)"
        case .timedOut(let t): return "no answer within \(JSONNumber.format(t)) s; the process was stopped (raise `timeout` or make it faster)"
        case .malformed(let line): return "the answer is not a JSON array of finite numbers: \"\(line)\""
        case .wrongCount(let e, let g): return "the answer has \(g) score(s) for a batch of \(e) input(s); it must hold one number per input, in order"
        case .unexpectedOutput(let text): return "the process printed \"\(text)\" outside an answer; print exactly one line per batch on standard output and everything else on standard error"
        case .closedOutput: return "the process closed its standard output; it was stopped"
        }
    }
}

/// Lets the first failing worker of a batch stop the others.
final class BatchAbort: @unchecked Sendable {
    private let lock = NSLock()
    private var running: [Int: pid_t] = [:]

    func start(_ worker: Int, _ pid: pid_t) { lock.lock(); running[worker] = pid; lock.unlock() }
    /// Called by a worker before it waits for or stops its own process.
    func finish(_ worker: Int) { lock.lock(); running[worker] = nil; lock.unlock() }
    func abortAll() {
        lock.lock(); defer { lock.unlock() }
        for pid in running.values { ChildProcess.forceKill(pid: pid) }
        running.removeAll()
    }
}

final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [[Double]?]
    private var firstError: Error?

    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<[Double], Error>) {
        lock.lock(); defer { lock.unlock() }
        if case .success(let v) = r { values[i] = v }
    }
    /// Records a failure; true for the first one.
    func fail(_ i: Int, _ e: Error) -> Bool {
        lock.lock(); defer { lock.unlock() }
        if firstError == nil { firstError = e; return true }
        return false
    }
    func collect() throws -> [[Double]] {
        lock.lock(); defer { lock.unlock() }
        if let firstError { throw firstError }
        return values.map { $0! }
    }
}

/// One worker's share of a batch, run on a thread of its own.
final class Job: @unchecked Sendable {
    private var body: (@Sendable (Int, ChildProcess, BatchAbort) throws -> [Double])?
    private var process: ChildProcess?
    init(body: @escaping @Sendable (Int, ChildProcess, BatchAbort) throws -> [Double], process: ChildProcess) {
        self.body = body; self.process = process
    }
    func run(_ i: Int, _ abort: BatchAbort) throws -> [Double] { try body!(i, process!, abort) }
    func clear() { body = nil; process = nil }
}
