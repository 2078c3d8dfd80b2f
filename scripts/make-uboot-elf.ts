// Wraps a raw firmware image (U-Boot's qemu_arm64 u-boot.bin) in an ELF with one PT_LOAD segment
// at a RAM address, so `-kernel` (QEMU's and `bootscope run`'s) places it there, jumps to it, and
// puts the DTB at the base of RAM, where U-Boot's qemu-arm board code looks for it.
// (A raw -kernel image gets the DTB above the image instead, and U-Boot stops with "No valid
// device tree binary found at 0000000040000000".) U-Boot is position independent and relocates
// itself, so any 4 KiB-aligned address above the DTB works; 0x40200000 leaves 2 MiB for it.
// Usage: node scripts/make-uboot-elf.ts u-boot.bin OUT.elf [LOAD_ADDR]

import fs from 'node:fs';

export const UBOOT_LOAD = 0x4020_0000;

export function wrapElf(image: Uint8Array, load = UBOOT_LOAD): Uint8Array {
  const EHDR = 64,
    PHDR = 56,
    DATA = 0x1000; // segment file offset aligned like its address
  const out = Buffer.alloc(DATA + image.length);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0); // ELFCLASS64, little-endian, version 1
  out.writeUInt16LE(2, 16); // ET_EXEC
  out.writeUInt16LE(183, 18); // EM_AARCH64
  out.writeUInt32LE(1, 20);
  out.writeBigUInt64LE(BigInt(load), 24); // e_entry
  out.writeBigUInt64LE(BigInt(EHDR), 32); // e_phoff
  out.writeUInt16LE(EHDR, 52);
  out.writeUInt16LE(PHDR, 54);
  out.writeUInt16LE(1, 56); // e_phnum
  out.writeUInt16LE(64, 58); // e_shentsize (no sections)
  const p = EHDR;
  out.writeUInt32LE(1, p); // PT_LOAD
  out.writeUInt32LE(7, p + 4); // RWX
  out.writeBigUInt64LE(BigInt(DATA), p + 8);
  out.writeBigUInt64LE(BigInt(load), p + 16); // p_vaddr
  out.writeBigUInt64LE(BigInt(load), p + 24); // p_paddr
  out.writeBigUInt64LE(BigInt(image.length), p + 32);
  out.writeBigUInt64LE(BigInt(image.length), p + 40);
  out.writeBigUInt64LE(BigInt(DATA), p + 48);
  out.set(image, DATA);
  return out;
}

if (import.meta.main) {
  const [input, output, addr] = process.argv.slice(2);
  if (!input || !output) {
    process.stderr.write('usage: node scripts/make-uboot-elf.ts u-boot.bin OUT.elf [LOAD_ADDR]\n');
    process.exit(2);
  }
  fs.writeFileSync(output, wrapElf(fs.readFileSync(input), addr ? Number(addr) : UBOOT_LOAD));
  process.stdout.write(`${output}\n`);
}
