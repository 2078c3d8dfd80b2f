#!/usr/bin/env bash
# Builds .cache/guests/initramfs.cpio.gz (or $1): Debian's busybox-static:arm64 (fetched by
# scripts/fetch-guests.sh) and an /init that prints BOOTSCOPE-USERSPACE-OK and runs `poweroff -f`.
# The archive is written by scripts/make-initramfs.ts (cpio newc, gzip), so no cpio or root needed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
busybox="$("$root/scripts/fetch-guests.sh" busybox | awk '$1 == "busybox" { print $2 }')"
out="${1:-$root/.cache/guests/initramfs.cpio.gz}"
export PATH="$root/.cache/node/bin:$PATH"
node --disable-warning=ExperimentalWarning "$root/scripts/make-initramfs.ts" "$busybox" "$out"
