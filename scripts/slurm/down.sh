#!/usr/bin/env bash
# Stops the daemons started by scripts/slurm/up.sh, by their recorded PIDs, and waits until they
# are gone. Jobs still queued are cancelled first.
set -uo pipefail
D="${SLURM_STATE:-/tmp/clp-flow-slurm}"
export SLURM_CONF="$D/slurm.conf"
if [ -f "$D/slurmctld.fg.pid" ] && kill -0 "$(cat "$D/slurmctld.fg.pid")" 2>/dev/null; then
    scancel --user="$(id -un)" 2>/dev/null || true
    for _ in $(seq 50); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.1; done
fi
for f in slurmd slurmctld munged; do
    pidfile="$D/$f.fg.pid"
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
        # Wait until it is gone (a zombie is reaped by our caller's shell or init).
        for _ in $(seq 100); do
            state=$(ps -o stat= -p "$pid" 2>/dev/null | tr -d ' ')
            { [ -z "$state" ] || [ "${state#Z}" != "$state" ]; } && break
            sleep 0.05
        done
    fi
    rm -f "$pidfile"
done
echo "slurm/down.sh: stopped" >&2
