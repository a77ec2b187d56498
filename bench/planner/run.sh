#!/usr/bin/env bash
# Planner benchmark: plans a 10,008-step sweep with clp-flow (release build) and prints its time
# and peak RSS; when Snakemake is available, dry-runs an equivalent Snakefile side by side and
# prints the ratio.
#
#   bash bench/planner/run.sh            # uses $SNAKEMAKE, `snakemake` on PATH, or bench/planner/.venv
#   CLP_FLOW_BENCH_INSTALL_SNAKEMAKE=1 bash bench/planner/run.sh   # first creates the venv (pip)
set -euo pipefail
cd "$(dirname "$0")/../.."
scratch="${CLP_FLOW_SCRATCH:-.build}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

swift build -c release --scratch-path "$scratch" --product clp-flow-bench-planner >&2
bench="$scratch/release/clp-flow-bench-planner"
"$bench" --repeat 5 --snakefile "$work/Snakefile" | tee "$work/clp.txt"
clp_min=$(sed -n 's/.*min \([0-9.]*\) s over.*/\1/p' "$work/clp.txt")
clp_first=$(sed -n 's/.*first \([0-9.]*\) s,.*/\1/p' "$work/clp.txt")
clp_rss=$(sed -n 's/.*peak RSS: \([0-9.]*\) MB.*/\1/p' "$work/clp.txt")
clp_cpu=$(sed -n 's/.*CPU time: first [0-9.]* s, min \([0-9.]*\) s.*/\1/p' "$work/clp.txt")

venv="bench/planner/.venv"
if [ "${CLP_FLOW_BENCH_INSTALL_SNAKEMAKE:-0}" = 1 ] && [ ! -x "$venv/bin/snakemake" ]; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet snakemake >&2
fi
snakemake="${SNAKEMAKE:-}"
if [ -z "$snakemake" ]; then
    if [ -x "$venv/bin/snakemake" ]; then snakemake="$PWD/$venv/bin/snakemake"
    elif command -v snakemake >/dev/null; then snakemake="$(command -v snakemake)"; fi
fi
if [ -z "$snakemake" ]; then
    echo "snakemake: not installed (set SNAKEMAKE or CLP_FLOW_BENCH_INSTALL_SNAKEMAKE=1 to compare)"
    exit 0
fi

echo "snakemake: $("$snakemake" --version) ($snakemake)"
( cd "$work" && /usr/bin/time -f "%e %M %U %S" -o "$work/time.txt" \
    "$snakemake" -n --cores 1 --snakefile Snakefile --quiet rules > "$work/snakemake.log" 2>&1 ) || {
    echo "snakemake dry run failed:"; tail -20 "$work/snakemake.log"; exit 1; }
read -r sm_secs sm_kb sm_user sm_sys < "$work/time.txt"
jobs=$(awk '$1 == "total" { print $2 }' "$work/snakemake.log" | tail -1)
sm_rss=$(awk -v kb="$sm_kb" 'BEGIN { printf "%.1f", kb / 1024 }')
sm_cpu=$(awk -v u="$sm_user" -v s="$sm_sys" 'BEGIN { printf "%.2f", u + s }')
echo "snakemake -n: ${sm_secs} s wall, ${sm_cpu} s CPU, peak RSS ${sm_rss} MB, ${jobs:-?} jobs (including the 'all' target)"
awk -v s="$sm_secs" -v c="$clp_min" -v f="$clp_first" -v sc="$sm_cpu" -v cc="$clp_cpu" -v sr="$sm_rss" -v cr="$clp_rss" 'BEGIN {
    printf "ratio: snakemake / clp-flow wall time = %.0fx (min), %.0fx (first run); CPU time = %.0fx; peak memory = %.1fx\n", s / c, s / f, sc / cc, sr / cr }'
