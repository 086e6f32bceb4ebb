#!/usr/bin/env bash
# -DXGBOOST_ROOT is honoured (docs/training.md, "GPU training"): a prefix holding an XGBoost
# (here Debian's, copied, since no CUDA-enabled one can be built on these machines) is found,
# probed and reported with its version and whether it has CUDA; changing XGBOOST_ROOT in the
# same build directory searches again; a prefix without XGBoost stops configuring with a
# message that says what is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/hemolens-xgbroot.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

lib=$(realpath /usr/lib/x86_64-linux-gnu/libxgboost.so)
for prefix in "$work/xgb-a" "$work/xgb-b"; do
  mkdir -p "$prefix/lib" "$prefix/include"
  cp -r /usr/include/xgboost "$prefix/include/"
  cp "$lib" "$prefix/lib/libxgboost.so.0"
  ln -s libxgboost.so.0 "$prefix/lib/libxgboost.so"
done
configure() { cmake -S "$root/tests/cmake/xgboost_root" -B "$work/build" -DHEMOLENS_SOURCE_DIR="$root" "$@" 2>&1; }

out=$(configure -DXGBOOST_ROOT="$work/xgb-a") || { echo "$out"; fail "configuring with XGBOOST_ROOT failed"; }
echo "$out" | grep "hemolens: XGBoost"
echo "$out" | grep -q "hemolens: XGBoost 1\.7\.[0-9]* at $work/xgb-a/lib/libxgboost.so, CPU only" || fail "XGBOOST_ROOT=$work/xgb-a not found or not probed"

out=$(configure -DXGBOOST_ROOT="$work/xgb-b") || { echo "$out"; fail "reconfiguring with another XGBOOST_ROOT failed"; }
echo "$out" | grep -q "at $work/xgb-b/lib/libxgboost.so" || { echo "$out"; fail "a new XGBOOST_ROOT kept the old library"; }

mkdir -p "$work/empty"
if out=$(configure -DXGBOOST_ROOT="$work/empty"); then fail "a prefix without XGBoost was accepted"; fi
echo "$out" | grep -q "holds no XGBoost" || { echo "$out"; fail "no clear message for a prefix without XGBoost"; }

out=$(cmake -S "$root/tests/cmake/xgboost_root" -B "$work/build-system" -DHEMOLENS_SOURCE_DIR="$root" 2>&1) || { echo "$out"; fail "the system XGBoost"; }
echo "$out" | grep "hemolens: XGBoost"
echo "passed"
