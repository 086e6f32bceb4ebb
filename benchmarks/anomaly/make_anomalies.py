#!/usr/bin/python3
"""Make anomalous images from a folder of normal blood-cell images (deterministic).

usage: make_anomalies.py NORMAL_DIR OUT_DIR [--per-kind N] [--seed S]

NORMAL_DIR holds images (at any depth, e.g. one folder per class). OUT_DIR/<kind>/ receives N
images of each kind, each made from one normal image (the source is in the file name):

  blur          Gaussian blur, sigma 4-7 px (out of focus)
  dark          intensities x 0.25-0.45 (under-exposed)
  bright        blended 55-75 % towards white (over-exposed, washed out)
  stain         hue rotated by 35-80 degrees (another stain, or a colour cast)
  second_cell   the central cell of another image pasted off-centre (two cells in the crop)
  doublet       the same with both images of nucleated classes (no platelet): two whole
                nucleated cells in one crop, what a lab calls a doublet (a platelet beside a
                cell is ordinary in a smear); a source's class is its folder or file-name prefix
  no_cell       background only: a corner of the image mirrored over the whole crop
  non_blood     not a blood smear: procedural scenes (shapes, text, fractal landscapes, stripes)
  noise         Gaussian noise, sigma 45-70 grey levels

Every image and every random draw comes from a generator seeded by (seed, kind, index), so a
run gives the same files on any machine with the same numpy and OpenCV.
"""
import argparse
import hashlib
import os
import sys

import cv2
import numpy as np

KINDS = ["blur", "dark", "bright", "stain", "second_cell", "no_cell", "non_blood", "noise"]
NUCLEATED_ONLY = {"doublet"}  # kinds whose two source images must both show a nucleated cell


def rng_for(seed, kind, i):
    h = hashlib.sha256(f"{seed}/{kind}/{i}".encode()).digest()
    return np.random.default_rng(int.from_bytes(h[:8], "little"))


def blur(img, rng, _):
    s = rng.uniform(4, 7)
    return cv2.GaussianBlur(img, (0, 0), s)


def dark(img, rng, _):
    return np.clip(img.astype(np.float32) * rng.uniform(0.25, 0.45), 0, 255).astype(np.uint8)


def bright(img, rng, _):
    a = rng.uniform(0.55, 0.75)
    return np.clip(img.astype(np.float32) * (1 - a) + 255 * a, 0, 255).astype(np.uint8)


def stain(img, rng, _):
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    shift = int(rng.uniform(35, 80) / 2) * (1 if rng.random() < 0.5 else -1)  # OpenCV hue is 0..179
    hsv[..., 0] = ((hsv[..., 0].astype(int) + shift) % 180).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)


def second_cell(img, rng, other):
    """Pastes a disc from the centre of `other` (its cell) towards a corner of img, feathered."""
    h, w = img.shape[:2]
    oh, ow = other.shape[:2]
    r = int(min(h, w) * rng.uniform(0.22, 0.28))
    patch = other[oh // 2 - r:oh // 2 + r, ow // 2 - r:ow // 2 + r].astype(np.float32)
    mask = np.zeros((2 * r, 2 * r), np.float32)
    cv2.circle(mask, (r, r), int(r * 0.9), 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), r * 0.08)[..., None]
    corner = rng.integers(4)
    cy = r + 2 if corner < 2 else h - r - 2
    cx = r + 2 if corner % 2 == 0 else w - r - 2
    out = img.astype(np.float32)
    region = out[cy - r:cy + r, cx - r:cx + r]
    out[cy - r:cy + r, cx - r:cx + r] = region * (1 - mask) + patch * mask
    return out.astype(np.uint8)


def no_cell(img, rng, _):
    """Background only: a corner patch (away from the central cell), mirrored to fill the crop."""
    h, w = img.shape[:2]
    p = int(min(h, w) * 0.25)
    corner = rng.integers(4)
    y = 0 if corner < 2 else h - p
    x = 0 if corner % 2 == 0 else w - p
    tile = img[y:y + p, x:x + p]
    row = np.concatenate([tile, tile[:, ::-1]], axis=1)
    block = np.concatenate([row, row[::-1]], axis=0)
    reps = (h // block.shape[0] + 1, w // block.shape[1] + 1, 1)
    return np.ascontiguousarray(np.tile(block, reps)[:h, :w])


def fractal(rng, h, w):
    acc = np.zeros((h, w), np.float32)
    for octave in range(1, 7):
        n = 2 ** octave
        acc += cv2.resize(rng.random((n, n)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC) / octave
    return (acc - acc.min()) / (np.ptp(acc) + 1e-6)


def non_blood(img, rng, _):
    h, w = img.shape[:2]
    style = rng.integers(4)
    if style == 0:  # coloured shapes on a gradient
        out = np.zeros((h, w, 3), np.uint8)
        g = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
        out[:] = (g * rng.integers(0, 255, 3) + (1 - g) * rng.integers(0, 255, 3)).astype(np.uint8)
        for _ in range(rng.integers(4, 12)):
            colour = tuple(int(c) for c in rng.integers(0, 255, 3))
            if rng.random() < 0.5:
                cv2.circle(out, (int(rng.integers(w)), int(rng.integers(h))), int(rng.integers(10, 80)), colour, -1)
            else:
                p1 = (int(rng.integers(w)), int(rng.integers(h)))
                cv2.rectangle(out, p1, (p1[0] + int(rng.integers(20, 150)), p1[1] + int(rng.integers(20, 150))), colour, -1)
        return out
    if style == 1:  # a page of text
        out = np.full((h, w, 3), 245, np.uint8)
        words = ["blood", "sample", "report", "patient", "value", "normal", "range", "count", "cells", "date"]
        for y in range(20, h - 10, 22):
            line = " ".join(words[i] for i in rng.integers(0, len(words), 4))
            cv2.putText(out, line, (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (20, 20, 20), 1, cv2.LINE_AA)
        return out
    if style == 2:  # a fractal landscape: sky over green/brown ground
        f = fractal(rng, h, w)
        sky = np.array([235, 206, 135], np.float32)  # BGR light blue
        ground = np.stack([40 + 40 * f, 90 + 90 * f, 60 + 50 * f], axis=-1)
        horizon = int(h * rng.uniform(0.3, 0.6))
        out = np.empty((h, w, 3), np.float32)
        out[:horizon] = sky * (0.8 + 0.2 * f[:horizon, :, None])
        out[horizon:] = ground[horizon:]
        return np.clip(out, 0, 255).astype(np.uint8)
    # stripes / checkerboard (a test chart)
    period = int(rng.integers(8, 40))
    yy, xx = np.mgrid[0:h, 0:w]
    pattern = ((yy // period + xx // period) % 2).astype(np.float32) if rng.random() < 0.5 else ((xx // period) % 2).astype(np.float32)
    c1, c2 = rng.integers(0, 255, 3), rng.integers(0, 255, 3)
    return (pattern[..., None] * c1 + (1 - pattern[..., None]) * c2).astype(np.uint8)


def noise(img, rng, _):
    return np.clip(img.astype(np.float32) + rng.normal(0, rng.uniform(45, 70), img.shape), 0, 255).astype(np.uint8)


MAKERS = {"blur": blur, "dark": dark, "bright": bright, "stain": stain, "second_cell": second_cell, "no_cell": no_cell,
          "non_blood": non_blood, "noise": noise, "doublet": second_cell}


def nucleated(path):
    """False for a platelet image: its class folder, or the class prefix run.sh gives its links."""
    return "platelet" not in os.path.basename(os.path.dirname(path)).lower() and not os.path.basename(path).lower().startswith("platelet")


def list_images(root):
    out = []
    for d, _, files in os.walk(root):
        out += [os.path.join(d, f) for f in files if f.lower().endswith((".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp"))
                and not f.startswith(".")]
    return sorted(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("normal_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--per-kind", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kinds", default=",".join(KINDS))
    a = ap.parse_args()
    sources = list_images(a.normal_dir)
    if len(sources) < 2:
        sys.exit(f"{a.normal_dir}: fewer than 2 images")
    for kind in a.kinds.split(","):
        os.makedirs(os.path.join(a.out_dir, kind), exist_ok=True)
        pool = [s for s in sources if nucleated(s)] if kind in NUCLEATED_ONLY else sources
        if len(pool) < 2:
            sys.exit(f"{kind}: fewer than 2 source images of nucleated cells")
        for i in range(a.per_kind):
            rng = rng_for(a.seed, kind, i)
            src = pool[int(rng.integers(len(pool)))]
            img = cv2.imread(src, cv2.IMREAD_COLOR)
            other = cv2.imread(pool[int(rng.integers(len(pool)))], cv2.IMREAD_COLOR)
            if img is None or other is None:
                sys.exit(f"cannot read {src}")
            out = MAKERS[kind](img, rng, other)
            name = f"{kind}_{i:04d}_{os.path.splitext(os.path.basename(src))[0]}.png"  # PNG: no JPEG artefacts added
            cv2.imwrite(os.path.join(a.out_dir, kind, name), out)
        print(f"{kind}: {a.per_kind} images")


if __name__ == "__main__":
    main()
