#!/bin/sh
# Screenshots of the dashboard's three pages for review: starts `unipelt serve` on a free loopback port over
# a throwaway folder holding the 2-layer test model (Tests/ModelTests/Golden) and synthetic RTE-shaped
# data, so jobs take seconds; posts a small sweep and, once one UniPELT job has finished and another runs,
# photographs the sweeps page, the sweep page and both job pages with headless chromium, at laptop width
# and (one job page) at phone width. The numbers in the pictures are from the tiny model, not GLUE.
#   Tests/Scripts/dashboard_screenshots.sh [OUTPUT_FOLDER]     (default var/screenshots)
set -eu
cd "$(dirname "$0")/../.."
out=${1:-var/screenshots}
mkdir -p "$out"
./Tests/Scripts/ensure_chromium.sh
swift build --product unipelt >/dev/null
bin="$(swift build --show-bin-path)/unipelt"
work=$(mktemp -d)
mkdir -p "$work/models/tiny" "$work/glue/RTE"
cp Tests/ModelTests/Golden/tiny_config.json "$work/models/tiny/config.json"
cp Tests/ModelTests/Golden/tiny_backbone.safetensors "$work/models/tiny/model.safetensors"
python3 - "$work" <<'PY'
import random, sys
root = sys.argv[1]
words = [f"w{i}" for i in range(95)]
open(f"{root}/models/tiny/vocab.txt", "w").write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words) + "\n")
rng = random.Random(42)
def rows(count):
    lines = ["index\tsentence1\tsentence2\tlabel"]
    for index in range(count):
        first = [rng.choice(words) for _ in range(3 + rng.randrange(8))]
        second = [rng.choice(words) for _ in range(3 + rng.randrange(8))]
        entails = rng.randrange(2) == 0  # entailment when both sentences start alike: learnable
        second[0] = first[0] if entails else ("w0" if first[0] == "w94" else "w94") if second[0] == first[0] else second[0]
        lines.append(f"{index}\t{' '.join(first)}\t{' '.join(second)}\t{'entailment' if entails else 'not_entailment'}")
    return "\n".join(lines) + "\n"
open(f"{root}/glue/RTE/train.tsv", "w").write(rows(1100))
open(f"{root}/glue/RTE/dev.tsv", "w").write(rows(60))
PY
UNIPELT_DATA_DIR="$work/data" UNIPELT_MODEL_DIR="$work/models" UNIPELT_GLUE_DIR="$work/glue" UNIPELT_DEFAULT_MODEL=tiny \
    UNIPELT_LISTEN_PORT=0 UNIPELT_WORKERS=2 UNIPELT_THREADS_PER_WORKER=1 UNIPELT_HEARTBEAT_SECONDS=1 \
    "$bin" serve >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
port=""
for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/serve.log" | head -1)
    [ -n "$port" ] && break
    sleep 0.2
done
[ -n "$port" ] || { cat "$work/serve.log"; exit 1; }
base="http://127.0.0.1:$port"
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# A long job on one worker (a running curve), the sweep on the other (a finished UniPELT job, a grid of
# mixed statuses, Table 1).
running_job=$(curl -sf "$base/v1/jobs" -H 'Content-Type: application/json' -d '{"task": "rte", "k": 16, "seed": 9,
  "method": "unipelt-apl", "hyperparameters": {"epochs": 1000, "batch_size": 8, "max_seq_length": 32,
  "early_stopping_patience": 0}}' | json 'd["id"]')
sweep=$(curl -sf "$base/v1/sweeps" -H 'Content-Type: application/json' -d '{"name": "screenshots",
  "tasks": ["rte"], "k": [16, 32], "seeds": [1, 2], "methods": ["unipelt-apl", "lora", "bitfit"],
  "hyperparameters": {"epochs": 15, "batch_size": 8, "max_seq_length": 32, "early_stopping_patience": 0}}' | json 'd["id"]')
# A second sweep, cancelled at once, for the list.
cancelled=$(curl -sf "$base/v1/sweeps" -H 'Content-Type: application/json' -d '{"name": "cancelled-example",
  "tasks": ["rte"], "k": [16], "seeds": [1, 2], "methods": ["adapter", "prefix"]}' | json 'd["id"]')
curl -sf -X POST "$base/v1/sweeps/$cancelled/cancel" >/dev/null
done_job=""
for _ in $(seq 300); do
    done_job=$(curl -sf "$base/v1/jobs?sweep_id=$sweep&method=unipelt-apl&status=succeeded&limit=1" | json '" ".join(j["id"] for j in d["data"])')
    [ -n "$done_job" ] && break
    sleep 1
done
[ -n "$done_job" ] || { echo "no finished UniPELT job in time" >&2; tail "$work/serve.log" >&2; exit 1; }

shot() { # name width height url
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$2,$3" \
        --virtual-time-budget=4000 --screenshot="$out/$1.png" "$4" >/dev/null 2>&1
    echo "$out/$1.png"
}
shot job-running 1280 1500 "$base/#/jobs/$running_job"
shot sweeps 1280 600 "$base/"
shot sweep 1280 1100 "$base/#/sweeps/$sweep"
shot job-finished 1280 1700 "$base/#/jobs/$done_job"
shot job-narrow 420 2400 "$base/#/jobs/$done_job"
curl -sf -X POST "$base/v1/jobs/$running_job/cancel" >/dev/null
