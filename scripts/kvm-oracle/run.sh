#!/usr/bin/env bash
# The KVM oracle: runs a guest under real arm64 KVM and returns the host's ftrace text and the
# guest's console (docs/kvm-oracle.md). Real KVM runs nested: Debian's 6.1 cloud kernel boots as a
# KVM host under the machine's QEMU (TCG, EL2 emulated) from an initramfs holding busybox and
# Debian's arm64 qemu-system-aarch64 with its shared libraries; that QEMU runs the guest with
# -accel kvm -cpu host. Every package is pinned in guests/inputs.lock (roles kernel, kernel-6.12,
# busybox, and the kvm-host packages) and fetched by scripts/fetch-guests.sh.
#
#   scripts/kvm-oracle/run.sh [options] OUTDIR
#     --vhe               host CPU -cpu max,pauth-impdef=on (KVM runs in VHE mode); default
#                         -cpu cortex-a57 (no VHE: KVM runs nVHE, "Hyp mode initialized")
#     --smp N             guest vCPUs (default 2); the host has N vCPUs too, at least 2
#     --mem MIB           guest memory (default 256)
#     --input TEXT        the line sent to the guest's console once its /init is up (default
#                         "hello kvm"); the guest echoes it back
#     --host ROLE         the host kernel's role in guests/inputs.lock (default kernel: 6.1)
#     --guest ROLE        the guest kernel's role (default kernel)
#     --append TEXT       the guest's kernel command line (default "console=ttyAMA0 quiet")
#
# Writes to OUTDIR: trace.txt (tracefs text, events/kvm), console.txt (the guest's serial output),
# guest.dtb, guest-initrd.cpio (the guest's initramfs, to run the same guest elsewhere),
# kvm-formats.txt (the host kernel's kvm:* event formats), stats.txt, host.txt, host-console.txt
# (the nested host's own console) and case.env (the options and the pinned packages used).
# Fails with one line when the host does not come up, KVM is not initialised, the guest does
# not power off, or the ring buffer overran.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/scripts/kvm-oracle"
die() { echo "kvm-oracle: $*" >&2; exit 1; }

vhe=0 smp=2 mem=256 input="hello kvm" host=kernel guest=kernel append="console=ttyAMA0 quiet" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --vhe) vhe=1 ;;
    --smp) smp="${2:?}"; shift ;;
    --mem) mem="${2:?}"; shift ;;
    --input) input="${2?}"; shift ;;
    --host) host="${2:?}"; shift ;;
    --guest) guest="${2:?}"; shift ;;
    --append) append="${2?}"; shift ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$out" ] || die "one OUTDIR only"; out="$1" ;;
  esac
  shift
done
[ -n "$out" ] || die "usage: scripts/kvm-oracle/run.sh [--vhe] [--smp N] [--input TEXT] OUTDIR"
[[ "$smp" =~ ^[1-8]$ ]] || die "--smp $smp: 1 to 8 vCPUs"
[[ "$mem" =~ ^[0-9]+$ ]] && [ "$mem" -ge 64 ] && [ "$mem" -le 1024 ] || die "--mem $mem: 64 to 1024 MiB"
[[ "$input" != *$'\n'* ]] || die "--input is one line"
command -v qemu-system-aarch64 >/dev/null || die "qemu-system-aarch64 is not installed (test/setup-system.sh installs it)"
command -v tar >/dev/null || die "tar is not installed"

# The pinned packages: "<role> <path>" lines, one "kvm-host/<package> <path>" per host package.
fetched="$("$root/scripts/fetch-guests.sh" "$host" "$guest" busybox kvm-host)" || exit 1
path_of() { awk -v r="$1" '$1 == r { print $2; exit }' <<<"$fetched"; }
host_kernel="$(path_of "$host")" guest_kernel="$(path_of "$guest")" busybox="$(path_of busybox)"
qemu="$(awk '$1 ~ /^kvm-host\// && $2 ~ /\/usr\/bin\/qemu-system-aarch64$/ { print $2 }' <<<"$fetched")"
[ -n "$qemu" ] || die "guests/inputs.lock pins no kvm-host package with usr/bin/qemu-system-aarch64"
# A kvm-host line names a file inside its package; the package root is its cache directory.
mapfile -t pkgroots < <(awk '$1 ~ /^kvm-host\// { print $2 }' <<<"$fetched" | sed -E 's#^(.*/[^/]+_[^/]+_arm64)/.*#\1#' | sort -u)

mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d "$out/.work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
rm -f "$out"/{trace.txt,console.txt,guest.dtb,kvm-formats.txt,stats.txt,host.txt,host-console.txt,qemu.stderr,dumpdtb.txt,case.env}

export PATH="$root/.cache/node/bin:$PATH"
node=(node --disable-warning=ExperimentalWarning "$here/make-initramfs.ts")
"${node[@]}" guest "$busybox" "$out/guest-initrd.cpio"
printf '%s\n' "$input" >"$work/input.txt"
cat >"$work/oracle.env" <<EOF
SMP=$smp
MEM=$mem
APPEND='${append//\'/}'
GUEST_TIMEOUT=600
BUFFER_KB=65536
EOF
"${node[@]}" host "$work/host.cpio" --busybox "$busybox" --kernel "$guest_kernel" --initrd "$out/guest-initrd.cpio" \
  --input "$work/input.txt" --env "$work/oracle.env" --qemu "$qemu" "${pkgroots[@]}"

if [ "$vhe" = 1 ]; then cpu=max,pauth-impdef=on; else cpu=cortex-a57; fi
hsmp=$((smp < 2 ? 2 : smp))
truncate -s 256M "$work/disk.img"
# The nested host: EL2 emulated (virtualization=on), GICv3 (KVM's vGICv3 needs the system-register
# CPU interface), the NVMe disk the host writes its results to.
timeout 3600 qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 -cpu "$cpu" -smp "$hsmp" -m 2G \
  -nographic -monitor none -no-reboot -kernel "$host_kernel" -initrd "$work/host.cpio" \
  -append "console=ttyAMA0 quiet" -drive "file=$work/disk.img,if=none,id=out,format=raw" \
  -device nvme,serial=kvmoracle,drive=out </dev/null >"$out/host-console.txt" 2>&1 \
  || die "the nested host's QEMU failed (exit $?); see $out/host-console.txt"
grep -q KVMORACLE-HOST-DONE "$out/host-console.txt" || die "the nested host did not finish; see $out/host-console.txt"
tar -xf "$work/disk.img" -C "$out" || die "no results on the host's disk; see $out/host-console.txt"

grep -q '^qemu-exit 0$' "$out/host.txt" || die "the guest's QEMU did not exit cleanly ($(grep qemu-exit "$out/host.txt")); see $out/qemu.stderr"
grep -q 'Hyp mode initialized successfully\|VHE mode initialized successfully' "$out/host.txt" || die "KVM did not initialise on the host; see $out/host.txt"
grep -q 'KVMORACLE-GUEST-READ:' "$out/console.txt" || die "the guest did not echo its input; see $out/console.txt"
if grep -E '^(overrun|dropped events): [1-9]' "$out/stats.txt" >/dev/null; then die "the trace ring buffer overran; see $out/stats.txt"; fi

{
  echo "mode=$([ "$vhe" = 1 ] && echo vhe || echo nvhe)"
  echo "host_cpu=$cpu"
  echo "smp=$smp"
  echo "mem=$mem"
  echo "append=$append"
  echo "input=$input"
  echo "host_kernel=${host_kernel#"$root/"}"
  echo "guest_kernel=${guest_kernel#"$root/"}"
  echo "lines=$(wc -l <"$out/trace.txt")"
} >"$out/case.env"
echo "kvm-oracle: $(grep -c . "$out/trace.txt") trace lines, $(grep -m1 -o '[A-Za-z]* mode initialized successfully' "$out/host.txt") -> $out"
