// What the redistributors' LPI tables and the ITS's tables share: the memory attribute fields of
// their base registers, sanitised as KVM's vgic does (it keeps the guest's choices it can honour),
// and 64-bit little-endian table entries read from and written to guest RAM, where an address
// outside RAM is reported (undefined / false) rather than touched.
// Arm IHI 0069H §12.11.29 (GICR_PROPBASER), §12.11.32 (GICR_PENDBASER), §12.19.1 (GITS_BASER<n>),
// §12.19.2 (GITS_CBASER).

import type { GuestMemory } from './virtqueue.ts';

/** Bit positions of a base register's InnerCache, OuterCache (3 bits each) and Shareability (2 bits). */
export interface TableAttrFields {
  inner: bigint;
  outer: bigint;
  shareability: bigint;
}

const SH_OUTER = 2n;
const SH_INNER = 1n;
const CACHE_NCNB = 0n;
const CACHE_NC = 1n;
const CACHE_RAWB = 3n;
const CACHE_SAME_AS_INNER = 0n;

/**
 * Outer Shareable becomes Inner Shareable; non-cacheable inner attributes become Read-allocate
 * Write-back; outer attributes other than SameAsInner/Non-cacheable become Non-cacheable.
 */
export function sanitiseTableAttrs(v: bigint, f: TableAttrFields): bigint {
  const get = (sh: bigint, bits: bigint): bigint => (v >> sh) & ((1n << bits) - 1n);
  const set = (sh: bigint, bits: bigint, x: bigint): void => {
    v = (v & ~(((1n << bits) - 1n) << sh)) | (x << sh);
  };
  if (get(f.shareability, 2n) === SH_OUTER) set(f.shareability, 2n, SH_INNER);
  const inner = get(f.inner, 3n);
  if (inner === CACHE_NCNB || inner === CACHE_NC) set(f.inner, 3n, CACHE_RAWB);
  const outer = get(f.outer, 3n);
  if (outer !== CACHE_SAME_AS_INNER && outer !== CACHE_NC) set(f.outer, 3n, CACHE_NC);
  return v;
}

/** Offset of `len` bytes at `pa` in guest RAM, or -1 when any of them is outside RAM. */
function span(mem: GuestMemory, pa: number, len: number): number {
  if (!Number.isSafeInteger(pa) || pa < 0) return -1;
  const off = mem.memOffset(pa);
  if (off < 0 || mem.memOffset(pa + len - 1) !== off + len - 1) return -1;
  return off;
}

export function readU64(mem: GuestMemory, pa: number): bigint | undefined {
  const off = span(mem, pa, 8);
  if (off < 0) return undefined;
  return new DataView(mem.mem.buffer, mem.mem.byteOffset).getBigUint64(off, true);
}

export function writeU64(mem: GuestMemory, pa: number, v: bigint): boolean {
  const off = span(mem, pa, 8);
  if (off < 0) return false;
  new DataView(mem.mem.buffer, mem.mem.byteOffset).setBigUint64(off, v, true);
  return true;
}

export function readU8(mem: GuestMemory, pa: number): number | undefined {
  const off = span(mem, pa, 1);
  return off < 0 ? undefined : mem.mem[off];
}

/** Read `len` bytes (a command) at `pa`, or undefined outside RAM. */
export function readBytes(mem: GuestMemory, pa: number, len: number): Uint8Array | undefined {
  const off = span(mem, pa, len);
  return off < 0 ? undefined : mem.mem.subarray(off, off + len);
}
