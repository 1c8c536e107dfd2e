#!/bin/bash
# The hand-written baseline for bench/harness-vs-shell.ts: the checks of the 4
# core scenarios (boot-smoke, ramdax-bind, fsdax-ext4, devdax-roundtrip) done
# the way a person would script them: one VM per scenario, one after the
# other, each booted with the QEMU argv the harness used (NUL-separated argv
# files), checks over plain ssh, power off. Exits non-zero on the first failed check.
# usage: harness-suite.sh PORT KEY HOST_PUB WORKDIR ARGV_boot-smoke ARGV_ramdax-bind ARGV_fsdax-ext4 ARGV_devdax-roundtrip
set -euo pipefail
port=$1 key=$2 hostpub=$3 work=$4
shift 4
kh=$work/known_hosts
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$hostpub")" > "$kh"
sshq() {
  ssh -q -o KexAlgorithms=curve25519-sha256 -p "$port" -i "$key" -o UserKnownHostsFile="$kh" -o StrictHostKeyChecking=yes \
    -o BatchMode=yes -o ConnectTimeout=15 -o LogLevel=ERROR root@127.0.0.1 "$@"
}
boot() { # ARGV_FILE NAME: start QEMU, wait for ssh
  local argv
  mapfile -d '' argv < "$1"
  argv=("${argv[@]/hostfwd=tcp:127.0.0.1:+([0-9])-:22/hostfwd=tcp:127.0.0.1:$port-:22}")
  "${argv[@]}" </dev/null >"$work/$2.console.log" 2>&1 &
  qemu=$!
  local t0=$SECONDS
  until sshq true 2>/dev/null; do
    kill -0 "$qemu" 2>/dev/null || { echo "$2: QEMU exited during boot" >&2; exit 1; }
    (( SECONDS - t0 < 300 )) || { kill "$qemu"; echo "$2: no SSH after 300 s" >&2; exit 1; }
    sleep 0.2
  done
}
halt() {
  sshq 'sync; echo 1 > /proc/sys/kernel/sysrq; echo o > /proc/sysrq-trigger' >/dev/null 2>&1 || true
  wait "$qemu" || true
}
bind='modprobe -a -q ramdax nd_pmem dax_pmem device_dax nd_btt
echo ramdax > /sys/bus/platform/devices/e820_pmem/driver_override
echo e820_pmem > /sys/bus/platform/drivers/ramdax/bind
test "$(basename "$(readlink /sys/bus/platform/devices/e820_pmem/driver)")" = ramdax'
shopt -s extglob

boot "$1" boot-smoke
sshq sh -es <<'G'
uname -r | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+'
grep -i 'persistent memory' /proc/iomem | grep -q '100000000-11fffffff : Persistent Memory (legacy)'
test -e /sys/bus/platform/devices/e820_pmem
G
halt

boot "$2" ramdax-bind
sshq sh -es <<G
$bind
test "\$(ndctl list -D | grep -c '"dev":"nmem')" = 1
test "\$(ndctl list -R | grep -c '"dev":"region')" = 1
ndctl list -DR -r region0 | tr -d ' \n' | grep -Eq '"size":1073741824.*"length":1073610752|"length":1073610752.*"size":1073741824'
test "\$(ndctl read-labels nmem0 | wc -c)" = 131072
G
halt

boot "$3" fsdax-ext4
sshq sh -es <<G
$bind
ndctl create-namespace -m fsdax -s 256M -a 2M >/dev/null
mkfs.ext4 -F -q -b 4096 /dev/pmem0
mkdir -p /mnt/pmem
mount -o dax=always /dev/pmem0 /mnt/pmem
grep -q '/mnt/pmem ext4 .*dax=always' /proc/self/mounts
dd if=/dev/urandom of=/mnt/pmem/dax-probe bs=1M count=2 conv=fsync status=none
attrs=\$(xfs_io -r -c 'statx -r' /mnt/pmem/dax-probe | sed -n 's/^stat.attributes = //p')
test \$(( attrs & 0x200000 )) -ne 0
dd if=/dev/urandom of=/mnt/pmem/data bs=1M count=8 status=none
sum=\$(sha256sum /mnt/pmem/data | cut -d' ' -f1)
umount /mnt/pmem
mount -o dax=always /dev/pmem0 /mnt/pmem
test "\$(sha256sum /mnt/pmem/data | cut -d' ' -f1)" = "\$sum"
umount /mnt/pmem
ndctl destroy-namespace -f namespace0.0 >/dev/null 2>&1
G
halt

boot "$4" devdax-roundtrip
sshq sh -es <<G
$bind
ndctl create-namespace -m devdax -s 128M -a 2M >/dev/null
for at in 0:4194304 67108864:2097152; do
  off=\${at%%:*} len=\${at##*:}
  head -c \$len /dev/urandom > /tmp/p
  daxio -i /tmp/p -o /dev/dax0.0 -s \$off -l \$len 2>/dev/null
  rm -f /tmp/r
  daxio -i /dev/dax0.0 -o /tmp/r -k \$off -l \$len 2>/dev/null
  cmp /tmp/p /tmp/r
done
ndctl destroy-namespace -f namespace0.0 >/dev/null 2>&1
G
halt
echo "shell suite: all checks passed"
