#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (real QEMU, dtc, the aarch64 cross
# toolchain, tmux, chromium) when they are missing. Quiet when everything is present.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have qemu-system-aarch64 || need+=(qemu-system-arm)
have dtc || need+=(device-tree-compiler)
have aarch64-linux-gnu-gcc || need+=(gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu)
have tmux || need+=(tmux)
have chromium || need+=(chromium)
have zstd || need+=(zstd)
have cpio || need+=(cpio)
[ -x /usr/sbin/mke2fs ] || [ -x /sbin/mke2fs ] || need+=(e2fsprogs) # the disk boot's ext4 image (scripts/make-test-disk.ts)
/usr/bin/python3 -c "import unicorn" >/dev/null 2>&1 || need+=(python3-unicorn)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bootscope: the tests need these Debian packages: ${need[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "bootscope: installing Debian packages: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# arm64 packages (kernel, U-Boot, busybox) are fetched by name with `apt-get download`.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  [ "$(id -u)" = 0 ] && { dpkg --add-architecture arm64; apt-get update -qq >/dev/null; }
fi
exit 0
