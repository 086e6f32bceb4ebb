#!/usr/bin/python3
"""Compares two feature stores (.h5) dataset by dataset, bit for bit.

A speed-up must change no feature value: run the old and the new build over the same images
and compare their stores. Every dataset (features, labels, image ids and paths, quality flags,
skipped files, names) and every attribute must be equal; float values are compared by their
bits, so a NaN equals the same NaN and -0.0 differs from 0.0. Provenance attributes (when,
where, on what the store was written) are left out unless --all-attributes is given.

    scripts/compare_stores.py OLD.h5 NEW.h5
    scripts/compare_stores.py --rtol 1e-5 CPU.h5 CUDA.h5    the CUDA backend's feature rows
        within a relative 1e-5 of the CPU's, NaN only where NaN; everything else exact
    scripts/compare_stores.py --datasets-only A.h5 B.h5     the data alone (a SLURM run's
        store against a local run's: how they were run differs, not what they hold)

Exit status: 0 identical, 1 a difference (each one printed), 2 a file cannot be read.
"""
import argparse
import sys

import h5py
import numpy as np

# Attributes that say how a store was made, not what it holds.
PROVENANCE = {"created", "device", "dataset", "backend"}


def datasets(f):
    """Path -> dataset of every dataset in the file."""
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj) if isinstance(obj, h5py.Dataset) else None)
    return out


def groups(f):
    out = {"/": f}
    f.visititems(lambda name, obj: out.__setitem__(name, obj) if isinstance(obj, h5py.Group) else None)
    return out


def as_comparable(value):
    """Numpy arrays whose == is bit equality (floats viewed as unsigned integers)."""
    a = np.asarray(value)
    if a.dtype.kind == "f":
        return a.view(np.dtype(f"u{a.dtype.itemsize}"))
    if a.dtype.kind == "O":
        return np.array([v.decode() if isinstance(v, bytes) else v for v in a.ravel()], dtype=object).reshape(a.shape)
    return a


def compare_attributes(where, a, b, skip, report):
    for key in sorted(set(a.attrs) | set(b.attrs)):
        if key in skip:
            continue
        if key not in a.attrs or key not in b.attrs:
            report(f"{where}: attribute {key!r} only in {'the new' if key in b.attrs else 'the old'} store")
            continue
        va, vb = as_comparable(a.attrs[key]), as_comparable(b.attrs[key])
        if va.shape != vb.shape or not np.array_equal(va, vb):
            report(f"{where}: attribute {key!r} differs: {a.attrs[key]!r} vs {b.attrs[key]!r}")


def close_features(a, b, rtol, report):
    """Feature rows that should agree within rtol relative to the larger magnitude."""
    a64, b64 = a[()].astype(np.float64), b[()].astype(np.float64)
    nan_a, nan_b = np.isnan(a64), np.isnan(b64)
    if (nan_a != nan_b).any():
        report(f"features: NaN in one store only at {int((nan_a != nan_b).sum())} values")
        return
    diff = np.where(nan_a, 0, np.abs(a64 - b64))
    scale = np.where(nan_a, 0, np.maximum(np.abs(a64), np.abs(b64)))
    bad = np.argwhere(diff > rtol * scale)
    for index in bad[:5]:
        i = tuple(index)
        report(f"  features{list(i)}: {a64[i]!r} vs {b64[i]!r} (beyond rtol {rtol})")
    if len(bad):
        report(f"features: {len(bad)} values beyond rtol {rtol}")
    else:
        largest = float(np.max(np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0), initial=0))
        print(f"compare_stores: features within rtol {rtol} (largest relative difference {largest:.3g})")


def compare_dataset(name, a, b, report, rtol=None):
    if a.shape != b.shape:
        report(f"{name}: shape {a.shape} vs {b.shape}")
        return
    if a.dtype != b.dtype:
        report(f"{name}: type {a.dtype} vs {b.dtype}")
        return
    if rtol is not None and name == "features":
        close_features(a, b, rtol, report)
        return
    va, vb = as_comparable(a[()]), as_comparable(b[()])
    if np.array_equal(va, vb):
        return
    differ = np.argwhere(va != vb)
    report(f"{name}: {len(differ)} of {va.size} values differ")
    for index in differ[:5]:
        i = tuple(index)
        report(f"  {name}{list(i)}: {a[()][i]!r} vs {b[()][i]!r}")
    if a.ndim == 2 and "feature_names" in a.file:
        names = a.file["feature_names"][()]
        columns = sorted(set(int(c) for c in differ[:, 1]))
        shown = ", ".join(n.decode() if isinstance(n, bytes) else str(n) for n in names[columns[:20]])
        report(f"  columns that differ ({len(columns)}): {shown}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--all-attributes", action="store_true", help="compare the provenance attributes too")
    parser.add_argument("--datasets-only", action="store_true", help="compare no attribute")
    parser.add_argument("--rtol", type=float, help="feature rows may differ by this much, relative")
    args = parser.parse_args()
    try:
        fa, fb = h5py.File(args.old, "r"), h5py.File(args.new, "r")
    except OSError as e:
        print(f"compare_stores: cannot read: {e}", file=sys.stderr)
        return 2
    differences = []
    report = differences.append
    skip = set() if args.all_attributes else PROVENANCE
    da, db = datasets(fa), datasets(fb)
    for name in sorted(set(da) | set(db)):
        if name not in da or name not in db:
            report(f"{name}: only in {'the new' if name in db else 'the old'} store")
            continue
        compare_dataset(name, da[name], db[name], report, args.rtol)
        if not args.datasets_only:
            compare_attributes(name, da[name], db[name], skip, report)
    ga, gb = groups(fa), groups(fb)
    for name in sorted(set(ga) | set(gb)):
        if name in ga and name in gb:
            if not args.datasets_only:
                compare_attributes(name, ga[name], gb[name], skip, report)
        else:
            report(f"group {name}: only in {'the new' if name in gb else 'the old'} store")
    for line in differences:
        print(line)
    if "features" in da and da["features"].shape[0] == 0:
        report("features: no rows (nothing was compared)")
    total = sum(d.size for d in da.values())
    print(f"compare_stores: {len(da)} datasets, {total} values: " + ("identical" if not differences else "DIFFERENT"))
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
