#!/usr/bin/python3
"""Tables of the anomaly benchmark from the CSVs that `hemolens score` wrote (run.sh).

usage: report.py OUT_DIR VARIANT...   (OUT_DIR/heldout.h5, OUT_DIR/<variant>/{heldout,<kind>}.csv)

AUC "forest": ROC AUC of anomaly_margin (score - the threshold of the forest that judged the
image; comparable across classes) of each anomaly kind against the held-out normal images.
AUC "final": the same with images flagged by segmentation (no_cell, multiple_nucleated) put
at the top, which is what the flag does. "flagged": share flagged at the stored threshold.
"""
import csv
import os
import sys

import h5py
import numpy as np
from sklearn.metrics import roc_auc_score

KINDS = ["blur", "dark", "bright", "stain", "second_cell", "no_cell", "non_blood", "noise"]


def read(path):
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["anomaly_score"] != ""]
    margin = np.array([float(r["anomaly_margin"]) for r in rows])
    forced = np.array([r["anomaly_reason"] not in ("", "forest") for r in rows])
    flag = np.array([r["anomaly_flag"] == "1" for r in rows])
    return margin, np.where(forced, 10.0, margin), flag, [r["predicted"] for r in rows], flag & ~forced


def main():
    out, variants = sys.argv[1], sys.argv[2:]
    with h5py.File(os.path.join(out, "heldout.h5"), "r") as f:
        classes = list(f["classes"].asstr()[:])
        labels = f["labels"][:]
    for v in variants:
        d = os.path.join(out, v)
        n_margin, n_final, n_flag, n_pred, n_forest = read(os.path.join(d, "heldout.csv"))
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
        print("\n| normal class (true) | held-out images | flagged | by the forests | by segmentation |")
        print("|---|---:|---:|---:|---:|")
        for c, name in enumerate(classes):
            m = labels == c
            if m.any():
                print(f"| {name} | {m.sum()} | {100 * n_flag[m].mean():.1f} % | {100 * n_forest[m].mean():.1f} % | "
                      f"{100 * (n_flag & ~n_forest)[m].mean():.1f} % |")


if __name__ == "__main__":
    main()
