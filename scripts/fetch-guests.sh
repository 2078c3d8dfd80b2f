#!/usr/bin/env bash
# Fetches the real guests bootscope's tests and benchmarks boot, by Debian package name, and
# unpacks them under .cache/guests/ (idempotent: nothing is downloaded when they are there):
#   linux-image-6.1.0-*-cloud-arm64   the newest Debian 6.1 cloud kernel (gzip arm64 Image)
#   u-boot-qemu                       U-Boot's qemu_arm64 build (usr/lib/u-boot/qemu_arm64/u-boot.bin)
#   busybox-static:arm64              a static arm64 busybox, for scripts/make-initramfs.sh
# Prints one line per guest: "<role> <absolute path>". Needs apt-get with the arm64 architecture
# added (done here when running as root); as another user it says what is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${BOOTSCOPE_GUESTS:-$root/.cache/guests}"
mkdir -p "$cache"
cd "$cache"

die() { echo "fetch-guests: $*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

ensure_arm64() {
  dpkg --print-foreign-architectures | grep -qx arm64 && return 0
  is_root || die "the arm64 architecture is not enabled for apt; run as root: dpkg --add-architecture arm64 && apt-get update"
  dpkg --add-architecture arm64
  apt-get update -qq >/dev/null
}

# fetch PACKAGE DIR: apt-get download PACKAGE into the cache and unpack it into DIR.
fetch() {
  local pkg="$1" dir="$2"
  [ -f "$dir/.done" ] && return 0
  local deb
  deb="$(ls -1 "${pkg%%:*}"_*.deb 2>/dev/null | head -n1 || true)"
  if [ -z "$deb" ]; then
    apt-get download -q "$pkg" >/dev/null 2>download.log \
      || die "apt-get download $pkg failed ($(tail -n1 download.log))$(is_root || echo '; run as root (apt-get update may be needed)')"
    deb="$(ls -1 "${pkg%%:*}"_*.deb | head -n1)"
  fi
  rm -rf "$dir"
  dpkg-deb -x "$deb" "$dir"
  touch "$dir/.done"
}

# The newest linux-image-6.1.0-N-cloud-arm64 the archive has (or the one already fetched).
kpkg="$(ls -1d linux-image-6.1.0-*-cloud-arm64 2>/dev/null | sort -V | tail -n1 || true)"
if [ -z "$kpkg" ] || [ ! -f "$kpkg/.done" ]; then
  ensure_arm64
  kpkg="$(apt-cache search --names-only '^linux-image-6.1.0-.*-cloud-arm64$' | cut -d' ' -f1 | sort -V | tail -n1)"
  [ -n "$kpkg" ] || die "apt-cache finds no linux-image-6.1.0-*-cloud-arm64 package$(is_root || echo '; run as root so apt-get update can add the arm64 lists')"
fi
fetch "$kpkg" "$kpkg"
[ -f u-boot-qemu/.done ] || ensure_arm64
fetch u-boot-qemu u-boot-qemu
[ -f busybox-static/.done ] || ensure_arm64
fetch busybox-static:arm64 busybox-static

kernel="$(ls -1 "$cache/$kpkg"/boot/vmlinuz-* | head -n1)"
uboot="$cache/u-boot-qemu/usr/lib/u-boot/qemu_arm64/u-boot.bin"
busybox="$cache/busybox-static/bin/busybox"
for f in "$kernel" "$uboot" "$busybox"; do [ -f "$f" ] || die "expected $f after unpacking"; done
echo "kernel $kernel"
echo "u-boot $uboot"
echo "busybox $busybox"
