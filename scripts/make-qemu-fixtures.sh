#!/usr/bin/env bash
# Builds the real QEMU trace fixtures the importer tests and benchmark use.
#
#   scripts/make-qemu-fixtures.sh [--trim] [OUTDIR]        (default: .cache/fixtures)
#
# Takes Debian's arm64 cloud kernel and u-boot-qemu as guests/inputs.lock pins them
# (scripts/fetch-guests.sh), then boots each under Debian's qemu-system-aarch64
# (virt, TCG, cortex-a57) with tracing on, for GICv2/GICv3 and 1/2 vCPUs:
#   linux-gicv{2,3}-smp{1,2}.{log,serial}   kernel until "VFS: Unable to mount root fs"
#   uboot-gicv{2,3}-smp{1,2}.{log,serial}   U-Boot until its "=> " prompt
#   uboot-idle.{log,serial}                 (only with BOOTSCOPE_UBOOT_IDLE_SECS=N) U-Boot left
#                                           at its prompt for N seconds: a >10M-line log for bench
#   --trim      also (re)write the small committed fixtures in test/fixtures/qemu: a gzipped real
#               boot prefix of linux-gicv3-smp2 and uboot-gicv2-smp1 plus the matching serial prefix
# .log is QEMU's trace log (-D, `-msg timestamp=on`, so TID@SEC.USEC: lines), .serial is QEMU's
# serial output byte for byte. Idempotent: a finished run leaves NAME.done and is skipped.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
do_trim=
if [ "${1:-}" = --trim ]; then do_trim=1; shift; fi
out=${1:-$root/.cache/fixtures}
mkdir -p "$out"

command -v qemu-system-aarch64 >/dev/null || { echo "make-qemu-fixtures: qemu-system-aarch64 is not installed" >&2; exit 1; }

# --- guests ---------------------------------------------------------------------------------
# The pinned versions (guests/inputs.lock), fetched, verified and unpacked by fetch-guests.
guests=$("$root/scripts/fetch-guests.sh" kernel u-boot)
kernel=$(awk '$1 == "kernel" { print $2 }' <<<"$guests")
uboot=$(awk '$1 == "u-boot" { print $2 }' <<<"$guests")
kernel_pkg=$(awk '$1 == "guest" && $2 == "kernel" { print $3 }' "$root/guests/inputs.lock")
echo "$kernel_pkg" >"$out/kernel-package.txt"

# --- trace events ----------------------------------------------------------------------------
events=$out/events.txt
cat >"$events" <<'EV'
pl011_*
pl031_*
gic_*
gicv3_*
arm_gt_*
virtio_mmio_*
memory_region_ops_*
arm_psci_call
arm_powerctl_set_cpu_on
EV

# run NAME STOP_PATTERN EXTRA_SECS qemu-args...   boot, stop EXTRA_SECS after STOP_PATTERN appears
run() {
  local name=$1 stop=$2 extra=$3; shift 3
  [ -f "$out/$name.done" ] && return 0
  rm -f "$out/$name.log" "$out/$name.serial"
  qemu-system-aarch64 -M "$machine" -cpu cortex-a57 -smp "$smp" -m 512 -nographic -monitor none \
    -nic none -serial "file:$out/$name.serial" -msg timestamp=on -trace "events=$events" \
    -D "$out/$name.log" "$@" </dev/null >/dev/null 2>"$out/$name.stderr" &
  local pid=$! t=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ -f "$out/$name.serial" ] && grep -q -- "$stop" "$out/$name.serial"; then
      sleep "$extra"; kill -TERM "$pid"; break
    fi
    sleep 0.2; t=$((t + 1))
    [ $t -gt 6000 ] && { kill -TERM "$pid"; echo "make-qemu-fixtures: $name timed out" >&2; wait "$pid" || true; return 1; }
  done
  wait "$pid" || true # QEMU exits 0 (or by signal) on SIGTERM, after flushing its log
  grep -q -- "$stop" "$out/$name.serial" || { echo "make-qemu-fixtures: $name never printed '$stop'" >&2; return 1; }
  touch "$out/$name.done"
  echo "make-qemu-fixtures: $name: $(wc -l <"$out/$name.log") trace lines, $(wc -c <"$out/$name.serial") serial bytes" >&2
}

for gic in 2 3; do
  for smp in 1 2; do
    machine=virt,gic-version=$gic
    run "linux-gicv$gic-smp$smp" "VFS: Unable to mount root fs" 0 -kernel "$kernel" -append "console=ttyAMA0 earlycon"
    run "uboot-gicv$gic-smp$smp" "=> " 0 -bios "$uboot"
  done
done
if [ -n "${BOOTSCOPE_UBOOT_IDLE_SECS:-}" ]; then
  machine=virt,gic-version=3 smp=1
  run uboot-idle "=> " "$BOOTSCOPE_UBOOT_IDLE_SECS" -bios "$uboot"
fi

# trim NAME LINES: a boot prefix of NAME's log, and the serial bytes its PL011 DR writes produced.
# A DR write's memory_region_ops_write line precedes its pl011_write line, so counting those counts
# every byte the prefix describes (also when the cut falls between the two lines).
trim() {
  local name=$1 n=$2 dest=$root/test/fixtures/qemu tmp
  mkdir -p "$dest"
  tmp=$(mktemp)
  head -n "$n" "$out/$name.log" >"$tmp"
  local bytes; bytes=$(grep -c "memory_region_ops_write .* addr 0x9000000 " "$tmp" || true)
  gzip -9n <"$tmp" >"$dest/$name.prefix.log.gz"
  head -c "$bytes" "$out/$name.serial" >"$dest/$name.prefix.serial"
  rm -f "$tmp"
  echo "make-qemu-fixtures: trimmed $name to $n lines, $bytes serial bytes" >&2
}
if [ -n "$do_trim" ]; then
  trim linux-gicv3-smp2 50000
  trim uboot-gicv2-smp1 8000
fi
