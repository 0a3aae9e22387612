#!/usr/bin/env bash
# Sweep throughput through the real service: JOBS (default 24) rte K=100 unipelt-apl jobs
# (seeds 1…JOBS) on a fresh data folder with WORKERS × THREADS, timed from the POST to the sweep's `completed`.
# EXECUTOR=pull trains on WORKERS `unipelt worker` processes pulling over loopback instead of the service's
# own workers (the same jobs, to measure the worker protocol's cost). Needs a release build (BINARY
# names another binary), the default model and GLUE data (deploy/setup.sh). Extra hyperparameters as
# JSON, e.g. '{"epochs": 1}' (the default: the full protocol takes hours).
#
#   [EXECUTOR=local|pull] [JOBS=24] Tests/Scripts/sweep_throughput.sh WORKERS THREADS [PORT] [HYPERPARAMETERS_JSON]
set -euo pipefail
cd "$(dirname "$0")/../.."
workers=$1 threads=$2 port=${3:-18081} hyper=${4:-'{"epochs": 1}'}
executor=${EXECUTOR:-local} jobs=${JOBS:-24} bin=${BINARY:-.build/release/unipelt}
dir="$(mktemp -d /tmp/unipelt-throughput.XXXXXX)"
UNIPELT_DATA_DIR=$dir UNIPELT_MODEL_DIR=$PWD/var/models UNIPELT_GLUE_DIR=$PWD/var/glue UNIPELT_LISTEN_PORT=$port \
    UNIPELT_WORKERS=$workers UNIPELT_THREADS_PER_WORKER=$threads UNIPELT_EXECUTOR=$executor \
    "$bin" serve >"$dir/serve.log" 2>&1 &
pids=$!
trap 'kill -TERM $pids 2>/dev/null || true; wait $pids 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 300); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
if [ "$executor" = pull ]; then
    for index in $(seq "$workers"); do
        "$bin" worker --server "http://127.0.0.1:$port" --threads "$threads" --model-dir "$PWD/var/models" \
            --glue-dir "$PWD/var/glue" --work-dir "$dir/worker$index" >"$dir/worker$index.log" 2>&1 &
        pids="$! $pids"
    done
fi
seeds=$(python3 -c "print(list(range(1, $jobs + 1)))")
start=$(date +%s.%N)
sweep=$(curl -fsS "http://127.0.0.1:$port/v1/sweeps" -H 'Content-Type: application/json' \
    -d "{\"tasks\":[\"rte\"],\"k\":[100],\"seeds\":$seeds,\"methods\":[\"unipelt-apl\"],\"hyperparameters\":$hyper}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
status() { curl -fsS "http://127.0.0.1:$port/v1/sweeps/$sweep" | python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])'; }
while [ "$(status)" != completed ]; do sleep 1; done
end=$(date +%s.%N)
python3 -c "s = $end - $start; print(f'$executor: $workers workers x $threads threads: $jobs jobs in {s:.1f} s = {$jobs * 3600 / s:.0f} jobs/h')"
curl -fsS "http://127.0.0.1:$port/v1/sweeps/$sweep" | python3 -c 'import json, sys; print(json.load(sys.stdin)["counts"])'
# Per job: wall time from claim to finish (whole seconds) and steps taken.
curl -fsS "http://127.0.0.1:$port/v1/jobs?sweep_id=$sweep&limit=100" | python3 -c '
import json, sys
jobs = json.load(sys.stdin)["data"]
times = [j["finished_at"] - j["started_at"] for j in jobs]
print(f"per job: mean {sum(times) / len(times):.1f} s (min {min(times)}, max {max(times)})")'
curl -fsS "http://127.0.0.1:$port/v1/sweeps/$sweep/results?format=csv" | tail -1
