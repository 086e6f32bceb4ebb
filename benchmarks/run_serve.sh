#!/usr/bin/env bash
# Latency and load of `hemolens serve` on this machine's CPU, over loopback:
#   1. latency: one client, 300 requests of one image each (the page's request, outlines on);
#   2. load: 8 concurrent clients, 1,000 requests; zero errors expected.
# The server runs with its defaults; images are cycled from IMAGES (a folder, searched
# recursively; default: the bundled sample).
#   benchmarks/run_serve.sh MODEL_DIR [IMAGES]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?usage: benchmarks/run_serve.sh MODEL_DIR [IMAGES]}
images=${2:-data/sample}
bin=build/src/cli/hemolens
load=build/benchmarks/hemolens_serve_load
mapfile -t files < <(find "$images" -type f \( -name '*.jpg' -o -name '*.jpeg' \) | sort | head -400)

log=$(mktemp)
"$bin" serve "$model" --port 0 >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
port=$(sed -n 's|.*listening on http://[^:]*:\([0-9]*\)/.*|\1|p' "$log")
[ -n "$port" ] || { cat "$log"; exit 1; }
echo "server: $(head -1 "$log"), port $port; ${#files[@]} images cycled; $(nproc) cores"
echo "== latency, 1 client =="
"$load" --port "$port" -n 300 -c 1 --outlines "${files[@]}"
echo "== load, 8 clients =="
"$load" --port "$port" -n 1000 -c 8 --outlines "${files[@]}"
echo "server log lines: $(grep -c 'POST /api/analyze' "$log") requests logged, $(grep -c ' 200 ' "$log") with status 200"
