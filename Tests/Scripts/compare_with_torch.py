#!/usr/bin/env python3
"""Whole-job and inference timing of unipelt against a PyTorch implementation of the same protocol.

    # One job through `unipelt train`, then through PyTorch; both wall times, CPU times and the ratios.
    python3 Tests/Scripts/compare_with_torch.py job --task rte --k 100 --seed 1 --method unipelt-apl --epochs 3
    # Inference examples/s of PyTorch over a task's real dev split, at 1 and 2 threads (and `unipelt bench
    # eval` when the binary has it).
    python3 Tests/Scripts/compare_with_torch.py eval --task rte --method unipelt-apl --threads 1 2

The PyTorch side follows unipelt's protocol: the train split shuffled with the seed (the same SplitMix64
Fisher-Yates, so the same rows), its first K rows trained on and the next 1000 the dev set, the GLUE dev file
the test set; WordPiece to 128 tokens (longest first); batch 16 in length-bucketed batches (windows of 256
sorted by length, batches shuffled), dynamic padding; AdamW (weight decay 0), linear decay without warmup,
gradient norm clipped to 1, per-method learning rates (finetune 2e-5, bitfit/adapter 1e-4, prefix 2e-4, the
rest 5e-4); BERT dropout 0.1 while training; dev scored after every epoch (early stopping on a strictly
better dev metric, patience 10); the trainable state of the best dev evaluation kept in memory, restored at
the end and the test split scored ONCE on it. Evaluation runs under torch.inference_mode over length-sorted
batches filled up to a token budget (--eval-tokens). Methods: finetune and bitfit on the plain model, lora
with PEFT (r 8, alpha 16, q and v), adapter (Pfeiffer, reduction 16), prefix (length 10, MLP 512),
unipelt-ap / unipelt-apl (gated) and unipelt-apl-nogate with the `adapters` library. Every method trains
the classifier; the pooler trains only in finetune. The PyTorch job keeps no checkpoint files, while
unipelt writes `best` and `last` safetensors after evaluations: that is part of unipelt's time.

Each side runs in its own child process, one after the other, with 1 compute thread (--threads):
OMP/MKL/OpenBLAS thread variables and torch.set_num_threads. Wall time is the child's whole life (start-up,
data, model load, training, evaluation); CPU time is its user+system time from wait4, which other
processes' load hardly changes at 1 thread. The load average is printed before each side.

Set-up (a virtualenv keeps these away from other projects' packages; never a CUDA torch):
    python3 -m venv var/venv
    var/venv/bin/pip install torch==2.13.0+cpu
    var/venv/bin/pip install -c <(echo torch==2.13.0+cpu) adapters==1.3.0 peft==0.21.2 transformers==4.57.6
Tested with Python 3.11.7, torch 2.13.0+cpu, transformers 4.57.6, peft 0.21.2, adapters 1.3.0,
tokenizers 0.22.2, numpy 2.4.6. Needs `./deploy/setup.sh` (model in var/models/minilm-l6) and
`swift build -c release` (.build/release/unipelt).
"""
import argparse
import json
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from splitmix64 import SplitMix64  # noqa: E402  (unipelt's K-shot shuffle, so both sides use the same rows)

METHODS = ["finetune", "bitfit", "adapter", "prefix", "lora", "unipelt-ap", "unipelt-apl", "unipelt-apl-nogate"]
LEARNING_RATES = {"finetune": 2e-5, "bitfit": 1e-4, "adapter": 1e-4, "prefix": 2e-4}

# task: (folder, test file, text columns, label column, label values or None for a 0..5 score, metrics)
# Column ints are positions in CoLA's headerless rows; metrics[0] selects the best dev state.
TASKS = {
    "sst2": ("SST-2", "dev.tsv", ["sentence"], "label", ["0", "1"], ["accuracy"]),
    "mrpc": ("MRPC", "dev.tsv", ["#1 String", "#2 String"], "Quality", ["0", "1"], ["f1", "accuracy"]),
    "cola": ("CoLA", "dev.tsv", [3], 1, ["0", "1"], ["matthews_correlation"]),
    "rte": ("RTE", "dev.tsv", ["sentence1", "sentence2"], "label", ["entailment", "not_entailment"], ["accuracy"]),
    "qnli": ("QNLI", "dev.tsv", ["question", "sentence"], "label", ["entailment", "not_entailment"],
             ["accuracy"]),
    "stsb": ("STS-B", "dev.tsv", ["sentence1", "sentence2"], "score", None, ["spearmanr", "pearson"]),
    "mnli": ("MNLI", "dev_matched.tsv", ["sentence1", "sentence2"], "gold_label",
             ["entailment", "neutral", "contradiction"], ["accuracy"]),
    "qqp": ("QQP", "dev.tsv", ["question1", "question2"], "is_duplicate", ["0", "1"], ["f1", "accuracy"]),
}
DEV_SIZE = 1000
THREAD_VARIABLES = ["OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"]


# ----------------------------------------------------------------------------------------------- data

def read_glue_file(path, task):
    """Rows as unipelt's TSV reader takes them: tab-separated without quoting, BOM dropped, `\\r\\n` allowed;
    rows with the wrong field count, non-UTF-8 text or a bad label are skipped. Returns [(text, pair, label)]."""
    _, _, text_columns, label_column, label_values, _ = TASKS[task]
    with open(path, "rb") as fh:
        data = fh.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the text after a final newline is not a line
    lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    columns = text_columns + [label_column]
    if task == "cola":
        field_count, indices = 4, columns
    else:
        header = [field.decode("utf-8", "replace") for field in lines.pop(0).split(b"\t")]
        field_count, indices = len(header), [header.index(name) for name in columns]
    rows = []
    for line in lines:
        fields = line.split(b"\t")
        if len(fields) != field_count:
            continue
        try:
            values = [fields[i].decode("utf-8") for i in indices]
        except UnicodeDecodeError:
            continue
        raw = values[-1]
        if label_values is None:
            try:
                label = float(raw)
            except ValueError:
                continue
            if not (0 <= label <= 5):
                continue
        elif raw in label_values:
            label = label_values.index(raw)
        else:
            continue
        rows.append((values[0], values[1] if len(text_columns) == 2 else None, label))
    return rows


def k_shot_split(glue, task, k, seed):
    """(train, dev, test) rows: K and the next 1000 of the shuffled train split; the GLUE dev file as test."""
    folder, test_file = TASKS[task][0], TASKS[task][1]
    train_rows = read_glue_file(os.path.join(glue, folder, "train.tsv"), task)
    test_rows = read_glue_file(os.path.join(glue, folder, test_file), task)
    if k + DEV_SIZE > len(train_rows):
        sys.exit(f"{task} has {len(train_rows)} train rows: K is at most {len(train_rows) - DEV_SIZE}")
    SplitMix64(seed).shuffle(train_rows)
    return train_rows[:k], train_rows[k:k + DEV_SIZE], test_rows


def encode(tokenizer, rows, max_length):
    texts = [row[0] for row in rows]
    pairs = [row[1] for row in rows]
    if pairs and pairs[0] is not None:
        encoded = tokenizer(texts, pairs, truncation="longest_first", max_length=max_length)
    else:
        encoded = tokenizer(texts, truncation=True, max_length=max_length)
    return {"input_ids": encoded["input_ids"], "token_type_ids": encoded["token_type_ids"],
            "labels": [row[2] for row in rows]}


def collate(torch, split, indices, regression):
    """One dynamically padded batch (to its longest example)."""
    longest = max(len(split["input_ids"][i]) for i in indices)
    ids = torch.zeros(len(indices), longest, dtype=torch.long)
    types = torch.zeros(len(indices), longest, dtype=torch.long)
    mask = torch.zeros(len(indices), longest, dtype=torch.long)
    for row, i in enumerate(indices):
        n = len(split["input_ids"][i])
        ids[row, :n] = torch.tensor(split["input_ids"][i])
        types[row, :n] = torch.tensor(split["token_type_ids"][i])
        mask[row, :n] = 1
    labels = torch.tensor([split["labels"][i] for i in indices],
                          dtype=torch.float32 if regression else torch.long)
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}, labels


def training_batches(lengths, batch_size, window, rng):
    """unipelt's dynamic-padding plan: shuffle, sort windows (whole batches) by length, cut, shuffle batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = max(1, (window + batch_size - 1) // batch_size) * batch_size
    for start in range(0, len(order), window):
        order[start:start + window] = sorted(order[start:start + window], key=lambda i: lengths[i])
    batches = [order[s:s + batch_size] for s in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def evaluation_batches(lengths, token_budget, max_batch):
    """Length-sorted batches, each as many examples as fit `token_budget` padded tokens (at most max_batch)."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches, current = [], []
    for i in order:
        # Sorted ascending, so the newcomer is the longest: the padded size is (n + 1) x lengths[i].
        if current and ((len(current) + 1) * lengths[i] > token_budget or len(current) == max_batch):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


# -------------------------------------------------------------------------------------------- metrics

def metric_values(task, predictions, labels):
    import numpy as np
    p, y = np.asarray(predictions, dtype=np.float64), np.asarray(labels, dtype=np.float64)
    out = {}
    for name in TASKS[task][5]:
        if name == "accuracy":
            out[name] = float((p == y).mean())
        elif name == "f1":
            tp, fp, fn = ((p == 1) & (y == 1)).sum(), ((p == 1) & (y == 0)).sum(), ((p == 0) & (y == 1)).sum()
            out[name] = float(2 * tp / (2 * tp + fp + fn)) if tp + fp + fn else 0.0
        elif name == "matthews_correlation":
            tp, tn = ((p == 1) & (y == 1)).sum(), ((p == 0) & (y == 0)).sum()
            fp, fn = ((p == 1) & (y == 0)).sum(), ((p == 0) & (y == 1)).sum()
            d = np.sqrt(float((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)))
            out[name] = float((tp * tn - fp * fn) / d) if d else 0.0
        elif name == "pearson":
            out[name] = float(np.corrcoef(p, y)[0, 1])
        elif name == "spearmanr":
            out[name] = float(np.corrcoef(average_ranks(p), average_ranks(y))[0, 1])
    return out


def average_ranks(values):
    import numpy as np
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start:end + 1]] = (start + end) / 2
        start = end + 1
    return ranks


# -------------------------------------------------------------------------------------- torch model

def set_threads(threads):
    """Thread variables before torch is imported (its OpenMP pool reads them once), then torch's own count."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    import torch
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(threads)
    return torch


def build_model(torch, model_dir, method, num_labels, seed):
    """BertForSequenceClassification from the HF folder with the method's modules; returns (model, trainable)."""
    from transformers import BertForSequenceClassification, logging as hf_logging
    hf_logging.set_verbosity_error()  # the fresh classifier's "newly initialized" warning is expected
    torch.manual_seed(seed)
    model = BertForSequenceClassification.from_pretrained(model_dir, num_labels=num_labels)
    if method == "finetune":
        pass
    elif method == "bitfit":
        for name, p in model.named_parameters():
            p.requires_grad = name.startswith("classifier.") or name.endswith(".bias")
    elif method == "lora":
        from peft import LoraConfig, TaskType, get_peft_model
        model = get_peft_model(model, LoraConfig(task_type=TaskType.SEQ_CLS, r=8, lora_alpha=16, lora_dropout=0.0,
                                                 target_modules=["query", "value"]))
    else:
        import adapters
        from adapters import ConfigUnion, LoRAConfig, PrefixTuningConfig, SeqBnConfig
        gated = method in ("unipelt-ap", "unipelt-apl")
        prefix = PrefixTuningConfig(prefix_length=10, bottleneck_size=512, use_gating=gated)
        adapter = SeqBnConfig(reduction_factor=16, use_gating=gated)
        lora = LoRAConfig(r=8, alpha=16, use_gating=gated)
        config = {"adapter": adapter, "prefix": prefix, "unipelt-ap": ConfigUnion(prefix, adapter),
                  "unipelt-apl": ConfigUnion(prefix, adapter, lora),
                  "unipelt-apl-nogate": ConfigUnion(prefix, adapter, lora)}[method]
        adapters.init(model)
        model.add_adapter("job", config=config, set_active=True)
        model.train_adapter("job")
    if method not in ("finetune", "bitfit", "lora"):  # PEFT already trains its own copy of the classifier
        for name, p in model.named_parameters():
            if ".classifier." in name or name.startswith("classifier."):
                p.requires_grad = True
            if ".pooler." in name:
                p.requires_grad = False
    trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    return model, trainable


def predict(torch, model, split, batches, regression):
    """Predictions in split order, under inference_mode (no autograd state, no dropout)."""
    model.eval()
    predictions = [None] * len(split["labels"])
    with torch.inference_mode():
        for indices in batches:
            inputs, _ = collate(torch, split, indices, regression)
            logits = model(**inputs).logits
            values = logits[:, 0].tolist() if regression else logits.argmax(dim=-1).tolist()
            for i, value in zip(indices, values):
                predictions[i] = value
    return predictions


def torch_job(args):
    """The PyTorch job (runs in a child process); prints one JSON line with its result and phase times."""
    started = time.perf_counter()
    torch = set_threads(args.threads)
    from transformers import BertTokenizerFast, get_linear_schedule_with_warmup
    imported = time.perf_counter()
    task = args.task
    regression = TASKS[task][4] is None
    num_labels = 1 if regression else len(TASKS[task][4])
    tokenizer = BertTokenizerFast(vocab_file=os.path.join(args.model, "vocab.txt"), do_lower_case=True)
    rows = k_shot_split(args.glue, task, args.k, args.seed)
    train, dev, test = (encode(tokenizer, split, args.max_seq_length) for split in rows)
    model, trainable = build_model(torch, args.model, args.method, num_labels, args.seed)
    prepared = time.perf_counter()

    lr = args.learning_rate or LEARNING_RATES.get(args.method, 5e-4)
    params = [p for _, p in trainable]
    optimizer = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    steps_per_epoch = (len(train["labels"]) + args.batch_size - 1) // args.batch_size
    schedule = get_linear_schedule_with_warmup(optimizer, 0, args.epochs * steps_per_epoch)
    loss_fn = torch.nn.MSELoss() if regression else torch.nn.CrossEntropyLoss()
    train_lengths = [len(ids) for ids in train["input_ids"]]
    dev_batches = evaluation_batches([len(x) for x in dev["input_ids"]], args.eval_tokens, args.eval_max_batch)
    test_batches = evaluation_batches([len(x) for x in test["input_ids"]], args.eval_tokens, args.eval_max_batch)
    rng = random.Random(args.seed)
    primary = TASKS[task][5][0]
    best, best_state, best_step, since_best, step = None, None, 0, 0, 0
    train_seconds = eval_seconds = train_cpu = eval_cpu = 0.0
    curve = []
    for epoch in range(args.epochs):
        t0, c0 = time.perf_counter(), time.process_time()
        model.train()
        losses = []
        for indices in training_batches(train_lengths, args.batch_size, 256, rng):
            inputs, labels = collate(torch, train, indices, regression)
            logits = model(**inputs).logits
            loss = loss_fn(logits[:, 0], labels) if regression else loss_fn(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            step += 1
        t1, c1 = time.perf_counter(), time.process_time()
        dev_metrics = metric_values(task, predict(torch, model, dev, dev_batches, regression), dev["labels"])
        t2, c2 = time.perf_counter(), time.process_time()
        train_seconds += t1 - t0
        eval_seconds += t2 - t1
        train_cpu += c1 - c0
        eval_cpu += c2 - c1
        metric = dev_metrics[primary]
        improved = best is None or metric > best
        curve.append({"epoch": epoch + 1, "step": step, "train_loss": sum(losses) / len(losses),
                      "dev": metric, "best": improved, "train_s": round(t1 - t0, 2), "dev_s": round(t2 - t1, 2)})
        if not args.quiet:
            print(f"  torch epoch {epoch + 1}: loss {curve[-1]['train_loss']:.4f}  dev {primary} {metric:.4f}"
                  f"{'  (best)' if improved else ''}  train {t1 - t0:.1f} s  dev {t2 - t1:.1f} s",
                  file=sys.stderr, flush=True)
        if improved:
            best, best_step, since_best = metric, step, 0
            best_state = [p.detach().clone() for p in params]
        else:
            since_best += 1
            if args.patience > 0 and since_best >= args.patience:
                break
    t3, c3 = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for p, saved in zip(params, best_state):
            p.copy_(saved)
    test_metrics = metric_values(task, predict(torch, model, test, test_batches, regression), test["labels"])
    finished = time.perf_counter()
    eval_seconds += finished - t3
    eval_cpu += time.process_time() - c3
    print(json.dumps({
        "test_metric": test_metrics[primary], "test_metrics": test_metrics, "best_dev": best, "best_step": best_step,
        "steps": step, "epochs_run": len(curve), "trainable_parameters": sum(p.numel() for p in params),
        "import_s": imported - started, "prepare_s": prepared - imported, "train_s": train_seconds,
        "eval_s": eval_seconds, "train_cpu_s": train_cpu, "eval_cpu_s": eval_cpu, "job_s": finished - imported, "curve": curve,
        "sizes": {"train": len(train["labels"]), "dev": len(dev["labels"]), "test": len(test["labels"])},
        "eval_batches": {"dev": len(dev_batches), "test": len(test_batches)}}))


def torch_eval(args):
    """Inference throughput over a split (runs in a child process at one thread count); prints one JSON line."""
    torch = set_threads(args.threads)
    from transformers import BertTokenizerFast
    regression = TASKS[args.task][4] is None
    tokenizer = BertTokenizerFast(vocab_file=os.path.join(args.model, "vocab.txt"), do_lower_case=True)
    train, dev, test = k_shot_split(args.glue, args.task, args.k, args.seed)
    split = encode(tokenizer, dev if args.split == "dev" else test, args.max_seq_length)
    model, _ = build_model(torch, args.model, args.method, 1 if regression else len(TASKS[args.task][4]), args.seed)
    batches = evaluation_batches([len(x) for x in split["input_ids"]], args.eval_tokens, args.eval_max_batch)
    predict(torch, model, split, batches[:2], regression)  # warm-up: first-call allocations and kernel choice
    times, cpu = [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        predict(torch, model, split, batches, regression)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    n = len(split["labels"])
    tokens = sum(len(x) for x in split["input_ids"])
    # Per CPU second is what a loaded machine hardly changes at 1 thread; wall is what a user waits.
    print(json.dumps({"examples": n, "tokens": tokens, "batches": len(batches), "seconds": times, "cpu_seconds": cpu,
                      "examples_per_s": n / min(times), "examples_per_cpu_s": n / min(cpu),
                      "threads": torch.get_num_threads()}))


# ---------------------------------------------------------------------------------------------- driver

def run_child(command, env=None):
    """Runs one side; returns (wall s, CPU s, peak RSS MB, stdout, exit status). stderr passes through."""
    load = os.getloadavg()
    print(f"$ {' '.join(shlex.quote(c) for c in command)}", flush=True)
    print(f"  load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    t0 = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True)
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - t0
    process.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out, process.returncode


def run_torch_child(command):
    """A PyTorch side: its measurements and the JSON line it prints last."""
    wall, cpu, rss, out, code = run_child(command)
    if code != 0:
        sys.exit(f"{command[2]} exited with status {code}")
    return wall, cpu, rss, json.loads(out.strip().splitlines()[-1])


def child_arguments(args, subcommand, threads):
    common = ["--task", args.task, "--k", str(args.k), "--seed", str(args.seed), "--method", args.method,
              "--model", args.model, "--glue", args.glue, "--threads", str(threads),
              "--eval-tokens", str(args.eval_tokens), "--eval-max-batch", str(args.eval_max_batch),
              "--max-seq-length", str(args.max_seq_length)]
    return [sys.executable, os.path.abspath(__file__), subcommand] + common


def run_unipelt(args):
    with tempfile.TemporaryDirectory(prefix="compare-", dir=args.runs) as out:
        command = [args.binary, "train", "--task", args.task, "--k", str(args.k), "--seed", str(args.seed),
                   "--method", args.method, "--model", args.model, "--glue", args.glue, "--out", out,
                   "--threads", str(args.threads), "--quiet", "--set", f"epochs={args.epochs}",
                   "--set", f"early_stopping_patience={args.patience}"]
        for setting in args.set:
            command += ["--set", setting]
        if args.learning_rate:
            command += ["--set", f"learning_rate={args.learning_rate}"]
        env = dict(os.environ, **{name: str(args.threads) for name in THREAD_VARIABLES})
        wall, cpu, rss, out_text, code = run_child(command, env)
        print("  " + out_text.strip().replace("\n", "\n  "))
        if code != 0:
            sys.exit(f"unipelt exited with status {code}")
        with open(os.path.join(out, "result.json")) as fh:
            result = json.load(fh)
    return wall, cpu, rss, result


def run_torch(args):
    command = child_arguments(args, "torch-job", args.threads) + [
        "--epochs", str(args.epochs), "--patience", str(args.patience), "--batch-size", "16"]
    if args.learning_rate:
        command += ["--learning-rate", str(args.learning_rate)]
    wall, cpu, rss, result = run_torch_child(command)
    print(f"  torch {args.method} {args.task} k={args.k} seed {args.seed}: test {TASKS[args.task][5][0]} "
          f"{result['test_metric']:.4f} (best dev {result['best_dev']:.4f} at step {result['best_step']}, "
          f"{result['steps']} steps, {result['trainable_parameters']} trainable; wall: train {result['train_s']:.1f} s, "
          f"eval {result['eval_s']:.1f} s, prepare {result['prepare_s']:.1f} s, imports {result['import_s']:.1f} s; "
          f"CPU: train {result['train_cpu_s']:.1f} s, eval {result['eval_cpu_s']:.1f} s)")
    return wall, cpu, rss, result


def job(args):
    print(f"job: {args.task} k={args.k} seed {args.seed} {args.method}, {args.epochs} epochs, patience "
          f"{args.patience}, {args.threads} thread(s); {versions()}", flush=True)
    os.makedirs(args.runs, exist_ok=True)
    sides = {}
    for side in args.order.split(","):
        sides[side] = run_unipelt(args) if side == "unipelt" else run_torch(args)
    print(f"{'':8s} {'wall s':>8s} {'CPU s':>8s} {'peak MB':>8s} {'steps':>6s} {'trainable':>10s} {'test':>7s}")
    for side, (wall, cpu, rss, r) in sides.items():
        steps, trainable, test = ((r["result"]["stepsRun"], r["result"]["trainableParameters"], r["result"]["testMetric"])
                                  if side == "unipelt" else (r["steps"], r["trainable_parameters"], r["test_metric"]))
        print(f"{side:8s} {wall:8.1f} {cpu:8.1f} {rss:8.0f} {steps:6d} {trainable:10d} {test:7.4f}")
    if len(sides) == 2:
        (uw, uc, _, _), (tw, tc, _, _) = sides["unipelt"], sides["torch"]
        print(f"torch / unipelt: wall {tw / uw:.2f}x, CPU {tc / uc:.2f}x")


def evaluate_throughput(args):
    print(f"eval: {args.task} {args.split} split, {args.method}, token budget {args.eval_tokens}; {versions()}",
          flush=True)
    for threads in args.threads:
        command = child_arguments(args, "torch-eval", threads) + ["--split", args.split,
                                                                 "--repeats", str(args.repeats)]
        _, _, _, r = run_torch_child(command)
        print(f"  torch {threads} thread(s): {r['examples_per_s']:.1f} examples/s, {r['examples_per_cpu_s']:.1f} "
              f"examples/CPU s ({r['examples']} examples, {r['tokens']} tokens, {r['batches']} batches; passes "
              f"{', '.join(f'{s:.2f}' for s in r['seconds'])} s wall, {', '.join(f'{s:.2f}' for s in r['cpu_seconds'])}"
              f" s CPU)", flush=True)
        if args.unipelt:
            command = [args.binary, "bench", "eval", "--task", args.task, "--method", args.method,
                       "--threads", str(threads)]
            _, _, _, out, code = run_child(command)
            print("  " + out.strip().replace("\n", "\n  ") if code == 0 else f"  unipelt exited with status {code}")


def versions():
    names = ["torch", "transformers", "peft", "adapters"]
    found = []
    for name in names:
        try:
            from importlib.metadata import version
            found.append(f"{name} {version(name)}")
        except Exception:
            found.append(f"{name} missing")
    return ", ".join(found)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)

    def common(p, threads_many=False):
        p.add_argument("--task", required=True, choices=sorted(TASKS))
        p.add_argument("--k", type=int, default=100)
        p.add_argument("--seed", type=int, default=1)
        p.add_argument("--method", default="unipelt-apl", choices=METHODS)
        p.add_argument("--model", default="var/models/minilm-l6")
        p.add_argument("--glue", default="var/glue")
        p.add_argument("--max-seq-length", type=int, default=128)
        # 16 x 128 tokens: about the same work per call as a training batch, enough for SGEMM efficiency.
        p.add_argument("--eval-tokens", type=int, default=2048, help="padded tokens per evaluation batch")
        p.add_argument("--eval-max-batch", type=int, default=128)
        if threads_many:
            p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
        else:
            p.add_argument("--threads", type=int, default=1)

    p = sub.add_parser("job", help="one job through unipelt and through PyTorch")
    common(p)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--patience", type=int, default=10)
    p.add_argument("--learning-rate", type=float, help="default: the method's rate")
    p.add_argument("--binary", default=".build/release/unipelt")
    p.add_argument("--runs", default="var/compare-runs", help="unipelt's temporary output folders go here")
    p.add_argument("--set", action="append", default=[], help="extra unipelt KEY=VALUE (repeatable)")
    p.add_argument("--order", default="unipelt,torch", help="sides and their order: unipelt,torch | torch | ...")
    p.set_defaults(run=job)

    p = sub.add_parser("eval", help="PyTorch inference examples/s over a split at each --threads")
    common(p, threads_many=True)
    p.add_argument("--split", default="dev", choices=["dev", "test"], help="dev: the 1000 held-out train rows")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--unipelt", action="store_true", help="also run `unipelt bench eval` at each thread count")
    p.add_argument("--binary", default=".build/release/unipelt")
    p.set_defaults(run=evaluate_throughput)

    p = sub.add_parser("torch-job")  # internal: the PyTorch side of `job`, in its own process
    common(p)
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--patience", type=int, required=True)
    p.add_argument("--batch-size", type=int, required=True)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(run=torch_job)

    p = sub.add_parser("torch-eval")  # internal: one thread count of `eval`, in its own process
    common(p)
    p.add_argument("--split", required=True)
    p.add_argument("--repeats", type=int, required=True)
    p.set_defaults(run=torch_eval)

    args = ap.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
