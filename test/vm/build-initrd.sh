#!/usr/bin/env bash
# Build the VM's initramfs for kernel version $1 into $2: static busybox, the modules needed to
# mount the host root over virtio 9p with an overlay, and init.sh as /init.
set -euo pipefail
kver=$1 out=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,dev,proc,sys,modules}
cp /bin/busybox "$work/bin/busybox"
cp "$here/init.sh" "$work/init"
chmod +x "$work/init"
: > "$work/modules.order"
for m in virtio_pci 9pnet_virtio 9p overlay; do
  modprobe -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r path; do
  name=$(basename "$path")
  case "$name" in
    *.ko.xz) xz -dc "$path" > "$work/modules/${name%.xz}"; name=${name%.xz} ;;
    *.ko.zst) zstd -qdc "$path" > "$work/modules/${name%.zst}"; name=${name%.zst} ;;
    *) cp "$path" "$work/modules/$name" ;;
  esac
  echo "$name" >> "$work/modules.order"
done
(cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) > "$out.tmp"
mv "$out.tmp" "$out"
echo "vm: built initramfs for $kver ($(wc -l < "$work/modules.order") modules)" >&2
