/// Where a workflow's steps run: the `executor.kind` of the workflow language, the `--executor`
/// option of `clp-flow run` and the runner's choice of backend.
public enum ExecutorKind: String, Codable, Sendable, CaseIterable {
    /// Processes on this machine.
    case local
    /// One Slurm job per step, submitted with sbatch.
    case slurm
}
