#!/usr/bin/env bash
# Estimates the wall time of the paper's K = 100 grid (8 tasks × 7 methods × SEEDS seeds) on this machine from
# measured job times. Per task, one lora job (seed 1, one thread) runs with 1 and with 2 epochs:
#   epoch cost = t(2) − t(1)   (7 training steps and one scoring of the 1000-example dev split)
#   fixed cost = t(1) − epoch  (start-up, data, model, checkpoints, the one test pass)
# A job of E epochs then takes fixed + E·epoch. E per task is the mean number of evaluations in a finished
# record (RECORD, default Tests/Results/table1-k100: default hyperparameters, early stopping); tasks without
# runs there take the mean of the others. The grid runs WORKERS jobs at once, one thread each.
# Two jobs run at a time, one per core, like the service's default two workers.
#
#   Tests/Scripts/grid_estimate.sh [TASKS]   (default: sst2 mrpc cola rte qnli stsb mnli qqp)
# Environment: BINARY (default .build/release/unipelt), SEEDS (5), WORKERS (2), RECORD, OUT (var/grid-estimate).
set -euo pipefail
cd "$(dirname "$0")/../.."
binary="${BINARY:-.build/release/unipelt}"
tasks="${1:-sst2 mrpc cola rte qnli stsb mnli qqp}"
out="${OUT:-var/grid-estimate}"
record="${RECORD:-Tests/Results/table1-k100}"
mkdir -p "$out"

run() {  # task epochs → seconds in $out/<task>-e<epochs>.seconds
    local task=$1 epochs=$2 start end
    rm -rf "$out/$task-e$epochs"
    start=$(date +%s.%N)
    "$binary" train --task "$task" --k 100 --seed 1 --method lora --threads 1 --quiet \
        --set epochs="$epochs" --out "$out/$task-e$epochs" > "$out/$task-e$epochs.log" 2>&1
    end=$(date +%s.%N)
    python3 -c "print($end - $start)" > "$out/$task-e$epochs.seconds"
}

# Two at a time: each task's 1- and 2-epoch runs side by side.
for task in $tasks; do
    run "$task" 1 & run "$task" 2 &
    wait
    echo "$task: 1 epoch $(cat "$out/$task-e1.seconds") s, 2 epochs $(cat "$out/$task-e2.seconds") s"
done

python3 - "$out" "$record" "${SEEDS:-5}" "${WORKERS:-2}" $tasks <<'EOF'
import csv, glob, os, statistics, sys
out, record, seeds, workers, tasks = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]
epochs = {}
for path in glob.glob(os.path.join(record, "*", "metrics.csv")):
    task = os.path.basename(os.path.dirname(path)).split("-")[0]
    with open(path) as f:
        epochs.setdefault(task, []).append(sum(1 for _ in csv.DictReader(f)))
mean_epochs = {t: statistics.mean(v) for t, v in epochs.items()}
fallback = statistics.mean(mean_epochs.values()) if mean_epochs else 20
jobs_per_task = 7 * seeds
total = 0.0
print(f"{'task':6} {'1 epoch s':>9} {'2 epochs s':>10} {'epoch s':>8} {'fixed s':>8} {'E':>5} {'job s':>7}")
for task in tasks:
    t1 = float(open(os.path.join(out, f"{task}-e1.seconds")).read())
    t2 = float(open(os.path.join(out, f"{task}-e2.seconds")).read())
    epoch = t2 - t1
    fixed = t1 - epoch
    e = mean_epochs.get(task, fallback)
    job = fixed + e * epoch
    total += jobs_per_task * job
    print(f"{task:6} {t1:9.1f} {t2:10.1f} {epoch:8.1f} {fixed:8.1f} {e:5.1f} {job:7.1f}"
          + ("" if task in mean_epochs else "  (E: mean of the recorded tasks)"))
print(f"grid: {len(tasks)} tasks × 7 methods × {seeds} seeds = {len(tasks) * jobs_per_task} jobs, "
      f"{total / 3600:.1f} job-hours on one thread each (lora's job time for every method)")
print(f"wall time with {workers} workers: {total / workers / 3600:.1f} h")
EOF
