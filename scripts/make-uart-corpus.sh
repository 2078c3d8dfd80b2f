#!/usr/bin/env bash
# Builds the `explain uart` corpus: real boots of Debian's arm64 cloud kernel (scripts/fetch-guests.sh)
# under Debian's qemu-system-aarch64 (virt, GICv3, TCG cortex-a57, 1 vCPU, 512 MiB, no disk), one boot
# per way a PL011 console goes wrong, each run to the "no root fs" panic.
#
#   scripts/make-uart-corpus.sh [OUTDIR [CASE...]]     (default: .cache/uart-corpus, every case)
#
# Per case NAME, in OUTDIR:
#   NAME.log      QEMU's trace log (-trace pl011_*,gicv3_*,memory_region_ops_*, -d guest_errors,
#                 -msg timestamp=on): what `bootscope import` reads
#   NAME.serial   the serial output, byte for byte
#   NAME.dtb      the DTB the guest got (QEMU's dumpdtb with the boot's own -dtb/-kernel/-append, so
#                 /chosen/bootargs is there): what `bootscope import --dtb` takes
# and cases.tsv: name, cause, kernel command line, DT edits (fdtput arguments, ';'-separated).
#
# DT cases edit QEMU's own DT (-M virt,dumpdtb=) with fdtput and boot it with -dtb; command-line
# cases change -append. Every command line has panic=-1 and QEMU runs with -no-reboot, so QEMU exits
# at the panic. A guest that hangs before it (a UART node moved to an address with nothing behind it
# makes earlycon's first access abort before the panic handler is set up) is stopped once its trace
# log has been still for QUIET seconds: a booting guest's timer keeps the GIC trace moving.
# At most two boots run at once (QEMU TCG takes one core each).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/.cache/uart-corpus}
[ $# -gt 0 ] && shift
quiet=${BOOTSCOPE_CORPUS_QUIET:-20}
limit=${BOOTSCOPE_CORPUS_LIMIT:-600}
die() { echo "make-uart-corpus: $*" >&2; exit 1; }
for tool in qemu-system-aarch64 fdtput dtc; do command -v $tool >/dev/null || die "$tool is not installed (test/setup-system.sh installs it)"; done
mkdir -p "$out"

kernel=$("$root/scripts/fetch-guests.sh" | awk '$1 == "kernel" { print $2 }')
[ -f "$kernel" ] || die "scripts/fetch-guests.sh gave no kernel"

node=/pl011@9000000
ok='console=ttyAMA0 earlycon panic=-1'
# name | cause | command line | DT edits (fdtput arguments; ';' between edits)
cases=$(cat <<EOF
working|a correct boot|$ok|
no-primecell|the PL011 node's compatible lacks "arm,primecell"|$ok|-t s $node compatible arm,pl011
disabled|the PL011 node has status = "disabled"|$ok|-t s $node status disabled
wrong-reg|the PL011 node's reg says 0x9100000|$ok|-t x $node reg 0 0x9100000 0 0x1000
no-interrupts|the PL011 node has no interrupts|$ok|-d $node interrupts
no-clocks|the PL011 node has no clocks / clock-names|$ok|-d $node clocks;-d $node clock-names
console-ttyAMA1|console=ttyAMA1 (there is one PL011: only ttyAMA0)|console=ttyAMA1 panic=-1|
console-ttyS0|console=ttyS0 (no 8250 UART)|console=ttyS0 panic=-1|
no-console|no console= and no /chosen/stdout-path|panic=-1|-d /chosen stdout-path
EOF
)
printf '%s\n' "$cases" | tr '|' '\t' >"$out/cases.tsv"

cat >"$out/events.txt" <<'EV'
pl011_*
gicv3_*
memory_region_ops_*
EV

# A command, not a function: the boot runs it in the background and must signal QEMU itself ($!).
qemu=(qemu-system-aarch64 -cpu cortex-a57 -smp 1 -m 512 -nographic -monitor none -nic none -kernel "$kernel")

# boot NAME APPEND EDITS
boot() {
  local name=$1 append=$2 edits=$3 dtbarg=() eds=() e
  rm -f "$out/$name".{log,serial,dtb,stderr,edit.dtb,done}
  if [ -n "$edits" ]; then
    # dumpdtb pads the blob to 1 MiB; packed (dtc) so QEMU's own padding keeps it under Linux's 2 MiB.
    "${qemu[@]}" -M "virt,gic-version=3,dumpdtb=$out/$name.edit.dtb" -append "$append" >/dev/null 2>&1 </dev/null
    dtc -q -I dtb -O dtb -o "$out/$name.edit.dtb" "$out/$name.edit.dtb"
    IFS=';' read -ra eds <<<"$edits"
    for e in "${eds[@]}"; do eval "fdtput \"\$out/\$name.edit.dtb\" $e"; done
    dtbarg=(-dtb "$out/$name.edit.dtb")
  fi
  "${qemu[@]}" -M "virt,gic-version=3,dumpdtb=$out/$name.dtb" "${dtbarg[@]}" -append "$append" >/dev/null 2>&1 </dev/null
  [ -s "$out/$name.dtb" ] || die "$name: QEMU wrote no DTB"
  "${qemu[@]}" -M virt,gic-version=3 "${dtbarg[@]}" -append "$append" -no-reboot -serial "file:$out/$name.serial" -msg timestamp=on \
    -trace "events=$out/events.txt" -d guest_errors -D "$out/$name.log" </dev/null >/dev/null 2>"$out/$name.stderr" &
  local pid=$! t=0 size=-1 still=0 how=panic
  trap 'kill -TERM $pid 2>/dev/null' EXIT # never leave a QEMU behind (the script killed, a test cut short)
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1; t=$((t + 1))
    local now; now=$(stat -c %s "$out/$name.log" 2>/dev/null || echo 0)
    if [ "$now" = "$size" ]; then still=$((still + 1)); else still=0; size=$now; fi
    if [ "$still" -ge "$quiet" ]; then how="hung (log still for ${quiet}s)"; kill -TERM "$pid"; break; fi
    if [ "$t" -ge "$limit" ]; then kill -TERM "$pid"; wait "$pid" || true; die "$name: still running after ${limit}s"; fi
  done
  wait "$pid" || true # QEMU exits 0 at the guest's reset (-no-reboot), or on SIGTERM after flushing its log
  trap - EXIT
  ! kill -0 "$pid" 2>/dev/null || die "$name: QEMU (pid $pid) did not stop"
  rm -f "$out/$name.edit.dtb"
  touch "$out/$name.done"
  echo "make-uart-corpus: $name: $how after ${t}s, $(wc -l <"$out/$name.log") trace lines, $(wc -c <"$out/$name.serial") serial bytes" >&2
}

want=" $* "
running=0 fail=0
while IFS=$'\t' read -r name _cause append edits; do
  [ $# -eq 0 ] || [[ $want == *" $name "* ]] || continue
  if [ "$running" -ge 2 ]; then wait -n || fail=1; running=$((running - 1)); fi
  boot "$name" "$append" "$edits" &
  running=$((running + 1))
done <"$out/cases.tsv"
while [ "$running" -gt 0 ]; do wait -n || fail=1; running=$((running - 1)); done
[ "$fail" = 0 ] || die "a boot failed"
