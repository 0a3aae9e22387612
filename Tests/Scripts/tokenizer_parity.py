#!/usr/bin/env python3
"""Exact-match rate of the Swift tokenizer against HF's BertTokenizer on every dev row of the 8 GLUE tasks.

For each task's GLUE dev file (MNLI: dev_matched, plus dev_mismatched as an extra line) every row with the
header's field count is encoded as [CLS] a [SEP] (b [SEP]) by
  - HF's Python BertTokenizer (transformers 5: BertTokenizerLegacy, lower-case) -- the reference, and
  - `unipelt tokenize` (the Swift tokenizer), fed JSON lines on stdin,
once untruncated and once truncated longest-first to 128 tokens (the training length). A row matches when its
ids are identical. The Rust-backed HF BertTokenizer is shown for information only.

usage: python3 Tests/Scripts/tokenizer_parity.py [--glue ../shared/glue] [--binary .build/debug/unipelt]
(without --binary it runs `swift build --product unipelt` first)
"""
import argparse
import json
import pathlib
import subprocess
import sys
import time

from transformers import BertTokenizer
from transformers.models.bert.tokenization_bert import load_vocab
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy
from transformers.utils import logging as hf_logging

ROOT = pathlib.Path(__file__).resolve().parents[2]
VOCAB = ROOT / "Tests" / "TextTests" / "Golden" / "vocab.txt"
MAX_LENGTH = 128

# name: (directory, dev file, text columns by header name; CoLA is headerless with the sentence in field 3)
DEV_FILES = [
    ("sst2", "SST-2", "dev.tsv", ["sentence"]),
    ("mrpc", "MRPC", "dev.tsv", ["#1 String", "#2 String"]),
    ("cola", "CoLA", "dev.tsv", [3]),
    ("rte", "RTE", "dev.tsv", ["sentence1", "sentence2"]),
    ("qnli", "QNLI", "dev.tsv", ["question", "sentence"]),
    ("stsb", "STS-B", "dev.tsv", ["sentence1", "sentence2"]),
    ("mnli", "MNLI", "dev_matched.tsv", ["sentence1", "sentence2"]),
    ("qqp", "QQP", "dev.tsv", ["question1", "question2"]),
]
EXTRA_FILES = [("mnli-mm", "MNLI", "dev_mismatched.tsv", ["sentence1", "sentence2"])]


def rows(path, columns):
    """Text fields of every row with the right field count: raw tab split, no quoting, BOM dropped."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.decode("utf-8").split("\n")
    if lines[-1] == "":
        lines.pop()
    if isinstance(columns[0], int):
        width, indices, body = 4, columns, lines
    else:
        header = lines[0].split("\t")
        width, indices, body = len(header), [header.index(c) for c in columns], lines[1:]
    return [[f[i] for i in indices] for f in (line.split("\t") for line in body) if len(f) == width]


def swift_ids(binary, texts, max_length):
    command = [str(binary), "tokenize", "--vocab", str(VOCAB)]
    if max_length:
        command += ["--max-length", str(max_length)]
    stdin = "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in texts)
    result = subprocess.run(command, input=stdin.encode("utf-8"), capture_output=True, check=True)
    lines = result.stdout.decode("utf-8").split("\n")[:-1]
    assert len(lines) == len(texts), f"unipelt tokenize returned {len(lines)} lines for {len(texts)} inputs"
    return [[int(x) for x in line.split()] for line in lines]


def hf_ids(tokenizer, texts, max_length):
    kwargs = {"truncation": True, "max_length": max_length} if max_length else {}
    return [tokenizer(*t, **kwargs)["input_ids"] for t in texts]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--glue", default=str(ROOT.parent / "shared" / "glue"))
    parser.add_argument("--binary", help="a built unipelt executable (default: build the debug one)")
    args = parser.parse_args()
    glue = pathlib.Path(args.glue)
    if not glue.is_dir():
        sys.exit(f"tokenizer_parity.py: no GLUE data at {glue}")
    binary = pathlib.Path(args.binary) if args.binary else None
    if binary is None:
        subprocess.run(["swift", "build", "--product", "unipelt"], cwd=ROOT, check=True)
        binary = ROOT / ".build" / "debug" / "unipelt"

    hf_logging.set_verbosity_error()
    slow = BertTokenizerLegacy(vocab_file=str(VOCAB), do_lower_case=True)
    fast = BertTokenizer(vocab=dict(load_vocab(str(VOCAB))), do_lower_case=True)

    header = f"{'task':8} {'rows':>6} {'full':>13} {'max128':>13} {'rust-full':>10} {'rust-128':>9} {'swift s':>8}"
    print(header)
    totals = [0, 0, 0, 0, 0]
    shown = 0
    for name, directory, file_name, columns in DEV_FILES + EXTRA_FILES:
        texts = rows(glue / directory / file_name, columns)
        counts = []
        swift_seconds = 0.0
        for max_length in (None, MAX_LENGTH):
            reference = hf_ids(slow, texts, max_length)
            started = time.monotonic()
            ours = swift_ids(binary, texts, max_length)
            swift_seconds += time.monotonic() - started
            rust = hf_ids(fast, texts, max_length)
            counts.append(sum(a == b for a, b in zip(ours, reference)))
            counts.append(sum(a == b for a, b in zip(rust, reference)))
            for text, a, b in zip(texts, ours, reference):
                if a != b and shown < 10:
                    shown += 1
                    print(f"  mismatch {name} max_length={max_length}: {text!r}\n    swift {a}\n    hf    {b}")
        full, rust_full, trunc, rust_trunc = counts
        n = len(texts)
        print(f"{name:8} {n:6} {full:6} {100 * full / n:5.1f}% {trunc:6} {100 * trunc / n:5.1f}% "
              f"{rust_full:10} {rust_trunc:9} {swift_seconds:8.2f}")
        if name != "mnli-mm":
            for i, value in enumerate((n, full, trunc, rust_full, rust_trunc)):
                totals[i] += value
    n, full, trunc, rust_full, rust_trunc = totals
    print(f"{'8 tasks':8} {n:6} {full:6} {100 * full / n:5.1f}% {trunc:6} {100 * trunc / n:5.1f}% "
          f"{rust_full:10} {rust_trunc:9}")
    return 0 if full == n and trunc == n else 1


if __name__ == "__main__":
    sys.exit(main())
