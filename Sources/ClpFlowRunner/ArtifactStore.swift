import ClpFlowCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One file of an artifact, as recorded in its manifest.
public struct ManifestEntry: Codable, Sendable, Hashable {
    public var path: String
    public var size: Int64
    public var sha256: String
}

/// `MANIFEST.json` of a published artifact (snake_case keys; manifests written with camelCase
/// keys by older versions still verify).
public struct ArtifactManifest: Codable, Sendable, Hashable {
    public static let fileName = "MANIFEST.json"
    public var format: Int
    public var cacheKey: String
    public var stepId: String
    public var files: [ManifestEntry]

    public var canonicalJSON: String {
        let files: [JSONValue] = self.files.map {
            ["path": .string($0.path), "size": .number(Double($0.size)), "sha256": .string($0.sha256)]
        }
        let v: JSONValue = ["format": .number(Double(format)), "cache_key": .string(cacheKey),
                            "step_id": .string(stepId), "files": .array(files)]
        return v.prettyCanonical
    }
}

/// The result of verifying an artifact directory.
public enum ArtifactState: Sendable, Equatable {
    case valid(ArtifactManifest)
    case missing
    /// Present but unusable (no or unreadable manifest, missing, extra, truncated or altered file).
    case corrupt(String)

    public var isValid: Bool { if case .valid = self { return true }; return false }
}

/// Content-addressed store of step outputs: `artifacts/<cacheKey>/`. Outputs are produced in a work
/// directory, then published atomically (files fsynced, manifest written, directory renamed).
public struct ArtifactStore: Sendable {
    public let root: URL
    public static let chunkSize = 1 << 20

    public init(root: URL) { self.root = root }

    public func url(for cacheKey: String) throws -> URL {
        guard SafeName.isValidCacheKey(cacheKey) else { throw RunnerError.artifact("cache key '\(cacheKey)' is not lowercase hex") }
        return root.appendingPathComponent(cacheKey, isDirectory: true)
    }

    /// SHA-256 and size of a file, read in chunks.
    public static func digest(of url: URL) throws -> (sha256: String, size: Int64) {
        do {
            let d = try Digest.sha256Hex(fileAt: url, chunkSize: chunkSize)
            return (d.hex, d.size)
        } catch let e as DigestError {
            throw RunnerError.artifact(e.message)
        }
    }

    /// Lists the regular files below `dir` (relative paths, sorted), refusing symbolic links and
    /// special files so an artifact can never point outside itself.
    static func listFiles(in dir: URL) throws -> [String] {
        var out: [String] = []
        func walk(_ rel: String) throws {
            let abs = rel.isEmpty ? dir.path : dir.path + "/" + rel
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: abs) } catch {
                throw RunnerError.artifact("cannot list \(abs): \(error.localizedDescription)")
            }
            for name in names.sorted() {
                let childRel = rel.isEmpty ? name : rel + "/" + name
                var st = stat()
                guard lstat(dir.path + "/" + childRel, &st) == 0 else {
                    throw RunnerError.artifact("cannot stat \(childRel): \(String(cString: strerror(errno)))")
                }
                switch st.st_mode & S_IFMT {
                case S_IFDIR: try walk(childRel)
                case S_IFREG: out.append(childRel)
                case S_IFLNK: throw RunnerError.artifact("output '\(childRel)' is a symbolic link; steps must write regular files")
                default: throw RunnerError.artifact("output '\(childRel)' is not a regular file")
                }
            }
        }
        try walk("")
        return out.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    static func fsyncPath(_ path: String, directory: Bool = false) throws {
        let fd = open(path, directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY)
        guard fd >= 0 else { throw RunnerError.artifact("cannot open \(path) to sync it: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        if fsync(fd) != 0 { throw RunnerError.artifact("fsync \(path) failed: \(String(cString: strerror(errno)))") }
    }

    /// Builds the manifest of a work directory, syncing every file to disk.
    public static func buildManifest(workDir: URL, cacheKey: String, stepId: String) throws -> ArtifactManifest {
        var entries: [ManifestEntry] = []
        for rel in try listFiles(in: workDir) where rel != ArtifactManifest.fileName {
            let url = workDir.appendingPathComponent(rel)
            try fsyncPath(url.path)
            let d = try digest(of: url)
            entries.append(ManifestEntry(path: rel, size: d.size, sha256: d.sha256))
        }
        return ArtifactManifest(format: 1, cacheKey: cacheKey, stepId: stepId, files: entries)
    }

    /// Publishes a finished work directory as `artifacts/<cacheKey>`: checksums and syncs its files,
    /// writes MANIFEST.json, and renames the directory into place (replacing an unusable previous
    /// copy). Returns the manifest.
    @discardableResult
    public func publish(workDir: URL, cacheKey: String, stepId: String) throws -> ArtifactManifest {
        let dest = try url(for: cacheKey)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let manifest = try ArtifactStore.buildManifest(workDir: workDir, cacheKey: cacheKey, stepId: stepId)
        let manifestURL = workDir.appendingPathComponent(ArtifactManifest.fileName)
        let tmpManifest = workDir.appendingPathComponent(ArtifactManifest.fileName + ".partial")
        do {
            try Data(manifest.canonicalJSON.utf8).write(to: tmpManifest)
            try ArtifactStore.fsyncPath(tmpManifest.path)
            if rename(tmpManifest.path, manifestURL.path) != 0 {
                throw RunnerError.artifact("cannot write \(manifestURL.path): \(String(cString: strerror(errno)))")
            }
            try ArtifactStore.fsyncPath(workDir.path, directory: true)
        } catch let e as RunnerError { throw e } catch {
            throw RunnerError.artifact("cannot write manifest in \(workDir.path): \(error.localizedDescription)")
        }
        if FileManager.default.fileExists(atPath: dest.path) {
            // An earlier copy exists (corrupt, or published concurrently): move it aside first so
            // the rename below stays atomic, then delete it.
            let aside = root.appendingPathComponent(".\(cacheKey).replaced-\(getpid())-\(UInt64(Date().timeIntervalSince1970 * 1000))")
            if rename(dest.path, aside.path) != 0 {
                throw RunnerError.artifact("cannot move aside \(dest.path): \(String(cString: strerror(errno)))")
            }
            try? FileManager.default.removeItem(at: aside)
        }
        if rename(workDir.path, dest.path) != 0 {
            throw RunnerError.artifact("cannot rename \(workDir.path) to \(dest.path): \(String(cString: strerror(errno)))")
        }
        try ArtifactStore.fsyncPath(root.path, directory: true)
        return manifest
    }

    /// Verifies `artifacts/<cacheKey>`: manifest present and readable, every listed file present
    /// with the recorded size and SHA-256, and no unlisted file.
    public func verify(cacheKey: String) -> ArtifactState {
        guard let dir = try? url(for: cacheKey) else { return .corrupt("invalid cache key") }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir) else { return .missing }
        guard isDir.boolValue else { return .corrupt("\(dir.path) is not a directory") }
        let manifestURL = dir.appendingPathComponent(ArtifactManifest.fileName)
        guard let data = FileManager.default.contents(atPath: manifestURL.path) else {
            return .corrupt("no \(ArtifactManifest.fileName) (partial output)")
        }
        guard let manifest = try? ArtifactJSON.decoder().decode(ArtifactManifest.self, from: data) else {
            return .corrupt("\(ArtifactManifest.fileName) is unreadable")
        }
        if manifest.cacheKey != cacheKey { return .corrupt("manifest names cache key \(manifest.cacheKey)") }
        let listed: [String]
        do { listed = try ArtifactStore.listFiles(in: dir).filter { $0 != ArtifactManifest.fileName } } catch {
            return .corrupt("\(error)")
        }
        let expected = Set(manifest.files.map(\.path))
        if let extra = listed.first(where: { !expected.contains($0) }) { return .corrupt("unlisted file '\(extra)'") }
        for entry in manifest.files {
            if entry.path.hasPrefix("/") || entry.path.split(separator: "/").contains("..") {
                return .corrupt("manifest path '\(entry.path)' escapes the artifact")
            }
            let fileURL = dir.appendingPathComponent(entry.path)
            var st = stat()
            guard lstat(fileURL.path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
                return .corrupt("file '\(entry.path)' is missing")
            }
            if Int64(st.st_size) != entry.size {
                return .corrupt("file '\(entry.path)' has \(st.st_size) bytes, manifest says \(entry.size)")
            }
            guard let d = try? ArtifactStore.digest(of: fileURL) else { return .corrupt("file '\(entry.path)' is unreadable") }
            if d.sha256 != entry.sha256 { return .corrupt("file '\(entry.path)' has changed (SHA-256 mismatch)") }
        }
        return .valid(manifest)
    }

    /// Removes an unusable artifact so the step reruns.
    public func remove(cacheKey: String) throws {
        let dir = try url(for: cacheKey)
        if FileManager.default.fileExists(atPath: dir.path) {
            do { try FileManager.default.removeItem(at: dir) } catch {
                throw RunnerError.artifact("cannot remove \(dir.path): \(error.localizedDescription)")
            }
        }
    }
}
