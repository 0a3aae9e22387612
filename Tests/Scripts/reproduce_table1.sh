#!/usr/bin/env bash
# Reproduces the K = 100 block of the paper's Table 1 (Mao et al., 2022) on unipelt's defaults:
# sst2, mrpc, cola, rte, stsb × 3 seeds × 7 methods, one `unipelt train` job at a time, then prints the
# table (mean ± std over seeds of the best-dev checkpoint's test metric, ×100, with the average column).
# Seed 1 of every cell runs first, so a partial run already gives a one-seed table. Not run in CI: on
# MiniLM-L6 and 2 cores it takes many hours. Jobs already finished are skipped, and an interrupted one
# resumes from its last checkpoint, so the script can be re-run after a stop.
#
#   Tests/Scripts/reproduce_table1.sh [RUNS_DIR] [extra unipelt train options, e.g. --threads 2]
#
# TABLE1_LANE=i/n runs only every n-th job starting at i, so n copies of the script (each with
# --threads 1) fill n cores. UNIPELT_BIN pins the binary (default: a fresh release build), so that a
# rebuild during a long run does not mix code versions in one table.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-var/runs/table1}"
shift || true
lane="${TABLE1_LANE:-0/1}"
lane_index="${lane%/*}" lanes="${lane#*/}"
bin="${UNIPELT_BIN:-}"
if [[ -z "$bin" ]]; then
    swift build -c release --product unipelt
    bin=.build/release/unipelt
fi
job=0
for seed in 1 2 3; do
    for task in sst2 mrpc cola rte stsb; do
        for method in finetune bitfit adapter prefix lora unipelt-ap unipelt-apl; do
            this=$((job++))
            if (( this % lanes != lane_index )); then continue; fi
            out="$runs/$task-k100-s$seed-$method"
            if grep -qs '"status" : "finished"' "$out/result.json"; then continue; fi
            "$bin" train --task "$task" --k 100 --seed "$seed" --method "$method" --out "$out" --resume --quiet "$@"
        done
    done
done
"$bin" train --summarize "$runs"
