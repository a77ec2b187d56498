#!/usr/bin/env bash
# Bounded load test of `clp-flow serve` on loopback: latency percentiles and generated tokens/s
# at several client concurrencies, for CLP and Rewarded Soups (one forward pass per token, θ(w)
# built per request) and logit mixing (two forward passes per token).
# Usage: bench/serve/run.sh [RUN_DIR]
#   RUN_DIR: a finished run (e.g. runs/quickstart); without it the small workflow next to this
#   script is trained first (a few seconds). CLP_FLOW_BIN: the clp-flow binary (default: release build).
set -euo pipefail
cd "$(dirname "$0")/../.."
SCRATCH="${CLP_FLOW_SCRATCH:-.build}"
if [ -z "${CLP_FLOW_BIN:-}" ]; then
    swift build -c release --scratch-path "$SCRATCH" --product clp-flow 2>&1 | grep -E "error|Build" >&2 || true
    CLP_FLOW_BIN="$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)/clp-flow"
fi
work="$(mktemp -d)"
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
run="${1:-}"
if [ -z "$run" ]; then
    run="$work/run"
    "$CLP_FLOW_BIN" run bench/serve/workflow.yaml --run-dir "$run" --max-parallel 2 --quiet >/dev/null
fi
"$CLP_FLOW_BIN" serve --run-dir "$run" --port 0 --max-concurrent 2 --max-queued 256 > "$work/serve.out" 2> "$work/serve.err" &
server=$!
for _ in $(seq 1 600); do grep -q "listening on" "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
url="$(sed -n 's/^listening on //p' "$work/serve.out")"
[ -n "$url" ] || { echo "serve did not start:"; cat "$work/serve.err"; exit 1; } >&2
methods="$(python3 -c 'import json,sys,urllib.request; d=json.load(urllib.request.urlopen(sys.argv[1]+"/v1/run")); print(",".join(m["name"] for m in d["methods"]), len(d["reward_names"]))' "$url")"
set -- $methods
names="$1"; rewards="$2"
echo "# clp-flow serve load test: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average before $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# run: $run (methods $names), server --max-concurrent 2"
for spec in "clp:1" "clp:4" "clp:8" "rewarded-soups:4" "logit-mixing:4"; do
    m="${spec%%:*}"; c="${spec##*:}"
    case ",$names," in *",$m,"*) ;; *) continue ;; esac
    n=$(( c * 25 ))
    printf '%s c=%s: ' "$m" "$c"
    python3 bench/serve/load.py "$url" --requests "$n" --concurrency "$c" --methods "$m" --rewards "$rewards" \
        --max-new-tokens 16 --samples 1 --max-seconds 300
done
echo "# load average after $(cut -d' ' -f1-3 /proc/loadavg)"
