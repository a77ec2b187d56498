#!/usr/bin/env bash
# Cross-check of the Slurm executor on a real single-node cluster: starts munged + slurmctld +
# slurmd on localhost (scripts/slurm/up.sh) unless one of ours is already up, runs the Slurm
# executor tests with CLP_FLOW_SLURM=1 (diamond plan compared with the local executor, job ids
# recorded, failing step → dependents CANCELLED (DependencyNeverSatisfied), rerun resubmits only
# the failed subtree, scancel on interruption), then stops the daemons it started.
# Environment: SLURM_STATE (default /tmp/clp-flow-slurm), CLP_FLOW_SCRATCH (swift --scratch-path).
set -euo pipefail
cd "$(dirname "$0")/../.."
export SLURM_STATE="${SLURM_STATE:-/tmp/clp-flow-slurm}"
export SLURM_CONF="$SLURM_STATE/slurm.conf"

if ! command -v sbatch >/dev/null || [ ! -x /usr/sbin/slurmctld ] || [ ! -x /usr/sbin/munged ]; then
    echo "slurm-executor: Slurm or munge is not installed (apt-get install slurm-wlm munge)" >&2
    exit 1
fi

started=0
if [ -f "$SLURM_STATE/slurmctld.fg.pid" ] && kill -0 "$(cat "$SLURM_STATE/slurmctld.fg.pid")" 2>/dev/null \
    && [ "$(sinfo -h -o %T 2>/dev/null)" = idle ]; then
    echo "slurm-executor: reusing the cluster already running from $SLURM_STATE" >&2
else
    trap 'bash scripts/slurm/down.sh' EXIT
    bash scripts/slurm/up.sh
    started=1
fi

scratch=()
[ -n "${CLP_FLOW_SCRATCH:-}" ] && scratch=(--scratch-path "$CLP_FLOW_SCRATCH")
log=$(mktemp)
status=0
CLP_FLOW_SLURM=1 swift test "${scratch[@]}" --filter 'ClpFlowRunnerTests.Slurm' >"$log" 2>&1 || status=$?
grep -E "^Test Case .*(passed|failed|skipped)|error:|Executed" "$log" | grep -vE "started" >&2 || true
if [ "$status" -ne 0 ]; then
    echo "slurm-executor: FAILED (full log: $log)" >&2
    exit 1
fi
if grep -q "skipped" "$log" && grep -q "SlurmExecutorTests" "$log" && ! grep -q "SlurmExecutorTests.testDiamond.*passed" "$log"; then
    echo "slurm-executor: FAILED: the Slurm executor tests were skipped" >&2
    exit 1
fi
rm -f "$log"
echo "slurm-executor: ok (cluster started by this check: $started)" >&2
