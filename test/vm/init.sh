#!/bin/busybox sh
# First stage inside the VM (the initramfs /init): load the virtio and 9p modules, mount the
# host's root read-only under a tmpfs overlay, mount the job share, and hand over to the job's
# second stage on the real root.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
fail() { echo "vm-init: $*"; echo o > /proc/sysrq-trigger; sleep 5; }
for m in $(cat /modules.order); do insmod "/modules/$m" || fail "insmod $m"; done
mkdir -p /lower /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /lower || fail "mount hostroot"
mount -t tmpfs -o size=75% tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot || fail "mount overlay"
mkdir -p /newroot/vmjob
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none vmjob /newroot/vmjob || fail "mount job share"
umount /proc /sys /dev 2>/dev/null
exec switch_root /newroot /bin/sh /vmjob/guest.sh
