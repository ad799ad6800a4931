#!/usr/bin/env bash
# `make bench`: ipvs-proxy next to the tools users would otherwise use, on one kernel, in one run.
# Runs as root where IPVS exists (the Makefile starts it inside the VM: test/vm/run.sh). Every
# peer gets its own fresh network namespace. Writes bench/results/latest.{md,json} and, because
# the VM's writes vanish with it, also prints both files between marker lines on stdout
# (bench/collect.sh turns a captured log back into the files on the host).
#
# Scale and duration (defaults are the issue's): IPVS_PROXY_BENCH_SERVICES=10000,
# IPVS_PROXY_BENCH_ENDPOINTS=10, IPVS_PROXY_BENCH_CHURN_SERVICES (default SERVICES),
# IPVS_PROXY_BENCH_CHURN_SECONDS=60, IPVS_PROXY_BENCH_CHURN_RATE=100,
# IPVS_PROXY_BENCH_PROFILE=1|0|auto: CPU profiles (node --cpu-prof) of the cold sync and of the
# endpoint changes at full scale, summarised in the report (auto: when the run has time left). IPVS_PROXY_BENCH_HOST_LOAD: the
# host's /proc/loadavg, recorded in the report (the guest cannot see it).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

SERVICES=${IPVS_PROXY_BENCH_SERVICES:-10000}
ENDPOINTS=${IPVS_PROXY_BENCH_ENDPOINTS:-10}
CHURN_SERVICES=${IPVS_PROXY_BENCH_CHURN_SERVICES:-$SERVICES}
CHURN_SECONDS=${IPVS_PROXY_BENCH_CHURN_SECONDS:-60}
CHURN_RATE=${IPVS_PROXY_BENCH_CHURN_RATE:-100}
STEADY_SECONDS=${IPVS_PROXY_BENCH_STEADY_SECONDS:-35}
TSX=(node --import tsx)

work=$(mktemp -d /tmp/ipvs-proxy-bench.XXXXXX)
res=$work/results
mkdir -p "$res"
agent_pid=
finish() {
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null || true
  [ -n "${api_pid:-}" ] && kill "$api_pid" 2>/dev/null || true
  local ns
  for ns in $(ip netns list | awk -v tag="-$$-" 'index($1, tag) {print $1}'); do ip netns del "$ns" 2>/dev/null || true; done
}
bench_t0=$(date +%s)
# Each step runs in a subshell with errexit and cleans up its own namespaces; a failing step is
# reported and the others still run. Its result files are printed as they appear, so a run cut
# short by the VM's time limit still leaves its finished steps in the log.
step() {
  local name=$1; shift
  log "step $name"
  set +e
  ( set -e; trap finish EXIT; "$@" )
  local rc=$?
  set -e
  [ $rc = 0 ] || log "step $name FAILED (exit $rc); continuing"
  emit_results
}
emitted=" "
emit_results() {
  local f base
  for f in "$res"/*.json; do
    [ -e "$f" ] || continue
    base=$(basename "$f")
    case "$emitted" in *" $base "*) continue ;; esac
    emitted+="$base "
    echo "=== bench-file bench/results/steps/$base begin ==="
    cat "$f"
    echo "=== bench-file bench/results/steps/$base end ==="
  done
}

log() { echo "bench: $(date -u +%H:%M:%S) $*" >&2; }
# node has died of SIGILL (exit 132) under qemu's TCG now and then, in a different step each time
# and never twice in a row: an emulation fault, not ours. Such a run is logged with the guest
# kernel's trap line and retried once; any other failure stands.
retry_sigill() {
  local rc=0
  "$@" || rc=$?
  if [ "$rc" = 132 ]; then
    log "   SIGILL (exit 132) under emulation: $(dmesg 2>/dev/null | grep -i 'invalid opcode' | tail -n 1); retrying once"
    rc=0
    "$@" || rc=$?
  fi
  return "$rc"
}
now_ns() { date +%s%N; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
fresh_ns() {
  local name="bench-$1-$$-$RANDOM"
  ip netns add "$name"
  ip -n "$name" link set lo up
  echo "$name"
}
# The table is emptied first, in the foreground: a namespace's deletion is finished by a kernel
# worker later, which would otherwise compete with the next step.
drop_ns() {
  ip netns exec "$1" ipvsadm -C 2>/dev/null || true
  ip -n "$1" link del kube-ipvs0 2>/dev/null || true
  ip netns del "$1" 2>/dev/null || true
}
# A JSON object from key=value arguments (values are numbers or JSON already).
json_obj() {
  local first=1 kv
  printf '{'
  for kv in "$@"; do
    [ $first = 1 ] || printf ','
    first=0
    printf '"%s":%s' "${kv%%=*}" "${kv#*=}"
  done
  printf '}\n'
}

[ -e /proc/net/ip_vs ] || modprobe ip_vs
log "kernel $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $SERVICES services x $ENDPOINTS endpoints"
json_obj "kernel=\"$(uname -r)\"" "cpus=$(nproc)" "memMiB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 ))" \
  "inVm=$([ -d /vmjob ] && echo true || echo false)" "cpuModel=\"$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)\"" \
  "guestLoadAtStart=\"$(cut -d' ' -f1-3 /proc/loadavg)\"" "hostLoad=\"${IPVS_PROXY_BENCH_HOST_LOAD:-not given}\"" \
  "node=\"$(node --version)\"" "ipvsadm=\"$(ipvsadm --version 2>&1 | head -n1)\"" "services=$SERVICES" "endpoints=$ENDPOINTS" \
  "started=\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"" > "$res/machine.json"

emit_results
# First the short ones, so a run cut short by the VM's time limit still has them: the addon's own
# benchmark (programming and reading the table next to ipvsadm -R / -Sn) and the model's.
addon() { "${TSX[@]}" bench/addon-bench.ts "$SERVICES" "$ENDPOINTS" > "$work/addon.out"; cp bench/results/addon.json "$res/addon.json"; }
step addon-bench addon
model() { "${TSX[@]}" bench/model-bench.ts > "$work/model.out"; cp bench/results/model.json "$res/model.json"; }
step model-bench model

# Command start-up: `ipvs-proxy status` on a small table, --version and --help, next to a bare
# `node -e 0`, each run 7 times in turn (medians), in a fresh namespace holding 3 services x 2.
startup() {
log "command start-up: status (3 x 2 table), --version, --help vs node -e 0"
ns=$(fresh_ns startup)
for i in 1 2 3; do
  ip netns exec "$ns" ipvsadm -A -t "10.96.0.$i:80" -s rr
  for j in 1 2; do ip netns exec "$ns" ipvsadm -a -t "10.96.0.$i:80" -r "10.128.$i.$j:8080" -m; done
done
local names=(node status version help) cmds=("node -e 0" "node bin/ipvs-proxy.js status" "node bin/ipvs-proxy.js --version" "node bin/ipvs-proxy.js --help")
local -A times=()
local round k t0
ip netns exec "$ns" node bin/ipvs-proxy.js status > /dev/null # the page cache, as for every later run
for round in 1 2 3 4 5 6 7; do
  for k in 0 1 2 3; do
    t0=$(now_ns)
    ip netns exec "$ns" ${cmds[$k]} > /dev/null
    times[${names[$k]}]+="$(ms_since "$t0") "
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
local args=()
for k in 0 1 2 3; do args+=("${names[$k]}Ms=$(echo "${times[${names[$k]}]}" | median)" "${names[$k]}RunsMs=[$(echo "${times[${names[$k]}]}" | sed -E 's/ $//; s/ /,/g')]"); done
log "   medians: node -e 0 $(echo "${times[node]}" | median) ms, status $(echo "${times[status]}" | median) ms, --version $(echo "${times[version]}" | median) ms, --help $(echo "${times[help]}" | median) ms"
json_obj "${args[@]}" "runs=7" > "$res/startup.json"
drop_ns "$ns"
}
step command-startup startup

log "writing the cluster"
"${TSX[@]}" bench/lib/write-cluster.ts "$work/cluster" "$SERVICES" "$ENDPOINTS" > /dev/null

# Heap by stage of a cold start on the agent's code path (the fake kernel in place of IPVS).
memory_stages() {
  log "memory by stage: manifests source, model, desired state, applied table and record"
  node --expose-gc --import tsx bench/memory-stages.ts "$work/cluster/manifests" "$res/memory-stages.json" > /dev/null
}
step memory-stages memory_stages

# 1. Cold sync: the peer (ipvsadm -R + ip -batch) into an empty namespace, emptied again, then the
# agent into another; each finds the kernel holding nothing but its own table.
cold_and_table() {
log "1. cold sync: ipvsadm -R + ip -batch"
ns_peer=$(fresh_ns peer)
ip -n "$ns_peer" link add kube-ipvs0 type dummy
t0=$(now_ns)
ip netns exec "$ns_peer" ipvsadm -R < "$work/cluster/ipvsadm-restore.txt"
restore_ms=$(ms_since "$t0")
t1=$(now_ns)
ip -n "$ns_peer" -batch "$work/cluster/ip-batch.txt"
batch_ms=$(ms_since "$t1")
peer_ms=$(ms_since "$t0")
peer_lines=$(ip netns exec "$ns_peer" ipvsadm -Sn | wc -l)
peer_addrs=$(ip -n "$ns_peer" -o addr show dev kube-ipvs0 | wc -l)
log "   ipvsadm -R ${restore_ms} ms + ip -batch ${batch_ms} ms = ${peer_ms} ms ($peer_lines lines, $peer_addrs addresses)"
# Emptied before the agent runs: the kernel keeps one IPVS service hash and one IPv4 address hash
# for all namespaces (and a worker walks every address after each address add), so a table left
# here would slow the agent's cold sync, as the agent's table would slow the peer's.
drop_ns "$ns_peer"
log "1. cold sync: ipvs-proxy run --once"
ns_agent=$(fresh_ns agent)
t0=$(now_ns)
ip netns exec "$ns_agent" node bin/ipvs-proxy.js run --once --manifests "$work/cluster/manifests" \
  --state-dir "$work/state-once" --node-name bench-node --log-level debug --log-format json > "$work/once.out" 2> "$work/once.err" \
  || { cat "$work/once.err" >&2; exit 1; }
agent_wall=$(ms_since "$t0")
summary=$(grep '^synced:' "$work/once.out")
log "   $summary (process wall ${agent_wall} ms)"
read -r v r a w t < <(echo "$summary" | sed -E 's/^synced: ([0-9]+) virtual servers, ([0-9]+) real servers, ([0-9]+) addresses, ([0-9]+) kernel writes, ([0-9.]+) ms$/\1 \2 \3 \4 \5/')

# Where T went (the agent's debug line; IPVS, addresses and iptables overlap).
phases=$(grep -o '"phasesMs":{[^}]*}' "$work/once.err" | head -n 1 | sed 's/^"phasesMs"://')
log "   phases: ${phases:-none logged}"
# And where the process's wall time went, start to summary line (the agent's start phases line).
start_phases=$(grep -o '"startPhasesMs":{[^}]*}' "$work/once.err" | head -n 1 | sed 's/^"startPhasesMs"://')
log "   start phases: ${start_phases:-none logged}"
json_obj "virtualServers=$v" "realServers=$r" "addresses=$a" "kernelWrites=$w" "syncMs=$t" "agentWallMs=$agent_wall" "phasesMs=${phases:-null}" "startPhasesMs=${start_phases:-null}" \
  "ipvsadmRestoreMs=$restore_ms" "ipBatchMs=$batch_ms" "peerMs=$peer_ms" "peerSaveLines=$peer_lines" "peerAddresses=$peer_addrs" > "$res/cold.json"

# 2. The peer's full read, in the agent's namespace (the same table).
log "2. read: ipvsadm -Sn"
t0=$(now_ns)
save_lines=$(ip netns exec "$ns_agent" ipvsadm -Sn | wc -l)
save_ms=$(ms_since "$t0")
log "   ipvsadm -Sn ${save_ms} ms ($save_lines lines)"
json_obj "ipvsadmSaveMs=$save_ms" "lines=$save_lines" > "$res/read.json"

# 2, 3, 4 (at full scale) and 7, in process, on the table the agent programmed.
log "2/3/4/7. in-process read, resync, endpoint changes at $SERVICES services"
retry_sigill ip netns exec "$ns_agent" "${TSX[@]}" bench/kernel-bench.ts table "$SERVICES" "$ENDPOINTS" "$res/table.json" > /dev/null
drop_ns "$ns_agent"
}
step cold-sync-read-resync-changes cold_and_table

# 1b. Cold start from the fixture API server (list + watch through the real client): the fixture
# serves the same table from inside the agent's fresh namespace, so only the agent's start differs.
start_api() {
  local ns=$1 dir=$2
  mkdir -p "$dir"
  ip netns exec "$ns" "${TSX[@]}" bench/lib/apiserver-child.ts "$SERVICES" "$ENDPOINTS" "$dir" > "$dir/out" 2> "$dir/err" &
  api_pid=$!
  local t0; t0=$(now_ns)
  until grep -q '^kubeconfig ' "$dir/out"; do
    kill -0 "$api_pid" 2>/dev/null || { cat "$dir/err" >&2; return 1; }
    [ $(( ($(now_ns) - t0) / 1000000000 )) -lt 600 ] || { log "   the fixture API server did not start within 600 s"; return 1; }
    sleep 0.5
  done
  kubeconfig=$(sed -n 's/^kubeconfig //p' "$dir/out")
}
stop_api() { [ -z "${api_pid:-}" ] || { kill -TERM "$api_pid" 2>/dev/null; wait "$api_pid" 2>/dev/null || true; api_pid=; }; }
cold_api() {
log "1b. cold sync from the fixture API server: ipvs-proxy run --once --kubeconfig"
ns_api=$(fresh_ns coldapi)
start_api "$ns_api" "$work/api-cold"
t0=$(now_ns)
ip netns exec "$ns_api" node bin/ipvs-proxy.js run --once --kubeconfig "$kubeconfig" \
  --state-dir "$work/state-api" --node-name bench-node --log-level debug --log-format json > "$work/api-once.out" 2> "$work/api-once.err" \
  || { stop_api; cat "$work/api-once.err" >&2; exit 1; }
agent_wall=$(ms_since "$t0")
stop_api
summary=$(grep '^synced:' "$work/api-once.out")
log "   $summary (process wall ${agent_wall} ms)"
t=$(echo "$summary" | sed -E 's/.* ([0-9.]+) ms$/\1/')
start_phases=$(grep -o '"startPhasesMs":{[^}]*}' "$work/api-once.err" | head -n 1 | sed 's/^"startPhasesMs"://')
phases=$(grep -o '"phasesMs":{[^}]*}' "$work/api-once.err" | head -n 1 | sed 's/^"phasesMs"://')
log "   start phases: ${start_phases:-none logged}"
json_obj "syncMs=$t" "agentWallMs=$agent_wall" "phasesMs=${phases:-null}" "startPhasesMs=${start_phases:-null}" > "$res/cold-api.json"
drop_ns "$ns_api"
}
step cold-sync-apiserver cold_api

# The VIP modes: cold sync per --vip-mode and the VIP step alone (bench/vip-modes.sh).
vip_modes() { bash bench/vip-modes.sh "$res/vip-modes.json" > /dev/null; }
step vip-modes vip_modes

# 4. at the smaller sizes, each in a fresh namespace.
small_changes() {
for n in 100 1000; do
  [ "$n" -lt "$SERVICES" ] || continue
  log "4. endpoint changes at $n services"
  ns=$(fresh_ns change$n)
  retry_sigill ip netns exec "$ns" "${TSX[@]}" bench/kernel-bench.ts change "$n" "$ENDPOINTS" "$res/change-$n.json" > /dev/null
  drop_ns "$ns"
done
}
step endpoint-changes-small small_changes

# 6. Memory of the long-running agent on the manifests: peak (VmHWM) and steady (VmRSS).
# memory_run NAME SOURCE_ARGS...: writes $res/NAME.json. $ns_mem is the agent's namespace (a
# fixture API server, when used, runs in it too).
memory_run() {
local name=$1; shift
log "   memory ($name): ipvs-proxy run $* (long-running), ${STEADY_SECONDS} s after the first sync"
ip netns exec "$ns_mem" node bin/ipvs-proxy.js run "$@" --state-dir "$work/state-$name" \
  --node-name bench-node --log-format json --metrics-bind-address 127.0.0.1:10249 --healthz-bind-address 127.0.0.1:10256 \
  > /dev/null 2> "$work/agent.log" &
agent_pid=$!
t0=$(now_ns)
rss_max=0
first_sync_ms=
steady_rss=()
while kill -0 "$agent_pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$agent_pid/status" 2>/dev/null || echo 0)
  [ "${rss:-0}" -gt "$rss_max" ] && rss_max=$rss
  if [ -z "$first_sync_ms" ] && grep -q '"sync: [0-9]* virtual servers' "$work/agent.log"; then
    first_sync_ms=$(ms_since "$t0"); t_sync=$(now_ns)
  fi
  if [ -n "$first_sync_ms" ]; then
    steady_rss+=("$rss")
    [ $(( ($(now_ns) - t_sync) / 1000000000 )) -ge "$STEADY_SECONDS" ] && break
  fi
  [ $(( ($(now_ns) - t0) / 1000000000 )) -lt 900 ] || { log "   the agent did not sync within 900 s"; break; }
  sleep 0.5
done
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$agent_pid/status")
rss_end=$(awk '/^VmRSS/ {print $2}' "/proc/$agent_pid/status")
verifies=$(grep -cE '"(verify|check): ' "$work/agent.log" || true)
kill -TERM "$agent_pid"; wait "$agent_pid" || true; agent_pid=
[ -n "$first_sync_ms" ] || { tail -n 20 "$work/agent.log" >&2; exit 1; }
log "   VmHWM $((hwm / 1024)) MiB, VmRSS at the end $((rss_end / 1024)) MiB (first sync after ${first_sync_ms} ms; $verifies verifications)"
json_obj "vmHwmKiB=$hwm" "vmRssEndKiB=$rss_end" "sampledRssMaxKiB=$rss_max" "startToFirstSyncMs=$first_sync_ms" \
  "steadySeconds=$STEADY_SECONDS" "steadySamples=${#steady_rss[@]}" "verifyPasses=$verifies" > "$res/$name.json"
}
memory() {
log "6. memory of the long-running agent: on the manifests, then on the fixture API server"
ns_mem=$(fresh_ns mem)
memory_run memory --manifests "$work/cluster/manifests"
drop_ns "$ns_mem"
ns_mem=$(fresh_ns memapi)
start_api "$ns_mem" "$work/api-mem"
memory_run memory-api --kubeconfig "$kubeconfig"
stop_api
drop_ns "$ns_mem"
}
step memory memory

# 5. Churn through the fixture API server.
churn() {
log "5. churn: $CHURN_RATE changes/s for $CHURN_SECONDS s at $CHURN_SERVICES services"
ns_churn=$(fresh_ns churn)
retry_sigill ip netns exec "$ns_churn" "${TSX[@]}" bench/churn-bench.ts "$CHURN_SERVICES" "$ENDPOINTS" "$CHURN_RATE" "$CHURN_SECONDS" "$res/churn.json" > /dev/null
drop_ns "$ns_churn"
}
step churn churn


profiles() {
  log "profiles: cold sync and endpoint changes at $SERVICES services"
  mkdir -p "$work/prof"
  ns=$(fresh_ns prof)
  ip netns exec "$ns" node --cpu-prof --cpu-prof-dir "$work/prof/once" bin/ipvs-proxy.js run --once \
    --manifests "$work/cluster/manifests" --state-dir "$work/state-prof" --node-name bench-node --log-level warn > /dev/null 2>&1 || true
  IPVS_PROXY_BENCH_CHANGES=250 ip netns exec "$ns" node --cpu-prof --cpu-prof-dir "$work/prof/change" --import tsx \
    bench/kernel-bench.ts table "$SERVICES" "$ENDPOINTS" "$work/prof/table.json" > /dev/null || true
  drop_ns "$ns"
  "${TSX[@]}" bench/lib/profile-summary.ts "$work/prof/once" > "$res/profile-once.json" || true
  "${TSX[@]}" bench/lib/profile-summary.ts "$work/prof/change" > "$res/profile-change.json" || true
}
# Profiles only when asked for, or when the run has time left for them (they repeat the cold sync).
if [ "${IPVS_PROXY_BENCH_PROFILE:-auto}" = 1 ] || { [ "${IPVS_PROXY_BENCH_PROFILE:-auto}" = auto ] && [ $(( $(date +%s) - bench_t0 )) -lt 900 ]; }; then
  step profiles profiles
fi

log "report"
json_obj "elapsedS=$(( $(date +%s) - bench_t0 ))" "guestLoadAtEnd=\"$(cut -d' ' -f1-3 /proc/loadavg)\"" > "$res/end.json"
emit_results
"${TSX[@]}" bench/report.ts "$res" bench/results
for f in latest.md latest.json; do
  echo "=== bench-file bench/results/$f begin ==="
  cat "bench/results/$f"
  echo "=== bench-file bench/results/$f end ==="
done
log "done"
