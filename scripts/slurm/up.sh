#!/usr/bin/env bash
# Starts a single-node Slurm cluster on localhost: munged, slurmctld and slurmd in the foreground
# (as background jobs of this script's caller), PIDs recorded in $SLURM_STATE/*.fg.pid.
# Usage: SLURM_STATE=/tmp/clp-flow-slurm scripts/slurm/up.sh   (then: export SLURM_CONF=$SLURM_STATE/slurm.conf)
# Needs root (the daemons run as root/munge) and the apt packages slurm-wlm (or slurmctld, slurmd,
# slurm-client) and munge.
set -euo pipefail
D="${SLURM_STATE:-/tmp/clp-flow-slurm}"
export SLURM_CONF="$D/slurm.conf"
CPUS="${SLURM_CPUS:-$(nproc)}"

for tool in munged slurmctld slurmd sinfo; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "slurm/up.sh: $tool not found; install slurm-wlm and munge" >&2; exit 1; }
done
if [ "$(id -u)" != 0 ]; then echo "slurm/up.sh: must run as root to start munged, slurmctld and slurmd" >&2; exit 1; fi
for f in slurmctld slurmd munged; do
    if [ -f "$D/$f.fg.pid" ] && kill -0 "$(cat "$D/$f.fg.pid")" 2>/dev/null; then
        echo "slurm/up.sh: $f already running (pid $(cat "$D/$f.fg.pid")); run scripts/slurm/down.sh first" >&2; exit 1
    fi
done

mkdir -p "$D/state" "$D/spool" "$D/log" /run/munge
chown munge:munge /run/munge
cat > "$SLURM_CONF" <<CONF
ClusterName=clpflow
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$D/log/jobcomp.txt
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
MinJobAge=3600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=16000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
SchedulerParameters=batch_sched_delay=0,sched_min_interval=100000
CONF

if [ ! -S /run/munge/munge.socket.2 ]; then
    runuser -u munge -- /usr/sbin/munged --foreground > "$D/log/munged.out" 2>&1 &
    echo $! > "$D/munged.fg.pid"
    for _ in $(seq 50); do [ -S /run/munge/munge.socket.2 ] && break; sleep 0.1; done
    [ -S /run/munge/munge.socket.2 ] || { echo "slurm/up.sh: munged did not start, see $D/log/munged.out" >&2; exit 1; }
fi
/usr/sbin/slurmctld -D -f "$SLURM_CONF" > "$D/log/slurmctld.out" 2>&1 &
echo $! > "$D/slurmctld.fg.pid"
/usr/sbin/slurmd -D -f "$SLURM_CONF" -N localhost > "$D/log/slurmd.out" 2>&1 &
echo $! > "$D/slurmd.fg.pid"
for _ in $(seq 150); do
    if [ "$(sinfo -h -o %T 2>/dev/null)" = idle ]; then
        echo "slurm/up.sh: cluster up (state in $D); export SLURM_CONF=$SLURM_CONF" >&2
        exit 0
    fi
    sleep 0.1
done
echo "slurm/up.sh: the node did not become idle; see $D/log/" >&2
exit 1
