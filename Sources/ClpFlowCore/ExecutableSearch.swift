import Foundation

/// Finding programs the way a shell does: in the directories of PATH, in order.
public enum ExecutableSearch {
    /// The search path used when PATH is not set.
    public static let defaultPath = "/usr/local/bin:/usr/bin:/bin"

    /// The value of PATH in `environment` (the default search path when it is not set).
    public static func pathVariable(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        environment["PATH"] ?? defaultPath
    }

    /// The non-empty directories of PATH, in order.
    public static func pathDirectories(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        pathVariable(environment).split(separator: ":").map(String.init).filter { !$0.isEmpty }
    }

    /// Whether `path` is a file (not a directory) this process may execute.
    public static func isExecutableFile(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        let fm = FileManager.default
        return fm.fileExists(atPath: path, isDirectory: &isDir) && !isDir.boolValue && fm.isExecutableFile(atPath: path)
    }

    /// The first executable file called `name` in `directories` (the directories of PATH when
    /// nil), or nil when there is none.
    public static func find(_ name: String, in directories: [String]? = nil) -> String? {
        for dir in directories ?? pathDirectories() {
            let candidate = (dir as NSString).appendingPathComponent(name)
            if isExecutableFile(candidate) { return candidate }
        }
        return nil
    }
}
