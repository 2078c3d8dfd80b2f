// GICv3 state shared by the distributor (gicv3-dist.ts), the redistributors (gicv3-redist.ts) and
// the CPU interfaces (gicv3-cpuif.ts): per-INTID group, enable, pending, active, level, trigger,
// priority and routing, per-CPU SGI/PPI state and CPU-interface registers, and the logic all three
// parts trigger: routing SPIs by GICD_IROUTER and recomputing each CPU's highest priority pending
// interrupt and its IRQ/FIQ outputs. GicV3 (gicv3.ts) puts the parts together.
// Arm IHI 0069H chapter 4 (interrupt handling and prioritization) and chapter 12.

import type { DeviceRegion } from '../../capture/model.ts';
import { GICR_WAKER, GICV3_REDIST_STRIDE, GICV3_SGI_FRAME } from '../../arch/regmaps/gicv3.ts';
import type { DeviceEnv } from './irq.ts';

export const GIC_INTERNAL = 32;
export const NR_SGIS = 16;
export const REDIST_STRIDE = GICV3_REDIST_STRIDE;
export const SGI_FRAME = GICV3_SGI_FRAME;
export const PRIBITS = 5;
export const PREBITS = 5;
export const MIN_BPR = 7 - PREBITS; // 2
export const MIN_BPR_NS = MIN_BPR + 1;
export const PRIO_MASK = (0xff << (8 - PRIBITS)) & 0xff; // 0xf8
export const NO_PRIO = 0xff;
export const SPURIOUS = 1023;
/** The first LPI (Arm IHI 0069H §2.2.1: INTIDs 8192 and up). */
export const LPI_BASE = 8192;
/** GICD_TYPER.IDbits + 1: the INTID width the redistributors implement (16 bits, as KVM's vgic). */
export const INTID_BITS = 16;

// GICD_CTLR (DS = 1 view)
export const CTLR_EN_GRP0 = 1 << 0;
export const CTLR_EN_GRP1 = 1 << 1;
export const CTLR_ARE = 1 << 4;
export const CTLR_DS = 1 << 6;
// ICC_CTLR_EL1
export const ICC_CTLR_CBPR = 1 << 0;
export const ICC_CTLR_EOIMODE = 1 << 1;
export const ICC_CTLR_PMHE = 1 << 6;
export const ICC_CTLR_RO = ((PRIBITS - 1) << 8) | (1 << 11) | (1 << 15); // PRIbits, IDbits = 24, A3V
// GICR_CTLR
export const GICR_CTLR_ENABLE_LPIS = 1 << 0;
// LPI configuration table byte (Arm IHI 0069H §5.1.1): priority [7:2], enable [0]
export const LPI_CFG_ENABLE = 1 << 0;
// GICR_WAKER
export const WAKER_PS = GICR_WAKER.ProcessorSleep;
export const WAKER_CA = GICR_WAKER.ChildrenAsleep;

/** GICD_IIDR and GICR_IIDR: QEMU's implementer and revision. */
export const IIDR = 0x43b;

export interface GicV3Options {
  numCpu: number;
  numSpis?: number;
  distRegion: DeviceRegion;
  /** The redistributor region; its size must cover numCpu × 128 KiB. */
  redistRegion: DeviceRegion;
  env: DeviceEnv;
  /** MPIDR affinity of each CPU (Aff3<<32 | Aff2<<16 | Aff1<<8 | Aff0); default Aff0 = index. */
  affinity?: (cpu: number) => number;
  /**
   * LPIs usable (the machine has an ITS): GICR_PROPBASER/PENDBASER and GICR_CTLR.EnableLPIs work.
   * Without, they are RAZ/WI as before and Linux finds no ITS to enable LPIs with.
   */
  lpis?: boolean;
  /**
   * Whose GICv3 the guest sees: QEMU 7.2 TCG's model (the default) or KVM's vGICv3 (Linux 6.1
   * arch/arm64/kvm/vgic/vgic-mmio-v3.c, as the guest under real KVM reads it): its identification
   * registers, GICR_CTLR.IR with INVLPIR/INVALLR/SYNCR, and GICR_WAKER read-as-zero/write-ignored
   * (no redistributor power management: awake from reset, where QEMU TCG's starts asleep).
   */
  ids?: 'qemu-tcg' | 'kvm';
}

/** KVM's GICD_IIDR: product 0x4B ('K'), implementation revision 3 (Linux 6.1), implementer Arm. */
export const KVM_IIDR = 0x4b00343b;

/** One CPU's redistributor (SGIs and PPIs) and CPU-interface state. */
export interface CpuState {
  // Redistributor (INTIDs 0-31) as bit masks
  group: number;
  grpmod: number;
  enabled: number;
  pending: number; // latched
  active: number;
  level: number;
  edge: number;
  prio: Uint8Array;
  waker: number;
  affinity: number; // Aff3.Aff2.Aff1.Aff0 as 32 bits, as GICR_TYPER holds it
  // LPIs (Arm IHI 0069H §5.1): GICR_CTLR.EnableLPIs, GICR_PENDBASER and the pending LPIs, which
  // the redistributor keeps to itself (the architecture lets it cache the pending table).
  lpiEnabled: boolean;
  pendbaser: bigint;
  lpiPending: Set<number>;
  // CPU interface
  ctlr: number;
  igrpen0: number;
  igrpen1: number;
  pmr: number;
  bpr0: number;
  bpr1: number;
  ap0r: Uint32Array;
  ap1r: Uint32Array;
  // Highest priority pending interrupt
  hppiIrq: number;
  hppiPrio: number;
  hppiGrp: number;
  irqOut: boolean;
  fiqOut: boolean;
}

/**
 * The interrupt state of a GICv3. Fields are shared with the distributor, redistributor and
 * CPU-interface files; other code reads them through GicV3's accessors.
 */
export class GicV3State {
  readonly numCpu: number;
  readonly numIrq: number;
  readonly ids: 'qemu-tcg' | 'kvm';
  onSignal?: (vcpu: number, irq: boolean, fiq: boolean) => void;
  readonly env: DeviceEnv;
  readonly lpis: boolean;
  private readonly affinityOf: (cpu: number) => number;

  ctlr = CTLR_ARE | CTLR_DS;
  readonly words: number;
  // SPI state as bitmaps (word index = intid >> 5; word 0 unused: it lives in the redistributors)
  readonly group: Uint32Array;
  readonly grpmod: Uint32Array;
  readonly enabled: Uint32Array;
  readonly pending: Uint32Array;
  readonly active: Uint32Array;
  readonly level: Uint32Array;
  readonly edge: Uint32Array;
  readonly prio: Uint8Array;
  readonly irouterLo: Uint32Array;
  readonly irouterHi: Uint32Array;
  /** CPU index each SPI is routed to (-1: none). */
  readonly spiTarget: Int16Array;
  readonly cpus: CpuState[];
  /**
   * GICR_PROPBASER, one value for all redistributors (KVM's vgic keeps a single one: Linux
   * writes the same table to every redistributor, GICR_TYPER.CommonLPIAff).
   */
  propbaser = 0n;
  /**
   * Re-read the cached configuration of LPI `intid` (all mapped LPIs when undefined) from the
   * property table: what GICR_INVLPIR / GICR_INVALLR ask for. Set by the ITS, which reads memory.
   */
  reloadLpiConfig?: (intid?: number) => void;
  /** Cached LPI configuration bytes (priority | enable), read by the ITS at MAPTI, INV and INVALL. */
  readonly lpiConfig = new Map<number, number>();

  constructor(opts: GicV3Options) {
    const spis = opts.numSpis ?? 256;
    if (spis % 32 !== 0 || spis < 0 || spis > 988) throw new RangeError(`GICv3 SPI count ${spis} must be a multiple of 32 up to 988`);
    if (opts.numCpu < 1 || opts.numCpu > 512) throw new RangeError(`GICv3 CPU count ${opts.numCpu} out of range`);
    if (opts.redistRegion.size < opts.numCpu * REDIST_STRIDE)
      throw new RangeError(`redistributor region too small for ${opts.numCpu} CPUs`);
    this.numCpu = opts.numCpu;
    this.numIrq = GIC_INTERNAL + spis;
    this.ids = opts.ids ?? 'qemu-tcg';
    this.env = opts.env;
    this.lpis = opts.lpis ?? false;
    this.affinityOf = opts.affinity ?? ((c) => c);
    this.words = this.numIrq >> 5;
    const w = this.words;
    this.group = new Uint32Array(w);
    this.grpmod = new Uint32Array(w);
    this.enabled = new Uint32Array(w);
    this.pending = new Uint32Array(w);
    this.active = new Uint32Array(w);
    this.level = new Uint32Array(w);
    this.edge = new Uint32Array(w);
    this.prio = new Uint8Array(this.numIrq);
    this.irouterLo = new Uint32Array(this.numIrq);
    this.irouterHi = new Uint32Array(this.numIrq);
    this.spiTarget = new Int16Array(this.numIrq);
    this.cpus = [];
    for (let c = 0; c < this.numCpu; c++) {
      const a = this.affinityOf(c);
      const aff32 = ((Math.floor(a / 2 ** 32) & 0xff) << 24) | (a & 0xffffff);
      this.cpus.push({
        group: 0,
        grpmod: 0,
        enabled: 0,
        pending: 0,
        active: 0,
        level: 0,
        edge: 0,
        prio: new Uint8Array(32),
        waker: 0,
        affinity: aff32 >>> 0,
        lpiEnabled: false,
        pendbaser: 0n,
        lpiPending: new Set<number>(),
        ctlr: 0,
        igrpen0: 0,
        igrpen1: 0,
        pmr: 0,
        bpr0: 0,
        bpr1: 0,
        ap0r: new Uint32Array(4),
        ap1r: new Uint32Array(4),
        hppiIrq: SPURIOUS,
        hppiPrio: NO_PRIO,
        hppiGrp: 0,
        irqOut: false,
        fiqOut: false,
      });
    }
  }

  reset(): void {
    this.ctlr = CTLR_ARE | CTLR_DS;
    for (const a of [
      this.group,
      this.grpmod,
      this.enabled,
      this.pending,
      this.active,
      this.level,
      this.edge,
      this.prio,
      this.irouterLo,
      this.irouterHi,
    ])
      a.fill(0);
    for (const cs of this.cpus) {
      cs.group = cs.grpmod = cs.enabled = cs.pending = cs.active = cs.level = 0;
      cs.edge = 0xffff; // SGIs are always edge-triggered
      cs.prio.fill(0);
      // Asleep from reset (Arm IHI 0069 §12.11.42) on QEMU TCG's model; KVM's WAKER is RAZ/WI.
      cs.waker = this.ids === 'kvm' ? 0 : WAKER_PS | WAKER_CA;
      cs.ctlr = 0;
      cs.igrpen0 = cs.igrpen1 = 0;
      cs.pmr = 0;
      cs.bpr0 = MIN_BPR;
      cs.bpr1 = MIN_BPR_NS;
      cs.ap0r.fill(0);
      cs.ap1r.fill(0);
      cs.lpiEnabled = false;
      cs.pendbaser = 0n;
      cs.lpiPending.clear();
    }
    this.propbaser = 0n;
    this.lpiConfig.clear();
    this.recomputeRouting();
    this.updateAll();
  }

  // ---- InterruptController ---------------------------------------------------------------

  setLine(intid: number, lvl: boolean, vcpu = 0): void {
    if (intid < NR_SGIS || intid >= this.numIrq) return;
    if (intid < GIC_INTERNAL) {
      const cs = this.cpus[vcpu];
      if (!cs) return;
      const bit = 1 << intid;
      if (((cs.level & bit) !== 0) === lvl) return;
      if (lvl) {
        cs.level |= bit;
        if (cs.edge & bit) cs.pending |= bit;
      } else cs.level &= ~bit;
      this.updateCpu(vcpu);
      return;
    }
    const wi = intid >> 5;
    const bit = 1 << (intid & 31);
    if (((this.level[wi]! & bit) !== 0) === lvl) return;
    if (lvl) {
      this.level[wi]! |= bit;
      if (this.edge[wi]! & bit) this.pending[wi]! |= bit;
    } else this.level[wi]! &= ~bit;
    this.updateSpi(intid);
  }

  inject(intid: number, vcpu = 0): void {
    if (intid < NR_SGIS || intid >= this.numIrq) return;
    if (intid < GIC_INTERNAL) {
      const cs = this.cpus[vcpu];
      if (!cs) return;
      cs.pending |= 1 << intid;
      this.updateCpu(vcpu);
    } else {
      this.pending[intid >> 5]! |= 1 << (intid & 31);
      this.updateSpi(intid);
    }
  }

  irqPending(vcpu: number): boolean {
    return this.cpus[vcpu]?.irqOut ?? false;
  }

  fiqPending(vcpu: number): boolean {
    return this.cpus[vcpu]?.fiqOut ?? false;
  }

  // ---- LPIs (Arm IHI 0069H chapter 5) --------------------------------------------------------

  /** How many INTID bits the LPI configuration table covers: GICR_PROPBASER.IDbits + 1, capped. */
  lpiIdBits(): number {
    return Math.min(Number(this.propbaser & 0x1fn) + 1, INTID_BITS);
  }

  /** Is `intid` an LPI the configuration table describes (what MAPTI/MAPI accept as pINTID)? */
  lpiInRange(intid: number): boolean {
    return intid >= LPI_BASE && intid < 2 ** this.lpiIdBits();
  }

  /** An LPI made pending on `cpu`'s redistributor (by an ITS translation or INT). */
  setLpiPending(cpu: number, intid: number): void {
    const cs = this.cpus[cpu];
    if (!cs || intid < LPI_BASE) return;
    cs.lpiPending.add(intid);
    this.updateCpu(cpu);
  }

  /** Clear an LPI's pending state wherever it is (CLEAR, DISCARD). */
  clearLpiPending(intid: number): void {
    for (let c = 0; c < this.numCpu; c++) {
      if (this.cpus[c]!.lpiPending.delete(intid)) this.updateCpu(c);
    }
  }

  /** Move a pending LPI to another redistributor (MOVI, MOVALL). */
  moveLpi(intid: number, to: number): void {
    let was = false;
    for (let c = 0; c < this.numCpu; c++) {
      if (c !== to && this.cpus[c]!.lpiPending.delete(intid)) {
        was = true;
        this.updateCpu(c);
      }
    }
    if (was) this.setLpiPending(to, intid);
  }

  // ---- routing and priority resolution -------------------------------------------------

  private recomputeRouting(): void {
    for (let irq = GIC_INTERNAL; irq < this.numIrq; irq++) this.spiTarget[irq] = this.routeOf(irq);
  }

  routeOf(irq: number): number {
    const lo = this.irouterLo[irq]!;
    if (lo & 0x80000000) return 0; // 1-of-N (GICD_TYPER.No1N says unsupported): CPU 0
    const aff = (((this.irouterHi[irq]! & 0xff) << 24) | (lo & 0xffffff)) >>> 0;
    for (let c = 0; c < this.numCpu; c++) if (this.cpus[c]!.affinity === aff) return c;
    return -1;
  }

  private grpEnabledMask(groupBits: number): number {
    let m = 0;
    if (this.ctlr & CTLR_EN_GRP1) m |= groupBits;
    if (this.ctlr & CTLR_EN_GRP0) m |= ~groupBits;
    return m;
  }

  private updateSpi(intid: number): void {
    const t = this.spiTarget[intid]!;
    if (t >= 0) this.updateCpu(t);
  }

  updateAll(): void {
    for (let c = 0; c < this.numCpu; c++) this.updateCpu(c);
  }

  /** Recompute one CPU's highest priority pending interrupt and its IRQ/FIQ outputs. */
  updateCpu(cpu: number): void {
    const cs = this.cpus[cpu]!;
    let bestIrq = SPURIOUS;
    let bestPrio = NO_PRIO;
    let pend = (cs.pending | (~cs.edge & cs.level)) & cs.enabled & ~cs.active & this.grpEnabledMask(cs.group);
    while (pend) {
      const i = 31 - Math.clz32(pend & -pend);
      pend &= pend - 1;
      const p = cs.prio[i]!;
      if (p < bestPrio) {
        bestPrio = p;
        bestIrq = i;
      }
    }
    for (let w = 1; w < this.words; w++) {
      let spend =
        (this.pending[w]! | (~this.edge[w]! & this.level[w]!)) & this.enabled[w]! & ~this.active[w]! & this.grpEnabledMask(this.group[w]!);
      while (spend) {
        const b = 31 - Math.clz32(spend & -spend);
        spend &= spend - 1;
        const irq = (w << 5) | b;
        if (this.spiTarget[irq] !== cpu) continue;
        const p = this.prio[irq]!;
        if (p < bestPrio) {
          bestPrio = p;
          bestIrq = irq;
        }
      }
    }
    if (cs.lpiEnabled && this.ctlr & CTLR_EN_GRP1) {
      // LPIs are always Group 1 (Arm IHI 0069H §5.1); their priority is the configuration byte's [7:2].
      for (const intid of cs.lpiPending) {
        const cfg = this.lpiConfig.get(intid) ?? 0;
        if (!(cfg & LPI_CFG_ENABLE)) continue;
        const p = cfg & 0xfc & PRIO_MASK;
        if (p < bestPrio) {
          bestPrio = p;
          bestIrq = intid;
        }
      }
    }
    cs.hppiIrq = bestIrq;
    cs.hppiPrio = bestPrio;
    cs.hppiGrp = bestIrq === SPURIOUS ? 0 : this.groupOf(cpu, bestIrq);
    const signal = this.canPreempt(cs);
    const irq = signal && cs.hppiGrp === 1;
    const fiq = signal && cs.hppiGrp === 0;
    if (irq !== cs.irqOut || fiq !== cs.fiqOut) {
      cs.irqOut = irq;
      cs.fiqOut = fiq;
      this.onSignal?.(cpu, irq, fiq);
    }
  }

  private groupOf(cpu: number, irq: number): number {
    if (irq >= LPI_BASE) return 1;
    if (irq < GIC_INTERNAL) return (this.cpus[cpu]!.group >>> irq) & 1;
    return (this.group[irq >> 5]! >>> (irq & 31)) & 1;
  }

  private priorityOf(cpu: number, irq: number): number {
    if (irq >= LPI_BASE) return (this.lpiConfig.get(irq) ?? 0) & 0xfc & PRIO_MASK;
    return irq < GIC_INTERNAL ? this.cpus[cpu]!.prio[irq]! : this.prio[irq]!;
  }

  noEnabledHppi(cs: CpuState): boolean {
    return cs.hppiPrio === NO_PRIO || !(cs.hppiGrp ? cs.igrpen1 : cs.igrpen0);
  }

  gprioMask(cs: CpuState, grp: number): number {
    let bpr: number;
    if (grp === 0 || cs.ctlr & ICC_CTLR_CBPR) bpr = cs.bpr0 & 7;
    else bpr = (cs.bpr1 & 7) - 1;
    return (~0 << (bpr + 1)) & 0xff;
  }

  highestActivePrio(cs: CpuState): number {
    for (let i = 0; i < 4; i++) {
      const a = cs.ap0r[i]! | cs.ap1r[i]!;
      if (a) return ((i * 32 + ctz(a)) << (MIN_BPR + 1)) & 0xff;
    }
    return NO_PRIO;
  }

  /** The group owning the highest active priority (-1 when nothing is active). */
  highestActiveGroup(cs: CpuState): number {
    for (let i = 0; i < 4; i++) {
      const g0 = ctz(cs.ap0r[i]!);
      const g1 = ctz(cs.ap1r[i]!);
      if (g0 === 32 && g1 === 32) continue;
      return g1 < g0 ? 1 : 0;
    }
    return -1;
  }

  canPreempt(cs: CpuState): boolean {
    if (this.noEnabledHppi(cs)) return false;
    if (cs.hppiPrio >= cs.pmr) return false;
    const rprio = this.highestActivePrio(cs);
    if (rprio === NO_PRIO) return true;
    const mask = this.gprioMask(cs, cs.hppiGrp);
    return (cs.hppiPrio & mask) < (rprio & mask);
  }

  // ---- live state for tests and the machine ------------------------------------------------

  /** Live state for tests: is `intid` active / pending on `cpu`? */
  isActive(intid: number, cpu: number): boolean {
    if (intid < GIC_INTERNAL) return ((this.cpus[cpu]!.active >>> intid) & 1) === 1;
    return ((this.active[intid >> 5]! >>> (intid & 31)) & 1) === 1;
  }

  isPending(intid: number, cpu: number): boolean {
    if (intid >= LPI_BASE) return this.cpus[cpu]?.lpiPending.has(intid) ?? false;
    if (intid < GIC_INTERNAL) {
      const cs = this.cpus[cpu]!;
      return (((cs.pending | (~cs.edge & cs.level)) >>> intid) & 1) === 1;
    }
    const w = intid >> 5;
    return (((this.pending[w]! | (~this.edge[w]! & this.level[w]!)) >>> (intid & 31)) & 1) === 1;
  }

  routedTo(intid: number): number {
    return this.spiTarget[intid]!;
  }

  priorityFor(cpu: number, irq: number): number {
    return this.priorityOf(cpu, irq);
  }
}

/** GICD_ICFGR/GICR_ICFGR1 view of 16 trigger bits (1 = edge → Int_config 0b10). */
export function icfgrOf(edgeBits16: number): number {
  let v = 0;
  for (let i = 0; i < 16; i++) if (edgeBits16 & (1 << i)) v |= 2 << (i * 2);
  return v >>> 0;
}

/** ICFGR bits back to 16 trigger bits (1 = edge). */
export function edgeBitsOf(icfgr: number): number {
  let bits = 0;
  for (let i = 0; i < 16; i++) if (icfgr & (2 << (i * 2))) bits |= 1 << i;
  return bits;
}

export function ctz(v: number): number {
  return v === 0 ? 32 : 31 - Math.clz32(v & -v);
}
