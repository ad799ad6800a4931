#!/usr/bin/env bash
# The VIP modes side by side (issue "VIPs made local by routes"): for each --vip-mode, the cold
# sync of SERVICES x ENDPOINTS by `ipvs-proxy run --once` in a fresh namespace (T as the agent
# reports it, and the process's wall time), then the VIP step alone (bench/vip-bench.ts) for
# addresses and routes, IPv4 (link down) and IPv6 (link up, addrgenmode none, NODAD addresses). Runs as root where IPVS exists; for repeatable figures run it in the VM
# with the instruction-counted clock:
#
#   IPVS_PROXY_VM_ICOUNT=1 test/vm/run.sh --timeout 3000 -- bash bench/vip-modes.sh [OUT.json]
#
# Also a step of bench/run.sh. Prints the JSON on stdout between marker lines (the VM's files vanish).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
SERVICES=${IPVS_PROXY_BENCH_SERVICES:-10000}
ENDPOINTS=${IPVS_PROXY_BENCH_ENDPOINTS:-10}
out=${1:-bench/results/vip-modes.json}
TSX=(node --import tsx)
log() { echo "vip-modes: $(date -u +%H:%M:%S) $*" >&2; }
work=$(mktemp -d /tmp/ipvs-proxy-vips.XXXXXX)
namespaces=()
cleanup() {
  local ns
  for ns in "${namespaces[@]}"; do ip netns exec "$ns" ipvsadm -C 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fresh_ns() {
  local name="vips-$1-$$-$RANDOM"
  ip netns add "$name"
  ip -n "$name" link set lo up
  namespaces+=("$name")
  echo "$name"
}
drop_ns() {
  ip netns exec "$1" ipvsadm -C 2>/dev/null || true
  ip -n "$1" link del kube-ipvs0 2>/dev/null || true
  ip netns del "$1" 2>/dev/null || true
}
[ -e /proc/net/ip_vs ] || modprobe ip_vs
"${TSX[@]}" bench/lib/write-cluster.ts "$work/cluster" "$SERVICES" "$ENDPOINTS" > /dev/null
clock=$([ "${IPVS_PROXY_VM_ICOUNT:-0}" = 1 ] && echo instruction-counted || echo host)
rows=()
for mode in addresses routes both; do
  ns=$(fresh_ns "$mode")
  log "cold sync --vip-mode $mode ($SERVICES x $ENDPOINTS)"
  t0=$(date +%s%N)
  ip netns exec "$ns" node bin/ipvs-proxy.js run --once --vip-mode "$mode" --manifests "$work/cluster/manifests" \
    --state-dir "$work/state-$mode" --node-name bench-node --log-level debug --log-format json > "$work/$mode.out" 2> "$work/$mode.err" \
    || { cat "$work/$mode.err" >&2; exit 1; }
  wall=$(( ($(date +%s%N) - t0) / 1000000 ))
  summary=$(grep '^synced:' "$work/$mode.out")
  t=$(echo "$summary" | sed -E 's/^synced: .* ([0-9.]+) ms$/\1/')
  phases=$(grep -o '"phasesMs":{[^}]*}' "$work/$mode.err" | head -n 1 | sed 's/^"phasesMs"://')
  addrs=$(ip -n "$ns" -o addr show dev kube-ipvs0 2>/dev/null | grep -vc ' fe80:' || true)
  routes=$(ip -n "$ns" route show table local proto 201 | wc -l)
  log "   $summary; process wall $wall ms; $addrs addresses, $routes routes on kube-ipvs0 at exit"
  rows+=("{\"mode\":\"$mode\",\"syncMs\":$t,\"agentWallMs\":$wall,\"addressesAtExit\":$addrs,\"routesAtExit\":$routes,\"phasesMs\":${phases:-null}}")
  drop_ns "$ns"
done
steps=()
for family in inet inet6; do
  for form in addresses routes; do
    ns=$(fresh_ns "step-$form")
    log "VIP step alone: $SERVICES $family $form"
    line=$(ip netns exec "$ns" "${TSX[@]}" bench/vip-bench.ts "$form" "$SERVICES" "$family")
    log "   $line"
    steps+=("$line")
    drop_ns "$ns"
  done
done
json="{\"kernel\":\"$(uname -r)\",\"clock\":\"$clock\",\"services\":$SERVICES,\"endpoints\":$ENDPOINTS,\"coldSync\":[$(IFS=,; echo "${rows[*]}")],\"vipStep\":[$(IFS=,; echo "${steps[*]}")]}"
mkdir -p "$(dirname "$out")"
echo "$json" > "$out"
echo "=== bench-file bench/results/vip-modes.json begin ==="
echo "$json"
echo "=== bench-file bench/results/vip-modes.json end ==="
