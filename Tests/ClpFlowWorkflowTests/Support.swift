import ClpFlowCore
import Foundation
@testable import ClpFlowWorkflow

/// Paths of the fixtures (read from the source tree so that goldens can be regenerated there).
enum Paths {
    static let testsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
    static let fixtures = testsDir + "/Fixtures"
    static let repoRoot = URL(fileURLWithPath: testsDir).deletingLastPathComponent().deletingLastPathComponent().path

    static func files(_ dir: String, ext: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasSuffix("." + ext) }.sorted().map { dir + "/" + $0 }
    }
}

/// Set CLP_FLOW_UPDATE_GOLDENS=1 to rewrite the golden files from the current output.
enum Golden {
    static var updating: Bool { ProcessInfo.processInfo.environment["CLP_FLOW_UPDATE_GOLDENS"] == "1" }

    /// Returns nil when `actual` matches the golden file, else a message with both texts.
    static func check(_ actual: String, against path: String) -> String? {
        if updating {
            try? actual.write(toFile: path, atomically: true, encoding: .utf8)
            return nil
        }
        guard let expected = try? String(contentsOfFile: path, encoding: .utf8) else {
            return "missing golden \(path); run CLP_FLOW_UPDATE_GOLDENS=1 swift test --filter ClpFlowWorkflowTests"
        }
        if expected == actual { return nil }
        return "golden \(path) differs (CLP_FLOW_UPDATE_GOLDENS=1 regenerates it)\n--- expected\n\(expected)\n--- actual\n\(actual)"
    }

    /// Paths in output relative to the fixtures directory.
    static func relative(_ s: String) -> String {
        s.replacingOccurrences(of: Paths.fixtures + "/", with: "")
    }
}
