#!/bin/busybox sh
# ramdax-harness console probe: for kernels that cannot reach SSH (no disk or
# network drivers built in). Reports what the kernel offers on the console,
# one `harness-probe: key=value` line each, then powers off. Nothing is loaded.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
say() { echo "harness-probe: $1" > /dev/console; }
say "started"
say "uname=$(uname -r)"
grep -i 'persistent memory' /proc/iomem | while read -r l; do say "iomem=$l"; done
for what in e820_pmem; do
  if [ -e /sys/bus/platform/devices/$what ]; then say "$what=present"; else say "$what=absent"; fi
done
if [ -e /sys/bus/platform/drivers/ramdax ]; then say "ramdax=present"; else say "ramdax=absent"; fi
say "virtio=$(ls /sys/bus/virtio/drivers 2>/dev/null | tr '\n' ' ')"
say "fs=$(grep -v '^nodev' /proc/filesystems | tr -d '\t' | tr '\n' ' ')"
say "nd=$(ls /sys/bus/nd/drivers 2>/dev/null | tr '\n' ' ')"
say "dax=$(ls /sys/bus/dax/drivers 2>/dev/null | tr '\n' ' ')"
if [ -e /proc/config.gz ]; then
  zcat /proc/config.gz | grep -E '^CONFIG_(RAMDAX|LIBNVDIMM|BLK_DEV_PMEM|X86_PMEM_LEGACY|FS_DAX|DEV_DAX|DEV_DAX_PMEM|VIRTIO_BLK|EXT4_FS|VIRTIO_NET|MODULES)=' |
    while read -r l; do say "config=$l"; done
fi
say "done"
sync
poweroff -f
