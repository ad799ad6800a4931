#!/bin/sh
# Loads a known table with ipvsadm in a fresh namespace and captures the kernel's replies.
# Usage (writes test/fixtures/native/ipvs-replies.json through stdout):
#   test/vm/run.sh -- sh test/unit/native/capture-fixtures.sh > test/fixtures/native/ipvs-replies.json
set -e
ns=capture-$$
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
ip -n "$ns" link set lo up
ip -n "$ns" link add routes0 type dummy
ip -n "$ns" link set routes0 up
ip -n "$ns" addr add 10.0.0.1/8 dev routes0
ip -n "$ns" -6 addr add fd00::1/8 dev routes0 nodad
ip netns exec "$ns" ipvsadm -R <<'RULES'
-A -t 10.96.0.10:80 -s rr
-a -t 10.96.0.10:80 -r 10.244.0.2:9376 -m -w 1
-a -t 10.96.0.10:80 -r 10.244.0.6:9376 -m -w 5 -x 100 -y 10
-A -u 10.96.0.33:53 -s wlc -o
-A -t 10.96.0.30:443 -s sh -p 600 -M 255.255.255.0 -b sh-fallback,sh-port
-a -t 10.96.0.30:443 -r 10.244.2.30:443 -g -w 1
-a -t 10.96.0.30:443 -r 10.244.2.31:443 -i -w 2 --tun-type gue --tun-port 6080
-A -t [fd00:10:96::110]:80 -s rr -p 300
-a -t [fd00:10:96::110]:80 -r [fd00:10:244:1::31]:8080 -m -w 3
-A -f 77 -s rr
-a -f 77 -r 10.244.1.77:0 -g -w 1
-A -f 78 -6 -s mh -b mh-port
RULES
ip netns exec "$ns" python3 "$(dirname "$0")/capture-fixtures.py"
