#!/usr/bin/env bash
# The xen oracle with a dom0: real Xen 4.17 (Debian's xen-hypervisor-4.17-arm64) under Debian's QEMU
# TCG (`-M virt,virtualization=on -cpu cortex-a57`) boots Debian's 6.1 kernel as dom0 with Debian's
# Xen toolstack (xl, xenstored, xenconsoled; the xen-dom0 packages of guests/inputs.lock) in an
# initramfs (make-dom0.ts, dom0-init.sh), which runs `xl create` for one domU with a disk (xvda,
# blkback on a loop device) and a vif (netback), as `bootscope run --machine xen --disk … --nic mac=…`
# builds it. docs/xen.md ("The oracle with a dom0") says what the tests compare.
#
#   scripts/xen-oracle/run-xl.sh [options] OUTDIR
#     --kernel FILE     the domU's kernel (default: the pinned 6.1 kernel, also the dom0's)
#     --initrd FILE     the domU's initramfs (required)
#     --disk FILE       the domU's disk image, xvda (required; dom0 works on its own copy)
#     --append TEXT     the domU's command line (default "console=hvc0")
#     --mac MAC         the vif's MAC (default 00:16:3e:aa:bb:cc)
#     --smp N           the domU's vCPUs (default 1)
#     --gic 2|3         the host's GIC (xl gives the domU the same; default 3)
#     --mem MIB         the domU's memory in MiB (default 256)
#     --limit SECS      give up after this many seconds of wall time (default 1200)
#
# In OUTDIR: host.dtb, dom0.cpio, serial.log (Xen's console byte for byte: Xen's lines, dom0's
# console, the "XS: " and "DOMU: " lines of dom0's /init), domu.log (the domU's console as
# xenconsoled logged it, one line each) and xenstore.txt (the domU's xenstore tree and dom0's backend
# directories once both backends are Connected, `xenstore-ls -fp`). Exit 0 when dom0's /init got
# to its end, 1 otherwise (with the tail of serial.log on stderr). QEMU is always stopped.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
die() { echo "xen-oracle: $*" >&2; exit 1; }

kernel='' initrd='' disk='' append='console=hvc0' mac='00:16:3e:aa:bb:cc' smp=1 gic=3 mem=256 limit=1200 out=''
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) kernel=$2; shift 2 ;;
    --initrd) initrd=$2; shift 2 ;;
    --disk) disk=$2; shift 2 ;;
    --append) append=$2; shift 2 ;;
    --mac) mac=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --gic) gic=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --limit) limit=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$out" ] || die "one OUTDIR only (got '$out' and '$1')"; out=$1; shift ;;
  esac
done
[ -n "$out" ] || die "no OUTDIR (see --help)"
[ -f "$initrd" ] || die "--initrd FILE is required (got '$initrd')"
[ -f "$disk" ] || die "--disk FILE is required (got '$disk')"
[[ $smp =~ ^[1-4]$ ]] || die "--smp must be 1 to 4, got '$smp'"
[[ $gic =~ ^[23]$ ]] || die "--gic must be 2 or 3, got '$gic'"
[[ $mem =~ ^[0-9]+$ ]] && [ "$mem" -ge 64 ] && [ "$mem" -le 1024 ] || die "--mem must be 64 to 1024 (MiB), got '$mem'"
[[ $mac =~ ^([0-9a-f]{2}:){5}[0-9a-f]{2}$ ]] || die "--mac must be six lower-case hex bytes, got '$mac'"
for tool in qemu-system-aarch64 fdtput dtc; do command -v $tool >/dev/null || die "$tool is not installed (test/setup-system.sh installs it)"; done

guests=$("$root/scripts/fetch-guests.sh" xen kernel busybox xen-dom0) || die "scripts/fetch-guests.sh failed"
role() { awk -v r="$1" '$1 == r { print $2 }' <<<"$guests"; }
xen=$(role xen) dom0=$(role kernel) busybox=$(role busybox)
[ -n "$kernel" ] || kernel=$dom0
[ -f "$kernel" ] || die "$kernel: no such kernel"
# Each package's root: its unpacked directory, two levels above usr/lib/… or lib/…
pkgroots=$(awk '$1 ~ /^xen-dom0\// { p = $2; sub(/\/(usr\/)?(lib|bin)\/.*$/, "", p); print p }' <<<"$guests")
modules=$(dirname "$(dirname "$dom0")")/lib/modules/$(basename "$dom0" | sed 's/^vmlinuz-//')
mkdir -p "$out"
rm -f "$out"/{host.dtb,dom0.cpio,serial.log,domu.log,xenstore.txt,qemu.stderr}
# shellcheck disable=SC2086 # one package root a word
"$root/bootscope" node "$root/scripts/xen-oracle/make-dom0.ts" "$out/dom0.cpio" --busybox "$busybox" --modules "$modules" \
  --kernel "$kernel" --initrd "$initrd" --disk "$disk" --append "$append" --mac "$mac" --smp "$smp" --mem "$mem" $pkgroots

# Host: dom0 gets 768 MiB and one vCPU, the domU its memory and vCPUs. Xen loads high in RAM; dom0's
# kernel and initramfs are placed by QEMU's loader (force-raw: the bytes as they are) and named
# under /chosen as multiboot modules (Xen's docs/misc/arm/device-tree/booting.txt).
host_mem=$((mem + 1536))
kaddr=0x60000000 iaddr=0x64000000
machine="virt,virtualization=on,gic-version=$gic"
qemu=(qemu-system-aarch64 -cpu cortex-a57 -smp $((smp + 1)) -m "$host_mem" -nographic -monitor none -nic none -no-reboot)
"${qemu[@]}" -M "$machine,dumpdtb=$out/host.dtb" >/dev/null 2>&1 </dev/null || true
[ -s "$out/host.dtb" ] || die "QEMU wrote no DTB"
dtc -q -I dtb -O dtb -o "$out/host.dtb" "$out/host.dtb"
dt() { fdtput "$out/host.dtb" "$@"; }
dt -t s /chosen xen,xen-bootargs "console=dtuart dtuart=/pl011@9000000 bootscrub=0 sync_console guest_loglvl=all/all dom0_mem=768M dom0_max_vcpus=1"
dt -t s /chosen xen,dom0-bootargs "console=hvc0 earlycon=xenboot rdinit=/init"
dt -t x /chosen '#address-cells' 2
dt -t x /chosen '#size-cells' 2
dt -c "/chosen/module@${kaddr#0x}"
dt -t s "/chosen/module@${kaddr#0x}" compatible multiboot,kernel multiboot,module
dt -t x "/chosen/module@${kaddr#0x}" reg 0 "$kaddr" 0 "$(printf '0x%x' "$(stat -c %s "$dom0")")"
dt -c "/chosen/module@${iaddr#0x}"
dt -t s "/chosen/module@${iaddr#0x}" compatible multiboot,ramdisk multiboot,module
dt -t x "/chosen/module@${iaddr#0x}" reg 0 "$iaddr" 0 "$(printf '0x%x' "$(stat -c %s "$out/dom0.cpio")")"

"${qemu[@]}" -M "$machine" -kernel "$xen" -dtb "$out/host.dtb" \
  -device "loader,file=$dom0,addr=$kaddr,force-raw=on" -device "loader,file=$out/dom0.cpio,addr=$iaddr,force-raw=on" \
  -serial "file:$out/serial.log" </dev/null >/dev/null 2>"$out/qemu.stderr" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT # never leave a QEMU behind
t=0 found=0
while kill -0 "$pid" 2>/dev/null; do
  if grep -q '^DOM0: end' "$out/serial.log" 2>/dev/null; then found=1; break; fi
  [ "$t" -lt "$limit" ] || break
  sleep 1; t=$((t + 1))
done
kill -TERM "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
trap - EXIT
grep -q '^DOM0: end' "$out/serial.log" 2>/dev/null && found=1
tr -d '\r' <"$out/serial.log" | sed -n 's/^DOMU: //p' >"$out/domu.log"
tr -d '\r' <"$out/serial.log" | sed -n 's/^XS: //p' >"$out/xenstore.txt"
if [ "$found" = 0 ]; then
  echo "xen-oracle: dom0's /init did not finish after ${t}s; the end of $out/serial.log:" >&2
  tail -n 20 "$out/serial.log" >&2 || true
  exit 1
fi
echo "xen-oracle: dom0 finished after ${t}s; $(wc -l <"$out/domu.log") domU lines in $out/domu.log" >&2
