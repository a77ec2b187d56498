import COpenBLAS
import ClpFlowCore
import ClpFlowKernels
import Foundation

/// What a step's numbers depend on, written by every engine step as `numerics.json` in its
/// artifact: the BLAS library and the kernel set it runs, the thread counts, the CPU. Two
/// artifacts with equal records (and equal cache keys) hold the same bytes; see docs/runner.md.
public struct NumericsRecord: Codable, Sendable, Equatable {
    public struct BLASInfo: Codable, Sendable, Equatable {
        /// The shared library file the process loaded (from /proc/self/maps), if found.
        public var library: String?
        /// `openblas_get_config()`: version and build options.
        public var config: String
        /// `openblas_get_corename()`: the kernel set in use (chosen by DYNAMIC_ARCH or OPENBLAS_CORETYPE).
        public var core: String
        /// OPENBLAS_CORETYPE as the step saw it (nil: unset, the CPU decides).
        public var coretypeVariable: String?
        /// `openblas_get_parallel()`: sequential, pthreads or openmp.
        public var parallel: String
    }

    public var blas: BLASInfo
    /// How products are split: fixed parts per product, each one single-threaded OpenBLAS call,
    /// so the thread count (not recorded) never changes a result.
    public var partition: String
    /// `model name` of /proc/cpuinfo.
    public var cpu: String?
    public var architecture: String
    public var engineFormat: Int

    public static let fileName = "numerics.json"

    /// The record of this process.
    public static func current() -> NumericsRecord {
        let parallel: String
        switch openblas_get_parallel() {
        case 0: parallel = "sequential"
        case 1: parallel = "pthreads"
        case 2: parallel = "openmp"
        default: parallel = "unknown"
        }
        let config = openblas_get_config().map { String(cString: $0) } ?? ""
        let core = openblas_get_corename().map { String(cString: $0) } ?? ""
        let coretype = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].flatMap { $0.isEmpty ? nil : $0 }
        return NumericsRecord(blas: BLASInfo(library: loadedLibrary(containing: "blas"), config: config.trimmingCharacters(in: .whitespaces),
                                             core: core, coretypeVariable: coretype, parallel: parallel),
                              partition: "fixed parts of at most \(BLAS.maxParts) per product, \(BLAS.splitThreshold) multiply-adds and more; OpenBLAS single-threaded inside each", cpu: cpuModel(), architecture: architecture(),
                              engineFormat: ClpFlowVersion.engineFormat)
    }

    static func loadedLibrary(containing word: String) -> String? {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return nil }
        for line in maps.split(separator: "\n") {
            guard let slash = line.firstIndex(of: "/") else { continue }
            let path = String(line[slash...])
            let name = (path as NSString).lastPathComponent.lowercased()
            if name.contains(word) && name.contains(".so") { return path }
        }
        return nil
    }

    static func cpuModel() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    static func architecture() -> String {
        var u = utsname()
        uname(&u)
        return withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Writes the record into a step's work directory.
    public func write(to dir: URL) throws {
        try ArtifactJSON.encoder().encode(self).write(to: dir.appendingPathComponent(NumericsRecord.fileName), options: .atomic)
    }
}
