#!/usr/bin/env python3
"""Writes the Text module's golden files (run by developers; CI only reads the output).

  Tests/TextTests/Golden/tokenizer_golden.json
      HF BertTokenizer ids and token-type ids for sentences sampled from every GLUE task plus hand-picked hard
      cases (accents, CJK, emoji, control and zero-width characters, words over 100 characters, empty and
      whitespace-only text, literal special tokens, pairs that need truncation).
  Tests/TextTests/Golden/glue/<TASK>/{train,dev}.tsv  (MNLI: dev_matched.tsv)
      A small GLUE-layout fixture: header plus a few dozen rows sampled verbatim from each real file.
  Tests/TextTests/Golden/split_golden.json
      SplitMix64 outputs and Fisher-Yates permutations from an independent Python implementation, so the
      K-shot shuffle is pinned across platforms and languages.
  Tests/TextTests/Golden/final_sigma_golden.json
      How CPython's str.lower() (which HF's lower-casing is) sees every assigned code point next to a capital
      sigma: case-ignorable (skipped when looking for the cased letters around it) or cased. A sigma with a cased
      letter before it and none after it becomes the final form U+03C2 (Unicode's Final_Sigma context).

The reference is the Python ("slow") BertTokenizer, which transformers 5 ships as BertTokenizerLegacy
(do_lower_case=True, tokenize_chinese_chars=True, strip_accents=None); the Rust-backed BertTokenizer is also
run, and where it disagrees the case is printed (informational: the Swift port follows the Python one).

usage: python3 Tests/Scripts/text_golden.py [--glue ../shared/glue]
"""
import argparse
import hashlib
import json
import pathlib
import random
import sys
import unicodedata

from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy
from transformers import BertTokenizer
import transformers
from transformers.utils import logging as hf_logging

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from splitmix64 import MASK64, SplitMix64  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "Tests" / "TextTests" / "Golden"
VOCAB = GOLDEN / "vocab.txt"

# (directory, train file, validation file, text columns, header?) -- CoLA is headerless, sentence in field 3.
TASKS = {
    "sst2": ("SST-2", "dev.tsv", ["sentence"]),
    "mrpc": ("MRPC", "dev.tsv", ["#1 String", "#2 String"]),
    "cola": ("CoLA", "dev.tsv", [3]),
    "rte": ("RTE", "dev.tsv", ["sentence1", "sentence2"]),
    "qnli": ("QNLI", "dev.tsv", ["question", "sentence"]),
    "stsb": ("STS-B", "dev.tsv", ["sentence1", "sentence2"]),
    "mnli": ("MNLI", "dev_matched.tsv", ["sentence1", "sentence2"]),
    "qqp": ("QQP", "dev.tsv", ["question1", "question2"]),
}


def read_lines(path):
    """Raw lines without their newline, a leading BOM dropped (as the Swift reader does)."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line.decode("utf-8") for line in lines]


def text_rows(path, columns):
    """The text fields of every well-formed row: tab-split, no quoting."""
    lines = read_lines(path)
    if isinstance(columns[0], int):
        header, body, width = None, lines, 4
        indices = columns
    else:
        header, body = lines[0].split("\t"), lines[1:]
        width = len(header)
        indices = [header.index(c) for c in columns]
    rows = []
    for line in body:
        fields = line.split("\t")
        if len(fields) == width:
            rows.append([fields[i] for i in indices])
    return rows


HARD_SINGLE = [
    "", " ", "   ", "\t\n\r ", "\u3000", "\u00a0\u2028\u2029", "\n\n\n",
    "Café naïve résumé Ångström Zürich façade",
    "Crème brûlée à la mode, señor!",
    "e\u0301 vs \u00e9 and A\u030a vs \u00c5",
    "İstanbul İİ iİ",
    "ΟΔΟΣ ΣΟΦΟΣ Σ σ ς ΑΣ. ΑΣα ΣΑ Α'Σ",
    "Άλφα ΈΨΙΛΟΝ ώρα",
    "Straße ẞ ß ı I ǅ Ǆ ǆ",
    "我爱北京天安门", "日本語のテキストです。", "한국어 텍스트", "中文mixed英文text",
    "\uf900\ufa0e compatibility ideographs", "\U00020000\U0002a700 extension B/C",
    "I \u2764\ufe0f NLP \U0001f600\U0001f44d\U0001f3fd \U0001f1fa\U0001f1f8 \U0001f468\u200d\U0001f469\u200d\U0001f467",
    "a\x00b\x01c\x7fd\x85e\ufffdf\x0bg\x0ch",
    "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom\u2060wj",
    "soft\u00adhyphen and\u200e marks\u200f",
    "private \ue000 use \U000f0000 area",
    "a" * 100, "a" * 101, "pneumonoultramicroscopicsilicovolcanoconiosis" * 3,
    ("x" * 250) + " short", "\u00e9" * 60, "e\u0301" * 60, "e\u0301" * 101,
    "Hello,world!!! (test) [brackets] {curly} $100 ^caret `tick` ~tilde |pipe \\back",
    "¿Qué? ¡Hola! «quotes» „German“ ‘single’ … – — • · ※ ‰",
    "don't can't it's o'clock rock'n'roll",
    "https://example.com/a?b=c&d=e#frag user@example.org",
    "[CLS] [SEP] [MASK] [PAD] [UNK]", "[cls] [Sep] [mask]", "a[SEP]b[CLS]c", "[[MASK]]", "[UN\u200bK] [SE\x00P]",
    "[SEP", "SEP]", "x[MASK", "[MAS\u212a]",
    "3.14159 1,000,000 2nd 1990s 10:30pm",
    "Привет мир! Ёлка", "مرحبا بالعالم", "שָׁלוֹם", "नमस्ते दुनिया", "ภาษาไทย", "Tiếng Việt có dấu",
    "ொ ௌ கொ",
    "\u212a\u212b\u2126 kelvin angstrom ohm", "ﬁne ﬂow", "ＡＢＣ１２３ｱｲｳ", "x² + y² = z² ½ ¼ ℌ𝔢𝔩𝔩𝔬",
    "\u0301", "\u0301abc", "abc\u0301\u0302\u0303",
    "tab\tseparated\twords and\nnew\nlines\r\nwindows",
    "ALL CAPS SENTENCE WITH UNKNOWNWORDSXYZQ",
    "Σ", "ΑΣ", "Σ.", "ΑΣ.Β",
    " ".join(["the quick brown fox jumps over the lazy dog"] * 40),
    "new in Unicode 15/16: \U0001fa77 \U0001fae8 \U0001faea \u0c5d \U0001e030 end",
]

# Ranges random text is drawn from: mostly ASCII, then scripts, marks, spaces, controls, emoji, CJK, and any
# code point at all (surrogates excepted: they cannot be written as UTF-8).
FUZZ_RANGES = [
    (0x20, 0x7E, 40), (0x00, 0x1F, 3), (0x7F, 0x9F, 2), (0xA0, 0x24F, 8), (0x300, 0x36F, 4), (0x370, 0x3FF, 4),
    (0x400, 0x4FF, 3), (0x900, 0x97F, 2), (0xB80, 0xBFF, 2), (0xE00, 0xE7F, 2), (0x1100, 0x11FF, 1),
    (0x2000, 0x206F, 4), (0x3000, 0x303F, 2), (0x3040, 0x30FF, 2), (0x4E00, 0x9FFF, 3), (0xAC00, 0xD7A3, 2),
    (0xE000, 0xF8FF, 1), (0xF900, 0xFAFF, 1), (0xFE00, 0xFE0F, 1), (0xFF00, 0xFFEF, 2), (0xFFF0, 0xFFFF, 1),
    (0x1F300, 0x1FAFF, 4), (0x20000, 0x2FA1F, 1), (0x0, 0x10FFFF, 4),
]


def fuzz_text(rng, length):
    chars = []
    for _ in range(length):
        low, high, _ = rng.choices(FUZZ_RANGES, weights=[w for _, _, w in FUZZ_RANGES])[0]
        cp = rng.randint(low, high)
        while 0xD800 <= cp <= 0xDFFF:
            cp = rng.randint(0, 0x10FFFF)
        chars.append(chr(cp))
        if rng.random() < 0.02:
            chars.append(rng.choice(["[SEP]", "[CLS]", "[MASK]", "[UNK]", "[PAD]", "ΑΣ", "İ"]))
    return "".join(chars)

# Capital sigma next to letters, marks, digits, apostrophes, colons and removed format characters: the final
# form only ends a cased word, where "word" follows Unicode's Case_Ignorable and Cased properties.
SIGMA_CASES = [
    "ΟΔΥΣΣΕΥΣ ΣΑΣ ΣΑΣ. ΣΣ ΑΣΣ", "ΑΣ\u0301 Α\u0301Σ ΆΣ ΑΣ\u0345", "ΑΣ' ΑΣ'Β 'Σ ΑΣ\u02bcΒ ΑΣ\u2019Β",
    "ΑΣ:Β ΑΣ·Β ΑΣ;Β ΑΣ-Β", "1Σ Σ1 Α1Σ ΑΣ1", "AΣ ΣA ＡΣ ªΣ ǅΣ ᾼΣ", "ΑΣ\u200dΒ ΑΣ\u00adΒ ΑΣ\u200bΒ",
    "ΑΣ中 中Σ ΑΣ😀", "(ΑΣ) «ΑΣ» ΑΣ!", "ΜΙΑ ΧΩΡΑ ΤΗΣ ΕΥΡΩΠΗΣ ΕΙΝΑΙ Η ΕΛΛΑΣ",
]


def sigma_context_classes():
    """Every assigned code point (Python's Unicode database) that str.lower() skips around a capital sigma
    (case-ignorable) or counts as a cased letter, each as sorted [first, last] ranges. Probed through lower()
    itself: before a final sigma "Α" c "Σ", after it "Α" "Σ" c, and alone c "Σ"."""
    ignorable, cased = [], []
    for cp in range(0x110000):
        c = chr(cp)
        if 0xD800 <= cp <= 0xDFFF or unicodedata.category(c) == "Cn":
            continue
        skipped_before = ("Α" + c + "Σ").lower()[-1] == "ς" and ("ΑΣ" + c).lower()[1] == "ς"
        if skipped_before:
            ignorable.append(cp)
        elif (c + "Σ").lower()[-1] == "ς":
            cased.append(cp)

    def ranges(points):
        out = []
        for cp in points:
            if out and out[-1][1] == cp - 1:
                out[-1][1] = cp
            else:
                out.append([cp, cp])
        return out
    return ranges(ignorable), ranges(cased)


def write_sigma_golden():
    ignorable, cased = sigma_context_classes()
    out = GOLDEN / "final_sigma_golden.json"
    with out.open("w", encoding="utf-8") as f:
        f.write('{"python": "%s", "unicode": "%s",\n' % (sys.version.split()[0], unicodedata.unidata_version))
        f.write(' "case_ignorable": %s,\n' % json.dumps(ignorable, separators=(",", ":")))
        f.write(' "cased": %s}\n' % json.dumps(cased, separators=(",", ":")))
    print(f"wrote {len(ignorable)} case-ignorable and {len(cased)} cased ranges to {out.relative_to(ROOT)}")


HARD_PAIRS = [
    ("", ""), ("a", ""), ("", "b"), (" ", "\t"),
    ("Short premise.", "A much longer hypothesis that goes on and on and on for many words."),
    ("One two three four five six seven eight nine ten.", "Eleven twelve thirteen fourteen fifteen."),
    ("A B C D E F G H", "I J K L M N O P"),
    ("Café au lait", "北京欢迎你"),
    ("[CLS] inside", "and [SEP] inside"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--glue", default=str(ROOT.parent / "shared" / "glue"))
    args = parser.parse_args()
    glue = pathlib.Path(args.glue)
    if not glue.is_dir():
        sys.exit(f"text_golden.py: no GLUE data at {glue}")

    slow = BertTokenizerLegacy(vocab_file=str(VOCAB), do_lower_case=True)
    fast = _fast_tokenizer()
    hf_logging.set_verbosity_error()  # one warning per truncated pair otherwise
    # One generator per purpose, so adding cases of one kind leaves the others' draws unchanged.
    fuzz_rng, glue_rng, fixture_rng = (random.Random(seed) for seed in (20260401, 20260402, 20260403))

    cases = []

    def add(name, text, pair=None, max_length=None):
        kwargs = {"return_token_type_ids": True}
        if max_length:
            kwargs.update(truncation=True, max_length=max_length)
        enc = slow(text, pair, **kwargs) if pair is not None else slow(text, **kwargs)
        case = {"name": name, "text": text, "pair": pair, "max_length": max_length,
                "ids": enc["input_ids"], "type_ids": enc["token_type_ids"]}
        fenc = fast(text, pair, **kwargs) if pair is not None else fast(text, **kwargs)
        if fenc["input_ids"] != enc["input_ids"]:
            print(f"  note: Rust BertTokenizer differs on {name!r}", file=sys.stderr)
        cases.append(case)

    for i, text in enumerate(HARD_SINGLE):
        add(f"hard-{i}", text)
        add(f"hard-{i}-truncated", text, max_length=2 + (i % 6))
    for i, (a, b) in enumerate(HARD_PAIRS):
        add(f"hard-pair-{i}", a, b)
        for max_length in (3, 4, 5, 8, 13):
            add(f"hard-pair-{i}-max{max_length}", a, b, max_length)

    for i, text in enumerate(SIGMA_CASES):
        add(f"sigma-{i}", text)

    for i in range(150):
        add(f"fuzz-{i}", fuzz_text(fuzz_rng, fuzz_rng.randint(1, 60)))
    for i in range(60):
        a, b = fuzz_text(fuzz_rng, fuzz_rng.randint(0, 40)), fuzz_text(fuzz_rng, fuzz_rng.randint(0, 40))
        add(f"fuzz-pair-{i}", a, b, fuzz_rng.choice([None, 5, 10, 20]))

    for task, (directory, dev_name, columns) in TASKS.items():
        for split in ("train.tsv", dev_name):
            rows = text_rows(glue / directory / split, columns)
            for index in sorted(glue_rng.sample(range(len(rows)), 18)):
                row = rows[index]
                name = f"{task}/{split}/{index}"
                pair = row[1] if len(row) == 2 else None
                add(name, row[0], pair)
                add(name + "-truncated", row[0], pair, glue_rng.choice([8, 12, 16, 24, 32]))

    out = GOLDEN / "tokenizer_golden.json"
    with out.open("w", encoding="utf-8") as f:
        f.write('{"reference": "transformers %s BertTokenizerLegacy, do_lower_case=True",\n' % transformers.__version__)
        f.write(' "vocab_sha256": "%s",\n' % hashlib.sha256(VOCAB.read_bytes()).hexdigest())
        f.write(' "cases": [\n')
        f.write(",\n".join("  " + json.dumps(c, ensure_ascii=False) for c in cases))
        f.write("\n]}\n")
    print(f"wrote {len(cases)} cases to {out.relative_to(ROOT)}")

    write_fixture(glue, fixture_rng)
    write_split_golden()
    write_sigma_golden()


def _fast_tokenizer():
    from transformers.models.bert.tokenization_bert import load_vocab
    return BertTokenizer(vocab=dict(load_vocab(str(VOCAB))), do_lower_case=True)


FIXTURE_FILES = {
    "SST-2": ["train.tsv", "dev.tsv"], "MRPC": ["train.tsv", "dev.tsv"], "CoLA": ["train.tsv", "dev.tsv"],
    "RTE": ["train.tsv", "dev.tsv"], "QNLI": ["train.tsv", "dev.tsv"], "STS-B": ["train.tsv", "dev.tsv"],
    "MNLI": ["train.tsv", "dev_matched.tsv"], "QQP": ["train.tsv", "dev.tsv"],
}


def write_fixture(glue, rng):
    """Header (when the file has one) plus rows sampled verbatim, kept in file order: 40 train, 20 dev."""
    total = 0
    for directory, names in FIXTURE_FILES.items():
        for name in names:
            raw = (glue / directory / name).read_bytes()
            lines = raw.split(b"\n")
            if lines[-1] == b"":
                lines.pop()
            header = [] if directory == "CoLA" else lines[:1]
            body = lines[len(header):]
            count = 40 if name == "train.tsv" else 20
            picked = [body[i] for i in sorted(rng.sample(range(len(body)), count))]
            target = GOLDEN / "glue" / directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"\n".join(header + picked) + b"\n")
            total += len(picked)
    print(f"wrote a {total}-row GLUE fixture to {(GOLDEN / 'glue').relative_to(ROOT)}")


def write_split_golden():
    generator = SplitMix64(1234567)
    stream = [generator.next() for _ in range(5)]
    shuffles = []
    for seed in (0, 1, 42, MASK64):
        for count in (1, 2, 10, 100):
            items = list(range(count))
            SplitMix64(seed).shuffle(items)
            shuffles.append({"seed": str(seed), "count": count, "permutation": items})
    out = GOLDEN / "split_golden.json"
    out.write_text(json.dumps({"splitmix64_seed_1234567": [str(x) for x in stream], "shuffles": shuffles}) + "\n")
    print(f"wrote {len(shuffles)} shuffles to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
