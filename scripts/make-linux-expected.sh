#!/usr/bin/env bash
# Writes test/real/expected/linux-qemu-gicv<G>-smp<N>.txt: the console of Debian's 6.1 cloud kernel
# (scripts/fetch-guests.sh) on Debian's QEMU virt machine, N vCPUs, GICv<G>, to the VFS panic, with
# the same command line test/real/linux.test.ts gives the emulator. Timestamps ("[    0.000000] ")
# are stripped; the test compares only the platform lines (see docs/real-guests.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
kernel="$("$root/scripts/fetch-guests.sh" kernel | awk '$1 == "kernel" { print $2 }')"
# Usage: scripts/make-linux-expected.sh [GIC [SMP]]   (default: 3 1)
gic="${1:-3}"
smp="${2:-1}"
out="$root/test/real/expected/linux-qemu-gicv$gic-smp$smp.txt"
append="${LINUX_APPEND:-console=ttyAMA0 earlycon=pl011,0x9000000}"
tmp="$(mktemp)"
# The kernel panics and waits forever: stop QEMU once the panic's end marker is out.
timeout 120 qemu-system-aarch64 -M "virt,gic-version=$gic" -cpu cortex-a57 -smp "$smp" -m 512 -nographic \
  -no-reboot -kernel "$kernel" -append "$append" </dev/null >"$tmp" 2>&1 &
qpid=$!
for _ in $(seq 1 240); do
  grep -q 'end Kernel panic' "$tmp" && break
  sleep 0.5
done
kill "$qpid" 2>/dev/null || true
wait "$qpid" 2>/dev/null || true
grep -q 'end Kernel panic' "$tmp" || { echo "make-linux-expected: QEMU did not reach the panic; console in $tmp" >&2; exit 1; }
tr -d '\r' <"$tmp" | sed -E 's/^\[ *[0-9]+\.[0-9]+\] //' | sed -n '/Booting Linux/,/end Kernel panic/p' >"$out"
rm -f "$tmp"
echo "$out ($(wc -l <"$out") lines)"
