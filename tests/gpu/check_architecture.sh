#!/bin/sh
# Configures the standalone GPU checks (tests/gpu) as scripts/gpu-check does, with no
# architecture given, and checks that nvcc is asked for sm_90 code and not for its default
# sm_75 (which an H100/H200 would run only as JIT-compiled PTX).
#   check_architecture.sh TESTS_GPU_DIR BUILD_DIR
set -eu
src=$1 build=$2
rm -rf "$build"
export PATH="$PATH:/usr/local/cuda/bin"
if ! cmake -S "$src" -B "$build" -G Ninja >"$build.log" 2>&1; then
  cat "$build.log"
  echo "FAIL: tests/gpu does not configure"
  exit 1
fi
flags=$(ninja -C "$build" -t commands hemolens_gpu_checks | grep -o -- '--generate-code=[^ ]*\|-arch[= ][^ ]*' | sort -u)
echo "nvcc architecture flags: $flags"
rm -rf "$build" "$build.log"
case $flags in
*sm_75* | *compute_75* | "") echo "FAIL: the GPU checks would be built for nvcc's default architecture"; exit 1 ;;
*sm_90*) echo "ok: sm_90 code" ;;
*) echo "FAIL: no sm_90 code"; exit 1 ;;
esac
