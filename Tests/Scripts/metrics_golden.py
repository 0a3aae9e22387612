#!/usr/bin/env python3
"""Writes Tests/TextTests/Golden/metrics_golden.json: expected GLUE metric values from scikit-learn and SciPy
(run by developers; CI only reads the output).

Classification cases carry accuracy_score, f1_score (binary, pos_label=1, default zero_division) and
matthews_corrcoef; regression cases carry pearsonr and spearmanr. Inputs are seeded random draws plus edge
cases: ties, a single class, constant predictions, perfect and inverted predictions. Where SciPy returns NaN
(constant input) the value is written as null; the Swift policy maps it to 0 (see Sources/Text/Metrics.swift).

usage: python3 Tests/Scripts/metrics_golden.py
"""
import json
import math
import pathlib
import warnings

import numpy as np
import scipy
import sklearn
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "TextTests" / "Golden" / "metrics_golden.json"


def number(value):
    value = float(value)
    return None if math.isnan(value) else value


def classification(name, predictions, labels):
    predictions, labels = [int(x) for x in predictions], [int(x) for x in labels]
    binary = set(predictions) <= {0, 1} and set(labels) <= {0, 1}
    return {
        "name": name, "predictions": predictions, "labels": labels,
        "accuracy": number(accuracy_score(labels, predictions)),
        # f1_score(average="binary") rejects more than two classes; F1 is only used for MRPC and QQP.
        "f1": number(f1_score(labels, predictions, pos_label=1)) if binary else None,
        "matthews_correlation": number(matthews_corrcoef(labels, predictions)),
    }


def regression(name, predictions, labels):
    predictions, labels = [float(x) for x in predictions], [float(x) for x in labels]
    return {
        "name": name, "predictions": predictions, "labels": labels,
        "pearson": number(pearsonr(predictions, labels)[0]),
        "spearmanr": number(spearmanr(predictions, labels)[0]),
    }


def main():
    warnings.simplefilter("ignore")  # sklearn/scipy warn on exactly the edge cases we want recorded
    rng = np.random.default_rng(20260401)
    cls = []
    for n in (7, 50, 408, 1000):
        labels = rng.integers(0, 2, n)
        noisy = np.where(rng.random(n) < 0.3, 1 - labels, labels)
        cls.append(classification(f"binary-random-{n}", noisy, labels))
        cls.append(classification(f"binary-coinflip-{n}", rng.integers(0, 2, n), labels))
    for n in (30, 1000):
        labels = rng.integers(0, 3, n)
        cls.append(classification(f"3class-random-{n}", np.where(rng.random(n) < 0.4, rng.integers(0, 3, n), labels), labels))
    skewed = (rng.random(200) < 0.1).astype(int)
    cls.append(classification("binary-skewed-200", np.where(rng.random(200) < 0.05, 1 - skewed, skewed), skewed))
    cls += [
        classification("perfect", [0, 1, 1, 0, 1], [0, 1, 1, 0, 1]),
        classification("inverted", [1, 0, 0, 1, 0], [0, 1, 1, 0, 1]),
        classification("constant-prediction-1", [1] * 6, [0, 1, 0, 1, 1, 0]),
        classification("constant-prediction-0", [0] * 6, [0, 1, 0, 1, 1, 0]),
        classification("labels-all-1", [1, 0, 1, 1, 0], [1] * 5),
        classification("labels-all-0", [1, 0, 1, 1, 0], [0] * 5),
        classification("all-0-both", [0] * 4, [0] * 4),
        classification("all-1-both", [1] * 4, [1] * 4),
        classification("single-example", [1], [0]),
        classification("3class-constant-prediction", [2] * 6, [0, 1, 2, 0, 1, 2]),
    ]

    reg = []
    for n in (5, 100, 1500):
        labels = rng.uniform(0, 5, n)
        reg.append(regression(f"random-{n}", labels + rng.normal(0, 1, n), labels))
    labels = np.round(rng.uniform(0, 5, 300) * 5) / 5  # STS-B-like scores with many ties
    reg.append(regression("ties-300", np.round(labels + rng.normal(0, 1, 300)), labels))
    reg.append(regression("integer-ties-50", rng.integers(0, 6, 50), rng.integers(0, 6, 50)))
    reg += [
        regression("perfect-monotone-nonlinear", [1, 2, 3, 4, 10], [0.1, 0.2, 0.3, 0.4, 0.5]),
        regression("inverted", [5, 4, 3, 2, 1], [1, 2, 3, 4, 5]),
        regression("two-points", [0.5, 4.5], [1.0, 2.0]),
        regression("all-tied-but-one", [1, 1, 1, 1, 2], [3, 1, 4, 1, 5]),
        regression("constant-prediction", [2.5] * 5, [0, 1, 2, 3, 4]),
        regression("constant-labels", [0, 1, 2, 3, 4], [2.5] * 5),
        regression("large-offset", [1e6 + x for x in (0.1, 0.4, 0.2, 0.9)], [1.0, 3.0, 2.0, 5.0]),
    ]

    with OUT.open("w") as f:
        f.write('{"reference": "scikit-learn %s, scipy %s",\n' % (sklearn.__version__, scipy.__version__))
        f.write(' "classification": [\n' + ",\n".join("  " + json.dumps(c) for c in cls) + "\n ],\n")
        f.write(' "regression": [\n' + ",\n".join("  " + json.dumps(r) for r in reg) + "\n ]}\n")
    print(f"wrote {len(cls)} classification and {len(reg)} regression cases to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
