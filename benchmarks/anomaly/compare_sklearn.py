#!/usr/bin/python3
"""Compare hemolens' isolation forest with scikit-learn's on the same features and parameters.

Both implement Liu, Ting and Zhou (2008) with the same conventions (psi rows per tree without
replacement, depth limit ceil(log2 psi), c(size) added at external nodes), so on the same data
the scores must rank alike (Spearman) and detect the same anomalies equally well (ROC AUC).
The forests are random, so scores agree in distribution, not bit for bit.

Two ways in:
  --raw DIR --cols F        DIR holds fit.f32, test.f32, ours.f32 (our scores of test rows) and
                            labels.f32 (1 anomalous, 0 normal), float32 raw (the unit test)
  --fit FIT.h5 --normal STORE.h5 SCORES.csv [--anomaly KIND STORE.h5 SCORES.csv]...
                            stores and `hemolens score` CSVs of a bundle fitted with --global on
                            FIT.h5 (the benchmark); rows flagged no_cell or multiple_nucleated
                            are left out of the fit, as hemolens does. SCORES.csv may be a
                            comma-separated list, one CSV per hemolens seed (the same seeds in
                            every list): hemolens' AUC is then their mean, like sklearn's

Exits 1 when --min-spearman or --max-auc-diff is given and not met.
"""
import argparse
import csv
import sys

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

OVERRIDE_FLAGS = 1 | 4  # no_cell | multiple_nucleated (include/hemolens/quality.hpp)


def spearman(a, b):
    ra = np.argsort(np.argsort(a)).astype(float)
    rb = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


def read_store(path, fit=False):
    import h5py
    with h5py.File(path, "r") as f:
        x = f["features"][:]
        flags = f["quality/flags"][:]
    return x[(flags & OVERRIDE_FLAGS) == 0] if fit else x


def read_scores(path, rows):
    with open(path, newline="") as f:
        scores = [float(r["anomaly_score"]) for r in csv.DictReader(f) if r["anomaly_score"] != ""]
    if len(scores) != rows:
        sys.exit(f"{path}: {len(scores)} scores for a store of {rows} rows")
    return np.array(scores)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raw")
    ap.add_argument("--cols", type=int)
    ap.add_argument("--fit")
    ap.add_argument("--normal", nargs=2, metavar=("STORE", "CSV"))
    ap.add_argument("--anomaly", nargs=3, action="append", default=[], metavar=("KIND", "STORE", "CSV"))
    ap.add_argument("--trees", type=int, default=200)
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--sk-seeds", type=int, default=5, help="sklearn forests (seeds) whose AUCs are averaged: a forest's AUC varies with its seed")
    ap.add_argument("--min-spearman", type=float)
    ap.add_argument("--max-auc-diff", type=float)
    a = ap.parse_args()

    groups = []  # (kind, test rows, our scores); the first is the normal set
    if a.raw:
        load = lambda name: np.fromfile(f"{a.raw}/{name}", dtype=np.float32)
        x_fit = load("fit.f32").reshape(-1, a.cols)
        x_test = load("test.f32").reshape(-1, a.cols)
        ours, labels = load("ours.f32"), load("labels.f32")
        groups.append(("normal", x_test[labels == 0], [ours[labels == 0]]))
        groups.append(("planted", x_test[labels == 1], [ours[labels == 1]]))
    else:
        x_fit = read_store(a.fit, fit=True)
        x = read_store(a.normal[0])
        groups.append(("normal", x, [read_scores(p, len(x)) for p in a.normal[1].split(",")]))
        for kind, store, scores in a.anomaly:
            x = read_store(store)
            groups.append((kind, x, [read_scores(p, len(x)) for p in scores.split(",")]))

    def sk_scores(seed):
        forest = IsolationForest(n_estimators=a.trees, max_samples=min(a.samples, len(x_fit)), max_features=1.0,
                                 bootstrap=False, random_state=seed).fit(x_fit)
        return [-forest.score_samples(g[1]) for g in groups]  # sklearn returns -s(x)

    runs = [sk_scores(a.seed + i) for i in range(max(a.sk_seeds, 1))]
    theirs = runs[0]

    all_ours = np.concatenate([g[2][0] for g in groups])
    all_theirs = np.concatenate(theirs)
    rho = spearman(all_ours, all_theirs)
    print(f"fit on {len(x_fit)} rows, {x_fit.shape[1]} features; {a.trees} trees, psi {min(a.samples, len(x_fit))}")
    print(f"Spearman rank correlation of the scores over {len(all_ours)} test rows: {rho:.4f}")
    print(f"mean score of normal rows: hemolens {groups[0][2][0].mean():.4f}, sklearn {theirs[0].mean():.4f}")
    print(f"AUC: mean over {len(groups[0][2])} hemolens seed(s); sklearn mean and standard deviation over {len(runs)} seeds")
    print(f"{'anomaly kind':<16} {'rows':>6} {'AUC hemolens':>13} {'AUC sklearn':>12} {'sd':>7} {'diff':>7}")
    worst = 0.0
    for k in range(1, len(groups)):
        kind, ours = groups[k][0], groups[k][2]
        y = np.r_[np.zeros(len(groups[0][1])), np.ones(len(groups[k][1]))]
        auc_ours = float(np.mean([roc_auc_score(y, np.r_[n, o]) for n, o in zip(groups[0][2], ours)]))
        aucs = [roc_auc_score(y, np.r_[r[0], r[k]]) for r in runs]
        auc_theirs = float(np.mean(aucs))
        worst = max(worst, abs(auc_ours - auc_theirs))
        print(f"{kind:<16} {len(groups[k][1]):>6} {auc_ours:>13.4f} {auc_theirs:>12.4f} {np.std(aucs):>7.4f} {auc_ours - auc_theirs:>+7.4f}")
    ok = True
    if a.min_spearman is not None and rho < a.min_spearman:
        print(f"FAIL: Spearman {rho:.4f} < {a.min_spearman}")
        ok = False
    if a.max_auc_diff is not None and worst > a.max_auc_diff:
        print(f"FAIL: AUCs differ by {worst:.4f} > {a.max_auc_diff}")
        ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
