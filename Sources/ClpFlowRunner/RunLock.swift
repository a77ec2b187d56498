import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Who holds a run directory: the content of its `lock` file.
public struct LockHolder: Sendable, Equatable {
    public var pid: Int32
    public var host: String
    public var started: String

    /// Parses `pid=<n>\nhost=<h>\nstarted=<iso8601>\n`.
    public static func parse(_ text: String) -> LockHolder? {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        guard let p = fields["pid"], let pid = Int32(p) else { return nil }
        return LockHolder(pid: pid, host: fields["host"] ?? "?", started: fields["started"] ?? "?")
    }

    public var text: String { "pid=\(pid)\nhost=\(host)\nstarted=\(started)\n" }

    /// True if the holder is a process of this host that no longer exists.
    public var isDeadOnThisHost: Bool { host == currentHostName() && !processExists(pid) }
}

public func currentHostName() -> String {
    var buf = [CChar](repeating: 0, count: 256)
    if gethostname(&buf, buf.count) == 0 {
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    return ProcessInfo.processInfo.hostName
}

func processExists(_ pid: Int32) -> Bool {
    if pid <= 0 { return false }
    if kill(pid, 0) == 0 { return true }
    return errno == EPERM
}

/// Exclusive ownership of a run directory. The `lock` file is locked with `flock` (released by
/// the kernel if the runner dies) and holds the owner's pid, host and start time, so a second
/// runner can name the holder, and a lock left by a dead process is recognised as stale.
public final class RunLock {
    public let url: URL
    public let holder: LockHolder
    /// Set when the lock file named a dead process that was taken over.
    public let tookOverFrom: LockHolder?
    private var fd: Int32

    private init(url: URL, fd: Int32, holder: LockHolder, tookOverFrom: LockHolder?) {
        self.url = url; self.fd = fd; self.holder = holder; self.tookOverFrom = tookOverFrom
    }

    /// Takes the lock or throws `RunnerError.locked` naming the current holder.
    public static func acquire(_ url: URL) throws -> RunLock {
        let fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw RunnerError.io("cannot open lock file \(url.path): \(String(cString: strerror(errno)))")
        }
        let previous = readHolder(fd: fd)
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let err = errno
            close(fd)
            if err == EWOULDBLOCK {
                let h = previous ?? LockHolder(pid: 0, host: "?", started: "?")
                throw RunnerError.locked(path: url.path, pid: h.pid, host: h.host, since: h.started)
            }
            throw RunnerError.io("cannot lock \(url.path): \(String(cString: strerror(err)))")
        }
        // flock succeeded. On a shared file system flock may not see other hosts' locks, so a
        // live holder recorded from another host (or another live process here) still wins.
        let current = readHolder(fd: fd)
        var tookOver: LockHolder? = nil
        if let h = current, h.pid != getpid() || h.host != currentHostName() {
            // On this host flock is authoritative: a recorded pid that did not hold the flock is
            // dead (or a reused pid), so the lock is stale and taken over.
            if h.host != currentHostName() {
                close(fd)
                throw RunnerError.locked(path: url.path, pid: h.pid, host: h.host, since: h.started)
            }
            tookOver = h
        }
        let me = LockHolder(pid: getpid(), host: currentHostName(), started: Timestamp.string())
        let bytes = Array(me.text.utf8)
        if ftruncate(fd, 0) != 0 || pwrite(fd, bytes, bytes.count, 0) != bytes.count {
            close(fd)
            throw RunnerError.io("cannot write lock file \(url.path): \(String(cString: strerror(errno)))")
        }
        fsync(fd)
        return RunLock(url: url, fd: fd, holder: me, tookOverFrom: tookOver)
    }

    private static func readHolder(fd: Int32) -> LockHolder? {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = pread(fd, &buf, buf.count, 0)
        guard n > 0 else { return nil }
        return LockHolder.parse(String(decoding: buf[0..<n], as: UTF8.self))
    }

    /// Reads the holder recorded in a lock file without taking it, and whether it is held.
    public static func inspect(_ url: URL) -> (holder: LockHolder?, held: Bool) {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return (nil, false) }
        defer { close(fd) }
        let h = readHolder(fd: fd)
        if flock(fd, LOCK_SH | LOCK_NB) != 0 { return (h, true) }
        flock(fd, LOCK_UN)
        return (h, false)
    }

    /// Releases the lock and empties the lock file.
    public func release() {
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}
