#!/bin/bash
# The anomaly benchmark: per-class isolation forests on real dev images against made-up
# anomalies (make_anomalies.py), and scikit-learn's forest on the same features.
#
# usage: benchmarks/anomaly/run.sh [DEV_DIR] [OUT_DIR]
#   DEV_DIR  one folder per class (default /work/shared/data/pbc-dev)
#   env: FIT=3400 HELDOUT=1500 PER_KIND=100 DOUBLETS=300 THREADS=2 HEMOLENS=build/src/cli/hemolens
#
# Images are split by a hash of their relative path into a fit half and a held-out half (the
# same split on every machine); the classifier and the forests see the fit half only. The
# held-out normals and the anomalies (made from other held-out images) are scored, and
# report.py prints AUC per anomaly kind and the flag rate per class, for three variants:
#   per_class        per class: a forest over all features + one over the quality features;
#                    the predicted class's forests judge (the default)
#   nearest          the same forests; the class the image is most typical of judges
#   per_class_plain  per class, all features only (--group-forests none)
#   global           one forest over all classes and features (the baseline; what sklearn is
#                    compared with)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEV=$(cd "${1:-/work/shared/data/pbc-dev}" && pwd)  # absolute: the steps below run in OUT_DIR
OUT=${2:-$ROOT/out/anomaly-bench}
FIT=${FIT:-3400} HELDOUT=${HELDOUT:-1500} PER_KIND=${PER_KIND:-100} DOUBLETS=${DOUBLETS:-300} THREADS=${THREADS:-2}
H=${HEMOLENS:-$ROOT/build/src/cli/hemolens}
PY=/usr/bin/python3
mkdir -p "$OUT"
cd "$OUT"
start=$(date +%s)

# ---- split by hash: md5 of class/file, even first hex digit -> fit half ----
$PY - "$DEV" "$FIT" "$HELDOUT" <<'PY'
import hashlib, os, sys
dev, fit, held = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rel = sorted(f"{c}/{f}" for c in os.listdir(dev) if os.path.isdir(os.path.join(dev, c))
             for f in os.listdir(os.path.join(dev, c)) if not f.startswith(".") and f.lower().endswith((".jpg", ".png", ".tif", ".tiff")))
rel.sort(key=lambda r: hashlib.md5(r.encode()).hexdigest())
halves = {True: [], False: []}
for r in rel:
    halves[hashlib.md5(r.encode()).hexdigest()[0] in "02468ace"].append(r)
def manifest(name, rows):
    with open(name, "w") as f:
        f.write("path,label\n" + "".join(f'"{dev}/{r}",{r.split("/")[0]}\n' for r in rows))
manifest("fit.csv", halves[True][:fit])
manifest("heldout.csv", halves[False][:held])
open("sources.txt", "w").write("".join(f"{dev}/{r}\n" for r in halves[False][held:held + 400]))
print(f"split: {len(halves[True])} fit / {len(halves[False])} held-out images; using {fit} fit, {held} held-out normals")
PY
# Anomaly sources: held-out images that are not among the held-out normals.
rm -rf sources anomalies && mkdir -p sources
while read -r f; do ln -s "$f" "sources/$(basename "$(dirname "$f")")_$(basename "$f")"; done < sources.txt

# ---- anomalies and feature stores ----
$PY "$ROOT/benchmarks/anomaly/make_anomalies.py" sources anomalies --per-kind "$PER_KIND" --seed 1 > /dev/null
$PY "$ROOT/benchmarks/anomaly/make_anomalies.py" sources anomalies --kinds doublet --per-kind "$DOUBLETS" --seed 1 > /dev/null
$H extract fit.csv -o fit.h5 --threads "$THREADS" --backend cpu | tail -n 3
$H extract heldout.csv -o heldout.h5 --threads "$THREADS" --backend cpu | tail -n 1
KINDS="blur dark bright stain second_cell no_cell non_blood noise doublet"
for k in $KINDS; do $H extract "anomalies/$k" -o "anomaly_$k.h5" --threads "$THREADS" --backend cpu > /dev/null; done

# ---- classifier, forests, scores ----
echo '{"rounds": 300, "early_stopping_rounds": 30}' > train.json
$H train fit.h5 -o model --config train.json --threads "$THREADS" --device cpu | tail -n 2
variant() {  # name, fit-anomaly options
  local name=$1; shift
  rm -rf "bundle_$name" "$name" && cp -r model "bundle_$name" && mkdir -p "$name"
  $H fit-anomaly "bundle_$name" fit.h5 --threads "$THREADS" "$@" > "$name/fit.txt"
  $H score "bundle_$name" heldout.h5 -o "$name/heldout.csv" --device auto --threads "$THREADS" > /dev/null
  for k in $KINDS; do $H score "bundle_$name" "anomaly_$k.h5" -o "$name/$k.csv" --threads "$THREADS" > /dev/null; done
}
variant per_class
variant nearest --rule nearest
variant per_class_plain --group-forests none
variant global --global --group-forests none
cat per_class/fit.txt

echo; echo "## isolation forests: AUC per anomaly kind, flag rates per class"
$PY "$ROOT/benchmarks/anomaly/report.py" . per_class nearest per_class_plain global

echo; echo "## hemolens vs scikit-learn (one forest over all classes, same features and parameters)"
# A forest's AUC varies with its seed (sd up to 0.02 for dark images), so both sides are
# averaged over 5 seeds: hemolens' global forest refitted with seeds 42..46.
for s in 43 44 45 46; do variant "global_$s" --global --group-forests none --seed "$s"; done
csvs() { local c="global/$1.csv"; for s in 43 44 45 46; do c+=",global_$s/$1.csv"; done; echo "$c"; }
args=()
for k in $KINDS; do args+=(--anomaly "$k" "anomaly_$k.h5" "$(csvs "$k")"); done
$PY "$ROOT/benchmarks/anomaly/compare_sklearn.py" --fit fit.h5 --normal heldout.h5 "$(csvs heldout)" "${args[@]}" --max-auc-diff 0.02 || true
echo; echo "total $(( $(date +%s) - start )) s on $(nproc) cores ($(date -u +%Y-%m-%d))"
