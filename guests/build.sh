#!/bin/sh
# Rebuilds every bootscope guest into guests/bin/<name>.bin (flat, arm64 Image header; committed)
# and guests/build/<name>.elf (with symbols, for disassembly; not committed) with Debian's
# aarch64-linux-gnu toolchain. Reproducible: fixed flags, no build ids, no timestamps, sources
# relative to this directory. Usage: guests/build.sh [name...]
# Environment: CROSS (tool prefix), BIN (output folder for the .bin files, default guests/bin).
set -eu
cd "$(dirname "$0")"
CROSS=${CROSS:-aarch64-linux-gnu-}
OUT=${OUT:-build}
BIN=${BIN:-bin}
mkdir -p "$OUT" "$BIN"
CFLAGS="-std=gnu11 -O2 -g -ffreestanding -nostdlib -mgeneral-regs-only -mstrict-align \
 -march=armv8-a -mno-outline-atomics -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables \
 -fno-unwind-tables -ffunction-sections -fdata-sections -ffile-prefix-map=$PWD=. \
 -Wall -Wextra -Werror -Wno-unused-parameter -Irt"
LDFLAGS="-nostdlib -static -no-pie -z max-page-size=4096 -z common-page-size=4096 --build-id=none --no-warn-rwx-segments --gc-sections -T guest.ld"
RT="rt/start.S rt/main.c rt/print.c rt/fdt.c rt/gic.c"
GUESTS=${*:-"uart timer smp mmu exceptions selfcheck workload xenstore xenprobe pcibad"}

for g in $GUESTS; do
    objs=""
    for src in $RT $g.c $(ls $g.S 2>/dev/null || true); do
        o="$OUT/$g-$(basename "$src" | tr . _).o"
        ${CROSS}gcc $CFLAGS -c "$src" -o "$o"
        objs="$objs $o"
    done
    ${CROSS}ld $LDFLAGS -o "$OUT/$g.elf" $objs
    ${CROSS}objcopy -O binary "$OUT/$g.elf" "$BIN/$g.bin"
    printf '%-12s %6d bytes\n' "$g" "$(wc -c < "$BIN/$g.bin")"
done
