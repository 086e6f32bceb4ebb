#!/usr/bin/env bash
# The install a cluster makes (README, "Installing on a cluster"): `cmake --install` into a
# temporary prefix; the binary's RUNPATH names no build-machine path; the tree still runs after
# it is moved elsewhere (the installed hemolens runs the installed sample job, and the installed
# slurm/submit finds the installed binary); `module load hemolens` works with Debian's Lmod, also
# through a site's symlinked modulefiles tree; cpack makes a .tar.gz that runs where it is
# unpacked and a .deb with its files and dependencies.
#   HEMOLENS_BUILD_DIR=build tests/install/test_install.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "${HEMOLENS_BUILD_DIR:-$root/build}")
work=$(mktemp -d /tmp/hemolens-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
unset HEMOLENS_BIN HEMOLENS_SHARE HEMOLENS_ROOT

step "cmake --install into $work/prefix"
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" || { cat "$work/install.log"; fail "cmake --install failed"; }
for f in bin/hemolens share/hemolens/jobs/sample.toml share/hemolens/jobs/pbc.toml share/hemolens/slurm/submit \
  share/hemolens/slurm/stage.sbatch share/hemolens/slurm/README.md share/hemolens/docs/jobs.md share/hemolens/docs/training.md \
  share/hemolens/README.md share/hemolens/data/sample/basophil/BA_101381.jpg share/modulefiles/hemolens/0.1.0; do
  [ -e "$work/prefix/$f" ] || fail "not installed: $f"
done
[ -x "$work/prefix/share/hemolens/slurm/submit" ] || fail "slurm/submit is not executable"

step "RUNPATH: relative to the binary, no build-machine path"
runpath=$(readelf -d "$work/prefix/bin/hemolens" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
rpath=$(readelf -d "$work/prefix/bin/hemolens" | sed -n 's/.*(RPATH).*\[\(.*\)\]/\1/p')
echo "RUNPATH=$runpath RPATH=$rpath"
[ "$runpath" = '$ORIGIN/../lib/hemolens' ] || fail "RUNPATH is '$runpath', expected \$ORIGIN/../lib/hemolens"
[ -z "$rpath" ] || fail "an RPATH is set: $rpath"
strings -a "$work/prefix/bin/hemolens" | grep -F "$build" && fail "the binary holds the build directory's path"
if readelf -d "$work/prefix/bin/hemolens" | grep -q 'libcudart'; then
  [ -e "$work/prefix/lib/hemolens/libcudart.so.13" ] || ls "$work/prefix/lib/hemolens/libcudart.so."* >/dev/null ||
    fail "the binary needs libcudart but lib/hemolens does not carry it"
fi

step "move the tree: it still runs"
mv "$work/prefix" "$work/moved"
P=$work/moved
libs=$(env -u LD_LIBRARY_PATH ldd "$P/bin/hemolens")
grep -q "not found" <<<"$libs" && { echo "$libs"; fail "a library is not found"; }
if grep -q libcudart <<<"$libs"; then
  cudart=$(sed -n 's/.*libcudart[^ ]* => \([^ ]*\) .*/\1/p' <<<"$libs")  # $ORIGIN/.. shows as bin/..
  [[ "$(realpath "$cudart")" == "$P/lib/hemolens/libcudart"* ]] || { echo "$libs"; fail "libcudart is not the one in lib/hemolens"; }
fi
"$P/bin/hemolens" --version
"$P/bin/hemolens" run "$P/share/hemolens/jobs/sample.toml" --run-dir "$work/run" >"$work/run.log" 2>&1 ||
  { cat "$work/run.log"; fail "the installed hemolens could not run the installed sample job"; }
grep -q "test set: accuracy" "$work/run.log" || { cat "$work/run.log"; fail "the installed job did not report its test set"; }
"$P/bin/hemolens" status "$work/run" >/dev/null || fail "the installed run is not complete"

step "the installed slurm/submit runs the installed binary"
"$P/share/hemolens/slurm/submit" "$P/share/hemolens/jobs/sample.toml" --run-dir "$work/dry" --dry-run >"$work/dry.txt"
grep -q "stage.sbatch $P/bin/hemolens " "$work/dry.txt" || { cat "$work/dry.txt"; fail "submit does not give the jobs $P/bin/hemolens"; }
"$P/share/hemolens/slurm/submit" --help >/dev/null || fail "submit --help does not exit 0"

step "module load hemolens (Lmod)"
lmod_init=/usr/share/lmod/lmod/init/bash
[ -r "$lmod_init" ] || fail "Debian's lmod is missing (scripts/install-deps --tests installs it)"
mkdir -p "$work/site-modules"
ln -s "$P/share/modulefiles/hemolens" "$work/site-modules/hemolens"  # a site links it into its tree
for tree in "$P/share/modulefiles" "$work/site-modules"; do
  (
    set +u # Lmod's init scripts read unset variables
    export MODULEPATH=""
    # shellcheck disable=SC1090
    source "$lmod_init"
    module use "$tree"
    module load hemolens || exit 1
    [ "$(command -v hemolens)" = "$P/bin/hemolens" ] || { echo "hemolens on PATH: $(command -v hemolens)"; exit 1; }
    [ "$HEMOLENS_BIN" = "$P/bin/hemolens" ] && [ "$HEMOLENS_SHARE" = "$P/share/hemolens" ] || { env | grep HEMOLENS; exit 1; }
    hemolens --version >/dev/null || exit 1
    # To a file, not a pipe: grep -q would stop reading early, and pipefail count submit's SIGPIPE.
    "$HEMOLENS_SHARE/slurm/submit" "$HEMOLENS_SHARE/jobs/sample.toml" --run-dir "$work/dry2" --dry-run >"$work/dry2.txt" || exit 1
    grep -q "$P/bin/hemolens" "$work/dry2.txt" || exit 1
    module unload hemolens
    [ -z "$(command -v hemolens || true)" ] || exit 1
  ) || fail "module load hemolens from $tree did not set PATH and HEMOLENS_*"
  echo "ok: module load hemolens from $tree"
done

step "cpack: .tar.gz and .deb"
(cd "$build" && cpack -B "$work/pkg" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack failed"; }
tgz=$(ls "$work"/pkg/hemolens-*.tar.gz) deb=$(ls "$work"/pkg/hemolens_*.deb)
mkdir "$work/unpacked" && tar -xzf "$tgz" -C "$work/unpacked"
unpacked=$(ls -d "$work"/unpacked/*/)
"$unpacked/bin/hemolens" --version >/dev/null || fail "the unpacked .tar.gz does not run"
dpkg-deb -c "$deb" >"$work/deb.txt"
for f in ./usr/bin/hemolens ./usr/share/hemolens/jobs/sample.toml ./usr/share/hemolens/slurm/submit ./usr/share/modulefiles/hemolens/0.1.0; do
  grep -q " $f\$" "$work/deb.txt" || fail ".deb lacks $f"
done
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for pkg in libxgboost0 libhdf5 libopencv-core libtbb; do grep -q "$pkg" <<<"$depends" || fail ".deb does not depend on $pkg"; done
echo "passed"
