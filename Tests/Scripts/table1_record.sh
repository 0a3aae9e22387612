#!/usr/bin/env bash
# The Table 1 record (K = 100, all 8 GLUE tasks × 7 methods × seeds), run through the service, saved into
# Tests/Results/table1-k100-8tasks (RESULTS), and carried on across sessions and machines.
#
#   Tests/Scripts/table1_record.sh start [RECORD_DIR]    pin the record's binary (first time), start the service at
#                                                        low priority on port 8090 (resumes its queued/running jobs)
#   Tests/Scripts/table1_record.sh check [RECORD_DIR]    re-run saved cells (all of cola/K=100/seed=1/finetune, the
#                                                        first 3 epochs of mnli/K=100/seed=1/unipelt-apl: minutes),
#                                                        wait for them and compare: a new part computes what the
#                                                        earlier ones did, or nothing more is submitted (run it while
#                                                        the queue is empty; delete check.ids to re-run the cells)
#   Tests/Scripts/table1_record.sh submit [RECORD_DIR]   POST sweeps for every cell RESULTS has no succeeded job of
#                                                        (seeds from TABLE1_SEEDS, default 1 2 3), once per RECORD_DIR
#   Tests/Scripts/table1_record.sh status [RECORD_DIR]   job counts of this part's sweeps
#   Tests/Scripts/table1_record.sh save [RECORD_DIR]     merge this part's jobs (no checkpoints) into RESULTS,
#                                                        recompute the tables there (a release build of the checkout)
#                                                        and the status line of its README
#   Tests/Scripts/table1_record.sh stop [RECORD_DIR]     SIGTERM: running jobs checkpoint and go back to the queue
#
# RECORD_DIR (default /work/record) is one part of the record: the service's data dir, its config, log and pid,
# bin/unipelt-<commit> (the pinned binary), sweep.ids, part (its number) and machines.log (one line per start).
# It lives as long as its machine; what it found lives in RESULTS once saved. On a new machine, `start` and `submit`
# begin the next part with the cells still missing.
#
# RESULTS/record.env fixes what every part runs: RECORD_COMMIT, the commit the binary is built from, and
# OPENBLAS_CORETYPE, the OpenBLAS kernels. Float rounding depends on the kernels, which OpenBLAS otherwise picks
# by CPU, and the CPU kind changes between sessions. The binary itself is built for the CPU at hand
# (-target-cpu native), so `check` shows on saved cells that a new part computes what the earlier ones did before
# `submit` adds any. The model comes from var/models and GLUE from ../shared/glue of this checkout.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
command="${1:?start|check|submit|status|save|stop}"
record="${2:-/work/record}"
results="${RESULTS:-$repo/Tests/Results/table1-k100-8tasks}"
port=8090
server="http://127.0.0.1:$port"
tasks=(sst2 mrpc cola rte qnli stsb mnli qqp)
methods=(finetune bitfit adapter prefix lora unipelt-ap unipelt-apl)
mkdir -p "$record/bin" "$record/var" "$results"

# The binary of the record's commit (RESULTS/record.env), once built.
pinned() {
    [[ -f "$results/record.env" ]] || { echo "no $results/record.env: run start first" >&2; exit 1; }
    source "$results/record.env"
    [[ ! -x "$record/bin/unipelt-$RECORD_COMMIT" ]] || echo "$record/bin/unipelt-$RECORD_COMMIT"
}
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
    glue=$(cd "$repo/../shared/glue" && pwd) || { echo "no GLUE folder at $repo/../shared/glue" >&2; exit 1; }
    if [[ -z "$(pinned)" ]]; then
        git cat-file -e "$RECORD_COMMIT^{commit}" || { echo "commit $RECORD_COMMIT is not in this clone (a shallow one?)" >&2; exit 1; }
        # A clean worktree of the record's commit, so that the checkout's own state never enters the binary.
        source=$(mktemp -d)
        trap 'git worktree remove --force "$source" 2>/dev/null || true; rm -rf "$source"' EXIT
        git worktree add --detach "$source" "$RECORD_COMMIT"
        (cd "$source" && swift build -c release --product unipelt)
        cp "$source/.build/release/unipelt" "$record/bin/unipelt-$RECORD_COMMIT"
        (cd "$record/bin" && sha256sum "unipelt-$RECORD_COMMIT" > SHA256)
    fi
    if [[ ! -f "$record/part" ]]; then
        # Parts are numbered in the order they start (one past the highest saved: RESULTS/parts/<n>).
        last=$(ls "$results/parts" 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tail -1 || true)
        echo $(( ${last:-0} + 1 )) > "$record/part"
    fi
    cat > "$record/unipelt.conf" <<EOF
listen_port = $port
data_dir = $record/var
model_dir = $repo/var/models
glue_dir = $glue
workers = 2
threads_per_worker = 1
EOF
    if [[ -f "$record/service.pid" ]] && kill -0 "$(cat "$record/service.pid")" 2>/dev/null; then
        echo "already running (pid $(cat "$record/service.pid"))"; exit 0
    fi
    echo "$(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores," \
         "avx512f: $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)," \
         "OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE, binary $(basename "$(pinned)")" >> "$record/machines.log"
    touch "$record/service.log"
    lines=$(wc -l < "$record/service.log")
    nohup nice -n 19 "$(pinned)" serve --config "$record/unipelt.conf" >> "$record/service.log" 2>&1 &
    pid=$!
    echo $pid > "$record/service.pid"
    # Up once this start's line says it listens; a start that fails (the port taken, a bad config) says why.
    listening=no
    for _ in $(seq 1 100); do
        tail -n +$((lines + 1)) "$record/service.log" | grep -q "listening on" && { listening=yes; break; }
        kill -0 $pid 2>/dev/null || { tail -n +$((lines + 1)) "$record/service.log" >&2; exit 1; }
        sleep 0.1
    done
    [[ $listening == yes ]] || echo "warning: the service has not said it listens after 10 s; see $record/service.log" >&2
    echo "started $(pinned) (pid $pid), part $(cat "$record/part"), log $record/service.log"
    ;;
check)
    # Re-runs of saved cells as sweeps of their own (not the record's): one whole finetune job, and the first 3
    # epochs of a UniPELT-APL one (every submodule and gate), compared with what RESULTS holds. Run it before
    # `submit`, while the queue is empty. The outcome goes to RESULTS/parts/<n>/check.txt.
    [[ -f "$results/jobs.json" ]] || { echo "RESULTS holds no jobs yet: nothing to check against"; exit 0; }
    rm -f "$record/check.passed"
    mkdir -p "$results/parts/$(cat "$record/part")"
    python3 - "$server" "$results" "$record/check.ids" "$results/parts/$(cat "$record/part")/check.txt" <<'EOF'
import csv, io, json, os, sys, time, urllib.error, urllib.request
server, results, ids, report = sys.argv[1:5]
def call(path, body=None):
    request = urllib.request.Request(server + path, data=None if body is None else json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    return urllib.request.urlopen(request).read()
def curve(text, last_step):
    # A column still empty (a value written later) is left out, so a running job's rows compare with a whole one's.
    rows = [{k: v for k, v in row.items() if k != "wall_time" and v != ""} for row in csv.DictReader(io.StringIO(text))]
    return [row for row in rows if last_step is None or int(row["step"]) <= last_step]
# cell → the last step compared (None: the whole job and its result).
cells = {"cola/K=100/seed=1/finetune": None, "mnli/K=100/seed=1/unipelt-apl": 21}
saved_jobs = {j["key"]: j for j in json.load(open(f"{results}/jobs.json")) if j["status"] == "succeeded"}
absent = [cell for cell in cells if cell not in saved_jobs]
if absent:
    sys.exit(f"RESULTS has no succeeded job of {', '.join(absent)} to compare with: choose other cells in this script")
sweeps = dict(line.split() for line in open(ids)) if os.path.exists(ids) else {}
for cell in cells:
    if cell not in sweeps:
        task, k, seed, method = cell.split("/")
        sweep = json.loads(call("/v1/sweeps", {"name": f"check: {cell} again, to compare with the saved job",
                                               "tasks": [task], "k": [int(k[2:])], "seeds": [int(seed[5:])],
                                               "methods": [method]}))["id"]
        open(ids, "a").write(f"{cell} {sweep}\n")
        sweeps[cell] = sweep
passed = True
for cell, last_step in cells.items():
    waiting = None
    while True:
        job = json.loads(call(f"/v1/jobs?sweep_id={sweeps[cell]}"))["data"][0]
        metrics = call(f"/v1/jobs/{job['id']}/metrics?format=csv&limit=10000").decode()
        ended = job["status"] in ("succeeded", "failed", "cancelled", "cancelling")
        # A step's dev values are written after its training values: wait for the next step.
        if ended or (last_step is not None and len(curve(metrics, None)) > last_step):
            break
        if job["status"] != waiting:
            waiting = job["status"]
            print(f"waiting for {cell} ({job['id']}, {waiting})", file=sys.stderr)
        time.sleep(10)
    if not ended:
        try:
            call(f"/v1/jobs/{job['id']}/cancel", {})
        except urllib.error.HTTPError:
            pass  # it ended meanwhile
    saved = saved_jobs[cell]
    task, k, seed, method = cell.split("/")
    folder = f"{results}/jobs/{task}-k{k[2:]}-s{seed[5:]}-{method}"
    old = curve(open(f"{folder}/metrics.csv").read(), last_step)
    new = curve(metrics, last_step)
    old_gates = curve(open(f"{folder}/gates.csv").read(), last_step)
    new_gates = curve(call(f"/v1/jobs/{job['id']}/gates?format=csv&limit=10000").decode(), last_step)
    same_curve = new == old and (last_step is None or len(new) == last_step) and new_gates == old_gates
    same_result = last_step is not None or (job["status"] == "succeeded" and job["result"] == saved["result"])
    passed = passed and same_curve and same_result
    text = (f"{cell} re-run as {job['id']} (sweep {sweeps[cell]}) against the saved {saved['id']}:\n"
            f"  metrics.csv{'' if last_step is None else f' to step {last_step}'}: {len(new)} rows here, "
            f"{len(old)} saved; every column but wall_time {'identical' if new == old else 'DIFFERENT'}; "
            f"gates.csv: {len(new_gates)} rows here, {len(old_gates)} saved, "
            f"{'identical' if new_gates == old_gates else 'DIFFERENT'}\n"
            + ("" if last_step is not None else f"  result: {'identical' if same_result else 'DIFFERENT'}\n"))
    open(report, "a").write(text)
    print(text, end="")
sys.exit(0 if passed else 1)
EOF
    touch "$record/check.passed"
    ;;
submit)
    [[ -f "$results/jobs.json" && ! -f "$record/check.passed" ]] && {
        echo "run '$0 check' first: this part must reproduce saved cells before it adds any" >&2; exit 1; }
    # Every cell with no succeeded job in RESULTS and none queued in this part's sweeps (so that a submit cut
    # short can be run again). Per task, the methods grouped by the seeds they miss; tasks missing the same
    # seeds × methods share a sweep.
    python3 - "$server" "$results/jobs.json" "$record/sweep.ids" "${TABLE1_SEEDS:-1 2 3}" "${tasks[*]}" "${methods[*]}" \
        "$(basename "$(pinned)")" <<'EOF'
import collections, json, os, sys, urllib.request
server, saved, ids, seeds, tasks, methods, binary = sys.argv[1:8]
seeds, tasks, methods = [int(s) for s in seeds.split()], tasks.split(), methods.split()
done = {j["key"] for j in json.load(open(saved)) if j["status"] == "succeeded"} if os.path.exists(saved) else set()
for sweep in open(ids).read().split() if os.path.exists(ids) else []:
    after = None
    while True:
        page = json.load(urllib.request.urlopen(f"{server}/v1/jobs?sweep_id={sweep}&limit=100"
                                                + (f"&after={after}" if after else "")))
        # A failed or cancelled job of this part is submitted again.
        done |= {j["key"] for j in page["data"] if j["status"] not in ("failed", "cancelled")}
        if not page.get("has_more"):
            break
        after = page["last_id"]
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
    print("every cell has a succeeded or submitted job")
EOF
    ;;
status)
    for sweep in $(sweeps); do
        curl -fsS "$server/v1/sweeps/$sweep" | python3 -c 'import json, sys; s = json.load(sys.stdin); print(s["id"], s["counts"])'
    done
    ;;
save)
    [[ -n "$(sweeps)" ]] || { echo "this part has submitted no sweeps: nothing to save" >&2; exit 1; }
    # The tables come from this checkout's analysis (`unipelt train --summarize`), not the pinned binary's.
    swift build -c release --product unipelt
    UNIPELT_BIN=.build/release/unipelt Tests/Scripts/save_sweep_record.sh "$server" "$results" $(sweeps)
    # The README's status line (the one bold line beginning "Status:") from the saved job list.
    python3 - "$results" "${tasks[*]}" <<'EOF'
import collections, datetime, json, re, sys
folder, tasks = sys.argv[1], sys.argv[2].split()
jobs = json.load(open(f"{folder}/jobs.json"))
status = collections.Counter(job["status"] for job in jobs)
saved = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
if status["succeeded"] == len(jobs):
    line = f"**Status: complete, saved {saved} UTC: all {len(jobs)} jobs succeeded.**"
else:
    done = collections.Counter(job["task"] for job in jobs if job["status"] == "succeeded")
    line = (f"**Status: in progress, saved {saved} UTC: {status['succeeded']} of {len(jobs)} jobs succeeded ("
            + ", ".join(f"{task} {done[task]}" for task in tasks) + "), "
            + ", ".join(f"{status[kind]} {kind}" for kind in ("running", "queued", "failed"))
            + ". The tables here are partial: do not draw conclusions from them yet.**")
readme = f"{folder}/README.md"
text, found = re.subn(r"^\*\*Status: .*\*\*$", lambda _: line, open(readme).read(), count=1, flags=re.M)
if found != 1:
    sys.exit(f"no status line (**Status: ...**) in {readme}: add one")
open(readme, "w").write(text)
print(line)
EOF
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
