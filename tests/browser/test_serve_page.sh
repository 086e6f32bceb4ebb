#!/usr/bin/env bash
# End to end in a real browser: train a model on the bundled sample, start `hemolens serve`
# on a free loopback port, and let drive_page.py upload real images through the page in
# headless Chromium. The screenshots stay in $HEMOLENS_ARTIFACTS (default build/test-artifacts).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${HEMOLENS_BIN:-$root/build/src/cli/hemolens}
artifacts=${HEMOLENS_ARTIFACTS:-$root/build/test-artifacts}
mkdir -p "$artifacts"
py=/usr/bin/python3  # Debian's python, where python3-websocket installs
for tool in chromium $py; do
  command -v $tool >/dev/null || { echo "test_serve_page: $tool is missing (scripts/install-deps --tests installs it)"; exit 1; }
done
$py -c "import websocket" 2>/dev/null || { echo "test_serve_page: python3-websocket is missing (scripts/install-deps --tests)"; exit 1; }

work=$(mktemp -d /tmp/hemolens-browser.XXXXXX)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$bin" extract "$root/data/sample" -o "$work/sample.h5" --threads 2 >/dev/null
"$bin" train "$work/sample.h5" -o "$work/model" --threads 2 >/dev/null
"$bin" serve "$work/model" --port 0 >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q "listening on" "$work/serve.log" && break; sleep 0.1; done
url=$(sed -n 's|.*listening on \(http://[^ ]*/\).*|\1|p' "$work/serve.log")
[ -n "$url" ] || { echo "the server did not start:"; cat "$work/serve.log"; exit 1; }

mapfile -t images < <(find "$root/data/sample" -name '*.jpg' | sort | awk 'NR % 9 == 1' | head -6)
status=0
$py "$root/tests/browser/drive_page.py" "$url" "$artifacts/serve-page.png" "${images[@]}" || status=$?
echo "server log (last lines):"; tail -4 "$work/serve.log"
exit $status
