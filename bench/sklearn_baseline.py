#!/usr/bin/env python3
"""scikit-learn side of the pseudolabel benchmark: fit one model, print one JSON line.

    python bench/sklearn_baseline.py --input data.csv --truth truth.csv \\
        --model label-spreading --neighbors 10 [--alpha 0.2] [--max-iter 30] [--tol 1e-3]

--input: CSV with columns id,label,<features...>. An empty label, -1 or NaN means unlabelled, and
  every column other than id and label is a feature.
--truth: CSV with id,label for (at least) every unlabelled row. Accuracy is measured on the rows
  that are unlabelled in --input and have a truth label.
--model: label-spreading     LabelSpreading(kernel='knn', n_neighbors, alpha, max_iter, tol)
         label-propagation   LabelPropagation(kernel='knn', n_neighbors, max_iter, tol)
         self-training       SelfTrainingClassifier(LogisticRegression(), threshold, max_iter)
Only the .fit(X, y) call is timed (time.perf_counter). BLAS threads follow the environment
(OPENBLAS_NUM_THREADS, OMP_NUM_THREADS) as they are; --n-jobs goes to the kNN search (default None = 1).

Output (stdout, one line): {"model", "fit_seconds", "accuracy", "n", "d", "n_labelled", "n_classes",
"n_scored", "n_iter", "converged", "sklearn", "peak_rss_mb" (whole process, includes the data and
imports), "peak_rss_mb_before_data" (imports only), "params"}; self-training adds
"termination_condition", "n_pseudo_labelled", "base_convergence_warnings" and has "converged": null.
"threads" records the BLAS/OpenMP thread pools actually used (threadpoolctl) and the env vars.
Warnings go to stderr, one line each. On a shared machine, oversubscribed BLAS threads can slow the
self-training fit by an order of magnitude: set OPENBLAS_NUM_THREADS explicitly when comparing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import warnings

import numpy as np
import pandas as pd
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.semi_supervised import LabelPropagation, LabelSpreading, SelfTrainingClassifier
from threadpoolctl import threadpool_info

MODELS = ("label-spreading", "label-propagation", "self-training")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="scikit-learn baseline for the pseudolabel benchmark")
    p.add_argument("--input", required=True)
    p.add_argument("--truth", required=True)
    p.add_argument("--model", choices=MODELS, default="label-spreading")
    p.add_argument("--neighbors", type=int, default=None, help="knn neighbours (default 7, sklearn's)")
    p.add_argument("--alpha", type=float, default=0.2)
    p.add_argument("--max-iter", type=int, default=None, help="default: sklearn's (LS 30, LP 1000, ST 10)")
    p.add_argument("--tol", type=float, default=1e-3)
    p.add_argument("--threshold", type=float, default=0.75, help="self-training only")
    p.add_argument("--label-column", default="label")
    p.add_argument("--id-column", default="id")
    p.add_argument("--n-jobs", type=int, default=None)
    return p.parse_args(argv)


def read_labels(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Labels as strings ('' = unlabelled) -> (mask of labelled rows, label strings)."""
    s = series.astype("string").fillna("").str.strip()
    # "3.0" from a float column -> "3"
    s = s.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    labelled = (s != "") & (s != "-1")
    return labelled.to_numpy(dtype=bool), s.to_numpy(dtype=object)


def peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(r / (1024 * 1024) if sys.platform == "darwin" else r / 1024, 1)


def main(argv=None) -> int:
    args = parse_args(argv)
    rss_at_start = peak_rss_mb()
    df = pd.read_csv(args.input, dtype={args.label_column: "string", args.id_column: "string"}, keep_default_na=True)
    if args.label_column not in df.columns:
        print(f"error: {args.input} has no '{args.label_column}' column", file=sys.stderr)
        return 2
    feature_cols = [c for c in df.columns if c not in (args.label_column, args.id_column)]
    X = df[feature_cols].to_numpy(dtype=np.float64)
    labelled, label_str = read_labels(df[args.label_column])

    classes = sorted(set(label_str[labelled]))
    code = {c: i for i, c in enumerate(classes)}
    y = np.full(len(df), -1, dtype=np.int64)
    y[labelled] = [code[c] for c in label_str[labelled]]

    if args.model == "label-spreading":
        est = LabelSpreading(
            kernel="knn",
            n_neighbors=args.neighbors or 7,
            alpha=args.alpha,
            max_iter=args.max_iter or 30,
            tol=args.tol,
            n_jobs=args.n_jobs,
        )
        params = est.get_params()
    elif args.model == "label-propagation":
        est = LabelPropagation(
            kernel="knn", n_neighbors=args.neighbors or 7, max_iter=args.max_iter or 1000, tol=args.tol, n_jobs=args.n_jobs
        )
        params = est.get_params()
    else:
        est = SelfTrainingClassifier(LogisticRegression(), threshold=args.threshold, max_iter=args.max_iter or 10)
        params = {"threshold": args.threshold, "max_iter": args.max_iter or 10, "base": "LogisticRegression()"}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        est.fit(X, y)
        fit_seconds = time.perf_counter() - t0
    seen: dict[str, int] = {}
    for w in caught:
        first_line = f"{w.category.__name__}: {str(w.message).splitlines()[0]}"
        seen[first_line] = seen.get(first_line, 0) + 1
    for text, count in seen.items():
        print(f"warning: {text}" + (f" (x{count})" if count > 1 else ""), file=sys.stderr)
    n_convergence_warnings = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    # For self-training, ConvergenceWarnings come from the base model's solver, not from the
    # self-training loop; report them separately and leave "converged" null.
    converged = None if args.model == "self-training" else n_convergence_warnings == 0

    transduction = est.transduction_
    if args.model == "self-training":
        # Rows never pseudo-labelled keep -1 in transduction_; score the final model's prediction there.
        pred_codes = np.where(transduction == -1, est.predict(X), transduction)
    else:
        pred_codes = transduction
    pred = np.array([classes[c] for c in pred_codes], dtype=object)

    truth = pd.read_csv(args.truth, dtype={args.label_column: "string", args.id_column: "string"})
    _, truth_str = read_labels(truth[args.label_column])
    truth_map = dict(zip(truth[args.id_column].astype("string"), truth_str))
    if args.id_column in df.columns:
        ids = df[args.id_column].astype("string").to_numpy(dtype=object)
    else:
        ids = np.array([str(i) for i in range(len(df))], dtype=object)
    unl = np.nonzero(~labelled)[0]
    scored = [(pred[i], truth_map[ids[i]]) for i in unl if truth_map.get(ids[i], "") != ""]
    accuracy = float(np.mean([p == t for p, t in scored])) if scored else None

    out = {
        "model": args.model,
        "fit_seconds": round(fit_seconds, 6),
        "accuracy": accuracy,
        "n": int(X.shape[0]),
        "d": int(X.shape[1]),
        "n_labelled": int(labelled.sum()),
        "n_scored": len(scored),
        "n_classes": len(classes),
        "n_iter": int(est.n_iter_),
        "converged": converged,
        "sklearn": sklearn.__version__,
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_mb_before_data": rss_at_start,
        "threads": {
            "env": {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ},
            "pools": [{"api": i.get("internal_api"), "num_threads": i.get("num_threads")} for i in threadpool_info()],
            "cpu_count": os.cpu_count(),
        },
        "params": {k: v for k, v in params.items() if isinstance(v, (int, float, str, bool, type(None)))},
    }
    if args.model == "self-training":
        out["termination_condition"] = est.termination_condition_
        out["n_pseudo_labelled"] = int(((est.transduction_ != -1) & ~labelled).sum())
        out["base_convergence_warnings"] = n_convergence_warnings
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
