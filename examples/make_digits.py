#!/usr/bin/env python3
"""Write the digits example (scikit-learn's load_digits, bundled with sklearn, no download).

    .venv/bin/python examples/make_digits.py

Outputs, next to this script:
  digits.csv        id,label,p0..p63   (50 labelled rows, 5 per class; the rest have an empty label)
  digits.jsonl      {"id", "label": int | null, "vector": [64 numbers]} per line, same rows
  digits-truth.csv  id,label           the true label of every row

The labelled rows: walk numpy RandomState(0).permutation(n) and keep the first 5 rows of each class.
Pixel values are integers 0..16 and are written as such.
"""

import json
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

PER_CLASS = 5
HERE = Path(__file__).resolve().parent


def main() -> None:
    digits = load_digits()
    X = digits.data.astype(np.int64)  # values are whole numbers 0..16
    assert np.array_equal(X, digits.data)
    y = digits.target
    n = X.shape[0]
    ids = [f"d{i:04d}" for i in range(n)]

    perm = np.random.RandomState(0).permutation(n)
    keep = np.zeros(n, dtype=bool)
    for c in np.unique(y):
        keep[perm[y[perm] == c][:PER_CLASS]] = True
    assert keep.sum() == PER_CLASS * len(np.unique(y))

    header = "id,label," + ",".join(f"p{j}" for j in range(X.shape[1]))
    with open(HERE / "digits.csv", "w", encoding="utf-8", newline="\n") as f:
        f.write(header + "\n")
        for i in range(n):
            label = str(int(y[i])) if keep[i] else ""
            f.write(f"{ids[i]},{label}," + ",".join(str(int(v)) for v in X[i]) + "\n")
    with open(HERE / "digits.jsonl", "w", encoding="utf-8", newline="\n") as f:
        for i in range(n):
            row = {"id": ids[i], "label": int(y[i]) if keep[i] else None, "vector": [int(v) for v in X[i]]}
            f.write(json.dumps(row, separators=(",", ":")) + "\n")
    with open(HERE / "digits-truth.csv", "w", encoding="utf-8", newline="\n") as f:
        f.write("id,label\n")
        for i in range(n):
            f.write(f"{ids[i]},{int(y[i])}\n")
    print(f"wrote digits.csv / digits.jsonl / digits-truth.csv: {n} rows, {int(keep.sum())} labelled")


if __name__ == "__main__":
    main()
