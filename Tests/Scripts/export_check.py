#!/usr/bin/env python3
"""Loads every export of unipelt jobs in the Python libraries they are meant for and compares logits with
`unipelt predict` on the same inputs.

For a tiny random BERT (MiniLM's vocabulary, 2 layers, hidden 32) and for MiniLM (var/models/minilm-l6), it trains
one short RTE job per method (`unipelt train`, K=16, 2 epochs at learning rate 5e-3, so that
one step moves every trained tensor visibly), exports it in every format (`unipelt export`), loads
each folder:
  merged   -> transformers.AutoModelForSequenceClassification.from_pretrained(folder)
  peft     -> peft.PeftModel.from_pretrained(<base as BertForSequenceClassification>, folder)
  adapters -> adapters.BertAdapterModel.from_pretrained(base).load_adapter(folder, use_safetensors=True)
and runs RTE dev pairs through it, one input at a time (no padding) and as one padded batch. The pass mark is a
max relative difference (max |a - b| / max |b|) of at most 1e-4 against `unipelt predict`, whose outputs do not
depend on padding. A format the method cannot be exported to is listed with unipelt's refusal.

Set-up (CPU torch only, never the CUDA wheel):
  python3 -m venv /tmp/venv && /tmp/venv/bin/pip install torch==2.13.0+cpu \
      "transformers~=4.57.6" adapters==1.3.0 peft safetensors
  swift build -c release --product unipelt
  /tmp/venv/bin/python Tests/Scripts/export_check.py [--models tiny,minilm] [--methods lora,...] [--out var/export-check]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import torch

METHODS = ["finetune", "bitfit", "adapter", "prefix", "lora", "unipelt-ap", "unipelt-apl", "unipelt-apl-nogate"]
FORMATS = ["merged", "peft", "adapters"]
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.path.join(ROOT, ".build", "release", "unipelt")
MINILM = os.path.join(ROOT, "var", "models", "minilm-l6")


def run(args, stdin=None):
    done = subprocess.run(args, input=stdin, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0 and args[1] != "export":
        raise RuntimeError(" ".join(args[:2]) + ": " + done.stderr)
    return done.returncode, done.stdout, done.stderr


def make_tiny_model(folder):
    """A random 2-layer BERT over MiniLM's uncased vocabulary, saved in Hugging Face layout."""
    from transformers import BertConfig, BertModel
    if os.path.exists(os.path.join(folder, "model.safetensors")):
        return
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=512, initializer_range=0.2)
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    shutil.copy(os.path.join(MINILM, "vocab.txt"), os.path.join(folder, "vocab.txt"))


def dev_pairs(count):
    rows = open(os.path.join(ROOT, "var", "glue", "RTE", "dev.tsv"), encoding="utf-8").read().splitlines()[1:]
    return [row.split("\t")[1:3] for row in rows[:count]]


def unipelt_logits(checkpoint, model_dir, pairs):
    _, out, _ = run([BINARY, "predict", "--checkpoint", checkpoint, "--model", model_dir],
                    stdin="".join(json.dumps(p) + "\n" for p in pairs))
    return torch.tensor([json.loads(line)["logits"] for line in out.splitlines()])


def load(format_, folder, base_dir, num_labels):
    if format_ == "merged":
        from transformers import AutoModelForSequenceClassification
        return AutoModelForSequenceClassification.from_pretrained(folder).eval()
    if format_ == "peft":
        from peft import PeftModel
        from transformers import AutoModelForSequenceClassification
        base = AutoModelForSequenceClassification.from_pretrained(base_dir, num_labels=num_labels)
        return PeftModel.from_pretrained(base, folder).eval()
    from adapters import BertAdapterModel
    model = BertAdapterModel.from_pretrained(base_dir)
    info = {}
    name = model.load_adapter(folder, use_safetensors=True, loading_info=info)
    # Every layer's attention reaches the one prefix pool under its own name too (`…self.prefix_tuning.pool.…`);
    # those aliases share the pool's tensors, which the folder holds once under `bert.prefix_tuning`.
    missing = [k for k in info.get("missing_keys", []) if ".attention.self.prefix_tuning.pool." not in k]
    if missing:
        raise RuntimeError(f"{folder}: adapters did not find {missing[:4]} …")
    model.set_active_adapters(name)
    model.active_head = name
    return model.eval()


def python_logits(model, tokenizer, pairs, max_length, batched):
    with torch.no_grad():
        if batched:
            encoded = tokenizer([p[0] for p in pairs], [p[1] for p in pairs], truncation=True, max_length=max_length,
                                padding=True, return_tensors="pt")
            return model(**encoded).logits.float()
        rows = []
        for premise, hypothesis in pairs:
            encoded = tokenizer(premise, hypothesis, truncation=True, max_length=max_length, return_tensors="pt")
            rows.append(model(**encoded).logits.float()[0])
        return torch.stack(rows)


def relative(a, b):
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-6))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="tiny,minilm")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--inputs", type=int, default=8)
    parser.add_argument("--out", default=os.path.join(ROOT, "var", "export-check"))
    options = parser.parse_args()
    from transformers import BertTokenizer

    models = {"tiny": os.path.join(options.out, "tiny-model"), "minilm": MINILM}
    make_tiny_model(models["tiny"])
    pairs = dev_pairs(options.inputs)
    table = []
    failed = False
    for model_name in options.models.split(","):
        base_dir = models[model_name]
        tokenizer = BertTokenizer(os.path.join(base_dir, "vocab.txt"), do_lower_case=True)
        for method in options.methods.split(","):
            run_dir = os.path.join(options.out, f"{model_name}-{method}")
            checkpoint = os.path.join(run_dir, "best.safetensors")
            if not os.path.exists(checkpoint):
                run([BINARY, "train", "--task", "rte", "--k", "16", "--seed", "1", "--method", method,
                                    "--model", base_dir, "--out", run_dir, "--set", "epochs=2", "--set", "learning_rate=0.005",
                                    "--threads", "2",
                                    "--quiet"])
            reference = unipelt_logits(checkpoint, base_dir, pairs)
            for format_ in FORMATS:
                folder = os.path.join(run_dir, "export-" + format_)
                shutil.rmtree(folder, ignore_errors=True)
                code, _, err = run([BINARY, "export", "--checkpoint", checkpoint, "--model", base_dir,
                                    "--format", format_, "--out", folder])
                if code != 0:
                    table.append((model_name, method, format_, None, None, err.strip().splitlines()[-1]))
                    continue
                model = load(format_, folder, base_dir, reference.shape[1])
                single = relative(python_logits(model, tokenizer, pairs, 128, batched=False), reference)
                batch = relative(python_logits(model, tokenizer, pairs, 128, batched=True), reference)
                notes = json.load(open(os.path.join(folder, "unipelt_export.json")))["differences"]
                failed |= single > 1e-4
                table.append((model_name, method, format_, single, batch, "; ".join(notes)[:60]))
                print(f"{model_name:7} {method:19} {format_:9} one-by-one {single:.2e}  batched {batch:.2e}",
                      file=sys.stderr)

    print("| model | method | format | max rel. diff (one at a time) | max rel. diff (padded batch) | note |")
    print("| --- | --- | --- | --- | --- | --- |")
    for model_name, method, format_, single, batch, note in table:
        cells = ["refused", "", note] if single is None else [f"{single:.1e}", f"{batch:.1e}", note]
        print(f"| {model_name} | {method} | {format_} | " + " | ".join(cells) + " |")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
