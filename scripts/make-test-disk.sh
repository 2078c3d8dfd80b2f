#!/usr/bin/env bash
# Builds the disk boot's images into .cache/guests/ (or $1): test-disk.ext4 (busybox as /sbin/init)
# and disk-initramfs.cpio.gz (the pinned kernel's virtio, xen-blkfront and xen-netfront modules, an
# /init that mounts /dev/vda or /dev/xvda and switch_roots). Inputs come from scripts/fetch-guests.sh; the
# work is done by scripts/make-test-disk.ts. Prints "disk PATH" and "disk-initramfs PATH".
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
guests="$("$root/scripts/fetch-guests.sh" kernel busybox)"
kernel="$(awk '$1 == "kernel" { print $2 }' <<<"$guests")"
busybox="$(awk '$1 == "busybox" { print $2 }' <<<"$guests")"
out="${1:-$root/.cache/guests}"
export PATH="$root/.cache/node/bin:$PATH"
exec node --disable-warning=ExperimentalWarning "$root/scripts/make-test-disk.ts" "$kernel" "$busybox" "$out"
