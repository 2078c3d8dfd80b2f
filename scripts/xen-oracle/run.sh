#!/usr/bin/env bash
# The xen machine's oracle: real Xen 4.17 (Debian's xen-hypervisor-4.17-arm64, the version
# guests/inputs.lock pins, fetched by scripts/fetch-guests.sh) under Debian's qemu-system-aarch64
# (TCG, `-M virt,virtualization=on -cpu cortex-a57`), booting one domU in a true dom0less set-up:
# no dom0, no toolstack; the domU is described under /chosen of the DTB QEMU hands Xen, the way
# Xen's docs/misc/arm/device-tree/booting.txt describes it. docs/xen.md ("The oracle") says how the
# tests compare its log with the emulator's.
#
#   scripts/xen-oracle/run.sh [options] OUTDIR
#     --kernel FILE     the domU's kernel, a raw arm64 Image (default: the pinned 6.1 kernel)
#     --append TEXT     the domU's command line (default "console=hvc0 earlycon=xenboot")
#     --smp N           the domU's vCPUs (default 1); the host gets as many CPUs
#     --gic 2|3         the host's GIC (QEMU virt gic-version; Xen gives the domU the same; default 3)
#     --mem MIB         the domU's memory in MiB (default 256)
#     --vpl011          give the domU Xen's emulated SBSA UART (`vpl011`)
#     --stop TEXT       stop once the domU printed this (default "end Kernel panic")
#     --limit SECS      give up after this many seconds of wall time (default 600)
#
# In OUTDIR: host.dtb (QEMU's own DTB with the domU under /chosen), serial.log (Xen's console, the
# serial line byte for byte: Xen's own lines, `(d1) …` for the domU's console_io writes and
# `(XEN) DOM1: …` for its vpl011 output) and domu.log (the domU's output alone, lines re-joined:
# scripts/xen-oracle/domu-log.ts). Exit 0 when the stop text appeared, 1 otherwise (with the tail of
# serial.log on stderr). QEMU is always stopped before the script exits.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
die() { echo "xen-oracle: $*" >&2; exit 1; }

kernel='' append='console=hvc0 earlycon=xenboot' smp=1 gic=3 mem=256 vpl011=0 stop='end Kernel panic' limit=600 out=''
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) kernel=$2; shift 2 ;;
    --append) append=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --gic) gic=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --vpl011) vpl011=1; shift ;;
    --stop) stop=$2; shift 2 ;;
    --limit) limit=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$out" ] || die "one OUTDIR only (got '$out' and '$1')"; out=$1; shift ;;
  esac
done
[ -n "$out" ] || die "no OUTDIR (see --help)"
[[ $smp =~ ^[1-8]$ ]] || die "--smp must be 1 to 8, got '$smp'"
[[ $gic =~ ^[23]$ ]] || die "--gic must be 2 or 3, got '$gic'"
[[ $mem =~ ^[0-9]+$ ]] && [ "$mem" -ge 64 ] && [ "$mem" -le 1024 ] || die "--mem must be 64 to 1024 (MiB), got '$mem'"
for tool in qemu-system-aarch64 fdtput dtc; do command -v $tool >/dev/null || die "$tool is not installed (test/setup-system.sh installs it)"; done

guests=$("$root/scripts/fetch-guests.sh" xen kernel) || die "scripts/fetch-guests.sh failed"
xen=$(awk '$1 == "xen" { print $2 }' <<<"$guests")
[ -n "$kernel" ] || kernel=$(awk '$1 == "kernel" { print $2 }' <<<"$guests")
[ -f "$xen" ] || die "scripts/fetch-guests.sh gave no Xen"
[ -f "$kernel" ] || die "$kernel: no such kernel"
mkdir -p "$out"
rm -f "$out"/{host.dtb,serial.log,domu.log,qemu.stderr}

# Host: 1 GiB more than the domU; Xen loads high in RAM, the domU's kernel is placed at 0x60000000
# (QEMU puts its DTB at 0x48000000; the loader, force-raw, copies the bytes as they are) and Xen copies it into the domU's RAM.
host_mem=$((mem + 1024))
kaddr=0x60000000
ksize=$(stat -c %s "$kernel")
machine="virt,virtualization=on,gic-version=$gic"
qemu=(qemu-system-aarch64 -cpu cortex-a57 -smp "$smp" -m "$host_mem" -nographic -monitor none -nic none -no-reboot)

# QEMU's own DTB for this machine, then the dom0less description under /chosen (Xen's
# docs/misc/arm/device-tree/booting.txt): Xen's command line, and a domU node with its memory (KiB),
# vCPUs, no xenstore (so /hypervisor is there but no PV devices), optionally the vpl011, and the
# kernel as a multiboot module with its command line.
"${qemu[@]}" -M "$machine,dumpdtb=$out/host.dtb" >/dev/null 2>&1 </dev/null || true
[ -s "$out/host.dtb" ] || die "QEMU wrote no DTB"
dtc -q -I dtb -O dtb -o "$out/host.dtb" "$out/host.dtb" # dumpdtb pads to 1 MiB; packed again
dt() { fdtput "$out/host.dtb" "$@"; }
dt -t s /chosen xen,xen-bootargs "console=dtuart dtuart=/pl011@9000000 bootscrub=0 sync_console guest_loglvl=all/all"
dt -t x /chosen '#address-cells' 2
dt -t x /chosen '#size-cells' 2
dt -c /chosen/domU1
dt -t s /chosen/domU1 compatible xen,domain
dt -t x /chosen/domU1 '#address-cells' 2
dt -t x /chosen/domU1 '#size-cells' 2
dt -t u /chosen/domU1 memory 0 $((mem * 1024))
dt -t u /chosen/domU1 cpus "$smp"
dt -t s /chosen/domU1 xen,enhanced no-xenstore
[ "$vpl011" = 0 ] || dt -t s /chosen/domU1 vpl011 ''
dt -c "/chosen/domU1/module@${kaddr#0x}"
dt -t s "/chosen/domU1/module@${kaddr#0x}" compatible multiboot,kernel multiboot,module
dt -t x "/chosen/domU1/module@${kaddr#0x}" reg 0 "$kaddr" 0 "$(printf '0x%x' "$ksize")"
dt -t s "/chosen/domU1/module@${kaddr#0x}" bootargs "$append"

"${qemu[@]}" -M "$machine" -kernel "$xen" -dtb "$out/host.dtb" \
  -device "loader,file=$kernel,addr=$kaddr,force-raw=on" \
  -serial "file:$out/serial.log" </dev/null >/dev/null 2>"$out/qemu.stderr" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT # never leave a QEMU behind
t=0 found=0
while kill -0 "$pid" 2>/dev/null; do
  if [ -f "$out/serial.log" ] && grep -qF -- "$stop" "$out/serial.log"; then found=1; break; fi
  [ "$t" -lt "$limit" ] || break
  sleep 1; t=$((t + 1))
done
# The stop text may be a line's start: give the rest of that line (and Xen's flush) a moment.
[ "$found" = 0 ] || sleep 1
kill -TERM "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
trap - EXIT
grep -qF -- "$stop" "$out/serial.log" 2>/dev/null && found=1
"$root/bootscope" node "$root/scripts/xen-oracle/domu-log.ts" "$out/serial.log" >"$out/domu.log"
if [ "$found" = 0 ]; then
  echo "xen-oracle: '$stop' did not appear after ${t}s; the end of $out/serial.log:" >&2
  tail -n 20 "$out/serial.log" >&2 || true
  exit 1
fi
echo "xen-oracle: '$stop' after ${t}s; $(wc -l <"$out/domu.log") domU lines in $out/domu.log" >&2
