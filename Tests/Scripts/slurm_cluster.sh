#!/bin/bash
# A one-node Slurm cluster on loopback for the Slurm executor's test: `start DIR` installs Debian's
# slurm-wlm and munge when missing (idempotent), then starts munged, slurmctld and slurmd as root with
# every file (config, state, sockets, logs) under DIR and prints `export SLURM_CONF=DIR/slurm.conf`;
# `stop DIR` cancels every job of that cluster and stops the three daemons.
# Exit 77 when the packages are missing and apt cannot reach its archive (the caller skips).
set -euo pipefail
command=${1:?usage: slurm_cluster.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: slurm_cluster.sh start|stop DIR}")
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo -n"

stop() {
    export SLURM_CONF=$dir/slurm.conf
    if [ -f "$dir/slurmctld.pid" ] && [ -f "$SLURM_CONF" ]; then
        $sudo scancel --full --user="$(id -un)" 2>/dev/null || true
        $sudo scancel --full --user=root 2>/dev/null || true
        for _ in $(seq 1 60); do
            [ -z "$(squeue --noheader 2>/dev/null)" ] && break
            sleep 0.5
        done
    fi
    for daemon in slurmd slurmctld munge/munged; do
        pidfile=$dir/$daemon.pid
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        $sudo kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 40); do
            $sudo kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
        $sudo kill -9 "$pid" 2>/dev/null || true
        rm -f "$pidfile"
    done
}

if [ "$command" = stop ]; then
    stop
    exit 0
fi
[ "$command" = start ] || { echo "usage: slurm_cluster.sh start|stop DIR" >&2; exit 2; }

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    source "$(dirname "$0")/../../deploy/apt.sh"
    apt_update || { echo "slurm_cluster.sh: apt cannot reach its archive" >&2; exit 77; }
    apt_get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi
# The package creates the key; a machine that lost it gets a new one (one node: only it must agree).
if [ ! -s /etc/munge/munge.key ]; then
    $sudo mkdir -p /etc/munge
    $sudo dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=128 status=none
    $sudo chmod 600 /etc/munge/munge.key
fi

stop  # a run that died before its stop left daemons behind
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
node=$(hostname -s)
cat > "$dir/slurm.conf" <<CONF
ClusterName=unipelt-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
KillWait=30
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
# The daemons must not keep this script's output open: a caller reading it to the end would wait for them.
$sudo /usr/sbin/munged --force --socket="$dir/munge/munge.socket" --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" </dev/null >/dev/null 2>&1
$sudo /usr/sbin/slurmctld -f "$dir/slurm.conf" </dev/null >/dev/null 2>&1
$sudo /usr/sbin/slurmd -f "$dir/slurm.conf" </dev/null >/dev/null 2>&1
export SLURM_CONF=$dir/slurm.conf
for _ in $(seq 1 60); do
    if sinfo --noheader --format=%t 2>/dev/null | grep -q idle; then
        echo "export SLURM_CONF=$dir/slurm.conf"
        exit 0
    fi
    sleep 0.5
done
echo "slurm_cluster.sh: the node did not come up; see $dir/slurmctld.log and $dir/slurmd.log" >&2
exit 1
