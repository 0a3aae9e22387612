#!/usr/bin/env bash
# Checks deploy/install.sh and deploy/unipelt.service under a real systemd as PID 1, on a host whose own
# init is not systemd (a CI runner, a VM without it): boots this host's own root file system in a
# throwaway systemd-nspawn container (read-only, changes in a tmpfs overlay, discarded at the end), runs
# install.sh in it, and checks what systemd reports: the unit active after READY=1 as the unipelt user,
# watchdog pings arriving, the API answering, a dry-run sweep, one real training job, and a clean stop
# (SIGTERM, exit 0).
# Run by developers as root, not by CI; needs systemd-container (apt-get install systemd-container) and
# port 8080 free (the container shares the host's network).
#
#   sudo Tests/Scripts/install_in_container.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
command -v systemd-nspawn >/dev/null || { echo "needs systemd-nspawn (apt-get install systemd-container)" >&2; exit 1; }

root="$(mktemp -d /tmp/unipelt-hostroot.XXXXXX)"
mount --bind / "$root"
log="$(mktemp /tmp/unipelt-nspawn.XXXXXX.log)"
# basic.target: systemd and its sockets, none of the host's own services (databases, timers).
systemd-nspawn -D "$root" --volatile=overlay --link-journal=no --register=no --keep-unit -q \
    -b -- systemd.unit=basic.target >"$log" 2>&1 &
nspawn=$!
cleanup() {
    kill "$nspawn" 2>/dev/null || true
    wait "$nspawn" 2>/dev/null || true
    umount "$root" 2>/dev/null || true
    rmdir "$root" 2>/dev/null || true
}
trap cleanup EXIT

init=""
for _ in $(seq 100); do
    init="$(pgrep -P "$nspawn" -x systemd || true)"
    [ -n "$init" ] && break
    sleep 0.1
done
[ -n "$init" ] || { echo "container did not boot:"; cat "$log"; exit 1; }
inside() { nsenter --target "$init" --mount --uts --ipc --pid -- /bin/bash -c "$1"; }
for _ in $(seq 100); do
    state="$(inside 'systemctl is-system-running 2>/dev/null' || true)"
    case "$state" in running|degraded) break ;; esac
    sleep 0.2
done
echo "container systemd: $(inside 'systemctl --version | head -1'), state $state"

inside "cd '$here' && deploy/install.sh" 2>&1 | tail -8
check() { echo "--- $1"; inside "$2"; }
check "unit state" 'systemctl show unipelt -p ActiveState -p SubState -p MainPID -p StatusText --no-pager'
check "runs as" 'ps -o user=,comm= -p "$(systemctl show unipelt -p MainPID --value)"'
sleep 45  # WatchdogSec=60: pings every 20 s
check "watchdog" 'systemctl show unipelt -p WatchdogTimestamp -p NRestarts --no-pager'
check "healthz" 'curl -fsS http://127.0.0.1:8080/healthz; echo'
check "dry-run sweep" "curl -fsS -X POST http://127.0.0.1:8080/v1/sweeps -H 'Content-Type: application/json' \
    -d '{\"tasks\":[\"rte\"],\"k\":[100],\"seeds\":[1,2],\"methods\":[\"lora\",\"unipelt-apl\"],\"dry_run\":true}' | head -c 300; echo"
check "one real job under the hardened unit (rte K=100 lora, 1 epoch)" "
    curl -fsS -X POST http://127.0.0.1:8080/v1/sweeps -H 'Content-Type: application/json' \
        -d '{\"tasks\":[\"rte\"],\"k\":[100],\"seeds\":[1],\"methods\":[\"lora\"],\"hyperparameters\":{\"epochs\":1}}' >/tmp/sweep.json
    sweep=\$(python3 -c 'import json; print(json.load(open(\"/tmp/sweep.json\"))[\"id\"])')
    for i in \$(seq 300); do
        status=\$(curl -fsS http://127.0.0.1:8080/v1/sweeps/\$sweep | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"status\"])')
        case \$status in completed|succeeded|failed|cancelled) break ;; esac
        sleep 2
    done
    echo sweep \$status after about \$((i * 2)) s
    curl -fsS \"http://127.0.0.1:8080/v1/sweeps/\$sweep/results?format=csv\""
check "stop" 'systemctl stop unipelt; systemctl show unipelt -p ActiveState -p Result -p ExecMainStatus --no-pager'
check "service log" 'journalctl -u unipelt --no-pager -o cat 2>/dev/null | tail -6 || true'
