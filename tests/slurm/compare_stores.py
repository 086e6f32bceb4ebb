#!/usr/bin/python3
"""Compare two hemolens stores: the same datasets, bit for bit (creation time and other
attributes may differ). Exit 0 when equal, 1 with the differences listed otherwise.
usage: compare_stores.py A.h5 B.h5"""
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


def main(a_path, b_path):
    a, b = datasets(a_path), datasets(b_path)
    problems = []
    if a.keys() != b.keys():
        problems.append(f"datasets differ: only in A {sorted(a.keys() - b.keys())}, only in B {sorted(b.keys() - a.keys())}")
    problems += [f"{k}: differs" for k in sorted(a.keys() & b.keys()) if not same(a[k], b[k])]
    rows = a.get("features", np.empty((0, 0))).shape
    if rows[0] == 0:
        problems.append("no feature rows")
    for p in problems:
        print(f"compare_stores: {p}", file=sys.stderr)
    if not problems:
        print(f"compare_stores: {a_path} == {b_path} ({len(a)} datasets, features {rows[0]} x {rows[1]})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
