#!/usr/bin/env python3
"""Recall@k of a dataset version's kNN lists against exact lists, on a sample of old and new rows.

    python bench/incremental_recall.py --data <folder of part-*.csv> --index <versions/<n>/index> \\
        [--old 1000000] [--sample-old 2000] [--sample-new 1000] [--seed 7]

The incremental suite (`npm run bench -- --suite incremental --keep-data`) leaves the data set's files
(part-1.csv ...: rows numbered in file order, as the runs number them) and the state whose versions keep each
shard's lists (index/shards/<s>/neighbors.bin, global row indices). Rows below --old are the base version's,
the rest were added. Exact lists: every sampled row against all rows, in float64 (ties by index do not matter
for the counts). Prints one JSON line: recall of the old rows, of the new rows, and of all rows weighted by
their counts. Needs numpy and pandas.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import struct

import numpy as np
import pandas as pd

KINDS = [np.int32, np.float64, np.float32, np.uint8]


def unpack(data: bytes) -> list[np.ndarray]:
    """The arrays of lib/pipeline/binaryArrays.ts packArrays."""
    count = struct.unpack_from("<I", data, 0)[0]
    offset, out = 8, []
    for _ in range(count):
        kind = KINDS[struct.unpack_from("<I", data, offset)[0]]
        length = int(struct.unpack_from("<d", data, offset + 8)[0])
        offset += 16
        out.append(np.frombuffer(data, kind, length, offset))
        offset += (length * np.dtype(kind).itemsize + 7) // 8 * 8
    return out


def exact_lists(X: np.ndarray, rows: np.ndarray, k: int, block: int = 100_000) -> np.ndarray:
    Q = X[rows].astype(np.float64)
    qn = (Q * Q).sum(1)
    best_d = np.full((len(rows), k), np.inf)
    best_i = np.zeros((len(rows), k), np.int64)
    for start in range(0, X.shape[0], block):
        B = X[start : start + block].astype(np.float64)
        d = qn[:, None] + (B * B).sum(1)[None, :] - 2 * Q @ B.T
        idx = np.argpartition(d, k, axis=1)[:, :k]
        all_d = np.concatenate([best_d, np.take_along_axis(d, idx, 1)], 1)
        all_i = np.concatenate([best_i, idx + start], 1)
        order = np.argsort(all_d, 1, kind="stable")[:, :k]
        best_d, best_i = np.take_along_axis(all_d, order, 1), np.take_along_axis(all_i, order, 1)
    return best_i


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--old", type=int, default=1_000_000)
    parser.add_argument("--sample-old", type=int, default=2000)
    parser.add_argument("--sample-new", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    files = sorted(glob.glob(os.path.join(args.data, "part-*.csv")), key=lambda f: int(f.split("-")[-1][:-4]))
    X = np.concatenate(
        [pd.read_csv(f, dtype={"id": str, "label": str}).iloc[:, 2:].to_numpy(np.float32) for f in files]
    )
    n = X.shape[0]
    index = json.load(open(os.path.join(args.index, "index.json")))
    k = index["lists"]["k"]
    lists = np.full((n, k), -1, np.int64)
    for s, shard in enumerate(index["rows"]):
        if shard["rows"] == 0:
            continue
        with open(os.path.join(args.index, "shards", f"{s:05d}", "neighbors.bin"), "rb") as f:
            indices = unpack(f.read())[0].reshape(-1, k)
        lists[shard["offset"] : shard["offset"] + shard["rows"]] = indices
    rng = np.random.default_rng(args.seed)
    old = rng.choice(args.old, args.sample_old, replace=False)
    new = args.old + rng.choice(n - args.old, args.sample_new, replace=False)
    rows = np.concatenate([old, new])
    exact = exact_lists(X, rows, k)
    recall = np.array([len(set(lists[r]) & set(exact[i])) / k for i, r in enumerate(rows)])
    old_recall, new_recall = recall[: len(old)].mean(), recall[len(old) :].mean()
    weighted = (old_recall * args.old + new_recall * (n - args.old)) / n
    print(json.dumps({"k": k, "oldRows": round(old_recall, 4), "newRows": round(new_recall, 4), "all": round(weighted, 4)}))


if __name__ == "__main__":
    main()
