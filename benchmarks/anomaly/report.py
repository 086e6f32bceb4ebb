#!/usr/bin/python3
"""Tables of the anomaly benchmark from the CSVs that `hemolens score` wrote (run.sh).

usage: report.py OUT_DIR VARIANT...   (OUT_DIR/heldout.h5, OUT_DIR/<variant>/{heldout,<kind>}.csv)

AUC "forest": ROC AUC of anomaly_margin (score - the threshold of the forest that judged the
image; comparable across classes) of each anomaly kind against the held-out normal images.
AUC "final": the same with images flagged by segmentation (no_cell, multiple_nucleated) put
at the top, which is what the flag does. "flagged": share flagged at the stored threshold.

Doublets (two whole nucleated cells in one crop): real_doublets.csv lists dev images judged by
eye (every image segmentation flags multiple_nucleated, and a random sample of the others).
Held-out normals judged two-cell become positives of their own ("real two-cell crops"), those
judged unclear are left out, and the doublet kinds are ranked against the remaining
single-cell normals, whose flag rate is the one the doublet target counts.
"""
import csv
import os
import sys

import h5py
import numpy as np
from sklearn.metrics import roc_auc_score

KINDS = ["blur", "dark", "bright", "stain", "second_cell", "no_cell", "non_blood", "noise", "doublet"]
DOUBLET_KINDS = ["doublet", "second_cell"]
HERE = os.path.dirname(os.path.abspath(__file__))


def read(path, with_paths=False):
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["anomaly_score"] != ""]
    margin = np.array([float(r["anomaly_margin"]) for r in rows])
    forced = np.array([r["anomaly_reason"] not in ("", "forest") for r in rows])
    flag = np.array([r["anomaly_flag"] == "1" for r in rows])
    out = margin, np.where(forced, 10.0, margin), flag, [r["predicted"] for r in rows], flag & ~forced
    return out + ([r["path"] for r in rows],) if with_paths else out


def judged(paths):
    """Per held-out path: "yes" (two whole nucleated cells), "no", "unclear", or "" (not judged)."""
    with open(os.path.join(HERE, "real_doublets.csv"), newline="") as f:
        verdict = {r["path"]: r["two_cells"] for r in csv.DictReader(f)}
    # The benchmark's paths are absolute; the list's are class/file.
    return np.array([verdict.get("/".join(p.split("/")[-2:]), "") for p in paths])


def doublet_table(d, n_final, n_flag, n_forest, n_paths):
    j = judged(n_paths)
    single = j != "yes"
    single &= j != "unclear"
    real = j == "yes"
    print(f"\nDoublets against the {single.sum()} single-cell held-out normals ({real.sum()} real two-cell crops and "
          f"{(j == 'unclear').sum()} unclear ones set apart): normals flagged {100 * n_flag[single].mean():.1f} % "
          f"({100 * n_forest[single].mean():.1f} % by the forests, {100 * (n_flag & ~n_forest)[single].mean():.1f} % by segmentation)\n")
    print("| positives | images | AUC final | flagged |")
    print("|---|---:|---:|---:|")
    groups = [("real two-cell crops (held-out dev, judged by eye)", n_final[real], n_flag[real])]
    for kind in DOUBLET_KINDS:
        p = os.path.join(d, kind + ".csv")
        if os.path.exists(p):
            _, a_final, a_flag, _, _ = read(p)
            groups.append((kind, a_final, a_flag))
    for name, final, flag in groups:
        if len(final) == 0:
            continue
        y = np.r_[np.zeros(single.sum()), np.ones(len(final))]
        print(f"| {name} | {len(final)} | {roc_auc_score(y, np.r_[n_final[single], final]):.3f} | {100 * flag.mean():.0f} % |")


def main():
    out, variants = sys.argv[1], sys.argv[2:]
    with h5py.File(os.path.join(out, "heldout.h5"), "r") as f:
        classes = list(f["classes"].asstr()[:])
        labels = f["labels"][:]
    for v in variants:
        d = os.path.join(out, v)
        n_margin, n_final, n_flag, n_pred, n_forest, n_paths = read(os.path.join(d, "heldout.csv"), with_paths=True)
        acc = np.mean([classes[l] == p for l, p in zip(labels, n_pred)])
        print(f"\n### {v}\n")
        print(f"held-out normal images: {len(n_flag)}, classifier accuracy {acc:.3f}, flagged {100 * n_flag.mean():.1f} % "
              f"({100 * n_forest.mean():.1f} % by the forests, {100 * (n_flag & ~n_forest).mean():.1f} % by segmentation)\n")
        print("| anomaly kind | images | AUC forest | AUC final | flagged |")
        print("|---|---:|---:|---:|---:|")
        for kind in KINDS:
            p = os.path.join(d, kind + ".csv")
            if not os.path.exists(p):
                continue
            a_margin, a_final, a_flag, _, _ = read(p)
            y = np.r_[np.zeros(len(n_margin)), np.ones(len(a_margin))]
            auc_f = roc_auc_score(y, np.r_[n_margin, a_margin])
            auc_x = roc_auc_score(y, np.r_[n_final, a_final])
            print(f"| {kind} | {len(a_flag)} | {auc_f:.3f} | {auc_x:.3f} | {100 * a_flag.mean():.0f} % |")
        doublet_table(d, n_final, n_flag, n_forest, n_paths)
        print("\n| normal class (true) | held-out images | flagged | by the forests | by segmentation |")
        print("|---|---:|---:|---:|---:|")
        for c, name in enumerate(classes):
            m = labels == c
            if m.any():
                print(f"| {name} | {m.sum()} | {100 * n_flag[m].mean():.1f} % | {100 * n_forest[m].mean():.1f} % | "
                      f"{100 * (n_flag & ~n_forest)[m].mean():.1f} % |")


if __name__ == "__main__":
    main()
