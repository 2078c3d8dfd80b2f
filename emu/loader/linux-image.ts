// The arm64 Linux Image header (Linux Documentation/arch/arm64/booting.rst, 'Call the kernel image').

import { hex, LoaderError } from './errors.ts';

export const ARM64_MAGIC = 0x644d5241; // "ARM\x64"
export const ARM64_MAGIC_OFFSET = 0x38;
export const IMAGE_HEADER_SIZE = 0x40;

export interface LinuxImageHeader {
  code0: number;
  code1: number;
  /** Offset from a 2 MiB-aligned base; only meaningful when imageSize != 0. */
  textOffset: bigint;
  /** Bytes the kernel needs from its load address (0 before v3.17). */
  imageSize: bigint;
  flags: bigint;
  bigEndian: boolean;
  /** 4, 16 or 64 (KiB), or 0 when unspecified. */
  pageSizeKiB: number;
  /** Bit 3: the image may be placed anywhere in physical memory. */
  anywhere: boolean;
  /** The image starts with "MZ": it also is an EFI PE/COFF binary. */
  efi: boolean;
}

/** Does the buffer carry the arm64 Image magic? */
export function hasLinuxImageMagic(b: Uint8Array): boolean {
  return (
    b.length >= IMAGE_HEADER_SIZE && new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(ARM64_MAGIC_OFFSET, true) === ARM64_MAGIC
  );
}

/** Parse and check the header; throws LoaderError naming the problem. */
export function parseLinuxImage(b: Uint8Array, file: string): LinuxImageHeader {
  if (b.length < IMAGE_HEADER_SIZE)
    throw new LoaderError(file, `not a Linux arm64 Image: ${b.length} bytes is shorter than the 64-byte header`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = dv.getUint32(ARM64_MAGIC_OFFSET, true);
  if (magic !== ARM64_MAGIC) {
    throw new LoaderError(file, `not a Linux arm64 Image: expected magic "ARM\\x64" (0x644d5241) at offset 0x38, found ${hex(magic)}`);
  }
  const flags = dv.getBigUint64(0x18, true);
  const ps = Number((flags >> 1n) & 3n);
  return {
    code0: dv.getUint32(0, true),
    code1: dv.getUint32(4, true),
    textOffset: dv.getBigUint64(0x08, true),
    imageSize: dv.getBigUint64(0x10, true),
    flags,
    bigEndian: (flags & 1n) === 1n,
    pageSizeKiB: [0, 4, 16, 64][ps]!,
    anywhere: (flags & 8n) === 8n,
    efi: b[0] === 0x4d && b[1] === 0x5a,
  };
}
