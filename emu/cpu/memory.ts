// Memory access: the software TLB (6 direct-mapped caches: EL0/EL1 x read/write/execute), the
// translation that fills it (mmu.ts walks the tables), the fast load/store paths used by the
// interpreter and compiled blocks, the slow paths (TLB miss, page crossing, MMIO, unprivileged),
// decode-cache invalidation on stores to code pages, and the exclusive monitors.

import * as Int64 from './int64.ts';
import * as Mmu from './mmu.ts';
import { CpuExceptions } from './exceptions.ts';
import * as State from './state.ts';

// Imported bindings copied into module constants once (see cpu.ts).
const { H, fromBig, toBig } = Int64;
const { FSC, PERM, walk } = Mmu;
const { ACC_R, ACC_W, ACC_X, EVT_IRQ, EVT_STOP, FAULT, I_SCTLR, I_TCR, I_TTBR0, I_TTBR1, STOP, TLB_MASK, TLB_N } = State;

export class CpuMemory extends CpuExceptions {
  protected arm(off: number): void {
    if (this.exGranule < 0) this.shared.armed++;
    this.exGranule = off < 0 ? -2 : off >>> 6;
  }

  clearExclusive(): void {
    if (this.exGranule !== -1) {
      this.exGranule = -1;
      this.shared.armed--;
    }
  }

  /** A store to mem offset `off` clears other vCPUs' monitors on that granule (and wakes WFE). */
  protected snoop(off: number): void {
    const g = off >>> 6;
    for (const o of this.shared.cpus) {
      if (o !== this && o.exGranule === g) {
        o.clearExclusive();
        o.eventReg = 1;
      }
    }
  }

  /** mem offset of a VA for access kind acc (current EL), or -1 for MMIO. */
  protected physOff(hi: number, lo: number, acc: number): number {
    // exclusives, atomics and DC ZVA: checked as an 8-byte access (their size is not known here)
    if (this.dbgEvt !== 0 && this.dbg!.watch.length) this.watchCheck(hi, lo, 8, acc === ACC_W);
    const t = (lo >>> 12) | (hi << 20);
    const i = (acc === ACC_R ? this.rB : this.wB) + (t & TLB_MASK);
    if (this.tTag[i] === t && this.tTagH[i] === hi >>> 12) return this.tOff[i] + (lo & 0xfff);
    return this.xlate(hi, lo, acc, this.el, true);
  }

  /** mem offset of hi:lo from TLB set `set` (EL*3 + access kind), or undefined on a miss. */
  protected cached(hi: number, lo: number, set: number): number | undefined {
    const t = (lo >>> 12) | (hi << 20);
    const i = set * TLB_N + (t & TLB_MASK);
    return this.tTag[i] === t && this.tTagH[i] === hi >>> 12 ? this.tOff[i] + (lo & 0xfff) : undefined;
  }

  rd8(hi: number, lo: number): number {
    const t = (lo >>> 12) | (hi << 20);
    const i = this.rB + (t & TLB_MASK);
    if (this.tTag[i] === t && this.tTagH[i] === hi >>> 12) return this.dv.getUint8(this.tOff[i] + (lo & 0xfff));
    return this.readMem(hi, lo, 1, this.el);
  }

  rd16(hi: number, lo: number): number {
    const t = (lo >>> 12) | (hi << 20);
    const i = this.rB + (t & TLB_MASK);
    if (this.tTag[i] === t && this.tTagH[i] === hi >>> 12 && (lo & 0xfff) <= 0xffe) {
      return this.dv.getUint16(this.tOff[i] + (lo & 0xfff), true);
    }
    return this.readMem(hi, lo, 2, this.el);
  }

  rd32(hi: number, lo: number): number {
    const t = (lo >>> 12) | (hi << 20);
    const i = this.rB + (t & TLB_MASK);
    if (this.tTag[i] === t && this.tTagH[i] === hi >>> 12 && (lo & 0xfff) <= 0xffc) {
      return this.dv.getInt32(this.tOff[i] + (lo & 0xfff), true);
    }
    return this.readMem(hi, lo, 4, this.el);
  }

  /** 64-bit read: returns lo, H.hi = hi. */
  rd64(hi: number, lo: number): number {
    const t = (lo >>> 12) | (hi << 20);
    const i = this.rB + (t & TLB_MASK);
    if (this.tTag[i] === t && this.tTagH[i] === hi >>> 12 && (lo & 0xfff) <= 0xff8) {
      const off = this.tOff[i] + (lo & 0xfff);
      H.hi = this.dv.getInt32(off + 4, true);
      return this.dv.getInt32(off, true);
    }
    return this.readMem(hi, lo, 8, this.el);
  }

  wr8(hi: number, lo: number, v: number): void {
    const t = (lo >>> 12) | (hi << 20);
    const i = this.wB + (t & TLB_MASK);
    if (this.tTag[i] === t && this.tTagH[i] === hi >>> 12) {
      const off = this.tOff[i] + (lo & 0xfff);
      this.dv.setUint8(off, v);
      if (this.shared.armed !== 0) this.snoop(off);
      return;
    }
    this.writeMem(hi, lo, 1, 0, v, this.el);
  }

  wr16(hi: number, lo: number, v: number): void {
    const t = (lo >>> 12) | (hi << 20);
    const i = this.wB + (t & TLB_MASK);
    if (this.tTag[i] === t && this.tTagH[i] === hi >>> 12 && (lo & 0xfff) <= 0xffe) {
      const off = this.tOff[i] + (lo & 0xfff);
      this.dv.setUint16(off, v, true);
      if (this.shared.armed !== 0) this.snoop(off);
      return;
    }
    this.writeMem(hi, lo, 2, 0, v, this.el);
  }

  wr32(hi: number, lo: number, v: number): void {
    const t = (lo >>> 12) | (hi << 20);
    const i = this.wB + (t & TLB_MASK);
    if (this.tTag[i] === t && this.tTagH[i] === hi >>> 12 && (lo & 0xfff) <= 0xffc) {
      const off = this.tOff[i] + (lo & 0xfff);
      this.dv.setInt32(off, v, true);
      if (this.shared.armed !== 0) this.snoop(off);
      return;
    }
    this.writeMem(hi, lo, 4, 0, v, this.el);
  }

  wr64(hi: number, lo: number, vh: number, vl: number): void {
    const t = (lo >>> 12) | (hi << 20);
    const i = this.wB + (t & TLB_MASK);
    if (this.tTag[i] === t && this.tTagH[i] === hi >>> 12 && (lo & 0xfff) <= 0xff8) {
      const off = this.tOff[i] + (lo & 0xfff);
      this.dv.setInt32(off, vl, true);
      this.dv.setInt32(off + 4, vh, true);
      if (this.shared.armed !== 0) this.snoop(off);
      return;
    }
    this.writeMem(hi, lo, 8, vh, vl, this.el);
  }

  protected pcBig(): bigint {
    let lo = (this.pcLo - 4) | 0,
      hi = this.pcHi;
    if (this.pcLo >>> 0 < 4) hi = (hi - 1) | 0;
    return toBig(hi, lo);
  }

  /**
   * A debugger's watchpoint, checked before a data access (slow paths only: while watchpoints are
   * set, loads and stores do not fill the TLB). On a hit the instruction is undone as a data abort
   * would be (PC and instret back, nothing written yet) and the vCPU stops with STOP.DEBUG.
   */
  watchCheck(hi: number, lo: number, size: number, write: boolean): void {
    if (this.instret === this.dbgSkip + 1) return;
    const va = toBig(hi, lo);
    const w = this.dbg!.watched(va, size, write);
    if (!w) return;
    this.dbgHit = { kind: 'watchpoint', addr: va, write, watch: w.kind };
    this.pc = this.pcBig();
    this.instret--;
    this.stopReason = STOP.DEBUG;
    this.evt |= EVT_STOP;
    throw FAULT;
  }

  /**
   * The physical address of a virtual one, as the vCPU's current translation regime maps it for a
   * data access, for a debugger: no fault is taken and the TLB is left alone (undefined: no mapping).
   */
  debugTranslate(va: bigint): number | undefined {
    const lo = fromBig(va),
      hi = H.hi;
    const out: Mmu.WalkResult = { fault: 0, paPage: 0, perm: 0, global: true, attrIndex: 0, sh: 0, level: 0 };
    if (walk(this.mmu, this.readDesc, hi, lo, true, out)) return undefined;
    return out.paPage * 4096 + (lo & 0xfff);
  }

  /** Slow read path (TLB miss, page crossing, MMIO, unprivileged): returns lo, H.hi for size 8. */
  readMem(hi: number, lo: number, size: number, el: number): number {
    if (this.dbgEvt !== 0 && this.dbg!.watch.length) this.watchCheck(hi, lo, size, false);
    if ((lo & 0xfff) + size > 0x1000) {
      // page-crossing: byte by byte, little-endian
      let rl = 0,
        rh = 0;
      for (let b = 0; b < size; b++) {
        const al = (lo + b) | 0,
          ah = al >>> 0 < lo >>> 0 ? (hi + 1) | 0 : hi;
        const v = this.readMem(ah, al, 1, el);
        if (b < 4) rl |= v << (8 * b);
        else rh |= v << (8 * (b - 4));
      }
      H.hi = rh;
      return rl;
    }
    const off = this.cached(hi, lo, el * 3 + ACC_R) ?? this.xlate(hi, lo, ACC_R, el, true);
    const dv = this.dv;
    if (off >= 0) {
      switch (size) {
        case 1:
          return dv.getUint8(off);
        case 2:
          return dv.getUint16(off, true);
        case 4:
          return dv.getInt32(off, true);
        default:
          H.hi = dv.getInt32(off + 4, true);
          return dv.getInt32(off, true);
      }
    }
    const v = this.bus.mmioRead(this.mmioPa, size, this.id, this.pcBig());
    this.evt |= EVT_IRQ;
    if (v === null) this.dataAbort(hi, lo, FSC.EXT_ABORT, false);
    if (typeof v === 'bigint') return fromBig(v);
    const n = v as number;
    if (size === 8) {
      H.hi = Math.floor(n / 4294967296) | 0;
      return n | 0;
    }
    H.hi = 0;
    return n | 0;
  }

  /** Slow write path. */
  writeMem(hi: number, lo: number, size: number, vh: number, vl: number, el: number): void {
    if (this.dbgEvt !== 0 && this.dbg!.watch.length) this.watchCheck(hi, lo, size, true);
    if ((lo & 0xfff) + size > 0x1000) {
      for (let b = 0; b < size; b++) {
        const al = (lo + b) | 0,
          ah = al >>> 0 < lo >>> 0 ? (hi + 1) | 0 : hi;
        const byte = b < 4 ? (vl >>> (8 * b)) & 0xff : (vh >>> (8 * (b - 4))) & 0xff;
        this.writeMem(ah, al, 1, 0, byte, el);
      }
      return;
    }
    const off = this.cached(hi, lo, el * 3 + ACC_W) ?? this.xlate(hi, lo, ACC_W, el, true);
    if (off >= 0) {
      this.storeAt(off, size, vh, vl);
      return;
    }
    const value: number | bigint = size === 8 ? toBig(vh, vl) : size === 4 ? vl >>> 0 : size === 2 ? vl & 0xffff : vl & 0xff;
    const ok = this.bus.mmioWrite(this.mmioPa, size, value, this.id, this.pcBig());
    this.evt |= EVT_IRQ;
    if (!ok) this.dataAbort(hi, lo, FSC.EXT_ABORT, true);
  }

  /** Store to a mem offset found by translation (handles code pages and monitors). */
  protected storeAt(off: number, size: number, vh: number, vl: number): void {
    const dv = this.dv;
    const page = off >>> 12;
    const sh = this.shared;
    if (sh.code[page]) {
      sh.code[page] = undefined;
      sh.codeGen++;
      this.seenCodeGen = sh.codeGen;
      if (this.fOff === page << 12) this.fLo = 1;
    }
    switch (size) {
      case 1:
        dv.setUint8(off, vl);
        break;
      case 2:
        dv.setUint16(off, vl, true);
        break;
      case 4:
        dv.setInt32(off, vl, true);
        break;
      default:
        dv.setInt32(off, vl, true);
        dv.setInt32(off + 4, vh, true);
        break;
    }
    if (sh.armed !== 0) this.snoop(off);
  }

  protected syncMmu(): void {
    const m = this.mmu;
    m.sctlrLo = this.srLo[I_SCTLR];
    m.tcrLo = this.srLo[I_TCR];
    m.tcrHi = this.srHi[I_TCR];
    m.ttbr0Lo = this.srLo[I_TTBR0];
    m.ttbr0Hi = this.srHi[I_TTBR0];
    m.ttbr1Lo = this.srLo[I_TTBR1];
    m.ttbr1Hi = this.srHi[I_TTBR1];
    this.flushTlb();
  }

  flushTlb(): void {
    this.tTagH.fill(-1);
    this.fLo = 1;
  }

  protected flushWrite(): void {
    this.tTagH.fill(-1, TLB_N, 2 * TLB_N);
    this.tTagH.fill(-1, 4 * TLB_N, 5 * TLB_N);
  }

  /** Drop cached translations for one VA page index (TLBI by VA). */
  protected flushVaPage(pageLo: number): void {
    const idx = pageLo & TLB_MASK;
    for (let s = 0; s < 6; s++) this.tTagH[s * TLB_N + idx] = -1;
    this.fLo = 1;
  }

  /**
   * Translate VA hi:lo for an access; on success fills the TLB and returns the mem offset of the
   * byte, or -1 for MMIO (this.mmioPa holds the PA). Faults enter the exception and throw.
   */
  protected xlate(hi: number, lo: number, acc: number, el: number, data: boolean): number {
    const w = this.wr;
    const f = walk(this.mmu, this.readDesc, hi, lo, data, w);
    if (f) {
      if (acc === ACC_X) this.instrAbort(f, hi, lo);
      this.dataAbort(hi, lo, f, acc === ACC_W);
    }
    const need = acc === ACC_R ? (el ? PERM.R1 : PERM.R0) : acc === ACC_W ? (el ? PERM.W1 : PERM.W0) : el ? PERM.X1 : PERM.X0;
    if ((w.perm & need) === 0) {
      if (acc === ACC_X) this.instrAbort(FSC.PERMISSION + w.level, hi, lo);
      this.dataAbort(hi, lo, FSC.PERMISSION + w.level, acc === ACC_W);
    }
    const pa = w.paPage * 4096;
    const map = this.bus.mapPage(pa);
    if (!map) {
      this.mmioPa = pa + (lo & 0xfff);
      return -1;
    }
    const t = (lo >>> 12) | (hi << 20),
      th = hi >>> 12,
      idx = t & TLB_MASK;
    const base = el * 3 * TLB_N;
    // snapshots: a store to a page not written since the last one lists it (no TLB hit can skip this)
    const page = map.off >>> 12,
      clean = this.shared.clean;
    if (clean !== null && clean[page] && acc === ACC_W && map.writable) this.shared.markDirty(map.off, 1);
    const perm = this.dbgEvt !== 0 && this.dbg!.watch.length ? w.perm & (PERM.X0 | PERM.X1) : w.perm;
    if (perm & (el ? PERM.R1 : PERM.R0)) {
      const i = base + ACC_R * TLB_N + idx;
      this.tTag[i] = t;
      this.tTagH[i] = th;
      this.tOff[i] = map.off;
    }
    if (perm & (el ? PERM.W1 : PERM.W0) && map.writable && !this.shared.code[page] && (clean === null || !clean[page])) {
      const i = base + ACC_W * TLB_N + idx;
      this.tTag[i] = t;
      this.tTagH[i] = th;
      this.tOff[i] = map.off;
    }
    if (perm & (el ? PERM.X1 : PERM.X0)) {
      const i = base + ACC_X * TLB_N + idx;
      this.tTag[i] = t;
      this.tTagH[i] = th;
      this.tOff[i] = map.off;
    }
    if (acc === ACC_W && !map.writable) {
      this.mmioPa = pa + (lo & 0xfff);
      return -1;
    }
    return map.off + (lo & 0xfff);
  }
}
