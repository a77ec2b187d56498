import ClpFlowCore
import ClpFlowPlanner
import ClpFlowRunner
import Foundation

/// Where a workflow's runs go, and what a run directory tells the planner.
public enum RunDirectories {
    /// `runs/<workflow name>` relative to the current directory. A name that is not a plain file
    /// name (letters, digits, `.`, `-`, `_`, not starting with `.`) is made file-safe and gets a
    /// short hash so that different names never share a directory.
    ///
    /// Earlier versions always appended the hash (`runs/quickstart-1a2b3c4d5e`): when only such a
    /// directory exists, it is used, so its finished steps are not computed again.
    public static func defaultPath(workflowName: String) -> String {
        let current = "runs/" + directoryName(workflowName)
        let earlier = "runs/" + SafeName.fileName(for: workflowName)
        let fm = FileManager.default
        if current != earlier && !fm.fileExists(atPath: current) && fm.fileExists(atPath: earlier + "/runs.sqlite") {
            return earlier
        }
        return current
    }

    /// The directory name of a workflow's runs (see `defaultPath`).
    public static func directoryName(_ name: String) -> String {
        let plain = !name.isEmpty && !name.hasPrefix(".") && name.count <= 80 && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == "."
        }
        return plain ? name : SafeName.fileName(for: name)
    }

    /// The history of the run directory at `path` (empty when it has no run store yet). Throws
    /// when the run store cannot be opened.
    public static func history(at path: String) throws -> any RunHistory {
        let dir = RunDirectory(path: path)
        guard FileManager.default.fileExists(atPath: dir.storeURL.path) else { return InMemoryRunHistory() }
        return RunDirectoryHistory(store: try RunStore(url: dir.storeURL, readOnly: true), artifacts: dir.artifacts)
    }
}

/// The planner's view of a run directory: last recorded cache key and config per step id, and
/// whether an artifact is present and intact.
public struct RunDirectoryHistory: RunHistory {
    let store: RunStore
    let artifacts: ArtifactStore

    public init(store: RunStore, artifacts: ArtifactStore) { self.store = store; self.artifacts = artifacts }

    public func lastRecord(stepId: String) -> PriorStepRecord? {
        guard let r = (try? store.stepKeys(stepId: stepId))?.last, let config = try? JSONValue.parse(r.configJSON) else {
            return nil
        }
        return PriorStepRecord(cacheKey: r.cacheKey, config: config, inputs: r.inputs, inputKeys: r.inputKeys)
    }

    public func artifactStatus(cacheKey: String) -> ArtifactStatus {
        switch artifacts.verify(cacheKey: cacheKey) {
        case .valid: return .present
        case .missing: return .missing
        case .corrupt: return .corrupt
        }
    }
}
