#!/usr/bin/env bash
# Reproduces the K = 100 block of the paper's Table 1 (Mao et al., 2022) on unipelt's defaults:
# the paper's 8 GLUE tasks × 5 seeds × 7 methods, one `unipelt train` job at a time, then prints the
# table (mean ± std over seeds of the best-dev checkpoint's test metric, ×100, with the average column).
# Seed 1 of every cell runs first, so a partial run already gives a one-seed table. Not run in CI: on
# MiniLM-L6 and 2 cores it takes many hours. Jobs already finished are skipped, and an interrupted one
# resumes from its last checkpoint, so the script can be re-run after a stop.
#
#   Tests/Scripts/reproduce_table1.sh [RUNS_DIR] [extra unipelt train options, e.g. --threads 2]
#
# Several copies may run at once on the same RUNS_DIR (one per core, each on one thread): each job is taken
# under an flock on RUNS_DIR/.locks/<job>, so every copy takes the next job nobody runs, and a lock dies with
# the process that held it. UNIPELT_BIN pins the binary (default: a fresh release build), so that a rebuild
# during a long run does not mix code versions in one table. TABLE1_SEEDS lists the seeds (default the paper's
# five, "1 2 3 4 5"), TABLE1_TASKS the tasks (default all 8, "sst2 mrpc cola rte qnli stsb mnli qqp"; the
# session-4 record in Tests/Results/table1-k100 ran "sst2 mrpc cola rte stsb").
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-var/runs/table1}"
shift || true
bin="${UNIPELT_BIN:-}"
if [[ -z "$bin" ]]; then
    swift build -c release --product unipelt
    bin=.build/release/unipelt
fi
mkdir -p "$runs/.locks"
for seed in ${TABLE1_SEEDS:-1 2 3 4 5}; do
    for task in ${TABLE1_TASKS:-sst2 mrpc cola rte qnli stsb mnli qqp}; do
        for method in finetune bitfit adapter prefix lora unipelt-ap unipelt-apl; do
            name="$task-k100-s$seed-$method"
            out="$runs/$name"
            if grep -qs '"status" : "finished"' "$out/result.json"; then continue; fi
            exec {lock}>"$runs/.locks/$name"
            # Taken by another copy: go on to the next job. The check above is repeated under the lock,
            # since that copy may have finished it in between.
            if flock -n "$lock" && ! grep -qs '"status" : "finished"' "$out/result.json"; then
                "$bin" train --task "$task" --k 100 --seed "$seed" --method "$method" --out "$out" --resume --quiet "$@"
            fi
            exec {lock}>&-
        done
    done
done
"$bin" train --summarize "$runs"
