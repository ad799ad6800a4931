#!/usr/bin/env bash
# Runs bench/addon-bench.ts in the VM (or directly on a host kernel with IPVS) and keeps its
# figures: the guest's own writes vanish with it, so the JSON line it prints is saved here.
#   bench/addon/run.sh [SERVICES] [REALS] [DUMP_SOCKETS]     (default 10000 10 2)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
out=bench/results/addon.json
mkdir -p bench/results
log=$(mktemp)
trap 'rm -f "$log"' EXIT
test/vm/run.sh --timeout "${IPVS_PROXY_BENCH_TIMEOUT:-5400}" -- \
  node --import tsx bench/addon-bench.ts "${1:-10000}" "${2:-10}" "${3:-2}" | tee "$log"
tr -d '\r' < "$log" | grep -E '^\{"kernel":' | tail -n 1 | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    if (!s.trim()) { console.error("bench: no result line in the output"); process.exit(1); }
    process.stdout.write(JSON.stringify(JSON.parse(s), null, 2) + "\n");
  });' > "$out.tmp"
mv "$out.tmp" "$out"
echo "bench: wrote $out"
