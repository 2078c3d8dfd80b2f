// Guest image placement, the way QEMU's `-kernel` does it on the virt machine (hw/arm/boot.c):
// an arm64 Linux Image at a 2 MiB-aligned base + text_offset, an ELF at its program headers'
// physical addresses, anything else raw at RAM base + 0x80000; the initrd and the DTB above the
// kernel. Only what cannot be a guest (empty, truncated ELF, too big for RAM) is an error.

/** A guest image that cannot be loaded; the message is one line naming the file. */
export class GuestImageError extends Error {
  override name = 'GuestImageError';
}

export type ImageKind = 'image' | 'elf' | 'raw';

export interface Segment {
  pa: number;
  data: Uint8Array;
  /** Bytes to zero after data (ELF p_memsz beyond p_filesz). */
  zero: number;
}

export interface PlacedKernel {
  kind: ImageKind;
  entry: number;
  segments: Segment[];
  /** First byte above everything the kernel occupies (for placing initrd and DTB). */
  end: number;
}

const IMAGE_MAGIC = 0x644d5241; // "ARM\x64" at offset 0x38
const RAW_OFFSET = 0x80000;
const MiB = 1 << 20;

const alignUp = (v: number, a: number): number => Math.ceil(v / a) * a;

/** Where a kernel image goes in RAM. */
export function placeKernel(data: Uint8Array, file: string, ramBase: number, ramSize: number): PlacedKernel {
  if (data.length === 0) throw new GuestImageError(`${file}: empty file, not a guest image`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let placed: PlacedKernel;
  if (data.length >= 4 && data[0] === 0x7f && data[1] === 0x45 && data[2] === 0x4c && data[3] === 0x46) {
    placed = placeElf(data, dv, file);
  } else if (data.length >= 64 && dv.getUint32(0x38, true) === IMAGE_MAGIC) {
    const textOffset = Number(dv.getBigUint64(8, true));
    const imageSize = Number(dv.getBigUint64(16, true));
    // Old kernels (image_size 0) have an unreliable text_offset: 0x80000, as booting.rst says.
    const offset = imageSize === 0 ? RAW_OFFSET : textOffset;
    if (offset % 4096 !== 0 || offset >= 2 * MiB * 16) throw new GuestImageError(`${file}: arm64 Image header has an impossible text_offset 0x${offset.toString(16)}`);
    const pa = ramBase + offset;
    const size = Math.max(imageSize, data.length);
    placed = { kind: 'image', entry: pa, segments: [{ pa, data, zero: size - data.length }], end: pa + size };
  } else {
    const pa = ramBase + RAW_OFFSET;
    placed = { kind: 'raw', entry: pa, segments: [{ pa, data, zero: 0 }], end: pa + data.length };
  }
  for (const s of placed.segments) {
    if (s.pa < ramBase || s.pa + s.data.length + s.zero > ramBase + ramSize) {
      throw new GuestImageError(
        `${file}: ${placed.kind === 'elf' ? 'ELF segment' : 'image'} at 0x${s.pa.toString(16)} (${s.data.length + s.zero} bytes) does not fit in RAM 0x${ramBase.toString(16)}-0x${(ramBase + ramSize).toString(16)}`,
      );
    }
  }
  return placed;
}

function placeElf(data: Uint8Array, dv: DataView, file: string): PlacedKernel {
  const bad = (why: string): never => {
    throw new GuestImageError(`${file}: not a loadable AArch64 ELF: ${why}`);
  };
  if (data.length < 64) bad('truncated header');
  if (data[4] !== 2) bad('not ELF64');
  if (data[5] !== 1) bad('not little-endian');
  const type = dv.getUint16(16, true);
  if (type !== 2) bad(`e_type ${type} is not EXEC`);
  const machine = dv.getUint16(18, true);
  if (machine !== 183) bad(`e_machine ${machine} is not AArch64 (183)`);
  const entry = Number(dv.getBigUint64(24, true));
  const phoff = Number(dv.getBigUint64(32, true));
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phentsize < 56 || phoff + phnum * phentsize > data.length) bad('program headers outside the file');
  const segments: Segment[] = [];
  let end = 0;
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (dv.getUint32(o, true) !== 1) continue; // PT_LOAD
    const off = Number(dv.getBigUint64(o + 8, true));
    const paddr = Number(dv.getBigUint64(o + 24, true));
    const filesz = Number(dv.getBigUint64(o + 32, true));
    const memsz = Number(dv.getBigUint64(o + 40, true));
    if (off + filesz > data.length) bad(`segment ${i} extends past the end of the file`);
    if (memsz < filesz) bad(`segment ${i} has p_memsz < p_filesz`);
    segments.push({ pa: paddr, data: data.subarray(off, off + filesz), zero: memsz - filesz });
    end = Math.max(end, paddr + memsz);
  }
  if (segments.length === 0) bad('no PT_LOAD segment');
  return { kind: 'elf', entry, segments, end };
}

export interface BootLayout {
  initrd?: { start: number; end: number };
  dtb: number;
}

/**
 * Initrd and DTB addresses. QEMU puts the initrd at RAM base + min(RAM/2, 128 MiB) (or above the
 * kernel if that is higher) and the DTB at the next 2 MiB boundary after it.
 */
export function placeBootData(kernelEnd: number, initrdSize: number, dtbSize: number, ramBase: number, ramSize: number): BootLayout {
  const initrdStart = alignUp(Math.max(ramBase + Math.min(ramSize / 2, 128 * MiB), kernelEnd), 4096);
  const dtb = alignUp(initrdStart + initrdSize, 2 * MiB);
  if (dtb + dtbSize > ramBase + ramSize) {
    throw new GuestImageError(`kernel, initrd and DTB do not fit in ${ramSize / MiB} MiB of RAM`);
  }
  return { initrd: initrdSize > 0 ? { start: initrdStart, end: initrdStart + initrdSize } : undefined, dtb };
}
