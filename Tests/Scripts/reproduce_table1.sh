#!/usr/bin/env bash
# Reproduces the K = 100 block of the paper's Table 1 (Mao et al., 2022) on unipelt's defaults:
# sst2, mrpc, cola, rte, stsb × 3 seeds × 7 methods, one `unipelt train` job at a time, then prints the
# table (mean ± std over seeds of the best-dev checkpoint's test metric, ×100, with the average column).
# Not run in CI: on MiniLM-L6 and 2 cores it takes hours. Jobs already finished are skipped, and an
# interrupted one resumes from its last checkpoint, so the script can be re-run after a stop.
#
#   Tests/Scripts/reproduce_table1.sh [RUNS_DIR] [extra unipelt train options, e.g. --threads 2]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-var/runs/table1}"
shift || true
swift build -c release --product unipelt
for task in sst2 mrpc cola rte stsb; do
    for method in finetune bitfit adapter prefix lora unipelt-ap unipelt-apl; do
        for seed in 1 2 3; do
            out="$runs/$task-k100-s$seed-$method"
            if grep -qs '"status" : "finished"' "$out/result.json"; then continue; fi
            .build/release/unipelt train --task "$task" --k 100 --seed "$seed" --method "$method" \
                --out "$out" --resume --quiet "$@"
        done
    done
done
.build/release/unipelt train --summarize "$runs"
