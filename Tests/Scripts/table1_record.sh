#!/usr/bin/env bash
# The Table 1 record (K = 100, all 8 GLUE tasks × 7 methods × seeds), run through the service, saved into
# Tests/Results/table1-k100-8tasks (RESULTS), and carried on across sessions and machines.
#
#   Tests/Scripts/table1_record.sh start [RECORD_DIR]    pin the record's binary (first time), start the service at
#                                                        low priority on port 8090 (resumes its queued/running jobs)
#   Tests/Scripts/table1_record.sh check [RECORD_DIR]    re-run one cell RESULTS holds (cola/K=100/seed=1/finetune,
#                                                        a few minutes), wait for it and compare: a new part computes
#                                                        what the earlier ones did, or nothing more is submitted
#   Tests/Scripts/table1_record.sh submit [RECORD_DIR]   POST sweeps for every cell RESULTS has no succeeded job of
#                                                        (seeds from TABLE1_SEEDS, default 1 2 3), once per RECORD_DIR
#   Tests/Scripts/table1_record.sh status [RECORD_DIR]   job counts of this part's sweeps
#   Tests/Scripts/table1_record.sh save [RECORD_DIR]     merge this part's jobs (no checkpoints) into RESULTS and
#                                                        recompute the tables there (a release build of the checkout)
#   Tests/Scripts/table1_record.sh stop [RECORD_DIR]     SIGTERM: running jobs checkpoint and go back to the queue
#
# RECORD_DIR (default /work/record) is one part of the record: the service's data dir, its config, log and pid,
# bin/unipelt-<commit> (the pinned binary), sweep.ids, part (its number) and machines.log (one line per start).
# It lives as long as its machine; what it found lives in RESULTS once saved. On a new machine, `start` and `submit`
# begin the next part with the cells still missing.
#
# RESULTS/record.env fixes what every part runs: RECORD_COMMIT, the commit the binary is built from, and
# OPENBLAS_CORETYPE, the OpenBLAS kernels. Float rounding depends on the kernels, which OpenBLAS otherwise picks
# by CPU, and the CPU kind changes between sessions; with both fixed, a part on another machine computes what the
# first would have. The model comes from var/models and GLUE from ../shared/glue of this checkout.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
command="${1:?start|submit|status|save|stop}"
record="${2:-/work/record}"
results="${RESULTS:-$repo/Tests/Results/table1-k100-8tasks}"
port=8090
server="http://127.0.0.1:$port"
tasks=(sst2 mrpc cola rte qnli stsb mnli qqp)
methods=(finetune bitfit adapter prefix lora unipelt-ap unipelt-apl)
mkdir -p "$record/bin" "$record/var" "$results"

pinned() { ls "$record"/bin/unipelt-* 2>/dev/null | head -1; }
sweeps() { cat "$record/sweep.ids" 2>/dev/null || true; }

case "$command" in
start)
    if [[ ! -f "$results/record.env" ]]; then
        [[ -z "$(git status --porcelain -- Sources Package.swift)" ]] || { echo "uncommitted changes in Sources: commit before pinning" >&2; exit 1; }
        # Haswell kernels (AVX2) run on every x86-64 CPU kind seen here, with AVX-512 or without.
        printf 'RECORD_COMMIT=%s\nOPENBLAS_CORETYPE=%s\n' "$(git rev-parse --short HEAD)" "${OPENBLAS_CORETYPE:-Haswell}" > "$results/record.env"
    fi
    # shellcheck source=/dev/null
    source "$results/record.env"
    export OPENBLAS_CORETYPE
    if [[ -z "$(pinned)" ]]; then
        # A clean worktree of the record's commit, so that the checkout's own state never enters the binary.
        source=$(mktemp -d)
        git worktree add --detach "$source" "$RECORD_COMMIT"
        (cd "$source" && swift build -c release --product unipelt)
        cp "$source/.build/release/unipelt" "$record/bin/unipelt-$RECORD_COMMIT"
        git worktree remove --force "$source"
        (cd "$record/bin" && sha256sum "unipelt-$RECORD_COMMIT" > SHA256)
    fi
    if [[ ! -f "$record/part" ]]; then
        # Parts are numbered in the order they start; the saved ones are RESULTS/parts/<n>.
        echo $(( $(ls -d "$results"/parts/*/ 2>/dev/null | wc -l) + 1 )) > "$record/part"
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
    echo "$(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores," \
         "avx512f: $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)," \
         "OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE, binary $(basename "$(pinned)")" >> "$record/machines.log"
    nohup nice -n 19 "$(pinned)" serve --config "$record/unipelt.conf" >> "$record/service.log" 2>&1 &
    echo $! > "$record/service.pid"
    echo "started $(pinned) (pid $!), part $(cat "$record/part"), log $record/service.log"
    ;;
check)
    # The re-run is a sweep of its own, not one of the record's; its outcome goes to RESULTS/parts/<n>/check.txt.
    [[ -f "$results/jobs.json" ]] || { echo "RESULTS holds no jobs yet: nothing to check against"; exit 0; }
    cell="cola/K=100/seed=1/finetune"
    if [[ ! -f "$record/check.id" ]]; then
        curl -fsS -X POST "$server/v1/sweeps" -H 'content-type: application/json' -d '{
            "name": "check: '"$cell"' again, to compare with the saved job", "tasks": ["cola"], "k": [100],
            "seeds": [1], "methods": ["finetune"]}' \
            | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])' > "$record/check.id"
    fi
    until curl -fsS "$server/v1/sweeps/$(cat "$record/check.id")" \
            | python3 -c 'import json, sys; sys.exit(json.load(sys.stdin)["status"] != "completed")'; do sleep 10; done
    mkdir -p "$results/parts/$(cat "$record/part")"
    python3 - "$server" "$(cat "$record/check.id")" "$results" "$cell" "$results/parts/$(cat "$record/part")/check.txt" <<'EOF'
import csv, io, json, sys, urllib.request
server, sweep, results, cell, report = sys.argv[1:6]
job = json.load(urllib.request.urlopen(f"{server}/v1/jobs?sweep_id={sweep}"))["data"][0]
saved = next(j for j in json.load(open(f"{results}/jobs.json")) if j["key"] == cell and j["status"] == "succeeded")
def curve(text):
    return [{k: v for k, v in row.items() if k != "wall_time"} for row in csv.DictReader(io.StringIO(text))]
new = curve(urllib.request.urlopen(f"{server}/v1/jobs/{job['id']}/metrics?format=csv&limit=10000").read().decode())
task, k, seed, method = cell.split("/")
old = curve(open(f"{results}/jobs/{task}-k{k[2:]}-s{seed[5:]}-{method}/metrics.csv").read())
same = job["status"] == "succeeded" and new == old and job["result"] == saved["result"]
text = (f"{cell} re-run as {job['id']} (sweep {sweep}, status {job['status']}) against the saved {saved['id']}:\n"
        f"  metrics.csv: {len(new)} rows here, {len(old)} saved; every column but wall_time "
        f"{'identical' if new == old else 'DIFFERENT'}\n"
        f"  result: {'identical' if job['result'] == saved['result'] else 'DIFFERENT'}\n")
open(report, "a").write(text)
print(text, end="")
sys.exit(0 if same else 1)
EOF
    touch "$record/check.passed"
    ;;
submit)
    [[ ! -f "$record/sweep.ids" ]] || { echo "already submitted: $(sweeps | xargs)"; exit 0; }
    [[ ! -f "$results/jobs.json" || -f "$record/check.passed" ]] || {
        echo "run '$0 check' first: this part must reproduce a saved cell before it adds any" >&2; exit 1; }
    # Per task, the methods grouped by the seeds they miss; tasks missing the same seeds × methods share a sweep.
    python3 - "$server" "$results/jobs.json" "$record/sweep.ids" "${TABLE1_SEEDS:-1 2 3}" "${tasks[*]}" "${methods[*]}" \
        "$(basename "$(pinned)")" <<'EOF'
import collections, json, os, sys, urllib.request
server, saved, ids, seeds, tasks, methods, binary = sys.argv[1:8]
seeds, tasks, methods = [int(s) for s in seeds.split()], tasks.split(), methods.split()
done = {j["key"] for j in json.load(open(saved)) if j["status"] == "succeeded"} if os.path.exists(saved) else set()
groups = collections.defaultdict(list)
for task in tasks:
    by_seeds = collections.defaultdict(list)
    for method in methods:
        missing = tuple(s for s in seeds if f"{task}/K=100/seed={s}/{method}" not in done)
        if missing:
            by_seeds[missing].append(method)
    for missing, ms in by_seeds.items():
        groups[(missing, tuple(ms))].append(task)
# Smallest sweeps first: they complete a task's column soonest.
for (ss, ms), ts in sorted(groups.items(), key=lambda g: len(g[0][0]) * len(g[0][1]) * len(g[1])):
    body = {"name": f"table1 K=100, binary {binary}: {', '.join(ts)} × seeds {list(ss)} × {', '.join(ms)}",
            "tasks": ts, "k": [100], "seeds": list(ss), "methods": list(ms)}
    request = urllib.request.Request(f"{server}/v1/sweeps", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    sweep = json.load(urllib.request.urlopen(request))
    open(ids, "a").write(sweep["id"] + "\n")
    print(sweep["id"], sum(sweep["counts"].values()), "jobs:", body["name"])
if not groups:
    print("every cell has a succeeded job")
EOF
    ;;
status)
    for sweep in $(sweeps); do
        curl -fsS "$server/v1/sweeps/$sweep" | python3 -c 'import json, sys; s = json.load(sys.stdin); print(s["id"], s["counts"])'
    done
    ;;
save)
    # The tables come from this checkout's analysis (`unipelt train --summarize`), not the pinned binary's.
    swift build -c release --product unipelt
    UNIPELT_BIN=.build/release/unipelt Tests/Scripts/save_sweep_record.sh "$server" "$results" $(sweeps)
    echo "tables by $(git rev-parse --short HEAD)$([[ -z "$(git status --porcelain -- Sources)" ]] || echo ' (with uncommitted changes)')" \
        > "$results/analysis-build.txt"
    part="$results/parts/$(cat "$record/part")"
    mkdir -p "$part"
    sweeps > "$part/sweep.ids"
    cp "$record/bin/SHA256" "$part/binary.sha256"
    cp "$record/machines.log" "$part/machines.log"
    { grep -h "listening on" "$record/service.log" || true; } | sort | uniq -c > "$part/service-starts.txt"
    ;;
stop)
    kill -TERM "$(cat "$record/service.pid")" && echo "stopping; running jobs checkpoint and requeue"
    ;;
*)
    echo "unknown command $command" >&2; exit 2
    ;;
esac
