#!/bin/busybox sh
# ramdax-harness initramfs: load the modules a modular distro kernel needs to
# reach its root disk, mount it and hand over to the real init.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "harness-initramfs: loading modules" > /dev/console
while read -r ko; do
  insmod "/lib/modules/$ko" 2>/dev/null || echo "harness-initramfs: insmod $ko failed" > /dev/console
done < /modules.list

root=/dev/vda
init=/sbin/init
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    root=*) root=${arg#root=} ;;
    init=*) init=${arg#init=} ;;
  esac
done

i=0
while [ ! -b "$root" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /newroot
if ! mount -t ext4 -o rw "$root" /newroot; then
  echo "harness-initramfs: cannot mount $root" > /dev/console
  exec sh
fi
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot "$init"
