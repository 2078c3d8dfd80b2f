#!/usr/bin/env bash
# The real-KVM corpus the importer's and the kvm machine's tests compare against: one
# scripts/kvm-oracle/run.sh case per directory of OUTDIR (default .cache/kvm-oracle), made once
# (a case whose case.env exists is kept; delete the directory to make it again).
#
#   scripts/kvm-oracle/make-corpus.sh [OUTDIR [CASE...]]
#   scripts/kvm-oracle/make-corpus.sh --trim [OUTDIR]
#       rewrites the trimmed copies committed in test/fixtures/kvm/ from the corpus (our own
#       generated text): nvhe-smp2.head (the boot to the second vCPU's start), vhe-smp2.tail (from
#       the guest's first console byte: UART input, echo, SYSTEM_OFF) with its console.txt,
#       host612.head (a 6.12 host), and each host kernel's kvm event formats (name, print fmt).
#
# Cases (docs/kvm-oracle.md): nvhe-smp1, nvhe-smp2, vhe-smp1, vhe-smp2 (6.1 host and guest),
# nvhe-smp2-host612 (the 6.12 cloud kernel as the host: its kvm events and formats), and
# nvhe-smp2-log (no `quiet`: the guest kernel's whole log on the console, under real KVM).
# One case at a time: each keeps both cores busy for one to two minutes.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
trim=0
if [ "${1:-}" = --trim ]; then trim=1; shift; fi
out="${1:-$root/.cache/kvm-oracle}"
[ $# -gt 0 ] && shift
all=(nvhe-smp1 nvhe-smp2 vhe-smp1 vhe-smp2 nvhe-smp2-host612 nvhe-smp2-log)
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=("${all[@]}")
if [ "$trim" = 1 ]; then
  "$0" "$out" nvhe-smp2 vhe-smp2 nvhe-smp2-host612 >/dev/null
  fx="$root/test/fixtures/kvm"
  mkdir -p "$fx"
  head -n 12000 "$out/nvhe-smp2/trace.txt" | gzip -9n >"$fx/nvhe-smp2.head.txt.gz"
  first=$(grep -n 'kvm_mmio: mmio write len . gpa 0x9000000 ' "$out/vhe-smp2/trace.txt" | head -n1 | cut -d: -f1)
  { head -n 12 "$out/vhe-smp2/trace.txt"; tail -n +"$((first - 200))" "$out/vhe-smp2/trace.txt"; } | gzip -9n >"$fx/vhe-smp2.tail.txt.gz"
  cp "$out/vhe-smp2/console.txt" "$fx/vhe-smp2.console.txt"
  head -n 6000 "$out/nvhe-smp2-host612/trace.txt" | gzip -9n >"$fx/host612.head.txt.gz"
  grep -E '^(==|print fmt)' "$out/nvhe-smp2/kvm-formats.txt" >"$fx/kvm-formats-6.1.txt"
  grep -E '^(==|print fmt)' "$out/nvhe-smp2-host612/kvm-formats.txt" >"$fx/kvm-formats-6.12.txt"
  ls -l "$fx"
  exit 0
fi
mkdir -p "$out"
# Serialise with other makers of the same corpus (parallel test files).
exec 9>"$out/.lock"
flock 9
for c in "${cases[@]}"; do
  args=()
  case "$c" in
    nvhe-smp1) args=(--smp 1) ;;
    nvhe-smp2) args=(--smp 2) ;;
    vhe-smp1) args=(--vhe --smp 1) ;;
    vhe-smp2) args=(--vhe --smp 2) ;;
    nvhe-smp2-host612) args=(--smp 2 --host kernel-6.12) ;;
    nvhe-smp2-log) args=(--smp 2 --append "console=ttyAMA0") ;;
    *) echo "make-corpus: unknown case '$c' (${all[*]})" >&2; exit 1 ;;
  esac
  [ -f "$out/$c/case.env" ] && continue
  rm -rf "$out/$c.partial"
  "$root/scripts/kvm-oracle/run.sh" "${args[@]}" "$out/$c.partial" >/dev/null
  rm -rf "$out/$c"
  mv "$out/$c.partial" "$out/$c"
done
for c in "${cases[@]}"; do echo "$c $out/$c"; done
