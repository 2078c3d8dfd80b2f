// Where QEMU's `-kernel`/`-initrd` put things on an AArch64 machine (hw/arm/boot.c, 7.2; checked
// against qemu-system-aarch64 7.2 in test/emu/dt/loader.test.ts), and the register state at entry.
//
//  - ELF: PT_LOAD segments at p_paddr, entered at e_entry with x0..x3 = 0; no initrd; the DTB goes
//    to the base of RAM only if it fits below the lowest segment.
//  - Linux arm64 Image (magic "ARM\x64" at 0x38; gzip-compressed images are unpacked first): loaded
//    at RAM + text_offset (+2 MiB when text_offset is below QEMU's 4 KiB boot stub), or RAM +
//    0x80000 when image_size is 0 (pre-3.17 kernels).
//  - Anything else is a raw image at RAM + 0x80000, booted like a Linux kernel.
//  For Image and raw: initrd at RAM + min(RAM/2, 128 MiB) (raised above the kernel's end, page
//  aligned), DTB at the next 2 MiB boundary after the initrd, x0 = DTB address, x1..x3 = 0.

import { gunzipSync } from 'node:zlib';
import { hex, LoaderError } from './errors.ts';
import { isElf, parseElf } from './elf.ts';
import { hasLinuxImageMagic, parseLinuxImage, type LinuxImageHeader } from './linux-image.ts';

export const KERNEL64_LOAD_OFFSET = 0x80000;
const BOOTLOADER_MAX_SIZE = 4096;
const MiB = 0x100000;
const MAX_GUNZIP = 256 * MiB;

export type KernelFormat = 'auto' | 'linux' | 'raw' | 'elf';

export interface BootInput {
  kernel: Uint8Array;
  /** File name for error messages. */
  kernelName: string;
  initrd?: Uint8Array;
  initrdName?: string;
  ram: { base: number; size: number };
  format?: KernelFormat;
  /**
   * The DTB to hand the guest, built once the initrd's place is known (the kvm personality's
   * buildDtb), or a fixed blob (--dtb FILE). Omit for no DTB.
   */
  dtb?: Uint8Array | ((initrd?: { start: number; end: number }) => Uint8Array);
}

export interface BootBlob {
  name: 'kernel' | 'initrd' | 'dtb';
  addr: number;
  data: Uint8Array;
  /** Bytes after `data` to clear (ELF segments whose memsz exceeds filesz). */
  zeroFill: number;
}

export interface BootPlan {
  kind: 'linux' | 'raw' | 'elf';
  entry: bigint;
  /** x0..x3 of the primary vCPU at entry. */
  regs: [bigint, bigint, bigint, bigint];
  /** What to copy into RAM, in order. */
  blobs: BootBlob[];
  dtbAddr?: number;
  initrd?: { start: number; end: number };
  header?: LinuxImageHeader;
  /** True when the kernel file was gzip-compressed. */
  gunzipped: boolean;
  /** Remarks for the user (e.g. "no DTB: it does not fit below the ELF"). */
  notes: string[];
}

const isGzip = (b: Uint8Array): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
const alignUp = (v: number, a: number): number => Math.ceil(v / a) * a;

/** Decide placement and entry state; throws LoaderError for anything that cannot boot. */
export function planBoot(input: BootInput): BootPlan {
  const file = input.kernelName;
  const format = input.format ?? 'auto';
  let kernel = input.kernel;
  if (kernel.length === 0) throw new LoaderError(file, 'kernel file is empty');
  if (format === 'elf' || (format === 'auto' && isElf(kernel))) return planElf(input);

  let gunzipped = false;
  if (isGzip(kernel) && format !== 'raw') {
    try {
      kernel = new Uint8Array(gunzipSync(kernel, { maxOutputLength: MAX_GUNZIP }));
    } catch (e) {
      throw new LoaderError(file, `gzip-compressed kernel does not decompress: ${(e as Error).message}`);
    }
    gunzipped = true;
  }
  const notes: string[] = [];
  let header: LinuxImageHeader | undefined;
  let loadOffset = KERNEL64_LOAD_OFFSET;
  let kernelSize = kernel.length;
  let kind: 'linux' | 'raw' = 'raw';
  if (format === 'linux' || (format === 'auto' && hasLinuxImageMagic(kernel))) {
    header = parseLinuxImage(kernel, file);
    if (header.bigEndian)
      throw new LoaderError(file, 'big-endian arm64 Image (flags bit 0 at offset 0x18): only little-endian kernels are supported');
    if (header.pageSizeKiB !== 0 && header.pageSizeKiB !== 4)
      notes.push(`kernel built for ${header.pageSizeKiB} KiB pages; the emulated MMU implements the 4 KiB granule only`);
    kind = 'linux';
    if (header.imageSize !== 0n) {
      kernelSize = Number(header.imageSize);
      loadOffset = Number(header.textOffset);
      if (loadOffset < BOOTLOADER_MAX_SIZE) loadOffset += 2 * MiB;
    }
  } else if (format === 'auto') {
    rejectObviousNonKernels(kernel, file);
  }

  const { base, size } = input.ram;
  const ramEnd = base + size;
  const entry = base + loadOffset;
  if (entry + kernel.length > ramEnd) {
    throw new LoaderError(file, `kernel (${kernel.length} bytes at ${hex(entry)}) does not fit in RAM ${hex(base)}-${hex(ramEnd - 1)}`);
  }
  const blobs: BootBlob[] = [{ name: 'kernel', addr: entry, data: kernel, zeroFill: 0 }];

  let initrdStart = base + Math.min(Math.floor(size / 2), 128 * MiB);
  initrdStart = alignUp(Math.max(initrdStart, entry + kernelSize), 4096);
  let initrd: { start: number; end: number } | undefined;
  if (input.initrd) {
    const name = input.initrdName ?? 'initrd';
    if (initrdStart + input.initrd.length > ramEnd) {
      throw new LoaderError(
        name,
        `initrd (${input.initrd.length} bytes at ${hex(initrdStart)}) does not fit in RAM ending at ${hex(ramEnd)}`,
      );
    }
    initrd = { start: initrdStart, end: initrdStart + input.initrd.length };
    blobs.push({ name: 'initrd', addr: initrdStart, data: input.initrd, zeroFill: 0 });
  }

  let dtbAddr: number | undefined;
  if (input.dtb) {
    const dtb = typeof input.dtb === 'function' ? input.dtb(initrd) : input.dtb;
    dtbAddr = alignUp(initrdStart + (input.initrd?.length ?? 0), 2 * MiB);
    if (dtbAddr + dtb.length > ramEnd)
      throw new LoaderError(
        file,
        `not enough RAM for the DTB after the kernel/initrd (needs ${dtb.length} bytes at ${hex(dtbAddr)}, RAM ends at ${hex(ramEnd)})`,
      );
    blobs.push({ name: 'dtb', addr: dtbAddr, data: dtb, zeroFill: 0 });
  }
  return {
    kind,
    entry: BigInt(entry),
    regs: [BigInt(dtbAddr ?? 0), 0n, 0n, 0n],
    blobs,
    ...(dtbAddr !== undefined ? { dtbAddr } : {}),
    ...(initrd ? { initrd } : {}),
    ...(header ? { header } : {}),
    gunzipped,
    notes,
  };
}

function planElf(input: BootInput): BootPlan {
  const file = input.kernelName;
  const elf = parseElf(input.kernel, file);
  const { base, size } = input.ram;
  const ramEnd = base + size;
  const blobs: BootBlob[] = [];
  for (const s of elf.segments) {
    if (s.paddr < base || s.paddr + s.memsz > ramEnd) {
      throw new LoaderError(file, `PT_LOAD segment at ${hex(s.paddr)}+${hex(s.memsz)} is outside RAM ${hex(base)}-${hex(ramEnd - 1)}`);
    }
    blobs.push({ name: 'kernel', addr: s.paddr, data: s.data, zeroFill: s.memsz - s.data.length });
  }
  const notes: string[] = [];
  if (input.initrd) notes.push('initrd ignored: QEMU loads an initrd only for Linux/raw images, not ELF');
  let dtbAddr: number | undefined;
  if (input.dtb) {
    const dtb = typeof input.dtb === 'function' ? input.dtb(undefined) : input.dtb;
    // QEMU puts the DTB at the base of RAM when it fits below the image (x0 is not set).
    const limit = elf.lowAddr >= base ? elf.lowAddr : ramEnd;
    if (elf.lowAddr > base || elf.highAddr < base) {
      if (base + dtb.length <= limit) {
        dtbAddr = base;
        blobs.unshift({ name: 'dtb', addr: base, data: dtb, zeroFill: 0 });
      } else notes.push(`no DTB: its ${dtb.length} bytes do not fit between RAM base and the ELF at ${hex(elf.lowAddr)}`);
    } else notes.push('no DTB: the ELF occupies the base of RAM');
  }
  return {
    kind: 'elf',
    entry: BigInt(elf.entry),
    regs: [0n, 0n, 0n, 0n],
    blobs,
    ...(dtbAddr !== undefined ? { dtbAddr } : {}),
    gunzipped: false,
    notes,
  };
}

/**
 * QEMU loads any non-ELF file as a raw image; we still refuse files that are plainly not AArch64
 * code, because booting them only produces an undefined-instruction loop.
 */
function rejectObviousNonKernels(b: Uint8Array, file: string): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length >= 0x206 && dv.getUint32(0x202, true) === 0x53726448) {
    throw new LoaderError(file, 'this is an x86 bzImage ("HdrS" at offset 0x202), not an arm64 kernel');
  }
  if (b[0] === 0x4d && b[1] === 0x5a) {
    throw new LoaderError(
      file,
      'PE/EFI image ("MZ" at offset 0x0) without the arm64 Image magic "ARM\\x64" at offset 0x38: not an arm64 Linux kernel',
    );
  }
  const n = Math.min(b.length, 512);
  let text = 0;
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c === 9 || c === 10 || c === 13 || (c >= 0x20 && c < 0x7f)) text++;
  }
  if (n >= 16 && text === n) {
    const head = new TextDecoder().decode(b.subarray(0, Math.min(24, n))).replace(/\s+/g, ' ');
    throw new LoaderError(file, `looks like text ("${head}…"), not a kernel image: expected an ELF, an arm64 Image or raw AArch64 code`);
  }
}
