#!/usr/bin/env bash
# Cross-check of the Slurm executor on a real single-node cluster: starts munged + slurmctld +
# slurmd on localhost (scripts/slurm/up.sh) unless one of ours is already up, runs the Slurm
# executor tests with CLP_FLOW_SLURM=1 (diamond plan compared with the local executor, job ids
# recorded, failing step → dependents CANCELLED (DependencyNeverSatisfied), rerun resubmits only
# the failed subtree, scancel on interruption, same numerics environment as local steps, queue
# wait recorded apart from run time), then runs a real engine workflow on Slurm and locally and
# compares every output byte for byte, then stops the daemons it started.
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
CLP_FLOW_SLURM=1 swift test "${scratch[@]}" --filter 'ClpFlowRunnerTests.*Slurm' >"$log" 2>&1 || status=$?
grep -E "^[^ ]+ (Test|Suite) .*(passed|failed|skipped)|error:|Test run with" "$log" >&2 || true
if [ "$status" -ne 0 ]; then
    echo "slurm-executor: FAILED (full log: $log)" >&2
    exit 1
fi
if grep -q "skipped" "$log" || ! grep -q "Test diamondMatchesLocalExecutorAndRecordsJobIds() passed" "$log"; then
    echo "slurm-executor: FAILED: the Slurm executor tests were skipped" >&2
    exit 1
fi
rm -f "$log"

# A real engine workflow (synthetic data, nano model: prepare, reference, CLP and SOFT training,
# evaluation, report) run locally and on Slurm: every output file of every step must be
# byte-identical, numerics.json (BLAS library, core type, thread counts) included. Excluded: the
# events.jsonl of each step (wall-clock timings), MANIFEST.json (it lists events.jsonl's digest)
# and the one timing field of evaluation.json, `tokens_per_second`, which is blanked first.
BIN="${CLP_FLOW_BIN:-}"
if [ -z "$BIN" ]; then
    swift build "${scratch[@]}" >/dev/null
    BIN="$(swift build "${scratch[@]}" --show-bin-path)/clp-flow"
fi
work=$(mktemp -d /tmp/clp-flow-slurm-bytes.XXXXXX)
cat > "$work/wf.yaml" <<'YAML'
name: slurm-bytes
seed: 5
data: {source: synthetic, synthetic_examples: 200, valid: 16, test: 8, max_document_tokens: 32, max_summary_tokens: 8}
model: {size: nano, context: 64, tokenizer: {kind: byte}}
reference: {steps: 20, batch: 8}
rewards:
  - {name: rouge, kind: rouge1}
  - {name: novel, kind: novelty, n: 1}
conditioning: attn
weights: {train: uniform, eval: {points_per_edge: 3}}
stages: [{steps: 12, batch: 2, samples: 2, max_new_tokens: 6}]
baselines: [rewarded-soups]
evaluate: {prompts: 4, max_new_tokens: 6, sample_prompts: 1}
YAML
"$BIN" run "$work/wf.yaml" --run-dir "$work/local" --quiet >"$work/local.out" 2>&1 \
    || { cat "$work/local.out" >&2; echo "slurm-executor: FAILED: the local run failed" >&2; exit 1; }
"$BIN" run "$work/wf.yaml" --run-dir "$work/slurm" --executor slurm --quiet >"$work/slurm.out" 2>&1 \
    || { cat "$work/slurm.out" >&2; echo "slurm-executor: FAILED: the Slurm run failed" >&2; exit 1; }
blank() { sed -E 's/"tokens_per_second"[[:space:]]*:[[:space:]]*[-+0-9.eE]+/"tokens_per_second":"(timing)"/' "$1"; }
files=0; differ=0; artifacts=0
for a in "$work/local/artifacts"/*/; do
    key=$(basename "$a"); artifacts=$((artifacts + 1))
    [ -d "$work/slurm/artifacts/$key" ] || { echo "slurm-executor: artifact $key missing from the Slurm run" >&2; differ=$((differ + 1)); continue; }
    while IFS= read -r f; do
        case "$(basename "$f")" in MANIFEST.json|events.jsonl) continue ;; esac
        files=$((files + 1))
        if [ "$(basename "$f")" = evaluation.json ]; then
            cmp -s <(blank "$a/$f") <(blank "$work/slurm/artifacts/$key/$f") || { echo "slurm-executor: differs: $key/$f" >&2; differ=$((differ + 1)); }
        else
            cmp -s "$a/$f" "$work/slurm/artifacts/$key/$f" || { echo "slurm-executor: differs: $key/$f" >&2; differ=$((differ + 1)); }
        fi
    done < <(cd "$a" && find . -type f | sed 's|^\./||' | sort)
done
if [ "$differ" -ne 0 ] || [ "$files" -eq 0 ]; then
    echo "slurm-executor: FAILED: $differ of $files files differ between the local and the Slurm run (kept in $work)" >&2
    exit 1
fi
echo "slurm-executor: engine workflow byte-identical on both executors: $files files in $artifacts artifacts" >&2
rm -rf "$work"
echo "slurm-executor: ok (cluster started by this check: $started)" >&2
