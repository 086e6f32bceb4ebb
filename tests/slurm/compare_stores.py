#!/usr/bin/python3
"""Compare two hemolens stores: the same datasets, bit for bit (creation time and other
attributes may differ). Exit 0 when equal, 1 with the differences listed otherwise.
With --rtol R the feature rows (/features) may differ by R relative to the larger magnitude
(the CUDA backend's rows against the CPU's, docs/design.md); everything else stays exact.
usage: compare_stores.py [--rtol R] A.h5 B.h5"""
import sys

import h5py
import numpy as np


def datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "O":  # variable-length strings: compare the values, not the pointers
        return a.tolist() == b.tolist()
    return a.tobytes() == b.tobytes()


def close_features(a, b, rtol):
    """The problems of feature rows that should agree within rtol (NaN only where NaN)."""
    if a.shape != b.shape:
        return [f"features: shapes {a.shape} and {b.shape}"]
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    nan = np.isnan(a64) | np.isnan(b64)
    if (np.isnan(a64) != np.isnan(b64)).any():
        return [f"features: NaN in one store only at {int((np.isnan(a64) != np.isnan(b64)).sum())} values"]
    diff = np.where(nan, 0, np.abs(a64 - b64))
    scale = np.where(nan, 0, np.maximum(np.abs(a64), np.abs(b64)))
    bad = diff > rtol * scale
    if not bad.any():
        print(f"compare_stores: features within rtol {rtol} (largest relative difference "
              f"{float(np.max(np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0))):.3g})")
        return []
    rows, cols = np.nonzero(bad)
    return [f"features: {len(rows)} values beyond rtol {rtol}, first at row {rows[0]} column {cols[0]}: "
            f"{a64[rows[0], cols[0]]!r} and {b64[rows[0], cols[0]]!r}"]


def main(a_path, b_path, rtol=None):
    a, b = datasets(a_path), datasets(b_path)
    problems = []
    if a.keys() != b.keys():
        problems.append(f"datasets differ: only in A {sorted(a.keys() - b.keys())}, only in B {sorted(b.keys() - a.keys())}")
    exact = sorted(a.keys() & b.keys())
    if rtol is not None and "features" in exact:
        exact.remove("features")
        problems += close_features(np.asarray(a["features"]), np.asarray(b["features"]), rtol)
    problems += [f"{k}: differs" for k in exact if not same(a[k], b[k])]
    rows = a.get("features", np.empty((0, 0))).shape
    if rows[0] == 0:
        problems.append("no feature rows")
    for p in problems:
        print(f"compare_stores: {p}", file=sys.stderr)
    if not problems:
        print(f"compare_stores: {a_path} == {b_path} ({len(a)} datasets, features {rows[0]} x {rows[1]})")
    return 1 if problems else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    rtol = None
    if args[:1] == ["--rtol"] and len(args) >= 2:
        rtol = float(args[1])
        args = args[2:]
    if len(args) != 2:
        sys.exit(__doc__)
    sys.exit(main(args[0], args[1], rtol))
