// The machine's physical bus: one RAM region in a single Uint8Array (the OS backs untouched pages
// lazily, so a 512 MiB guest costs what it touches) and the personality's MMIO devices, looked up
// by binary search. Every MMIO access is recorded here with its device, register name and outcome;
// accesses nothing answers are 'unassigned' and abort, as on QEMU TCG.

import type { MmioOutcome } from '../../capture/model.ts';
import type { PageMapping, PhysBus } from '../cpu/bus.ts';
import { wasmBytes } from '../cpu/wasm-memory.ts';
import type { EventRecorder } from '../recorder.ts';
import type { MmioDevice, RomBacked } from '../types.ts';

const MASK32 = 0xffffffffn;

export class MachineBus implements PhysBus {
  readonly mem: Uint8Array;
  readonly ramBase: number;
  readonly ramSize: number;
  private readonly bases: number[];
  private readonly ends: number[];
  private readonly devs: MmioDevice[];
  private readonly rec: EventRecorder;
  private readonly now: () => number;
  /**
   * Extra memory windows outside main RAM (the xen personality's grant-table frames and magic
   * pages): plain memory the CPU reads and writes without MMIO events, stored after main RAM in
   * `mem`. Each: guest-physical base, size, offset in mem.
   */
  readonly windows: { base: number; size: number; off: number; rom?: RomBacked }[] = [];

  constructor(
    ramBase: number,
    ramSize: number,
    devices: readonly MmioDevice[],
    rec: EventRecorder,
    now: () => number,
    extraRam: readonly { base: number; size: number; rom?: RomBacked }[] = [],
  ) {
    if (ramBase % 4096 !== 0 || ramSize % 4096 !== 0 || ramSize <= 0)
      throw new RangeError(`RAM 0x${ramBase.toString(16)}+0x${ramSize.toString(16)} is not 4K aligned`);
    this.ramBase = ramBase;
    this.ramSize = ramSize;
    let total = ramSize;
    for (const w of extraRam) {
      this.windows.push({ base: w.base, size: w.size, off: total, ...(w.rom ? { rom: w.rom } : {}) });
      total += w.size;
    }
    this.mem = wasmBytes(total); // in WebAssembly memory: compiled code (emu/cpu/wasm-jit.ts) accesses it too
    this.touched = new Uint8Array(Math.ceil(total / 4096));
    // ROM-backed windows (flash): the device keeps its contents in mem, so the CPU can read them.
    for (const w of this.windows) if (w.rom) w.rom.attachStorage(this.mem.subarray(w.off, w.off + w.size));
    const sorted = [...devices].sort((a, b) => a.region.base - b.region.base);
    for (let i = 1; i < sorted.length; i++) {
      const p = sorted[i - 1]!.region,
        q = sorted[i]!.region;
      if (p.base + p.size > q.base) throw new RangeError(`devices ${p.name} and ${q.name} overlap`);
    }
    const last = sorted[sorted.length - 1]?.region;
    if (
      last &&
      last.base + last.size > ramBase &&
      sorted.some((d) => d.region.base < ramBase + ramSize && d.region.base + d.region.size > ramBase)
    ) {
      throw new RangeError('a device overlaps RAM');
    }
    this.devs = sorted;
    this.bases = sorted.map((d) => d.region.base);
    this.ends = sorted.map((d) => d.region.base + d.region.size);
    this.rec = rec;
    this.now = now;
  }

  /** Offset of a RAM physical address in mem, or -1. */
  offsetOf(pa: number): number {
    const off = pa - this.ramBase;
    return off >= 0 && off < this.ramSize ? off : -1;
  }

  /** Copy bytes into RAM (loaders). */
  load(pa: number, data: Uint8Array): void {
    const off = this.offsetOf(pa);
    if (off < 0 || off + data.length > this.ramSize) {
      throw new RangeError(
        `${data.length} bytes at 0x${pa.toString(16)} do not fit in RAM (0x${this.ramBase.toString(16)}+0x${this.ramSize.toString(16)})`,
      );
    }
    this.mem.set(data, off);
    for (let p = off >>> 12; p <= (off + data.length - 1) >>> 12; p++) this.loadedPages.push(p);
  }

  mapPage(pa: number): PageMapping | null {
    const off = pa - this.ramBase;
    if (off >= 0 && off < this.ramSize) return { off, writable: true };
    for (const w of this.windows) {
      if (pa < w.base || pa >= w.base + w.size) continue;
      // Flash out of read-array mode answers through its device, and is never written directly.
      if (w.rom) return w.rom.romMode ? { off: w.off + (pa - w.base), writable: false } : null;
      return { off: w.off + (pa - w.base), writable: true };
    }
    return null;
  }

  /**
   * Snapshots (emu/snapshot): 1 for each 4K page of mem a device looked up (devices reach guest
   * memory only through memOffset, and may keep a view of it), listed in touchedList. These pages
   * are compared with the last snapshot's copy when one is taken.
   */
  readonly touched: Uint8Array;
  readonly touchedList: number[] = [];
  /** Pages loaders wrote (load()): with touchedList, the only pages not still zero before the guest runs. */
  readonly loadedPages: number[] = [];

  /** Offset in mem of a physical address in main RAM or an extra window, or -1 (devices: DMA). */
  memOffset(pa: number): number {
    const r = pa - this.ramBase;
    const off = r >= 0 && r < this.ramSize ? r : this.windowOffset(pa);
    const t = this.touched;
    if (off >= 0 && !t[off >>> 12]) {
      t[off >>> 12] = 1;
      this.touchedList.push(off >>> 12);
    }
    return off;
  }

  private windowOffset(pa: number): number {
    for (const w of this.windows) if (!w.rom && pa >= w.base && pa < w.base + w.size) return w.off + (pa - w.base);
    return -1;
  }

  /** The device whose region holds pa, or undefined. */
  deviceAt(pa: number): MmioDevice | undefined {
    const b = this.bases;
    let lo = 0,
      hi = b.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (b[mid]! <= pa) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && pa < this.ends[hi]! ? this.devs[hi] : undefined;
  }

  mmioRead(pa: number, size: number, vcpu: number, pc: bigint): number | bigint | null {
    const d = this.deviceAt(pa);
    if (!d) {
      this.record(false, vcpu, pc, pa, size, 0n, undefined, 0, 'unassigned');
      return null;
    }
    const off = pa - d.region.base;
    if (size === 8) {
      if (d.read64) {
        d.lastOutcome = 'handled';
        if (this.rec.enabled) this.rec.hold();
        const v = BigInt.asUintN(64, d.read64(off, vcpu));
        const oc: MmioOutcome = (d as { lastOutcome: MmioOutcome }).lastOutcome;
        this.record(false, vcpu, pc, pa, 8, oc === 'abort' ? 0n : v, d, off, oc);
        if (this.rec.enabled) this.rec.release();
        return oc === 'abort' ? null : v;
      }
      // Devices limited to 32 bits: two accesses, low word first (as QEMU splits them).
      const lo = this.read32(d, pa, off, 4, vcpu, pc);
      if (lo === null) return null;
      const hi = this.read32(d, pa + 4, off + 4, 4, vcpu, pc);
      if (hi === null) return null;
      return (BigInt(hi) << 32n) | BigInt(lo);
    }
    return this.read32(d, pa, off, size, vcpu, pc);
  }

  private read32(d: MmioDevice, pa: number, off: number, size: number, vcpu: number, pc: bigint): number | null {
    d.lastOutcome = 'handled';
    const rec = this.rec;
    if (rec.enabled) rec.hold();
    const v = d.read(off, size, vcpu) >>> 0;
    const oc: MmioOutcome = (d as { lastOutcome: MmioOutcome }).lastOutcome;
    this.record(false, vcpu, pc, pa, size, oc === 'abort' ? 0n : BigInt(v), d, off, oc);
    if (rec.enabled) rec.release();
    return oc === 'abort' ? null : v;
  }

  mmioWrite(pa: number, size: number, value: number | bigint, vcpu: number, pc: bigint): boolean {
    const d = this.deviceAt(pa);
    const big = typeof value === 'bigint' ? BigInt.asUintN(64, value) : BigInt(value >>> 0);
    if (!d) {
      this.record(true, vcpu, pc, pa, size, big, undefined, 0, 'unassigned');
      return false;
    }
    const off = pa - d.region.base;
    if (size === 8) {
      if (d.write64) {
        d.lastOutcome = 'handled';
        if (this.rec.enabled) this.rec.hold();
        d.write64(off, big, vcpu);
        const oc: MmioOutcome = (d as { lastOutcome: MmioOutcome }).lastOutcome;
        this.record(true, vcpu, pc, pa, 8, big, d, off, oc);
        if (this.rec.enabled) this.rec.release();
        return oc !== 'abort';
      }
      return (
        this.write32(d, pa, off, 4, Number(big & MASK32), vcpu, pc) && this.write32(d, pa + 4, off + 4, 4, Number(big >> 32n), vcpu, pc)
      );
    }
    return this.write32(d, pa, off, size, Number(big), vcpu, pc);
  }

  private write32(d: MmioDevice, pa: number, off: number, size: number, value: number, vcpu: number, pc: bigint): boolean {
    d.lastOutcome = 'handled';
    const rec = this.rec;
    if (rec.enabled) rec.hold();
    d.write(off, size, value, vcpu);
    const oc: MmioOutcome = (d as { lastOutcome: MmioOutcome }).lastOutcome;
    this.record(true, vcpu, pc, pa, size, BigInt(value >>> 0), d, off, oc);
    if (rec.enabled) rec.release();
    return oc !== 'abort';
  }

  private record(
    write: boolean,
    vcpu: number,
    pc: bigint,
    pa: number,
    size: number,
    value: bigint,
    d: MmioDevice | undefined,
    off: number,
    oc: MmioOutcome,
  ): void {
    const rec = this.rec;
    if (!rec.enabled) return;
    const device = d ? (d.deviceName ? d.deviceName(off) : d.region.name) : '';
    rec.mmio(write, this.now(), vcpu, pc, pa, size, value, device, d ? d.registerName(off) : '', oc);
  }
}
