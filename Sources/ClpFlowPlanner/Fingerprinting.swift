import ClpFlowCore
import Foundation

/// Reads the files whose contents determine step outputs, so their digests can go into step
/// configurations (and hence cache keys). Injectable: tests use an in-memory implementation.
public protocol PlannerFileSystem: Sendable {
    /// Hex SHA-256 of a regular file's bytes, or nil when it does not exist / is not a file.
    func fileSHA256(_ url: URL) -> String?
    /// Whether a regular file exists at `url`.
    func isRegularFile(_ url: URL) -> Bool
    /// Fingerprint of a directory: relative file path → hex SHA-256 of every regular file inside,
    /// recursively (an empty object when the directory is missing).
    func directoryFingerprint(_ url: URL) -> JSONValue
    /// Fingerprint of apt's English description index: the SHA-256 of each file the
    /// debian-descriptions source reads (`*_i18n_Translation-en*` under /var/lib/apt/lists, no
    /// `.diff`), in the order it reads them (sorted by name). Content only: an `apt-get update`
    /// that rewrites identical files, or a copy with new times, keeps the key.
    func aptIndexFingerprint() -> JSONValue
    /// A JSON file's contents (for a checkpoint's config.json), nil when unreadable.
    func readJSON(_ url: URL) -> JSONValue?
}

/// The real file system.
public struct SystemFileSystem: PlannerFileSystem {
    public var aptListsDirectory: URL
    /// Bytes read at a time when hashing a file.
    public var chunkSize: Int

    public init(aptListsDirectory: URL = URL(fileURLWithPath: "/var/lib/apt/lists"), chunkSize: Int = 1 << 20) {
        self.aptListsDirectory = aptListsDirectory
        self.chunkSize = chunkSize
    }

    public func isRegularFile(_ url: URL) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && !isDir.boolValue
    }

    public func fileSHA256(_ url: URL) -> String? {
        guard isRegularFile(url) else { return nil }
        return try? Digest.sha256Hex(fileAt: url, chunkSize: chunkSize).hex
    }

    public func directoryFingerprint(_ url: URL) -> JSONValue {
        let fm = FileManager.default
        guard let enumerator = fm.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey]) else {
            return .object([:])
        }
        var files: [String: JSONValue] = [:]
        let base = url.standardizedFileURL.path
        for case let file as URL in enumerator {
            guard (try? file.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            var rel = file.standardizedFileURL.path
            if rel.hasPrefix(base) { rel.removeFirst(base.count) }
            while rel.hasPrefix("/") { rel.removeFirst() }
            if let digest = fileSHA256(file) { files[rel] = .string(digest) }
        }
        return .object(files)
    }

    /// The index files the debian-descriptions source reads, in its order (same selection as
    /// `DebianDescriptions.indexFiles()`).
    public static func aptIndexNames(_ names: [String]) -> [String] {
        names.filter { $0.contains("_i18n_Translation-en") && !$0.hasSuffix(".diff") && !$0.contains(".diff_") }.sorted()
    }

    public func aptIndexFingerprint() -> JSONValue {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: aptListsDirectory.path) else { return .array([]) }
        var entries: [JSONValue] = []
        for name in SystemFileSystem.aptIndexNames(names) {
            if let digest = fileSHA256(aptListsDirectory.appendingPathComponent(name)) { entries.append(.string(digest)) }
        }
        return .array(entries)
    }

    public func readJSON(_ url: URL) -> JSONValue? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONValue.parse(data: data)
    }
}

/// An in-memory file system for hermetic tests: paths (standardised) → contents.
public struct InMemoryFileSystem: PlannerFileSystem {
    public var files: [String: [UInt8]]
    public var aptIndex: JSONValue

    public init(files: [String: String] = [:], aptIndex: JSONValue = .array([])) {
        self.files = files.mapValues { Array($0.utf8) }
        self.aptIndex = aptIndex
    }

    private func key(_ url: URL) -> String { url.standardizedFileURL.path }

    public func isRegularFile(_ url: URL) -> Bool { files[key(url)] != nil }
    public func fileSHA256(_ url: URL) -> String? { files[key(url)].map { Digest.sha256Hex($0) } }

    public func directoryFingerprint(_ url: URL) -> JSONValue {
        let base = key(url) + "/"
        var out: [String: JSONValue] = [:]
        for (path, bytes) in files where path.hasPrefix(base) {
            out[String(path.dropFirst(base.count))] = .string(Digest.sha256Hex(bytes))
        }
        return .object(out)
    }

    public func aptIndexFingerprint() -> JSONValue { aptIndex }

    public func readJSON(_ url: URL) -> JSONValue? {
        guard let bytes = files[key(url)] else { return nil }
        return try? JSONValue.parse(String(decoding: bytes, as: UTF8.self))
    }
}

/// Memoises fingerprints within one planning call (the same file is named by many cells).
final class FingerprintCache {
    let fs: any PlannerFileSystem
    private var fileDigests: [String: JSONValue] = [:]
    private var dirDigests: [String: JSONValue] = [:]
    private var apt: JSONValue? = nil

    init(_ fs: any PlannerFileSystem) { self.fs = fs }

    /// The file's digest, or `"missing"` when it does not exist (validation reports that case; a
    /// missing file still gets a definite key that changes once the file appears).
    func file(_ url: URL) -> JSONValue {
        let k = url.standardizedFileURL.path
        if let v = fileDigests[k] { return v }
        let v: JSONValue = fs.fileSHA256(url).map { .string($0) } ?? .string("missing")
        fileDigests[k] = v
        return v
    }

    func directory(_ url: URL) -> JSONValue {
        let k = url.standardizedFileURL.path
        if let v = dirDigests[k] { return v }
        let v = fs.directoryFingerprint(url)
        dirDigests[k] = v
        return v
    }

    func aptIndex() -> JSONValue {
        if let apt { return apt }
        let v = fs.aptIndexFingerprint()
        apt = v
        return v
    }
}
