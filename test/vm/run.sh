#!/usr/bin/env bash
# Run one command as root against a kernel that has IPVS, and exit with its status.
#
#   test/vm/run.sh [--timeout SECONDS] [--mem MB] -- COMMAND [ARGS...]
#
# This machine's own kernel has no IPVS (no CONFIG_IP_VS, no module loading), so the command runs
# in a throwaway qemu VM (software emulation) that boots Debian's kernel with the host's root
# filesystem shared read-only under a tmpfs overlay: the checkout, node, node_modules and the
# built addon are visible at the same paths, and every write vanishes with the VM. On a host whose
# kernel has IPVS the command simply runs here (IPVS_PROXY_VM=never forces that; =always forces
# the VM). Output streams live; the exit status comes back through a small read-write share.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
timeout_s=900
mem_mb=4096
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) timeout_s=$2; shift 2 ;;
    --mem) mem_mb=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "vm: unknown option $1 (usage: run.sh [--timeout S] [--mem MB] -- COMMAND...)" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "vm: no command given" >&2; exit 2; }

host_has_ipvs() {
  [ -e /proc/net/ip_vs ] || modprobe -q ip_vs 2>/dev/null && [ -e /proc/net/ip_vs ]
}
mode=${IPVS_PROXY_VM:-auto}
if [ "$mode" = never ] || { [ "$mode" = auto ] && host_has_ipvs; }; then
  echo "vm: host kernel $(uname -r) has IPVS; running directly" >&2
  exec "$@"
fi

for tool in qemu-system-x86_64 cpio; do
  command -v "$tool" >/dev/null || { echo "vm: $tool is missing (make deps installs it)" >&2; exit 1; }
done
[ -x /bin/busybox ] || { echo "vm: /bin/busybox missing (package busybox-static)" >&2; exit 1; }
kver=${IPVS_PROXY_VM_KERNEL:-$(ls /boot | sed -n 's/^vmlinuz-//p' | sort -V | tail -n 1)}
[ -n "$kver" ] && [ -f "/boot/vmlinuz-$kver" ] && [ -d "/lib/modules/$kver" ] \
  || { echo "vm: no usable kernel in /boot with modules in /lib/modules (package linux-image-amd64)" >&2; exit 1; }

cache=${IPVS_PROXY_VM_DIR:-$repo/.vm}
mkdir -p "$cache"
initrd="$cache/initrd-$kver.cpio.gz"
if [ ! -s "$initrd" ] || [ "$here/init.sh" -nt "$initrd" ] || [ "$0" -nt "$initrd" ]; then
  "$here/build-initrd.sh" "$kver" "$initrd"
fi

# The firmware's and kernel's boot chatter goes to boot.log (shown only when the guest fails to
# report); from the guest's first line on, its console streams here.
filter_console() {
  # mawk reads pipes in blocks unless told to be interactive; gawk streams lines by itself.
  local awk_flags=()
  awk -W version 2>/dev/null | grep -q mawk && awk_flags=(-W interactive)
  awk "${awk_flags[@]}" -v boot="$1" '
    { sub(/\r$/, "") }
    !started && match($0, /vm: guest kernel/) { started = 1; $0 = substr($0, RSTART) }
    !started { print > boot; fflush(boot); next }
    /^\[ *[0-9.]+\] (sysrq: Power Off|reboot: Power down)/ { next }
    { print; fflush() }'
}

job=$(mktemp -d "$cache/job.XXXXXX")
qemu_pid=
cleanup() {
  [ -n "$qemu_pid" ] && kill -9 "$qemu_pid" 2>/dev/null || true
  rm -rf "$job"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The command, its directory and the environment it needs, as a script the guest runs.
{
  echo "cd $(printf '%q' "$PWD")"
  for var in PATH HOME CI TERM LANG NODE_OPTIONS NO_COLOR FORCE_COLOR $(compgen -e | grep -E '^(IPVS_PROXY_|TEST_)' || true); do
    [ -n "${!var+x}" ] && echo "export $var=$(printf '%q' "${!var}")"
  done
  printf 'exec'
  printf ' %q' "$@"
  echo
} > "$job/command.sh"
cp "$here/guest.sh" "$job/guest.sh"

# The guest CPU: everything TCG emulates except AVX and its kin. qemu 7.2 (Debian 12) was the
# first to emulate AVX/AVX2, and glibc and V8 take their AVX paths when they are advertised.
# Without them the same work ran faster in the guest (node start-up 4.0 -> 3.2 s for three, JSON
# of 100k objects 4.1 -> 2.1 s, copies 15.6 -> 12.3 s). It did not end node's occasional deaths at
# start-up under emulation (see test/kernel/run-all.sh).
# IPVS_PROXY_VM_CPU overrides it (e.g. "max").
cpu=${IPVS_PROXY_VM_CPU:-max,avx=off,avx2=off,fma=off,f16c=off,vaes=off,vpclmulqdq=off,avx-vnni=off}

# IPVS_PROXY_VM_ICOUNT=1: qemu counts instructions (one vCPU, the guest clock advancing 1 s per
# 10^9 instructions while busy), so CPU-bound timings do not depend on the host's load; for
# benchmark figures and their ratios, not for the test suite (it is slower in real time).
accel=(-accel tcg,thread=multi -smp 2)
[ "${IPVS_PROXY_VM_ICOUNT:-0}" = 1 ] && accel=(-accel tcg,thread=single -icount shift=0,sleep=on -smp 1)

# no_timer_check: under TCG on a busy host the IO-APIC timer check can fail and panic the boot.
# Under software emulation qemu prints the guest console on stdout; '\r' comes from the tty layer.
timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 \
  "${accel[@]}" -cpu "$cpu" -m "$mem_mb" -nographic -no-reboot \
  -kernel "/boot/vmlinuz-$kver" -initrd "$initrd" \
  -append "console=ttyS0 quiet loglevel=1 panic=-1 no_timer_check" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap \
  -virtfs "local,path=$job,mount_tag=vmjob,security_model=passthrough,multidevs=remap" \
  -nic none < /dev/null > >(filter_console "$job/boot.log") 2>&1 &
qemu_pid=$!
wait "$qemu_pid" || true
qemu_pid=
wait  # let the output filter drain

if [ ! -s "$job/rc" ]; then
  echo "vm: the guest reported no exit status (timed out after ${timeout_s}s, or the VM failed to boot)" >&2
  if [ -s "$job/boot.log" ]; then echo "vm: last lines of the boot console:" >&2; tail -n 30 "$job/boot.log" >&2; fi
  exit 124
fi
rc=$(cat "$job/rc")
exit "$rc"
