#!/usr/bin/env bash
# End-to-end throughput: `hemolens extract` over a dataset folder, with the split between
# stages, as recorded in benchmarks/RESULTS.md. Usage:
#   benchmarks/run_e2e.sh DATASET [THREADS] [BACKEND]
# Prints the machine, the command and hemolens' own summary (images/s, thread-seconds per stage).
set -euo pipefail
cd "$(dirname "$0")/.."
dataset=${1:?usage: benchmarks/run_e2e.sh DATASET [THREADS] [BACKEND]}
threads=${2:-$(nproc)}
backend=${3:-cpu}
out=$(mktemp -d)/e2e.h5
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: hemolens extract $dataset -o $out --threads $threads --backend $backend"
build/src/cli/hemolens extract "$dataset" -o "$out" --threads "$threads" --backend "$backend" -q
rm -rf "$(dirname "$out")"
