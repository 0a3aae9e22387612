#!/usr/bin/env bash
# Sweep throughput through the real service: 24 rte K=100 unipelt-apl jobs (seeds 1–24)
# on a fresh data folder with WORKERS × THREADS, timed from the POST to the sweep's `completed`.
# Needs a release build, the default model and GLUE data (deploy/setup.sh). Extra hyperparameters as
# JSON, e.g. '{"epochs": 1}' (the default: the full protocol takes hours).
#
#   Tests/Scripts/sweep_throughput.sh WORKERS THREADS [PORT] [HYPERPARAMETERS_JSON]
set -euo pipefail
cd "$(dirname "$0")/../.."
workers=$1 threads=$2 port=${3:-18081} hyper=${4:-'{"epochs": 1}'}
dir="$(mktemp -d /tmp/unipelt-throughput.XXXXXX)"
UNIPELT_DATA_DIR=$dir UNIPELT_MODEL_DIR=$PWD/var/models UNIPELT_GLUE_DIR=$PWD/var/glue UNIPELT_LISTEN_PORT=$port \
    UNIPELT_WORKERS=$workers UNIPELT_THREADS_PER_WORKER=$threads .build/release/unipelt serve >"$dir/serve.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
seeds=$(python3 -c 'print(list(range(1, 25)))')
start=$(date +%s.%N)
sweep=$(curl -fsS "http://127.0.0.1:$port/v1/sweeps" -H 'Content-Type: application/json' \
    -d "{\"tasks\":[\"rte\"],\"k\":[100],\"seeds\":$seeds,\"methods\":[\"unipelt-apl\"],\"hyperparameters\":$hyper}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
status() { curl -fsS "http://127.0.0.1:$port/v1/sweeps/$sweep" | python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])'; }
while [ "$(status)" != completed ]; do sleep 1; done
end=$(date +%s.%N)
python3 -c "s = $end - $start; print(f'$workers workers x $threads threads: 24 jobs in {s:.1f} s = {24 * 3600 / s:.0f} jobs/h')"
curl -fsS "http://127.0.0.1:$port/v1/sweeps/$sweep" | python3 -c 'import json, sys; print(json.load(sys.stdin)["counts"])'
curl -fsS "http://127.0.0.1:$port/v1/sweeps/$sweep/results?format=csv" | tail -1
