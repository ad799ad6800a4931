#!/usr/bin/env bash
# Host side of `make bench`: run bench/run.sh in the VM, keep its output in .vm/bench.log, and
# write back the report files it printed between marker lines (the VM's own writes vanish).
#   bash bench/collect.sh            run the VM and collect
#   bash bench/collect.sh LOGFILE    only collect from a log captured earlier
set -uo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
log=${1:-}
rc=0
if [ -z "$log" ]; then
  mkdir -p .vm
  rm -rf bench/results/steps
  log=.vm/bench.log
  IPVS_PROXY_BENCH_HOST_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)" test/vm/run.sh --timeout 3600 --mem 8192 -- bash bench/run.sh 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
fi
mkdir -p bench/results/steps
awk -v repo="$repo" '
  /^=== bench-file .* begin ===$/ { file = repo "/" $3; printf "" > file; next }
  /^=== bench-file .* end ===$/ { close(file); print "collected " file > "/dev/stderr"; file = ""; next }
  file != "" { print >> file }
' <(tr -d '\r' < "$log")
# A run cut short printed its finished steps but no report: build the report from them here.
if ! grep -q '^=== bench-file bench/results/latest.md end ===' <(tr -d '\r' < "$log") && [ -d bench/results/steps ]; then
  echo "bench: no report in the log; building it from the steps that finished" >&2
  node --import tsx bench/report.ts bench/results/steps bench/results
fi
exit "$rc"
