#!/usr/bin/env python3
"""scikit-learn side of `npm run bench -- quality`: the data sets, the label draws and the baselines.

    python bench/quality_sklearn.py --out quality.json [--draws 5]

For each of scikit-learn's bundled iris, wine, breast_cancer and digits (all rows, features rounded to float32 as
pseudolabel's shards hold them) and each label fraction (5 per class, 5%, 20% stratified, at least one per
class), `--draws` seeded draws of the given labels (RandomState(1000 * fraction index + draw)). Per draw, the
accuracy on the unlabelled rows of:
  lr_standard        LogisticRegression() on the standardised given labels alone (the supervised baseline)
  lr                 LogisticRegression() on the given labels alone, unscaled
  ls_knn             LabelSpreading(kernel='knn', n_neighbors=10), unscaled (what a default pseudolabel run does)
  ls_knn_standard    the same on StandardScaler().fit_transform(X)
  self_training_standard  SelfTrainingClassifier(LogisticRegression(), threshold=0.95, max_iter=10), standardised
  best_sklearn_ss    the best of LabelSpreading / LabelPropagation (knn, k 5/10/20, alpha 0.2/0.8, scaled or not)
                     and the self-training above, chosen with the truth: an oracle, the ceiling of the grid
Writes one JSON file: {datasets: [{name, X, y_true, draws: [{fraction, draw, y, sklearn: {...}}]}]}.
"""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelPropagation, LabelSpreading, SelfTrainingClassifier

DATASETS = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer, "digits": load_digits}
FRACTIONS = ["5 per class", 0.05, 0.2]


def draw_labels(y_true: np.ndarray, fraction, seed: int) -> np.ndarray:
    rng = np.random.RandomState(seed)
    y = np.full_like(y_true, -1)
    for c in np.unique(y_true):
        rows = np.nonzero(y_true == c)[0]
        take = 5 if fraction == "5 per class" else max(1, int(round(fraction * len(rows))))
        y[rng.choice(rows, min(take, len(rows)), replace=False)] = c
    return y


def accuracy_on_unlabelled(pred: np.ndarray, y: np.ndarray, y_true: np.ndarray) -> float:
    unl = y == -1
    return float(np.mean(pred[unl] == y_true[unl]))


def baselines(X: np.ndarray, Z: np.ndarray, y: np.ndarray, y_true: np.ndarray) -> dict:
    given = y != -1
    acc = lambda pred: accuracy_on_unlabelled(np.asarray(pred), y, y_true)  # noqa: E731
    out = {
        "lr_standard": acc(LogisticRegression(max_iter=1000).fit(Z[given], y[given]).predict(Z)),
        "lr": acc(LogisticRegression(max_iter=1000).fit(X[given], y[given]).predict(X)),
        "ls_knn": acc(LabelSpreading(kernel="knn", n_neighbors=10).fit(X, y).transduction_),
        "ls_knn_standard": acc(LabelSpreading(kernel="knn", n_neighbors=10).fit(Z, y).transduction_),
        "self_training_standard": acc(
            SelfTrainingClassifier(LogisticRegression(max_iter=1000), threshold=0.95, max_iter=10).fit(Z, y).predict(Z)
        ),
    }
    grid = [out["self_training_standard"]]
    for data in (X, Z):
        for k in (5, 10, 20):
            grid.append(acc(LabelPropagation(kernel="knn", n_neighbors=k, max_iter=1000).fit(data, y).transduction_))
            for alpha in (0.2, 0.8):
                grid.append(acc(LabelSpreading(kernel="knn", n_neighbors=k, alpha=alpha).fit(data, y).transduction_))
    out["best_sklearn_ss"] = max(grid)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--draws", type=int, default=5)
    # Tuning draws (choosing a rule for auto) must differ from the benchmark's: --first-draw 100 draws 100, 101, ...
    parser.add_argument("--first-draw", type=int, default=0)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    datasets = []
    for name, loader in DATASETS.items():
        if name not in args.datasets.split(","):
            continue
        data = loader()
        X = data.data.astype(np.float32).astype(np.float64)
        y_true = data.target
        Z = StandardScaler().fit_transform(X)
        draws = []
        for f, fraction in enumerate(FRACTIONS):
            for draw in range(args.first_draw, args.first_draw + args.draws):
                y = draw_labels(y_true, fraction, 1000 * f + draw)
                draws.append({"fraction": str(fraction), "draw": draw, "y": y.tolist(), "sklearn": baselines(X, Z, y, y_true)})
        datasets.append({"name": name, "X": [[float(np.float32(v)) for v in row] for row in X], "y_true": y_true.tolist(), "draws": draws})
        print(f"{name}: {len(draws)} draws", flush=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"datasets": datasets}, f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
