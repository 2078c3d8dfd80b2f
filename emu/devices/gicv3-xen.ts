// The GICv3 distributor and redistributors as Xen 4.17's vgic-v3 (xen/arch/arm/vgic-v3.c) shows them
// to a domU: the register interface in front of the same interrupt state (gicv3-state.ts). What a
// domU reads differs from QEMU's GICv3 (gicv3-dist.ts, gicv3-redist.ts):
//   - GICD_TYPER: 10 interrupt ID bits, no LPIs (no ITS for a domU), CPUNumber from the vCPUs (at
//     most 8), ITLinesNumber = the domain's SPIs / 32 (Xen rounds them up to 32); GICD_IIDR and
//     GICR_IIDR 0x34c; PIDR2 0x30 (GICv3), every other ID register RAZ;
//   - GICD_CTLR: ARE_NS always set, only EnableGrp1A writable (the non-secure view);
//   - GICR_TYPER: affinity, processor number = the vCPU id, Last on the last vCPU; no PLPIS,
//     no CommonLPIAff; GICR_CTLR, STATUSR and WAKER RAZ/WI (no power management: ChildrenAsleep
//     is never set); the write-only LPI registers read 0xdeadbeaf;
//   - IGROUPR, IGRPMODR and NSACR RAZ/WI (no security extensions: every interrupt is Group 1);
//     pending and active state reads as zero; ICPENDR writes, ICACTIVER writes and ICFGR0 writes are
//     ignored; ISACTIVER writes abort; ICFGR reads back what was written; IROUTER names one vCPU
//     (1-of-N routes to vCPU 0; a write naming no vCPU is ignored);
//   - GICD accesses to the private interrupts' words (ISENABLER0, IPRIORITYR0-7, ICFGR0/1) reach
//     the calling vCPU's redistributor state;
//   - access widths: a register Xen handles only as a word aborts other widths (IPRIORITYR takes
//     bytes too; IROUTER, GICR_TYPER and the 64-bit redistributor registers take 32 or 64 bits);
//     reserved and implementation-defined offsets are RAZ/WI at any width; the LPI registers
//     (SETLPIR, PROPBASER…) abort 32- and 64-bit writes, as 4.17's write_ignore_64 does; a
//     redistributor beyond the last vCPU aborts.
// Arm IHI 0069H chapter 12 names the registers; docs/xen.md ("The vGIC") lists every answer.

import type { DeviceRegion, MmioOutcome } from '../../capture/model.ts';
import { distRegisterName, GICD, GICR, GICR_SGI, redistRegisterName } from '../../arch/regmaps/gicv3.ts';
import type { MmioDevice } from '../types.ts';
import { CTLR_ARE, CTLR_DS, CTLR_EN_GRP1, edgeBitsOf, GIC_INTERNAL, REDIST_STRIDE, SGI_FRAME, type GicV3State } from './gicv3-state.ts';

/** GICD_IIDR and GICR_IIDR of Xen's vgic-v3. */
export const XEN_VGIC_V3_IIDR = 0x34c;
/** GICD_PIDR2 and GICR_PIDR2: ArchRev 3, everything else RES0. */
const XEN_VGIC_V3_PIDR2 = 0x30;
/** What a read of a write-only LPI register returns (64 bits; a 32-bit read gets one half). */
const READ_UNKNOWN = 0xdeadbeaf;
/** GICD_CTLR bit 4 in the non-secure view: ARE_NS. */
const CTLR_ARE_NS = 1 << 4;
/** GICD_CTLR bit 1 in the non-secure view: EnableGrp1A (the same bit as EnableGrp1 with DS = 1). */
const CTLR_EN_G1A = 1 << 1;
/** Interrupt ID bits Xen gives a domU (GICD_TYPER.IDbits = 9). */
const DOMU_ID_BITS = 10;

const WORD = 4;
/** End of GICD_IROUTER<n>: one 64-bit word for each INTID up to 1019. */
const IROUTER_END = GICD.IROUTER + 8 * 1020;

/** The value Xen's vreg_reg32_extract gives for an access of `size` bytes at `off` into `reg`. */
function extract32(reg: number, off: number, size: number): number {
  const v = reg >>> ((off & 3) * 8);
  return size >= 4 ? v >>> 0 : v & ((1 << (8 * size)) - 1);
}

/** vreg_reg32_update: the bytes an access of `size` at `off` writes into `reg`. */
function update32(reg: number, off: number, size: number, value: number): number {
  if (size >= 4) return value >>> 0;
  const sh = (off & 3) * 8;
  const mask = ((1 << (8 * size)) - 1) << sh;
  return ((reg & ~mask) | ((value << sh) & mask)) >>> 0;
}

/** A 64-bit register read as 64 bits or as one of its 32-bit halves. */
function extract64(reg: bigint, off: number, size: number): bigint {
  if (size === 8) return BigInt.asUintN(64, reg);
  return BigInt(extract32(Number((reg >> BigInt((off & 4) * 8)) & 0xffffffffn), off, size));
}

const inRange = (off: number, start: number, last: number): boolean => off >= start && off <= last + 3;

/**
 * What Xen keeps that the interrupt state does not: the ICFGR words as written (Xen reads them back
 * verbatim; the state keeps only the trigger bits).
 */
export class XenVgicV3 {
  readonly gic: GicV3State;
  /** ICFGR2.. for SPIs, indexed like GICD_ICFGR<n>. */
  readonly icfgSpi: Uint32Array;
  /** Per vCPU: ICFGR0 (SGIs) and ICFGR1 (PPIs). */
  readonly icfgPriv: Uint32Array;
  readonly dist: MmioDevice;
  readonly redist: MmioDevice;

  constructor(gic: GicV3State, distRegion: DeviceRegion, redistRegion: DeviceRegion) {
    this.gic = gic;
    this.icfgSpi = new Uint32Array(gic.numIrq / 16);
    this.icfgPriv = new Uint32Array(gic.numCpu * 2);
    this.dist = new XenVgicV3Distributor(this, distRegion);
    this.redist = new XenVgicV3Redistributor(this, redistRegion);
  }

  /** Xen's vGIC state at domain creation: every interrupt Group 1, routed to vCPU 0, disabled. */
  reset(): void {
    const g = this.gic;
    g.group.fill(0xffffffff);
    for (const cs of g.cpus) {
      cs.group = -1;
      cs.waker = 0;
    }
    g.ctlr = CTLR_ARE | CTLR_DS;
    this.icfgSpi.fill(0);
    this.icfgPriv.fill(0);
    g.updateAll();
  }

  /** Is GICD word `w` (32 INTIDs) a rank of this domain? Word 0 is the calling vCPU's. */
  hasWord(w: number): boolean {
    return w < this.gic.words;
  }

  // ---- registers shared by GICD (word n) and GICR's SGI frame (word 0) ----------------------

  enabled(w: number, cpu: number): number {
    return w === 0 ? this.gic.cpus[cpu]!.enabled >>> 0 : this.gic.enabled[w]! >>> 0;
  }

  setEnabled(w: number, cpu: number, bits: number, on: boolean): void {
    const g = this.gic;
    if (w === 0) {
      const cs = g.cpus[cpu]!;
      cs.enabled = on ? cs.enabled | bits : cs.enabled & ~bits;
      g.updateCpu(cpu);
      return;
    }
    g.enabled[w] = on ? g.enabled[w]! | bits : g.enabled[w]! & ~bits;
    g.updateAll();
  }

  setPending(w: number, cpu: number, bits: number): void {
    const g = this.gic;
    if (w === 0) {
      g.cpus[cpu]!.pending |= bits;
      g.updateCpu(cpu);
      return;
    }
    g.pending[w]! |= bits;
    g.updateAll();
  }

  priorityWord(irq: number, cpu: number): number {
    const g = this.gic;
    const p = irq < GIC_INTERNAL ? g.cpus[cpu]!.prio : g.prio;
    return (p[irq]! | (p[irq + 1]! << 8) | (p[irq + 2]! << 16) | (p[irq + 3]! << 24)) >>> 0;
  }

  setPriorityWord(irq: number, cpu: number, word: number): void {
    const g = this.gic;
    const p = irq < GIC_INTERNAL ? g.cpus[cpu]!.prio : g.prio;
    for (let i = 0; i < 4; i++) p[irq + i] = (word >>> (8 * i)) & 0xff;
    if (irq < GIC_INTERNAL) g.updateCpu(cpu);
    else g.updateAll();
  }

  /** ICFGR<n> as written (n = 0, 1: the calling vCPU's). */
  icfgr(n: number, cpu: number): number {
    return n < 2 ? this.icfgPriv[cpu * 2 + n]! : this.icfgSpi[n]!;
  }

  /** Store ICFGR<n> (n ≥ 1) and the trigger bits it gives. */
  setIcfgr(n: number, cpu: number, value: number): void {
    const g = this.gic;
    const bits = edgeBitsOf(value);
    if (n === 1) {
      this.icfgPriv[cpu * 2 + 1] = value;
      const cs = g.cpus[cpu]!;
      cs.edge = (cs.edge & 0xffff) | (bits << 16);
      g.updateCpu(cpu);
      return;
    }
    this.icfgSpi[n] = value;
    const w = n >> 1;
    const sh = (n & 1) * 16;
    g.edge[w] = ((g.edge[w]! & ~(0xffff << sh)) | (bits << sh)) >>> 0;
    g.updateAll();
  }

  /** GICD_IROUTER<irq>: the affinity of the vCPU the SPI goes to (vcpuid_to_vaffinity). */
  irouter(irq: number): bigint {
    const g = this.gic;
    return (BigInt(g.irouterHi[irq]! & 0xff) << 32n) | BigInt(g.irouterLo[irq]! & 0xffffff);
  }

  /** vgic_store_irouter: 1-of-N goes to vCPU 0; an affinity naming no vCPU leaves the route alone. */
  setIrouter(irq: number, value: bigint): void {
    const g = this.gic;
    let cpu: number;
    if (value & 0x80000000n) cpu = 0;
    else cpu = Number(value & 0xffn) | (Number((value >> 8n) & 0xffn) << 4); // vaffinity_to_vcpuid
    if (cpu >= g.numCpu) return;
    const aff = g.cpus[cpu]!.affinity;
    g.irouterLo[irq] = aff & 0xffffff;
    g.irouterHi[irq] = aff >>> 24;
    g.spiTarget[irq] = cpu;
    g.updateAll();
  }
}

class XenVgicV3Distributor implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';
  private readonly v: XenVgicV3;

  constructor(v: XenVgicV3, region: DeviceRegion) {
    this.v = v;
    this.region = region;
  }

  registerName(offset: number): string {
    return distRegisterName(offset);
  }

  private abort(): number {
    this.lastOutcome = 'abort';
    return 0;
  }

  private raz(): number {
    this.lastOutcome = 'raz_wi';
    return 0;
  }

  read(off: number, size: number, vcpu: number): number {
    return Number(this.access(off, size, vcpu, undefined));
  }

  write(off: number, size: number, value: number, vcpu: number): void {
    this.access(off, size, vcpu, BigInt(value >>> 0));
  }

  read64(off: number, vcpu: number): bigint {
    return this.access(off, 8, vcpu, undefined);
  }

  write64(off: number, value: bigint, vcpu: number): void {
    this.access(off, 8, vcpu, value);
  }

  /** One access: a read when `value` is undefined; returns what a read gives. */
  private access(off: number, size: number, vcpu: number, value: bigint | undefined): bigint {
    const v = this.v;
    const g = v.gic;
    const write = value !== undefined;
    const w32 = Number((value ?? 0n) & 0xffffffffn);
    const word = size === WORD;
    const bad = (): bigint => BigInt(this.abort());
    // word-only register: value on read, `onWrite` on write
    const wordReg = (read: () => number, onWrite?: () => void): bigint => {
      if (!word) return bad();
      if (write) {
        onWrite?.();
        return 0n;
      }
      return BigInt(extract32(read(), off, size));
    };
    const razAny = (): bigint => BigInt(this.raz());
    if (inRange(off, GICD.CTLR, GICD.CTLR))
      return wordReg(
        () => CTLR_ARE_NS | (g.ctlr & CTLR_EN_GRP1),
        () => {
          g.ctlr = CTLR_ARE | CTLR_DS | (w32 & CTLR_EN_G1A ? CTLR_EN_GRP1 : 0);
          g.updateAll();
        },
      );
    if (inRange(off, GICD.TYPER, GICD.TYPER)) return wordReg(() => this.typer());
    if (inRange(off, GICD.IIDR, GICD.IIDR)) return wordReg(() => XEN_VGIC_V3_IIDR);
    if (inRange(off, GICD.STATUSR, GICD.STATUSR)) return wordReg(() => 0);
    if (off < GICD.IGROUPR) return razAny(); // reserved, implementation defined, message-based SPIs
    if (off < GICD.ISENABLER) return wordReg(() => 0); // IGROUPR: no security extensions
    if (off < GICD.ISPENDR) {
      const set = off < GICD.ICENABLER;
      const wi = (off - (set ? GICD.ISENABLER : GICD.ICENABLER)) >> 2;
      if (!word) return bad();
      if (!v.hasWord(wi)) return write ? 0n : razAny();
      if (write) v.setEnabled(wi, vcpu, w32, set);
      return write ? 0n : BigInt(v.enabled(wi, vcpu));
    }
    if (off < GICD.ICPENDR) {
      // ISPENDR: reads as zero (any width); a word write makes interrupts pending
      if (!write) return 0n;
      if (!word) return bad();
      const wi = (off - GICD.ISPENDR) >> 2;
      if (v.hasWord(wi)) v.setPending(wi, vcpu, w32);
      return 0n;
    }
    if (off < GICD.ISACTIVER) {
      // ICPENDR: a read of ICPENDR0 is zero, of the others an unhandled read (abort); writes ignored
      if (!write) return off <= GICD.ICPENDR + 3 ? 0n : bad();
      return word ? 0n : bad();
    }
    if (off < GICD.ICACTIVER) return write ? bad() : 0n; // ISACTIVER: reads zero; writes are not handled
    if (off < GICD.IPRIORITYR) return write ? (word ? 0n : bad()) : 0n; // ICACTIVER: writes ignored
    if (off < GICD.ITARGETSR) {
      if (size !== 1 && size !== WORD) return bad();
      const irq = (off - GICD.IPRIORITYR) & ~3;
      if (!v.hasWord(irq >> 5)) return write ? 0n : razAny();
      if (write) v.setPriorityWord(irq, vcpu, update32(v.priorityWord(irq, vcpu), off, size, w32));
      return write ? 0n : BigInt(extract32(v.priorityWord(irq, vcpu), off, size));
    }
    if (off < GICD.ICFGR) return razAny(); // ITARGETSR: not handled by vgic-v3, RAZ/WI
    if (off < GICD.IGRPMODR) {
      const n = (off - GICD.ICFGR) >> 2;
      if (!word) return bad();
      if (!v.hasWord(n >> 1)) return write ? 0n : razAny();
      if (write) {
        if (n > 0) v.setIcfgr(n, vcpu, w32); // ICFGR0 (SGIs) ignores writes
        return 0n;
      }
      return BigInt(v.icfgr(n, vcpu));
    }
    if (off < GICD.NSACR) return razAny(); // IGRPMODR: an unhandled offset, RAZ/WI
    if (off < GICD.SGIR) return wordReg(() => 0); // NSACR
    if (inRange(off, GICD.SGIR, GICD.SGIR)) return wordReg(() => 0);
    if (off < GICD.CPENDSGIR) return razAny();
    if (off < GICD.SPENDSGIR + 0x10) return word && !write ? 0n : bad(); // C/SPENDSGIR: read zero, writes abort
    if (off < GICD.IROUTER + 8 * 32) return razAny(); // reserved, IROUTER0-31
    if (off < IROUTER_END) {
      if (size !== WORD && size !== 8) return bad();
      const irq = (off - GICD.IROUTER) >> 3;
      if (irq >= g.numIrq) return write ? 0n : razAny();
      const cur = v.irouter(irq);
      if (write) {
        const next = size === 8 ? (value ?? 0n) : (cur & ~(0xffffffffn << BigInt((off & 4) * 8))) | (BigInt(w32) << BigInt((off & 4) * 8));
        v.setIrouter(irq, next);
        return 0n;
      }
      return extract64(cur, off, size);
    }
    if (inRange(off, GICD.PIDR2, GICD.PIDR2)) return wordReg(() => XEN_VGIC_V3_PIDR2);
    return razAny(); // reserved, implementation defined, the other ID registers
  }

  private typer(): number {
    const g = this.v.gic;
    const ncpus = Math.min(g.numCpu, 8);
    return (((DOMU_ID_BITS - 1) << 19) | ((ncpus - 1) << 5) | ((g.numIrq - GIC_INTERNAL) / 32)) >>> 0;
  }
}

class XenVgicV3Redistributor implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';
  private readonly v: XenVgicV3;

  constructor(v: XenVgicV3, region: DeviceRegion) {
    this.v = v;
    this.region = region;
  }

  registerName(offset: number): string {
    return redistRegisterName(offset);
  }

  read(off: number, size: number, _vcpu: number): number {
    return Number(this.access(off, size, undefined));
  }

  write(off: number, size: number, value: number, _vcpu: number): void {
    this.access(off, size, BigInt(value >>> 0));
  }

  read64(off: number, _vcpu: number): bigint {
    return this.access(off, 8, undefined);
  }

  write64(off: number, value: bigint, _vcpu: number): void {
    this.access(off, 8, value);
  }

  private access(offset: number, size: number, value: bigint | undefined): bigint {
    const g = this.v.gic;
    // The redistributor of vCPU n, whatever vCPU accesses it; one beyond the last is an abort.
    const cpu = Math.floor(offset / REDIST_STRIDE);
    if (cpu >= g.numCpu) {
      this.lastOutcome = 'abort';
      return 0n;
    }
    const off = offset % REDIST_STRIDE;
    return off < SGI_FRAME ? this.rd(cpu, off, size, value) : this.sgi(cpu, off - SGI_FRAME, size, value);
  }

  /** The RD_base frame. */
  private rd(cpu: number, off: number, size: number, value: bigint | undefined): bigint {
    const g = this.v.gic;
    const write = value !== undefined;
    const word = size === WORD;
    const wide = size === WORD || size === 8;
    const bad = (): bigint => {
      this.lastOutcome = 'abort';
      return 0n;
    };
    const razAny = (): bigint => {
      this.lastOutcome = 'raz_wi';
      return 0n;
    };
    const wordReg = (v: number): bigint => (!word ? bad() : write ? 0n : BigInt(extract32(v, off, size)));
    // 64-bit registers Xen does not implement here: RAZ on 32/64-bit reads; 4.17 aborts 32/64-bit writes
    const lpi64 = (read: bigint): bigint => (write ? (wide ? bad() : 0n) : wide ? extract64(read, off, size) : bad());
    if (inRange(off, GICR.CTLR, GICR.CTLR)) return wordReg(0); // no ITS: EnableLPIs stays 0
    if (inRange(off, GICR.IIDR, GICR.IIDR)) return wordReg(XEN_VGIC_V3_IIDR);
    if (off >= GICR.TYPER && off < GICR.TYPER + 8) {
      if (write) return wide ? bad() : 0n;
      if (!wide) return bad();
      const cs = g.cpus[cpu]!;
      const aff = BigInt(cs.affinity >>> 0);
      const typer = (aff << 32n) | BigInt(cpu << 8) | (cpu === g.numCpu - 1 ? 1n << 4n : 0n);
      return extract64(typer, off, size);
    }
    if (inRange(off, GICR.STATUSR, GICR.STATUSR) || inRange(off, GICR.WAKER, GICR.WAKER)) return wordReg(0);
    if (off >= GICR.SETLPIR && off < GICR.SETLPIR + 16)
      return write ? (wide ? bad() : 0n) : extract64(BigInt(READ_UNKNOWN) * 0x100000001n, off, size);
    if (off >= GICR.PROPBASER && off < GICR.PROPBASER + 16) return lpi64(0n);
    if ((off >= GICR.INVLPIR && off < GICR.INVLPIR + 8) || (off >= GICR.INVALLR && off < GICR.INVALLR + 8))
      return write ? (wide ? bad() : 0n) : extract64(BigInt(READ_UNKNOWN) * 0x100000001n, off, size); // INVLPIR, INVALLR
    if (inRange(off, GICR.SYNCR, GICR.SYNCR)) return wordReg(1); // SYNCR: never busy
    if (inRange(off, GICR.PIDR2, GICR.PIDR2)) return wordReg(XEN_VGIC_V3_PIDR2);
    return razAny();
  }

  /** The SGI_base frame: SGIs and PPIs of this vCPU. */
  private sgi(cpu: number, off: number, size: number, value: bigint | undefined): bigint {
    const v = this.v;
    const write = value !== undefined;
    const w32 = Number((value ?? 0n) & 0xffffffffn);
    const word = size === WORD;
    const bad = (): bigint => {
      this.lastOutcome = 'abort';
      return 0n;
    };
    const razAny = (): bigint => {
      this.lastOutcome = 'raz_wi';
      return 0n;
    };
    if (inRange(off, GICR_SGI.IGROUPR0, GICR_SGI.IGROUPR0)) return word ? 0n : bad();
    if (inRange(off, GICR_SGI.ISENABLER0, GICR_SGI.ISENABLER0) || inRange(off, GICR_SGI.ICENABLER0, GICR_SGI.ICENABLER0)) {
      if (!word) return bad();
      if (write) v.setEnabled(0, cpu, w32, off < GICR_SGI.ICENABLER0);
      return write ? 0n : BigInt(v.enabled(0, cpu));
    }
    if (inRange(off, GICR_SGI.ISPENDR0, GICR_SGI.ISPENDR0)) {
      if (!write) return 0n;
      if (!word) return bad();
      v.setPending(0, cpu, w32);
      return 0n;
    }
    if (inRange(off, GICR_SGI.ICPENDR0, GICR_SGI.ICPENDR0)) return write && !word ? bad() : 0n;
    if (inRange(off, GICR_SGI.ISACTIVER0, GICR_SGI.ISACTIVER0)) return write ? bad() : 0n;
    if (inRange(off, GICR_SGI.ICACTIVER0, GICR_SGI.ICACTIVER0)) return write && !word ? bad() : 0n;
    if (off >= GICR_SGI.IPRIORITYR && off < GICR_SGI.IPRIORITYR + 32) {
      if (size !== 1 && !word) return bad();
      const irq = (off - GICR_SGI.IPRIORITYR) & ~3;
      if (write) v.setPriorityWord(irq, cpu, update32(v.priorityWord(irq, cpu), off, size, w32));
      return write ? 0n : BigInt(extract32(v.priorityWord(irq, cpu), off, size));
    }
    if (inRange(off, GICR_SGI.ICFGR0, GICR_SGI.ICFGR0)) {
      if (write) return razAny(); // not a register the SGI frame's write handler knows: ignored
      return word ? BigInt(v.icfgr(0, cpu)) : bad();
    }
    if (inRange(off, GICR_SGI.ICFGR1, GICR_SGI.ICFGR1)) {
      if (!word) return bad();
      if (write) v.setIcfgr(1, cpu, w32);
      return write ? 0n : BigInt(v.icfgr(1, cpu));
    }
    if (inRange(off, GICR_SGI.IGRPMODR0, GICR_SGI.IGRPMODR0) || inRange(off, GICR_SGI.NSACR, GICR_SGI.NSACR)) return word ? 0n : bad();
    return razAny();
  }
}
