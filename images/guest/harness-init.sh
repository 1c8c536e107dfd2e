#!/bin/sh
# ramdax-harness guest init (PID 1): no systemd, no udev — just what the
# harness needs, as fast as possible. Markers on the console tell the host
# which boot stage was reached.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
echo "harness-init: started" > /dev/console
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -o remount,rw / 2>/dev/null
# Kernel modules come on their own read-only disk, labelled "modules".
if [ -b /dev/vdb ]; then mount -o ro /dev/vdb /lib/modules; fi
hostname ramdax-guest
ip link set lo up
modprobe virtio_net 2>/dev/null
i=0
while ! ip link show eth0 >/dev/null 2>&1 && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
mkdir -p /run/sshd
/usr/sbin/sshd -e
echo "harness-init: sshd started" > /dev/console
# Reap orphans for ever; the harness powers the guest off over SSH.
while :; do wait; sleep 1; done
