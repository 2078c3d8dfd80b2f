// The CPU's view of physical memory. Directly accessible memory (RAM, ROM-mode flash) lives in one
// backing Uint8Array so the TLB can cache a plain offset; everything else goes through the MMIO
// callbacks, which may report an abort (the CPU then takes a synchronous external abort).

import { wasmBytes } from './wasm-memory.ts';

/** Where a physical 4K page lives in `mem`, or null when the page is MMIO / unassigned. */
export interface PageMapping {
  /** Byte offset of the page in `mem` (4K aligned). */
  off: number;
  /** False for ROM-like pages: reads come from `mem`, writes go to mmioWrite. */
  writable: boolean;
}

export interface PhysBus {
  /** Backing store of all directly accessible memory (little-endian). */
  readonly mem: Uint8Array;
  /** Page lookup for a 4K-aligned physical address (called on TLB fills only). */
  mapPage(pa: number): PageMapping | null;
  /**
   * MMIO read of `size` bytes (1, 2, 4, 8) at physical address `pa`. Returns the value
   * (number for ≤ 4 bytes, number or bigint for 8), or null when the access aborts.
   */
  mmioRead(pa: number, size: number, vcpu: number, pc: bigint): number | bigint | null;
  /** MMIO write; returns false when the access aborts. `value` is a number for size ≤ 4. */
  mmioWrite(pa: number, size: number, value: number | bigint, vcpu: number, pc: bigint): boolean;
}

/** An MMIO handler for SimpleBus: a physical range with read/write callbacks. */
export interface MmioRange {
  base: number;
  size: number;
  read(offset: number, size: number, vcpu: number): number | bigint | null;
  write(offset: number, size: number, value: number | bigint, vcpu: number): boolean;
}

/**
 * A minimal bus: RAM regions packed into one backing array plus MMIO ranges. Enough for tests
 * and benchmarks; the machine may use it or implement PhysBus itself.
 */
export class SimpleBus implements PhysBus {
  readonly mem: Uint8Array;
  private readonly regions: { base: number; size: number; off: number; writable: boolean }[] = [];
  private readonly mmio: MmioRange[] = [];

  /** `ram`: list of [base, size, writable?]; sizes and bases must be 4K aligned. */
  constructor(ram: Array<[number, number, boolean?]>) {
    let total = 0;
    for (const [base, size, writable] of ram) {
      if (base % 4096 !== 0 || size % 4096 !== 0) throw new Error(`RAM region ${base.toString(16)}+${size.toString(16)} is not 4K aligned`);
      this.regions.push({ base, size, off: total, writable: writable ?? true });
      total += size;
    }
    this.mem = wasmBytes(total);
  }

  addMmio(r: MmioRange): void {
    this.mmio.push(r);
  }

  /** Offset of physical address `pa` in mem, or -1. */
  offsetOf(pa: number): number {
    for (const r of this.regions) if (pa >= r.base && pa < r.base + r.size) return r.off + (pa - r.base);
    return -1;
  }

  /** Copy bytes into memory at a physical address (loaders, tests). */
  load(pa: number, data: Uint8Array): void {
    const off = this.offsetOf(pa);
    if (off < 0 || this.offsetOf(pa + data.length - 1) !== off + data.length - 1) {
      throw new Error(`cannot load ${data.length} bytes at 0x${pa.toString(16)}: not inside one RAM region`);
    }
    this.mem.set(data, off);
  }

  mapPage(pa: number): PageMapping | null {
    for (const r of this.regions) {
      if (pa >= r.base && pa < r.base + r.size) return { off: r.off + (pa - r.base), writable: r.writable };
    }
    return null;
  }

  private find(pa: number): MmioRange | undefined {
    for (const r of this.mmio) if (pa >= r.base && pa < r.base + r.size) return r;
    return undefined;
  }

  mmioRead(pa: number, size: number, vcpu: number): number | bigint | null {
    const r = this.find(pa);
    return r ? r.read(pa - r.base, size, vcpu) : null;
  }

  mmioWrite(pa: number, size: number, value: number | bigint, vcpu: number): boolean {
    const r = this.find(pa);
    return r ? r.write(pa - r.base, size, value, vcpu) : false;
  }
}
