import ClpFlowCore
import ClpFlowPlanner
import ClpFlowReport
import ClpFlowRunner
import Foundation

/// The report of a run directory with its full run metadata, shared by `run` (at the end of
/// every run) and `report`: results from the verified artifacts of the plan, plus the run's
/// record from runs.sqlite (status, start and end, executor, and per step its status, wall time
/// and cache key).
public enum RunReport {
    public enum Failure: Error, CustomStringConvertible {
        /// The directory holds no readable plan.json.
        case notARunDirectory(String)
        /// The results cannot be turned into a report (e.g. no completed evaluation yet).
        case noResults(String)

        public var description: String {
            switch self {
            case .notARunDirectory(let m), .noResults(let m): return m
            }
        }
    }

    /// Builds the report data of run `runId` (default: the latest run) of `runDir`.
    /// `executor` overrides what is inferred from the records (Slurm job ids ⇒ slurm).
    public static func build(runDir: RunDirectory, runId: Int64? = nil, executor: String? = nil) throws -> ReportData {
        let plan: Plan
        do { plan = try runDir.readPlan() } catch {
            throw Failure.notARunDirectory("\(runDir.root.path) is not a run directory: \(error)")
        }
        // Plans written before the report step recorded its titles show the workflow name.
        let titles = plan.steps.last(where: { $0.kind == .report }).flatMap { try? ReportConfig(step: $0) }
        let name = titles?.name ?? plan.workflowName
        let description = titles?.description ?? ""
        let meta = runMetadata(runDir: runDir, runId: runId)
        var data: ReportData
        do {
            data = try ReportBuilder.build(plan: plan, runDir: runDir, name: name, description: description,
                                           stepRecords: meta.steps, status: meta.status)
        } catch {
            throw Failure.noResults("\(error)")
        }
        data.metadata.runID = meta.runID
        data.metadata.startedAt = meta.startedAt
        data.metadata.finishedAt = meta.finishedAt
        data.metadata.executor = executor ?? meta.executor
        data.metadata.extra = (data.metadata.extra + meta.extra).filter { !$0.value.isEmpty }
        return data
    }

    /// Writes the HTML report (atomically) and returns its data. `out` defaults to RUN_DIR/report.html.
    @discardableResult
    public static func write(runDir: RunDirectory, runId: Int64? = nil, executor: String? = nil, to out: URL? = nil) throws -> (ReportData, URL) {
        let data = try build(runDir: runDir, runId: runId, executor: executor)
        let url = out ?? runDir.root.appendingPathComponent("report.html")
        try ReportRenderer.html(data).write(to: url, atomically: true, encoding: .utf8)
        return (data, url)
    }

    /// What runs.sqlite says about a run. A step reused from the cache has status `cached` and the
    /// wall time it took in the run that computed it (so every step shows what it costs); the
    /// run's own duration is listed separately as "Run wall time".
    public static func runMetadata(runDir: RunDirectory, runId: Int64?) -> RunMetadata {
        var meta = RunMetadata(workflowName: "", seed: 0, toolVersion: ClpFlowVersion.tool, status: "unknown")
        if let source = RunSource.read(runDir: runDir.root) {
            meta.extra.append(KeyValue("Workflow file", source.workflowFile))
        }
        meta.extra.append(KeyValue("Run directory", runDir.root.path))
        guard FileManager.default.fileExists(atPath: runDir.storeURL.path),
              let store = try? RunStore(url: runDir.storeURL, readOnly: true),
              let runs = try? store.runs(),
              let run = runId.flatMap({ id in runs.first { $0.id == id } }) ?? runs.last
        else { return meta }
        meta.runID = String(run.id)
        meta.status = run.status
        meta.startedAt = run.started
        meta.finishedAt = run.ended
        if let a = Timestamp.date(run.started), let b = run.ended.flatMap(Timestamp.date) {
            meta.extra.append(KeyValue("Run wall time", ReportText.duration(b.timeIntervalSince(a))))
        }
        meta.extra.append(KeyValue("Host", run.host))
        let steps = (try? store.steps(runId: run.id)) ?? []
        if steps.contains(where: { $0.slurmJobId != nil }) {
            meta.executor = "slurm"
        } else if steps.contains(where: { $0.status == .done || $0.status == .failed }) {
            meta.executor = "local"
        }
        meta.steps = steps.map { s in
            var wall = wallTime(s)
            if s.status == .cached, wall == nil {
                // The latest earlier record that computed this very artifact.
                let producer = ((try? store.history(stepId: s.stepId)) ?? []).last {
                    $0.runId < run.id && $0.cacheKey == s.cacheKey && $0.status == .done
                }
                wall = producer.flatMap(wallTime)
            }
            return ClpFlowReport.StepSummary(id: s.stepId, kind: s.kind, status: s.status.rawValue,
                                            wallTimeSeconds: wall, cacheKey: s.cacheKey)
        }
        return meta
    }

    static func wallTime(_ s: ClpFlowRunner.StepRecord) -> Double? {
        guard let a = s.started.flatMap(Timestamp.date), let b = s.ended.flatMap(Timestamp.date) else { return nil }
        return b.timeIntervalSince(a)
    }
}
