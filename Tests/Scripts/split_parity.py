#!/usr/bin/env python3
"""Checks that `split: official` draws the reference pipeline's K-shot rows, and writes the golden file that
pins them in CI (which has no numpy).

The reference code (UniPELT's run_glue.py, `train_as_val`) takes
    train_all = datasets["train"].shuffle(seed=data_seed)
    train = train_all.select(range(K)); dev = train_all.select(range(K, K + 1000))
and Hugging Face `datasets` (1.x, as that code ran with, through today's releases) implements
`shuffle(seed=s)` as `select(np.random.default_rng(s).permutation(len(dataset)))`. So the rows are
`default_rng(seed).permutation(n)[:K]` and `[K:K+1000]`, with n the number of train rows.

For every task in the GLUE folder and seeds 1-10 this compares, index by index, numpy's permutation with
`unipelt split` (the Swift SeedSequence + PCG64 + shuffle, through the real task loader): the whole
permutation (`--k all`) and the K=100 train and dev rows. When Hugging Face `datasets` is installed, the
K=100 rows are also drawn the reference code's way (`Dataset.shuffle(seed=...).select(range(...))` on a
dataset of row numbers) and compared. It also checks that the Swift loader sees as many train rows as the
file has data lines.

usage: python3 Tests/Scripts/split_parity.py [--glue ../shared/glue] [--binary .build/debug/unipelt]
                                             [--write-golden]
(without --binary it runs `swift build --product unipelt` first; --write-golden rewrites
Tests/TextTests/Golden/numpy_split_golden.json)
"""
import argparse
import json
import pathlib
import subprocess
import sys

import numpy as np

try:
    import datasets
except ImportError:
    datasets = None

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "Tests" / "TextTests" / "Golden" / "numpy_split_golden.json"
TASKS = [("sst2", "SST-2"), ("mrpc", "MRPC"), ("cola", "CoLA"), ("rte", "RTE"), ("qnli", "QNLI"),
         ("stsb", "STS-B"), ("mnli", "MNLI"), ("qqp", "QQP")]
# The train split sizes the reference code shuffles for the three tasks whose files here are subsets.
FULL_TRAIN_SIZES = [("mnli", 392702), ("qnli", 104743), ("qqp", 363846)]
SEEDS = list(range(1, 11))
K, DEV = 100, 1000


def data_lines(path, header):
    with open(path, encoding="utf-8", newline="\n") as f:
        lines = [line for line in f.read().split("\n") if line.strip()]
    return len(lines) - (1 if header else 0)


def swift_split(binary, glue, task, k, train_size=None):
    source = ["--task", task] if train_size is None else ["--train-size", str(train_size)]
    out = subprocess.run([binary, "split", *source, "--k", str(k), "--glue", str(glue),
                          "--seeds", ",".join(map(str, SEEDS))], check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def reference_rows(n, seed):
    """run_glue.py's train_as_val rows, through Hugging Face datasets itself."""
    shuffled = datasets.Dataset.from_dict({"row": list(range(n))}).shuffle(seed=seed)
    return shuffled.select(range(K))["row"], shuffled.select(range(K, K + DEV))["row"]


def weighted_sum(permutation):
    """A cheap fingerprint of a whole permutation that the Swift test recomputes: sum of (i + 1) * p[i]."""
    return int(np.dot(np.arange(1, len(permutation) + 1, dtype=np.int64), permutation.astype(np.int64)))


def golden(train_sizes):
    """What the Swift unit test compares against: SeedSequence words, raw PCG64 draws, small permutations,
    and for every task's train size and seeds 1-10 the first 20 train and dev rows of the K=100 split and a
    fingerprint of the whole permutation."""
    seeds = [0, 1, 42, 2**32 + 5, 2**64 - 1]
    return {
        "numpy": np.__version__,
        "seed_sequence": [{"seed": str(s), "words": [int(w) for w in np.random.SeedSequence(s).generate_state(8, np.uint32)]}
                          for s in seeds],
        "pcg64_raw": [{"seed": str(s), "draws": [str(int(d)) for d in np.random.PCG64(s).random_raw(6)]}
                      for s in seeds],
        "small_permutations": [{"seed": str(s), "count": n, "permutation": np.random.default_rng(s).permutation(n).tolist()}
                               for s in seeds for n in (0, 1, 2, 7, 64, 300)],
        "tasks": [{"task": task, "train_size": n, "seed": seed,
                   "train_head": p[:20].tolist(), "dev_head": p[K:K + 20].tolist(), "weighted_sum": weighted_sum(p)}
                  for task, n in train_sizes for seed in SEEDS
                  for p in [np.random.default_rng(seed).permutation(n)]],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--glue", default=str(ROOT.parent / "shared" / "glue"))
    parser.add_argument("--binary")
    parser.add_argument("--write-golden", action="store_true")
    args = parser.parse_args()
    binary = args.binary
    if binary is None:
        subprocess.run(["swift", "build", "--product", "unipelt"], cwd=ROOT, check=True)
        binary = str(ROOT / ".build" / "debug" / "unipelt")
    glue = pathlib.Path(args.glue)

    via = f"datasets {datasets.__version__}" if datasets else "datasets not installed"
    print(f"numpy {np.__version__}; {via}; seeds {SEEDS[0]}-{SEEDS[-1]}; K={K}, dev={DEV}")
    failures = 0
    train_sizes = []
    runs = [(task, directory, None) for task, directory in TASKS] + [(t, None, n) for t, n in FULL_TRAIN_SIZES]
    for task, directory, size in runs:
        full = swift_split(binary, glue, task, "all", size)
        kshot = swift_split(binary, glue, task, K, size)
        n = full[0]["train_size"]
        problems = []
        if directory:
            train_sizes.append((task, n))
            lines = data_lines(glue / directory / "train.tsv", header=task != "cola")
            if n != lines:
                problems.append(f"Swift loader has {n} train rows, the file {lines} data lines")
        for whole, split, seed in zip(full, kshot, SEEDS):
            p = np.random.default_rng(seed).permutation(n)
            if whole["seed"] != seed or whole["train_rows"] != p.tolist():
                problems.append(f"seed {seed}: whole permutation differs")
            if split["train_rows"] != p[:K].tolist() or split["dev_rows"] != p[K:K + DEV].tolist():
                problems.append(f"seed {seed}: K={K} train/dev rows differ")
            if datasets and reference_rows(n, seed) != (split["train_rows"], split["dev_rows"]):
                problems.append(f"seed {seed}: K={K} rows differ from datasets' shuffle")
        verdict = "identical" if not problems else "DIFFERENT: " + "; ".join(problems)
        checked = "whole permutation + K=100 train/dev rows" + (" + datasets.shuffle rows" if datasets else "")
        label = task if directory else f"{task} (full train split, --train-size)"
        print(f"{label:5} train rows {n:6}: seeds 1-10 {checked} {verdict}")
        failures += bool(problems)

    if args.write_golden:
        GOLDEN.write_text(json.dumps(golden(train_sizes), separators=(",", ":")) + "\n")
        print(f"wrote {GOLDEN.relative_to(ROOT)}")
    print("all identical" if failures == 0 else f"{failures} task(s) differ")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
