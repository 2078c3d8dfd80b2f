// ELF64 little-endian AArch64 executables: entry point and PT_LOAD segments (loaded at p_paddr,
// as QEMU's load_elf does), with every malformation reported against its offset.

import { hex, LoaderError } from './errors.ts';

export const EM_AARCH64 = 183;
const PT_LOAD = 1;

export interface ElfSegment {
  /** Physical load address (p_paddr). */
  paddr: number;
  /** Bytes from the file (p_filesz); the rest up to memsz is zero. */
  data: Uint8Array;
  memsz: number;
}

export interface ElfImage {
  entry: number;
  segments: ElfSegment[];
  lowAddr: number;
  highAddr: number;
}

export function isElf(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
}

export function parseElf(b: Uint8Array, file: string): ElfImage {
  if (b.length < 64) throw new LoaderError(file, `truncated ELF header: ${b.length} bytes, expected at least 64`);
  if (!isElf(b)) throw new LoaderError(file, 'not an ELF file: expected \\x7fELF at offset 0x0');
  if (b[4] !== 2) throw new LoaderError(file, `ELF class ${b[4]} at offset 0x4: only 64-bit (ELFCLASS64 = 2) images can be loaded`);
  if (b[5] !== 1)
    throw new LoaderError(file, `ELF data encoding ${b[5]} at offset 0x5: only little-endian (ELFDATA2LSB = 1) images can be loaded`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const type = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  if (machine !== EM_AARCH64) throw new LoaderError(file, `ELF machine ${machine} at offset 0x12: expected EM_AARCH64 (183)`);
  if (type !== 2 && type !== 3) throw new LoaderError(file, `ELF type ${type} at offset 0x10: expected an executable (ET_EXEC = 2)`);
  const entry = toNumber(dv.getBigUint64(24, true), file, 'entry point');
  const phoff = toNumber(dv.getBigUint64(32, true), file, 'e_phoff');
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phnum === 0) throw new LoaderError(file, 'ELF has no program headers (e_phnum = 0 at offset 0x38)');
  if (phentsize < 56) throw new LoaderError(file, `ELF program header size ${phentsize} at offset 0x36 is smaller than 56`);
  if (phoff + phnum * phentsize > b.length)
    throw new LoaderError(file, `program headers at ${hex(phoff)} (${phnum} × ${phentsize} bytes) run past the end of the file`);
  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (dv.getUint32(o, true) !== PT_LOAD) continue;
    const offset = toNumber(dv.getBigUint64(o + 8, true), file, `segment ${i} p_offset`);
    const paddr = toNumber(dv.getBigUint64(o + 24, true), file, `segment ${i} p_paddr`);
    const filesz = toNumber(dv.getBigUint64(o + 32, true), file, `segment ${i} p_filesz`);
    const memsz = toNumber(dv.getBigUint64(o + 40, true), file, `segment ${i} p_memsz`);
    if (offset + filesz > b.length)
      throw new LoaderError(
        file,
        `PT_LOAD segment ${i} (program header at ${hex(o)}) has file bytes ${hex(offset)}+${hex(filesz)} past the end of the file`,
      );
    if (memsz < filesz) throw new LoaderError(file, `PT_LOAD segment ${i} (program header at ${hex(o)}) has p_memsz < p_filesz`);
    if (memsz === 0) continue;
    segments.push({ paddr, data: b.subarray(offset, offset + filesz), memsz });
  }
  if (segments.length === 0) throw new LoaderError(file, 'ELF has no PT_LOAD segment with contents');
  const lowAddr = Math.min(...segments.map((s) => s.paddr));
  const highAddr = Math.max(...segments.map((s) => s.paddr + s.memsz));
  return { entry, segments, lowAddr, highAddr };
}

function toNumber(v: bigint, file: string, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new LoaderError(file, `ELF ${what} ${hex(v)} is out of range`);
  return Number(v);
}
