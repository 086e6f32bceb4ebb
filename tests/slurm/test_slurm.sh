#!/usr/bin/env bash
# The SLURM chain on a real single-node cluster (slurm/local-cluster): jobs/sample.toml
# submitted with slurm/submit must give the same merged store, the same held-out test set and
# the same test result as `hemolens run` on this machine; a failing extract task must stop the
# chain (merge cancelled, status says failed);
# after the cause is fixed, a resubmission runs only that task and leaves the finished
# shards untouched. ctest label `slurm`; needs root the first time (apt-get install).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
export HEMOLENS_BIN=${HEMOLENS_BIN:-$root/build/src/cli/hemolens}
hemolens=$HEMOLENS_BIN
spec=$root/jobs/sample.toml
compare="$root/scripts/compare_stores.py --datasets-only"
# A cluster of its own (directory and ports), so a cluster someone started by hand is left alone.
export HEMOLENS_SLURM_DIR=${HEMOLENS_SLURM_TEST_DIR:-/tmp/hemolens-slurm-ctest}
export HEMOLENS_SLURM_CTLD_PORT=${HEMOLENS_SLURM_TEST_CTLD_PORT:-6827}
export HEMOLENS_SLURM_SLURMD_PORT=${HEMOLENS_SLURM_TEST_SLURMD_PORT:-6828}
export HEMOLENS_SLURM_WAIT_TIMEOUT=300
cluster=$root/slurm/local-cluster
work=$(mktemp -d /tmp/hemolens-slurm-test.XXXXXX)
t0=$SECONDS

step() { echo "== [$((SECONDS - t0)) s] $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
finish() {
  local rc=$?
  step "stopping the test cluster"
  "$cluster" stop || true
  if [ "$rc" = 0 ]; then rm -rf "$work"; else echo "kept for inspection: $work and $HEMOLENS_SLURM_DIR/log" >&2; fi
  exit "$rc"
}
trap finish EXIT

# Submits and prints the job ids, one per line, and the "STAGE ID" lines to $1.
submit() {
  local out=$1
  shift
  "$root/slurm/submit" "$spec" "$@" >"$out"
  cat "$out" >&2
  awk '{print $2}' "$out"
}

# "inode mtime" of each file, to prove a file was not rewritten.
fingerprints() { stat -c '%n %i %y' "$@"; }

[ -x "$hemolens" ] || fail "no hemolens binary at $hemolens (build first)"

step "starting the cluster ($HEMOLENS_SLURM_DIR)"
"$cluster" start
eval "$("$cluster" env)"

step "local run of jobs/sample.toml"
"$hemolens" run "$spec" --run-dir "$work/local"
"$hemolens" status "$work/local" || fail "the local run is not complete"

step "submit the whole chain"
# One job per row of the stage table, whatever rows it has.
stages=$("$hemolens" run "$spec" --run-dir "$work/slurm" --list-stages | awk '$1 == "stage" {print $2}')
ids=$(submit "$work/submit1.txt" --run-dir "$work/slurm")
[ "$(awk '{print $1}' "$work/submit1.txt")" = "$stages" ] || fail "expected one job per stage: $stages"
"$cluster" wait $ids || fail "the chain did not complete"
"$hemolens" status "$work/slurm" || fail "status does not report every stage done"
$compare "$work/local/features.h5" "$work/slurm/features.h5" || fail "SLURM store differs from the local run"
for i in 0 1 2 3; do [ -s "$work/slurm/logs/extract-$i.log" ] || fail "no log for extract task $i"; done
for stage in merge test-set train evaluate; do [ -s "$work/slurm/logs/$stage.log" ] || fail "no $stage log"; done
grep -q "^test-set " "$work/submit1.txt" || fail "the test-set stage was not submitted"
$compare "$work/local/test.h5" "$work/slurm/test.h5" || fail "the SLURM test set differs from the local one"
$compare "$work/local/train.h5" "$work/slurm/train.h5" || fail "the SLURM training store differs from the local one"
grep -q "Test set: [0-9]* images the model never saw" "$work/slurm/model/report.html" || fail "the report does not headline the test set"
/usr/bin/python3 -c 'import json, sys; a, b = (json.load(open(f)) for f in sys.argv[1:]); sys.exit(0 if a["evaluated_on"]["role"] == "test" and (a["accuracy"], a["samples"]) == (b["accuracy"], b["samples"]) else 1)' \
  "$work/slurm/model/metrics.json" "$work/local/model/metrics.json" || fail "the SLURM test result differs from the local one"

step "resubmitting a complete run submits nothing"
ids=$(submit "$work/submit2.txt" --run-dir "$work/slurm")
[ -z "$ids" ] || fail "a complete run was resubmitted: $ids"

step "one extract task fails (its output path is a directory)"
bad=$work/fail/shards/shard-0002-of-0004.h5
mkdir -p "$bad"
ids=$(submit "$work/submit3.txt" --run-dir "$work/fail")
if "$cluster" wait $ids >"$work/wait3.txt"; then fail "the chain succeeded although task 2 could not write"; fi
cat "$work/wait3.txt"
merge_id=$(awk '$1 == "merge" {print $2}' "$work/submit3.txt")
grep -q "^$merge_id CANCELLED DependencyNeverSatisfied" "$work/wait3.txt" || fail "merge was not cancelled after the failure"
grep -q "_2 FAILED" "$work/wait3.txt" || fail "extract task 2 is not FAILED in SLURM"
[ ! -e "$work/fail/features.h5" ] || fail "a merged store exists although a shard failed"
rc=0
"$hemolens" status "$work/fail" >"$work/status3.txt" || rc=$?
cat "$work/status3.txt"
[ "$rc" = 3 ] || fail "status exit code $rc, expected 3 (failed)"
grep -Eq '^ +extract 2 +failed .*exit 1' "$work/status3.txt" || fail "status does not show extract 2 failed"
grep -Eq '^ +merge +pending' "$work/status3.txt" || fail "status does not show merge pending"
grep -q "shard-0002-of-0004.h5" "$work/fail/logs/extract-2.log" || fail "the task log does not name the failing file"
fingerprints "$work"/fail/shards/shard-000{0,1,3}-of-0004.h5 >"$work/before.txt"

step "fix the cause and resubmit: only task 2 runs"
rmdir "$bad"
sleep 1 # a rewritten shard would then show a later mtime even on a coarse clock
ids=$(submit "$work/submit4.txt" --run-dir "$work/fail")
"$cluster" wait $ids >"$work/wait4.txt" || { cat "$work/wait4.txt"; fail "the resubmitted chain did not complete"; }
cat "$work/wait4.txt"
extract_id=$(awk '$1 == "extract" {print $2}' "$work/submit4.txt")
[ "$(grep -c "^${extract_id}_" "$work/wait4.txt")" = 1 ] && grep -q "^${extract_id}_2 COMPLETED" "$work/wait4.txt" ||
  fail "the resubmission should run extract task 2 alone"
fingerprints "$work"/fail/shards/shard-000{0,1,3}-of-0004.h5 | diff "$work/before.txt" - || fail "finished shards were rewritten"
"$hemolens" status "$work/fail" || fail "status after the resubmission is not all done"
$compare "$work/local/features.h5" "$work/fail/features.h5" || fail "the recovered store differs from the local run"

step "passed"
