import Foundation
import Testing
@testable import ClpFlowCore

private func tempDir(_ label: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clp-flow-\(label)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

@Test func runCapturesBothStreamsInFullWithoutBlocking() throws {
    // 1 MiB on each stream: far more than a pipe buffer, so both must be read at once.
    let r = try ChildProcess.run(["/bin/sh", "-c", "head -c 1048576 /dev/zero; head -c 1048576 /dev/zero | tr '\\0' e >&2; exit 3"])
    #expect(r.exit == .exited(3))
    #expect(r.status == 3)
    #expect(r.output.count == 1_048_576 && r.output.allSatisfy { $0 == 0 })
    #expect(r.errorOutput.count == 1_048_576 && r.errorOutput.allSatisfy { $0 == UInt8(ascii: "e") })
}

@Test func runGivesTextEnvironmentAndSignalStatus() throws {
    let r = try ChildProcess.run(["/bin/sh", "-c", "printf '%s' \"$CLP_FLOW_X\"; printf oops >&2"], environment: ["CLP_FLOW_X": "a b"])
    #expect(r.outputText == "a b")
    #expect(r.errorText == "oops")
    #expect(r.status == 0)
    let killed = try ChildProcess.run(["/bin/sh", "-c", "kill -9 $$"])
    #expect(killed.exit == .signalled(9))
    #expect(killed.status == 128 + 9)
}

@Test func startingAMissingProgramIsASpawnError() {
    let error = #expect(throws: ChildProcess.SpawnError.self) { try ChildProcess.run(["/nonexistent-clp-flow/tool"]) }
    #expect(error?.message == "No such file or directory")
}

@Test func outputFileWorkingDirectoryAndNewSession() throws {
    let dir = try tempDir("child")
    defer { try? FileManager.default.removeItem(at: dir) }
    let log = dir.appendingPathComponent("log")
    #expect(FileManager.default.createFile(atPath: log.path, contents: Data("head\n".utf8)))
    let handle = try FileHandle(forWritingTo: log)
    _ = try handle.seekToEnd()
    let p = try ChildProcess(executable: "/bin/sh", argv: ["sh", "-c", "pwd; echo err >&2; read x || echo eof; sleep 0.3"],
                             options: .init(environment: ["PATH": "/usr/bin:/bin"], workingDirectory: dir.path,
                                            outputFile: handle.fileDescriptor, newSession: true))
    // The child leads a session (and so a process group) of its own.
    let sid = getsid(p.pid)
    #expect(sid == p.pid, "session \(sid) of child \(p.pid)")
    #expect(p.waitForExit(deadline: DispatchTime.now().uptimeNanoseconds + 10_000_000_000) == .exited(0))
    try handle.close()
    let text = try String(contentsOf: log, encoding: .utf8)
    // Output and error are appended after what the file held; standard input is empty.
    #expect(text == "head\n\(dir.resolvingSymlinksInPath().path)\nerr\neof\n" || text == "head\n\(dir.path)\nerr\neof\n", "\(text)")
}

@Test func exchangeStopsAtTheDeadlineAndTerminateReaps() throws {
    let p = try ChildProcess(executable: "/bin/sh", argv: ["sh", "-c", "sleep 30"])
    let start = DispatchTime.now().uptimeNanoseconds
    let outcome = p.exchange([], closeInput: true, deadline: start + 200_000_000) { _ in false }
    #expect(outcome == .timedOut)
    p.terminate()
    #expect(p.exit == .signalled(SIGTERM))
    #expect(DispatchTime.now().uptimeNanoseconds - start < 5_000_000_000)
}

@Test func executableSearchFindsOnlyExecutableFiles() throws {
    let a = try tempDir("path-a"), b = try tempDir("path-b")
    defer { try? FileManager.default.removeItem(at: a); try? FileManager.default.removeItem(at: b) }
    // In a: a directory and a non-executable file of the name; in b: the executable.
    try FileManager.default.createDirectory(at: a.appendingPathComponent("tool"), withIntermediateDirectories: true)
    #expect(FileManager.default.createFile(atPath: a.appendingPathComponent("other").path, contents: Data()))
    #expect(FileManager.default.createFile(atPath: b.appendingPathComponent("tool").path, contents: Data("#!/bin/sh\n".utf8),
                                           attributes: [.posixPermissions: 0o755]))
    #expect(FileManager.default.createFile(atPath: b.appendingPathComponent("other").path, contents: Data(),
                                           attributes: [.posixPermissions: 0o755]))
    #expect(ExecutableSearch.find("tool", in: [a.path, b.path]) == b.appendingPathComponent("tool").path)
    #expect(ExecutableSearch.find("other", in: [a.path, b.path]) == b.appendingPathComponent("other").path)
    #expect(ExecutableSearch.find("missing", in: [a.path, b.path]) == nil)
    #expect(!ExecutableSearch.isExecutableFile(a.appendingPathComponent("tool").path))
    #expect(ExecutableSearch.pathDirectories(["PATH": "/x::/y:"]) == ["/x", "/y"])
    #expect(ExecutableSearch.pathDirectories([:]) == ["/usr/local/bin", "/usr/bin", "/bin"])
    #expect(ExecutableSearch.find("sh") != nil)
}

@Test func paretoFrontKeepsTiesAndDropsNonFinitePoints() {
    #expect(ParetoFront.dominates([2, 2], [1, 2]))
    #expect(!ParetoFront.dominates([1, 2], [1, 2]))
    #expect(!ParetoFront.dominates([.nan, 5], [0, 0]))
    #expect(ParetoFront.nonDominatedIndices([[1, 5], [2, 4], [2, 4], [1, 1], [3, 1], [.nan, 9]]) == [0, 1, 2, 4])
    #expect(ParetoFront.nonDominatedIndices([]) == [])
}
