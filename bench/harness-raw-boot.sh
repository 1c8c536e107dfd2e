#!/bin/sh
# The raw floor for bench/harness-vs-raw.ts: start QEMU with a given argv, poll
# with the command (RAW_CMD, default `true`) over ssh with the harness's client
# key and pinned host key until it answers, then power the guest off and wait
# for QEMU to exit. Prints first_command_ms and total_ms.
# usage: [RAW_CMD='uname -r'] harness-raw-boot.sh PORT KEY HOST_PUB LOG -- QEMU ARGV...
set -eu
port=$1 key=$2 hostpub=$3 log=$4
shift 4
[ "$1" = "--" ] && shift
kh=$(mktemp)
trap 'rm -f "$kh"' EXIT
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$hostpub")" > "$kh"
ms() { echo $(( $(date +%s%N) / 1000000 )); }
t0=$(ms)
"$@" </dev/null >"$log" 2>&1 &
qemu=$!
# The same key exchange the harness's client (ssh2) picks. OpenSSH 9.2's default,
# sntrup761x25519, costs the TCG guest's sshd many seconds per connection.
sshq() {
  ssh -q -o KexAlgorithms=curve25519-sha256 -p "$port" -i "$key" -o UserKnownHostsFile="$kh" -o StrictHostKeyChecking=yes \
    -o BatchMode=yes -o ConnectTimeout=15 -o LogLevel=ERROR root@127.0.0.1 "$@"
}
until sshq "${RAW_CMD:-true}" >/dev/null 2>&1; do
  kill -0 "$qemu" 2>/dev/null || { echo "qemu exited before SSH answered" >&2; exit 1; }
  [ $(( $(ms) - t0 )) -lt 300000 ] || { kill "$qemu"; echo "no SSH after 300 s" >&2; exit 1; }
  sleep 0.2
done
t1=$(ms)
sshq 'sync; echo 1 > /proc/sys/kernel/sysrq; echo o > /proc/sysrq-trigger' >/dev/null 2>&1 || true
wait "$qemu" || true
t2=$(ms)
echo "first_command_ms=$((t1 - t0)) total_ms=$((t2 - t0))"
