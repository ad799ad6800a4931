#!/usr/bin/env bash
# The ipvs-proxy demo: one node, three "pods", a client pod and an outside client, all network
# namespaces on this kernel (which must have IPVS: `make demo` runs this in the test VM).
# The agent serves examples/hostnames; requests show the answers rotating across the pods.
# Exits 0 when every step did what it says, non-zero with the reason otherwise.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cli=(node "$repo/bin/ipvs-proxy.js")
id=$$
node_ns=demo-node-$id client_ns=demo-client-$id outside_ns=demo-outside-$id
pods=(hostnames-7d4f9-a1:10.244.1.7 hostnames-7d4f9-b2:10.244.2.3 hostnames-7d4f9-c3:10.244.3.6)
node_addr=192.168.100.1 outside_addr=192.168.100.2 client_addr=10.244.1.10
work=$(mktemp -d)
agent_pid=
pids=()

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nDEMO FAILED: %s\n' "$*" >&2; [ -s "$work/agent.log" ] && tail -n 20 "$work/agent.log" >&2; exit 1; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

cleanup() {
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for ns in $(ip netns list | awk '{print $1}' | grep -E -- "-$id\$" || true); do ip netns del "$ns"; done
  rm -rf "$work"
}
trap cleanup EXIT

# A pod's namespace joined to the node by a veth; the node side routes the pod's /32 (no bridge),
# and the pod reaches everything through 169.254.1.1 on the node side, as Calico does.
add_pod_netns() {
  local ns=$1 addr=$2 n=$3
  ip netns add "$ns"
  ip link add "vd$n-$id" netns "$node_ns" type veth peer name eth0 netns "$ns"
  in_ns "$ns" ip link set lo up
  in_ns "$ns" ip addr add "$addr/32" dev eth0
  in_ns "$ns" ip link set eth0 up
  in_ns "$ns" ip route add 169.254.1.1 dev eth0
  in_ns "$ns" ip route add default via 169.254.1.1 dev eth0
  in_ns "$node_ns" ip addr add 169.254.1.1/32 dev "vd$n-$id"
  in_ns "$node_ns" ip link set "vd$n-$id" up
  in_ns "$node_ns" ip route add "$addr/32" dev "vd$n-$id"
}

# Ask the URL n times from a namespace; print each answer, collect the pod names in $work/answers.
ask() {
  local ns=$1 url=$2 n=$3 i
  : > "$work/answers"
  for ((i = 0; i < n; i++)); do
    local answer
    answer=$(in_ns "$ns" curl -sS --max-time 5 "$url") || fail "request $((i + 1)) to $url from $ns failed"
    printf '    %s\n' "$answer"
    echo "${answer%% *}" >> "$work/answers"
  done
}
answered() { sort -u "$work/answers" | tr '\n' ' '; }

# Wait until the node's IPVS table has `want` real servers behind the ClusterIP (300 s at most:
# under software emulation the agent alone can take a minute to start).
wait_reals() {
  local want=$1 deadline=$((SECONDS + 300)) have
  while :; do
    have=$(in_ns "$node_ns" ipvsadm -Ln -t 10.0.1.175:80 2>/dev/null | grep -c -- '->.*Masq' || true)
    [ "$have" = "$want" ] && return 0
    [ $SECONDS -ge $deadline ] && fail "the ClusterIP has $have real servers, expected $want, after 300 s"
    sleep 0.5
  done
}

step "1. A node with three pods, a client pod and an outside client (network namespaces)"
ip netns add "$node_ns"
in_ns "$node_ns" ip link set lo up
in_ns "$node_ns" sysctl -qw net.ipv4.ip_forward=1
ip netns add "$outside_ns"
ip link add "eth0" netns "$node_ns" type veth peer name eth0 netns "$outside_ns"
in_ns "$node_ns" ip addr add "$node_addr/24" dev eth0
in_ns "$node_ns" ip link set eth0 up
in_ns "$outside_ns" ip link set lo up
in_ns "$outside_ns" ip addr add "$outside_addr/24" dev eth0
in_ns "$outside_ns" ip link set eth0 up
in_ns "$outside_ns" ip route add default via "$node_addr"
n=0
for pod in "${pods[@]}"; do
  n=$((n + 1))
  name=${pod%%:*} addr=${pod##*:}
  add_pod_netns "demo-pod$n-$id" "$addr" "$n"
  in_ns "demo-pod$n-$id" node "$repo/examples/demo/pod-server.mjs" "$name" 9376 > "$work/pod$n.log" 2>&1 &
  pids+=($!)
  echo "    pod $name at $addr:9376"
done
add_pod_netns "$client_ns" "$client_addr" 9
echo "    client pod at $client_addr, outside client at $outside_addr, node at $node_addr"
for n in 1 2 3; do
  deadline=$((SECONDS + 30))
  until grep -q listening "$work/pod$n.log"; do
    [ $SECONDS -ge $deadline ] && fail "pod $n did not start its server"
    sleep 0.2
  done
done

step "2. ipvs-proxy run --manifests examples/hostnames (Service default/hostnames: ClusterIP 10.0.1.175:80, NodePort 30080)"
cp -r "$repo/examples/hostnames" "$work/manifests"
# Started without the in_ns function (a function in the background is a subshell): $! must be the
# agent itself, so that SIGTERM reaches it and its exit status is the agent's.
ip netns exec "$node_ns" "${cli[@]}" run --manifests "$work/manifests" --node-name demo-node \
  --state-dir "$work/state" --healthz-bind-address 127.0.0.1:10256 --metrics-bind-address 127.0.0.1:10249 \
  --nodeport-addresses "$node_addr/32" --log-format text --min-sync-period 0s > "$work/agent.log" 2>&1 &
agent_pid=$!
wait_reals 3
in_ns "$node_ns" ipvsadm -Ln | sed 's/^/    /'

step "3. Requests from the client pod to the ClusterIP and from outside to the NodePort"
echo "  client pod -> http://10.0.1.175/"
ask "$client_ns" http://10.0.1.175/ 6
[ "$(answered)" = "hostnames-7d4f9-a1 hostnames-7d4f9-b2 hostnames-7d4f9-c3 " ] || fail "not every pod answered the ClusterIP: $(answered)"
echo "  outside client -> http://$node_addr:30080/"
ask "$outside_ns" "http://$node_addr:30080/" 6
[ "$(answered)" = "hostnames-7d4f9-a1 hostnames-7d4f9-b2 hostnames-7d4f9-c3 " ] || fail "not every pod answered the NodePort: $(answered)"
echo "    all three pods answered"

step "4. Pod hostnames-7d4f9-b2 turns not ready in the EndpointSlice: taken out on the next sync"
sed -i '/10.244.2.3/{n;s/ready: true/ready: false/}' "$work/manifests/endpointslice.yaml"
wait_reals 2
ask "$client_ns" http://10.0.1.175/ 6
grep -q hostnames-7d4f9-b2 "$work/answers" && fail "the not-ready pod still answered"
echo "    answered by: $(answered)— not by hostnames-7d4f9-b2"
echo "  ... and ready again"
sed -i '/10.244.2.3/{n;s/ready: false/ready: true/}' "$work/manifests/endpointslice.yaml"
wait_reals 3
ask "$client_ns" http://10.0.1.175/ 6
[ "$(answered)" = "hostnames-7d4f9-a1 hostnames-7d4f9-b2 hostnames-7d4f9-c3 " ] || fail "hostnames-7d4f9-b2 did not come back: $(answered)"

step "5. ipvs-proxy status --names"
in_ns "$node_ns" "${cli[@]}" status --names --state-dir "$work/state" | sed 's/^/    /'

step "6. Stop the agent and clean up what it programmed"
kill -TERM "$agent_pid"
wait "$agent_pid" || fail "the agent exited with status $? on SIGTERM"
agent_pid=
in_ns "$node_ns" "${cli[@]}" cleanup --state-dir "$work/state" | sed 's/^/    /'
left=$(in_ns "$node_ns" ipvsadm -Sn)
[ -z "$left" ] || fail "cleanup left virtual servers behind: $left"
printf '\nDEMO PASSED: the ClusterIP and the NodePort were served by all three pods; the not-ready pod was taken out and came back.\n'
