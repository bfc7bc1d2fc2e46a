#!/usr/bin/env python3
"""Scores choice rules for `--method auto` offline (issue 18) on bench/autoRuleStudy.ts's output.

    python bench/auto_rule_study.py study-a.json[,study-b.json ...]

For every draw: each grid setting's accuracy on the unlabelled rows (the truth, trained on all given labels), and
its held-out class probabilities in each repeat of 3-fold cross-validation (and leave-one-out when recorded). A rule
picks a setting from the held-out side only; the table gives the mean accuracy of its picks and the mean gap to the
per-draw best setting (the oracle), overall, per data set and per data set x fraction. Draws with fewer than 6
validated labels take auto's default (label spreading k=10, alpha 0.2, scaled when feature spreads differ > 10x).
"""

import json
import math
import sys

import numpy as np

results = []
settings = None
for path in sys.argv[1].split(","):
    with open(path) as handle:
        data = json.load(handle)
    settings = data["settings"]
    results += data["results"]
S = len(settings)


def find(method, scale, k=None, alpha=None):
    return next(
        i
        for i, s in enumerate(settings)
        if s["method"] == method and s["scale"] == scale and s.get("neighbors") == k and s.get("alpha") == alpha
    )


FALLBACK = find("self-training", "standard")
DEFAULT = find("label-spreading", "none", 10, 0.2)
DEFAULT_SCALED = find("label-spreading", "standard", 10, 0.2)


def normalised(p, k):
    p = np.asarray(p, float).reshape(-1, k)
    total = p.sum(1, keepdims=True)
    return np.where(total > 0, p / np.where(total > 0, total, 1), 1.0 / k), total[:, 0] > 0


def per_label(p, truth, k):
    """Per held-out label: hit (an unreached row is wrong), minus Brier score, log-likelihood (clipped at 1e-3)."""
    q, reached = normalised(p, k)
    hit = ((q.argmax(1) == truth) & reached).astype(float)
    brier = -((q - np.eye(k)[truth]) ** 2).sum(1)
    loglik = np.log(np.clip(q[np.arange(len(truth)), truth], 1e-3, 1))
    return hit, brier, loglik


for r in results:
    k = r["k"]
    truth = np.array(r["yTrueUnl"])
    r["P"] = [normalised(p, k) for p in r["full"]]
    r["acc"] = np.array([np.mean((q.argmax(1) == truth) & reached) for q, reached in r["P"]])
    held = np.array(r["yValidated"])
    r["cvs"] = [[per_label(r["cv"][rep][s], held, k) for s in range(S)] for rep in range(len(r["cv"]))]
    r["loos"] = [per_label(r["loo"][s], np.array(r["yLoo"]), k) for s in range(S)] if r["loo"] else None


def repeats_for(validated):
    return min(10, max(2, math.ceil(300 / validated)))


def per_label_means(r, metric, repeats=None, scheme="cv"):
    if scheme == "loo":
        return np.array([r["loos"][s][metric] for s in range(S)]) if r["loos"] else None
    if not r["cv"]:
        return None
    R = min(repeats or repeats_for(len(r["validated"])), len(r["cv"]))
    return np.array([[r["cvs"][rep][s][metric] for rep in range(R)] for s in range(S)]).mean(1)


def choose(r, metric=0, margin=2.0, repeats=None, scheme="cv"):
    """The best mean score; with a margin, it replaces the fallback only when the paired difference > margin SE."""
    rows = per_label_means(r, metric, repeats, scheme)
    if rows is None:
        return None
    best = int(np.argmax(rows.mean(1)))
    if margin is None or best == FALLBACK:
        return best
    difference = rows[best] - rows[FALLBACK]
    se = difference.std(ddof=1) / math.sqrt(len(difference))
    return best if difference.mean() > margin * se else FALLBACK


def agreement(r):
    """Per setting, the share of the unlabelled rows where its label (trained on all given labels; none where it
    reached none) is the class of the mean of all settings' normalised probabilities (an unreached row counts as
    uniform): what autoSearch.ts's agreementWithConsensus measures. Free: no truth, only the unlabelled features."""
    if "agreement" not in r:
        consensus = sum(q for q, _ in r["P"]).argmax(1)
        r["agreement"] = np.array([np.mean((q.argmax(1) == consensus) & reached) for q, reached in r["P"]])
    return r["agreement"]


def choose_tied(r, standard_errors=0.5, tolerance=0.01, margin=2.0, consensus=agreement):
    """The rule of autoSearch.ts: of the settings whose paired Brier difference from the best is within
    `standard_errors` standard errors or `tolerance`, the one agreeing most with the consensus (then rank order), and
    the fallback unless that one beats it by more than `margin` paired standard errors."""
    rows = per_label_means(r, 1)
    if rows is None:
        return None
    means = rows.mean(1)
    best = int(np.argmax(means))
    tied = []
    for s in range(S):
        difference = rows[best] - rows[s]
        se = difference.std(ddof=1) / math.sqrt(len(difference))
        if s == best or difference.mean() <= max(standard_errors * se, tolerance):
            tied.append(s)
    agree = consensus(r)
    pick = min(tied, key=lambda s: (-agree[s], -means[s]))
    if margin is None or pick == FALLBACK:
        return pick
    difference = rows[pick] - rows[FALLBACK]
    se = difference.std(ddof=1) / math.sqrt(len(difference))
    return pick if difference.mean() > margin * se else FALLBACK


def ensemble(r, metric, top):
    """Averages the class probabilities of the `top` best settings by mean score: accuracy of the average."""
    rows = per_label_means(r, metric)
    if rows is None:
        return None
    order = np.argsort(-rows.mean(1), kind="stable")[:top]
    average = sum(r["P"][s][0] for s in order)
    return float(np.mean(average.argmax(1) == np.array(r["yTrueUnl"])))


def evaluate(label, rule):
    gaps, accuracies, groups = [], [], {}
    for r in results:
        pick = rule(r)
        if isinstance(pick, float):
            accuracy = pick
        else:
            if pick is None:
                pick = DEFAULT_SCALED if r["spreadRatio"] > 10 else DEFAULT
            accuracy = r["acc"][pick]
        gap = r["acc"].max() - accuracy
        accuracies.append(accuracy)
        gaps.append(gap)
        groups.setdefault(r["dataset"], []).append(gap)
        groups.setdefault(f"{r['dataset']} {r['fraction']}", []).append(gap)
    detail = ", ".join(f"{name} {100 * np.mean(g):.1f}" for name, g in groups.items())
    print(f"| {label} | {100 * np.mean(accuracies):.2f}% | {100 * np.mean(gaps):.2f} | {detail} |")


print(f"{len(results)} draws; per-draw best setting (oracle) {100 * np.mean([r['acc'].max() for r in results]):.2f}%")
print("| rule | mean accuracy | gap to the per-draw best (points) | gap by data set and fraction |")
print("|---|---|---|---|")
names = {0: "accuracy", 1: "Brier", 2: "log-loss"}
for metric in (0, 1, 2):
    for margin in (None, 1, 2, 3):
        evaluate(f"{names[metric]}, margin {margin}", lambda r: choose(r, metric, margin))
    evaluate(f"{names[metric]}, margin 2, 20 repeats", lambda r: choose(r, metric, 2, 20))
    evaluate(f"{names[metric]}, margin 2, leave-one-out", lambda r: choose(r, metric, 2, scheme="loo"))
    for top in (3, 5, 10):
        evaluate(f"average of the top {top} by {names[metric]}", lambda r: ensemble(r, metric, top))
for standard_errors, tolerance in ((0.25, 0.01), (0.5, 0), (0.5, 0.001), (0.5, 0.01), (1, 0.01)):
    evaluate(
        f"Brier margin 2, ties within {standard_errors} SE or {tolerance} by agreement",
        lambda r: choose_tied(r, standard_errors, tolerance),
    )
evaluate("the same (0.5 SE or 0.01), fallback margin 1.5", lambda r: choose_tied(r, margin=1.5))
evaluate("the same, fallback margin 2.5", lambda r: choose_tied(r, margin=2.5))
evaluate("agreement alone (no cross-validation)", lambda r: int(np.argmax(agreement(r))))
evaluate("average of all 20", lambda r: float(np.mean(sum(q for q, _ in r["P"]).argmax(1) == np.array(r["yTrueUnl"]))))
