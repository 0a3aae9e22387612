#!/usr/bin/env bash
# The Table 1 record (K = 100, all 8 GLUE tasks × 7 methods × seeds) run through the service as one sweep,
# on one pinned release binary, so that it resumes across service restarts and sessions.
#
#   Tests/Scripts/table1_record.sh start [RECORD_DIR]    pin the binary (first time), start the service at low
#                                                        priority on port 8090 (resumes queued/running jobs)
#   Tests/Scripts/table1_record.sh submit [RECORD_DIR]   POST the sweep once (seeds from TABLE1_SEEDS, default 1 2 3)
#   Tests/Scripts/table1_record.sh status [RECORD_DIR]   job counts
#   Tests/Scripts/table1_record.sh save [RECORD_DIR] OUT save results (no checkpoints) into OUT, e.g. Tests/Results/…;
#                                                        tables by this checkout's analysis (a release build)
#   Tests/Scripts/table1_record.sh stop [RECORD_DIR]     SIGTERM: running jobs checkpoint and go back to the queue
#
# RECORD_DIR (default /work/record) holds bin/unipelt-<commit> (the pinned binary), the service's data dir,
# its config, log and pid, sweep.id, and machines.log (one line per start: date, CPU, OpenBLAS core type).
# The model comes from var/models and GLUE from ../shared/glue of this checkout. A rebuild of the checkout
# never changes the pinned binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
command="${1:?start|submit|status|save|stop}"
record="${2:-/work/record}"
port=8090
server="http://127.0.0.1:$port"
mkdir -p "$record/bin" "$record/var"

pinned() { ls "$record"/bin/unipelt-* 2>/dev/null | head -1; }

case "$command" in
start)
    if [[ -z "$(pinned)" ]]; then
        swift build -c release --product unipelt
        commit=$(git rev-parse --short HEAD)
        [[ -z "$(git status --porcelain -- Sources Package.swift)" ]] || { echo "uncommitted changes in Sources: commit before pinning" >&2; exit 1; }
        cp .build/release/unipelt "$record/bin/unipelt-$commit"
        sha256sum "$record/bin/unipelt-$commit" > "$record/bin/SHA256"
    fi
    cat > "$record/unipelt.conf" <<EOF
listen_port = $port
data_dir = $record/var
model_dir = $repo/var/models
glue_dir = $(cd "$repo/../shared/glue" && pwd)
workers = 2
threads_per_worker = 1
EOF
    if [[ -f "$record/service.pid" ]] && kill -0 "$(cat "$record/service.pid")" 2>/dev/null; then
        echo "already running (pid $(cat "$record/service.pid"))"; exit 0
    fi
    # The CPU kind can change between sessions, and OpenBLAS picks its kernels by it (the service's log names
    # them): every start is logged with the machine it ran on, and `save` keeps that log beside the results.
    echo "$(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores," \
         "avx512f: $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)," \
         "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}, binary $(basename "$(pinned)")" >> "$record/machines.log"
    nohup nice -n 19 "$(pinned)" serve --config "$record/unipelt.conf" >> "$record/service.log" 2>&1 &
    echo $! > "$record/service.pid"
    echo "started $(pinned) (pid $!), log $record/service.log"
    ;;
submit)
    [[ ! -f "$record/sweep.id" ]] || { echo "already submitted: $(cat "$record/sweep.id")"; exit 0; }
    seeds=$(echo "${TABLE1_SEEDS:-1 2 3}" | sed 's/ \+/,/g')
    commit=$(basename "$(pinned)" | sed 's/^unipelt-//')
    curl -fsS -X POST "$server/v1/sweeps" -H 'content-type: application/json' -d "{
        \"name\": \"table1 K=100, 8 tasks, seeds [$seeds], binary $commit\",
        \"tasks\": [\"sst2\", \"mrpc\", \"cola\", \"rte\", \"qnli\", \"stsb\", \"mnli\", \"qqp\"], \"k\": [100],
        \"seeds\": [$seeds],
        \"methods\": [\"finetune\", \"bitfit\", \"adapter\", \"prefix\", \"lora\", \"unipelt-ap\", \"unipelt-apl\"]}" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])' > "$record/sweep.id"
    echo "sweep $(cat "$record/sweep.id")"
    ;;
status)
    curl -fsS "$server/v1/sweeps/$(cat "$record/sweep.id")" | python3 -c 'import json, sys; print(json.load(sys.stdin)["counts"])'
    ;;
save)
    out="${3:?output folder}"
    # The tables come from this checkout's analysis, not the pinned binary's: a release build of it serves a
    # copy of the record's database (executor pull: it trains nothing) on port 8091 while the save runs.
    swift build -c release --product unipelt
    copy=$(mktemp -d)
    # Stop the copy's server and wait for it before removing its folder.
    trap 'pid=$(cat "$copy/pid" 2>/dev/null || true); [[ -z "$pid" ]] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; } || true; rm -rf "$copy"' EXIT
    python3 -c 'import sqlite3, sys; sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True).backup(sqlite3.connect(sys.argv[2]))' \
        "$record/var/unipelt.sqlite3" "$copy/unipelt.sqlite3"
    printf 'listen_port = 8091\ndata_dir = %s\nexecutor = pull\nmodel_dir = %s/var/models\n' "$copy" "$repo" > "$copy/unipelt.conf"
    .build/release/unipelt serve --config "$copy/unipelt.conf" > "$copy/serve.log" 2>&1 &
    echo $! > "$copy/pid"
    for _ in $(seq 1 100); do grep -q "listening on" "$copy/serve.log" && break; sleep 0.1; done
    grep -q "listening on" "$copy/serve.log" || { cat "$copy/serve.log" >&2; exit 1; }
    ANALYSIS_SERVER=http://127.0.0.1:8091 Tests/Scripts/save_sweep_record.sh "$server" "$(cat "$record/sweep.id")" "$out"
    echo "tables by $(git rev-parse --short HEAD)$([[ -z "$(git status --porcelain -- Sources)" ]] || echo ' (with uncommitted changes)')" \
        > "$out/analysis-build.txt"
    cp "$record/bin/SHA256" "$out/binary.sha256"
    # A record started before `start` logged its machine has no machines.log.
    [[ ! -f "$record/machines.log" ]] || cp "$record/machines.log" "$out/machines.log"
    { grep -h "listening on" "$record/service.log" || true; } | sort | uniq -c > "$out/service-starts.txt"
    ;;
stop)
    kill -TERM "$(cat "$record/service.pid")" && echo "stopping; running jobs checkpoint and requeue"
    ;;
*)
    echo "unknown command $command" >&2; exit 2
    ;;
esac
