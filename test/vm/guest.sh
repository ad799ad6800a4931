#!/bin/sh
# Second stage inside the VM, on the host's root (overlaid): a minimal system for one command.
# Writes the command's exit status to /vmjob/rc, then powers off at once.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# devtmpfs has no /dev/fd: bash process substitution (<(...)) and /dev/stdin need them.
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
mount -t tmpfs tmpfs /run
mkdir -p /run/netns /run/lock
mount -t tmpfs tmpfs /var/tmp
hostname ipvs-vm
ip link set lo up
echo 1 > /proc/sys/kernel/sysrq
# The modules the tests and the demo use; each is optional here, tests check what they need.
for m in ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sh ip_vs_mh dummy veth nf_conntrack \
         nf_conntrack_netlink xt_ipvs ip_set; do
  modprobe -q "$m" 2>/dev/null || true
done
echo "vm: guest kernel $(uname -r)"
sh /vmjob/command.sh
rc=$?
echo "$rc" > /vmjob/rc
sync
exec > /dev/null 2>&1
echo o > /proc/sysrq-trigger
# Power-off is asynchronous and init must never exit before it lands (that panics the guest).
# Wait with builtins only: once power-off starts, the 9p root is going away, and an external
# `sleep` as the script's last command would be exec'ed by init itself, fail with 126, and end
# init ("Attempted to kill init!"). A read on a FIFO opened read-write blocks for ever.
mkfifo /run/poweroff-wait
while :; do read -r _ <> /run/poweroff-wait || :; done
