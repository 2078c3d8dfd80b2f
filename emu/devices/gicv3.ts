// GICv3 as QEMU's arm_gicv3 presents it on the virt machine without EL3: a single security
// state (GICD_CTLR.DS = 1) with affinity routing always on (ARE RAO/WI), 256 SPIs routed by
// GICD_IROUTER, one redistributor per CPU (RD_base + SGI_base, 128 KiB stride, Last in the
// final GICR_TYPER), the GICR_WAKER handshake, and the ICC_* CPU interface as system registers
// with 5 priority bits (32 preemption levels, one AP0R/AP1R word). The ID and type registers
// read exactly as QEMU 7.2's (which always advertises LPIs: GICD_TYPER.LPIS, GICR_TYPER.PLPIS,
// GICR_CTLR.CES, 24-bit ICC IDbits), but LPIs are not implemented: with no ITS in the DT Linux
// prints "ITS: No ITS available, not enabling LPIs" and never enables them, as on QEMU its=off.
// Group 0 interrupts signal FIQ and are acknowledged through IAR0; Group 1 signal IRQ (IAR1).
// Arm IHI 0069H chapter 12; what the model does is listed in docs/emulator-platform.md (Device models).

import type { DeviceRegion, MmioOutcome } from '../../capture/model.ts';
import { distRegisterName, redistRegisterName } from '../../arch/regmaps/gicv3.ts';
import type { MmioDevice, SysregProvider } from '../types.ts';
import type { DeviceEnv, InterruptController } from './irq.ts';
import { ICC, ICC_AP_REGS } from '../../arch/sysregs.ts';

const GIC_INTERNAL = 32;
const NR_SGIS = 16;
const REDIST_STRIDE = 0x20000;
const SGI_FRAME = 0x10000;
const PRIBITS = 5;
const PREBITS = 5;
const MIN_BPR = 7 - PREBITS; // 2
const MIN_BPR_NS = MIN_BPR + 1;
const PRIO_MASK = (0xff << (8 - PRIBITS)) & 0xff; // 0xf8
const NO_PRIO = 0xff;
const SPURIOUS = 1023;

// GICD_CTLR (DS = 1 view)
const CTLR_EN_GRP0 = 1 << 0;
const CTLR_EN_GRP1 = 1 << 1;
const CTLR_ARE = 1 << 4;
const CTLR_DS = 1 << 6;
// ICC_CTLR_EL1
const ICC_CTLR_CBPR = 1 << 0;
const ICC_CTLR_EOIMODE = 1 << 1;
const ICC_CTLR_PMHE = 1 << 6;
const ICC_CTLR_RO = ((PRIBITS - 1) << 8) | (1 << 11) | (1 << 15); // PRIbits, IDbits = 24, A3V
// GICR_WAKER
const WAKER_PS = 1 << 1;
const WAKER_CA = 1 << 2;

const GICD_IDS = [0x44, 0x00, 0x00, 0x00, 0x92, 0xb4, 0x3b, 0x00, 0x0d, 0xf0, 0x05, 0xb1];
const GICR_IDS = [0x44, 0x00, 0x00, 0x00, 0x93, 0xb4, 0x3b, 0x00, 0x0d, 0xf0, 0x05, 0xb1];
const IIDR = 0x43b;


export interface GicV3Options {
  numCpu: number;
  numSpis?: number;
  distRegion: DeviceRegion;
  /** The redistributor region; its size must cover numCpu × 128 KiB. */
  redistRegion: DeviceRegion;
  env: DeviceEnv;
  /** MPIDR affinity of each CPU (Aff3<<32 | Aff2<<16 | Aff1<<8 | Aff0); default Aff0 = index. */
  affinity?: (cpu: number) => number;
}

interface CpuState {
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

export class GicV3 implements InterruptController, SysregProvider {
  readonly numCpu: number;
  readonly numIrq: number;
  readonly dist: MmioDevice;
  readonly redist: MmioDevice;
  onSignal?: (vcpu: number, irq: boolean, fiq: boolean) => void;
  private readonly env: DeviceEnv;
  private readonly affinityOf: (cpu: number) => number;

  ctlr = CTLR_ARE | CTLR_DS;
  private readonly words: number;
  // SPI state as bitmaps (word index = intid >> 5; word 0 unused: it lives in the redistributors)
  private readonly group: Uint32Array;
  private readonly grpmod: Uint32Array;
  private readonly enabled: Uint32Array;
  private readonly pending: Uint32Array;
  private readonly active: Uint32Array;
  private readonly level: Uint32Array;
  private readonly edge: Uint32Array;
  private readonly prio: Uint8Array;
  private readonly irouterLo: Uint32Array;
  private readonly irouterHi: Uint32Array;
  /** CPU index each SPI is routed to (-1: none). */
  private readonly spiTarget: Int16Array;
  readonly cpus: CpuState[];

  constructor(opts: GicV3Options) {
    const spis = opts.numSpis ?? 256;
    if (spis % 32 !== 0 || spis < 0 || spis > 988) throw new RangeError(`GICv3 SPI count ${spis} must be a multiple of 32 up to 988`);
    if (opts.numCpu < 1 || opts.numCpu > 512) throw new RangeError(`GICv3 CPU count ${opts.numCpu} out of range`);
    if (opts.redistRegion.size < opts.numCpu * REDIST_STRIDE) throw new RangeError(`redistributor region too small for ${opts.numCpu} CPUs`);
    this.numCpu = opts.numCpu;
    this.numIrq = GIC_INTERNAL + spis;
    this.env = opts.env;
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
        group: 0, grpmod: 0, enabled: 0, pending: 0, active: 0, level: 0, edge: 0, prio: new Uint8Array(32), waker: 0, affinity: aff32 >>> 0,
        ctlr: 0, igrpen0: 0, igrpen1: 0, pmr: 0, bpr0: 0, bpr1: 0, ap0r: new Uint32Array(4), ap1r: new Uint32Array(4),
        hppiIrq: SPURIOUS, hppiPrio: NO_PRIO, hppiGrp: 0, irqOut: false, fiqOut: false,
      });
    }
    this.dist = new GicV3Dist(this, opts.distRegion);
    this.redist = new GicV3Redist(this, opts.redistRegion);
    this.reset();
  }

  reset(): void {
    this.ctlr = CTLR_ARE | CTLR_DS;
    for (const a of [this.group, this.grpmod, this.enabled, this.pending, this.active, this.level, this.edge, this.prio, this.irouterLo, this.irouterHi]) a.fill(0);
    for (const cs of this.cpus) {
      cs.group = cs.grpmod = cs.enabled = cs.pending = cs.active = cs.level = 0;
      cs.edge = 0xffff; // SGIs are always edge-triggered
      cs.prio.fill(0);
      cs.waker = WAKER_PS | WAKER_CA;
      cs.ctlr = 0;
      cs.igrpen0 = cs.igrpen1 = 0;
      cs.pmr = 0;
      cs.bpr0 = MIN_BPR;
      cs.bpr1 = MIN_BPR_NS;
      cs.ap0r.fill(0);
      cs.ap1r.fill(0);
    }
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

  // ---- routing and priority resolution -------------------------------------------------

  private recomputeRouting(): void {
    for (let irq = GIC_INTERNAL; irq < this.numIrq; irq++) this.spiTarget[irq] = this.routeOf(irq);
  }

  private routeOf(irq: number): number {
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
      let spend = (this.pending[w]! | (~this.edge[w]! & this.level[w]!)) & this.enabled[w]! & ~this.active[w]! & this.grpEnabledMask(this.group[w]!);
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
    if (irq < GIC_INTERNAL) return (this.cpus[cpu]!.group >>> irq) & 1;
    return (this.group[irq >> 5]! >>> (irq & 31)) & 1;
  }

  private priorityOf(cpu: number, irq: number): number {
    return irq < GIC_INTERNAL ? this.cpus[cpu]!.prio[irq]! : this.prio[irq]!;
  }

  private noEnabledHppi(cs: CpuState): boolean {
    return cs.hppiPrio === NO_PRIO || !(cs.hppiGrp ? cs.igrpen1 : cs.igrpen0);
  }

  private gprioMask(cs: CpuState, grp: number): number {
    let bpr: number;
    if (grp === 0 || cs.ctlr & ICC_CTLR_CBPR) bpr = cs.bpr0 & 7;
    else bpr = (cs.bpr1 & 7) - 1;
    return (~0 << (bpr + 1)) & 0xff;
  }

  private highestActivePrio(cs: CpuState): number {
    for (let i = 0; i < 4; i++) {
      const a = cs.ap0r[i]! | cs.ap1r[i]!;
      if (a) return ((i * 32 + ctz(a)) << (MIN_BPR + 1)) & 0xff;
    }
    return NO_PRIO;
  }

  /** The group owning the highest active priority (-1 when nothing is active). */
  private highestActiveGroup(cs: CpuState): number {
    for (let i = 0; i < 4; i++) {
      const g0 = ctz(cs.ap0r[i]!);
      const g1 = ctz(cs.ap1r[i]!);
      if (g0 === 32 && g1 === 32) continue;
      return g1 < g0 ? 1 : 0;
    }
    return -1;
  }

  private canPreempt(cs: CpuState): boolean {
    if (this.noEnabledHppi(cs)) return false;
    if (cs.hppiPrio >= cs.pmr) return false;
    const rprio = this.highestActivePrio(cs);
    if (rprio === NO_PRIO) return true;
    const mask = this.gprioMask(cs, cs.hppiGrp);
    return (cs.hppiPrio & mask) < (rprio & mask);
  }

  // ---- CPU interface operations -----------------------------------------------------------

  private acknowledge(cpu: number, grp: number): number {
    const cs = this.cpus[cpu]!;
    let intid = SPURIOUS;
    if (this.canPreempt(cs) && cs.hppiGrp === grp) intid = cs.hppiIrq;
    if (intid < 1020) {
      const prio = cs.hppiPrio & this.gprioMask(cs, grp);
      const aprbit = prio >> (8 - PREBITS);
      (grp ? cs.ap1r : cs.ap0r)[aprbit >> 5]! |= 1 << (aprbit & 31);
      if (intid < GIC_INTERNAL) {
        cs.active |= 1 << intid;
        cs.pending &= ~(1 << intid);
        this.updateCpu(cpu);
      } else {
        this.active[intid >> 5]! |= 1 << (intid & 31);
        this.pending[intid >> 5]! &= ~(1 << (intid & 31));
        this.updateCpu(cpu);
      }
    }
    const r = this.env.recorder;
    if (r.enabled) r.record({ kind: 'irq_ack', time: this.env.now(), vcpu: cpu, intid, source_cpu: 0, via: 'icc_sysreg' });
    return intid;
  }

  private hppir(cpu: number, grp: number): number {
    const cs = this.cpus[cpu]!;
    if (this.noEnabledHppi(cs) || cs.hppiGrp !== grp) return SPURIOUS;
    return cs.hppiIrq;
  }

  private eoi(cpu: number, value: number, grp: number): void {
    const cs = this.cpus[cpu]!;
    const irq = value & 0xffffff;
    const r = this.env.recorder;
    if (r.enabled) r.record({ kind: 'irq_eoi', time: this.env.now(), vcpu: cpu, intid: irq, via: 'icc_sysreg' });
    if (irq >= this.numIrq) return;
    if (this.highestActiveGroup(cs) !== grp) return; // nothing active in this group: ignored
    const ap = grp ? cs.ap1r : cs.ap0r;
    for (let i = 0; i < 4; i++) {
      if (!ap[i]) continue;
      ap[i] = ap[i]! & (ap[i]! - 1);
      break;
    }
    if (!(cs.ctlr & ICC_CTLR_EOIMODE)) this.deactivateIrq(cpu, irq);
    else this.updateCpu(cpu);
  }

  private dir(cpu: number, value: number): void {
    const cs = this.cpus[cpu]!;
    const irq = value & 0xffffff;
    const r = this.env.recorder;
    if (r.enabled) r.record({ kind: 'irq_deactivate', time: this.env.now(), vcpu: cpu, intid: irq, via: 'icc_sysreg' });
    if (!(cs.ctlr & ICC_CTLR_EOIMODE) || irq >= this.numIrq) return;
    this.deactivateIrq(cpu, irq, false);
  }

  private deactivateIrq(cpu: number, irq: number, record = true): void {
    if (irq < GIC_INTERNAL) this.cpus[cpu]!.active &= ~(1 << irq);
    else this.active[irq >> 5]! &= ~(1 << (irq & 31));
    const r = this.env.recorder;
    if (record && r.enabled) r.record({ kind: 'irq_deactivate', time: this.env.now(), vcpu: cpu, intid: irq, via: 'icc_sysreg' });
    if (irq < GIC_INTERNAL) this.updateCpu(cpu);
    else this.updateAll();
  }

  /** ICC_SGI1R_EL1 / ICC_SGI0R_EL1 write from `cpu`. */
  sendSgi(cpu: number, value: bigint, grp: number): void {
    const lo = Number(value & 0xffffffffn);
    const hi = Number((value >> 32n) & 0xffffffffn);
    const intid = (lo >>> 24) & 0xf;
    const targets = lo & 0xffff;
    const aff1 = (lo >>> 16) & 0xff;
    const aff2 = hi & 0xff;
    const irm = (hi >>> 8) & 1;
    const rs = (hi >>> 12) & 0xf;
    const aff3 = (hi >>> 16) & 0xff;
    for (let c = 0; c < this.numCpu; c++) {
      const cs = this.cpus[c]!;
      if (irm) {
        if (c === cpu) continue;
      } else {
        const a = cs.affinity;
        if (((a >>> 24) & 0xff) !== aff3 || ((a >>> 16) & 0xff) !== aff2 || ((a >>> 8) & 0xff) !== aff1) continue;
        const aff0 = a & 0xff;
        if (aff0 >> 4 !== rs || !(targets & (1 << (aff0 & 15)))) continue;
      }
      // With DS = 1 a Group 1 request only pends an SGI configured as Group 1, and likewise for 0.
      if (((cs.group >>> intid) & 1) !== grp) continue;
      cs.pending |= 1 << intid;
      this.updateCpu(c);
    }
  }

  // ---- SysregProvider (ICC_*_EL1) ---------------------------------------------------------

  readSysreg(vcpu: number, encoding: number): bigint | undefined {
    const cs = this.cpus[vcpu];
    if (!cs) return undefined;
    switch (encoding) {
      case ICC.PMR_EL1:
        return BigInt(cs.pmr);
      case ICC.IAR0_EL1:
        return BigInt(this.acknowledge(vcpu, 0));
      case ICC.IAR1_EL1:
        return BigInt(this.acknowledge(vcpu, 1));
      case ICC.HPPIR0_EL1:
        return BigInt(this.hppir(vcpu, 0));
      case ICC.HPPIR1_EL1:
        return BigInt(this.hppir(vcpu, 1));
      case ICC.BPR0_EL1:
        return BigInt(cs.bpr0);
      case ICC.BPR1_EL1:
        return BigInt(cs.ctlr & ICC_CTLR_CBPR ? Math.min(cs.bpr0 + 1, 7) : cs.bpr1);
      case ICC.RPR_EL1:
        return BigInt(this.highestActivePrio(cs));
      case ICC.CTLR_EL1:
        return BigInt((cs.ctlr | ICC_CTLR_RO) >>> 0);
      case ICC.SRE_EL1:
        return 7n; // SRE, DFB, DIB: RAO/WI (no legacy MMIO CPU interface)
      case ICC.IGRPEN0_EL1:
        return BigInt(cs.igrpen0);
      case ICC.IGRPEN1_EL1:
        return BigInt(cs.igrpen1);
      case ICC.SGI1R_EL1:
      case ICC.ASGI1R_EL1:
      case ICC.SGI0R_EL1:
      case ICC.EOIR0_EL1:
      case ICC.EOIR1_EL1:
      case ICC.DIR_EL1:
        return undefined; // write-only: UNDEFINED on read
      default: {
        const ap = this.aprIndex(encoding);
        if (ap) return BigInt((ap.grp ? cs.ap1r : cs.ap0r)[ap.n]!);
        return undefined;
      }
    }
  }

  writeSysreg(vcpu: number, encoding: number, value: bigint): boolean {
    const cs = this.cpus[vcpu];
    if (!cs) return false;
    const v = Number(value & 0xffffffffn);
    switch (encoding) {
      case ICC.PMR_EL1:
        cs.pmr = v & PRIO_MASK;
        break;
      case ICC.EOIR0_EL1:
        this.eoi(vcpu, v, 0);
        return true;
      case ICC.EOIR1_EL1:
        this.eoi(vcpu, v, 1);
        return true;
      case ICC.DIR_EL1:
        this.dir(vcpu, v);
        return true;
      case ICC.BPR0_EL1:
        cs.bpr0 = Math.max(v & 7, MIN_BPR);
        break;
      case ICC.BPR1_EL1:
        if (cs.ctlr & ICC_CTLR_CBPR) return true;
        cs.bpr1 = Math.max(v & 7, MIN_BPR_NS);
        break;
      case ICC.CTLR_EL1:
        cs.ctlr = v & (ICC_CTLR_CBPR | ICC_CTLR_EOIMODE | ICC_CTLR_PMHE);
        break;
      case ICC.SRE_EL1:
        return true;
      case ICC.IGRPEN0_EL1:
        cs.igrpen0 = v & 1;
        break;
      case ICC.IGRPEN1_EL1:
        cs.igrpen1 = v & 1;
        break;
      case ICC.SGI1R_EL1:
        this.sendSgi(vcpu, value, 1);
        return true;
      case ICC.SGI0R_EL1:
        this.sendSgi(vcpu, value, 0);
        return true;
      case ICC.ASGI1R_EL1:
        return true; // no other security state to signal
      case ICC.IAR0_EL1:
      case ICC.IAR1_EL1:
      case ICC.HPPIR0_EL1:
      case ICC.HPPIR1_EL1:
      case ICC.RPR_EL1:
        return false; // read-only: UNDEFINED on write
      default: {
        const ap = this.aprIndex(encoding);
        if (!ap) return false;
        (ap.grp ? cs.ap1r : cs.ap0r)[ap.n] = v >>> 0;
        break;
      }
    }
    this.updateCpu(vcpu);
    return true;
  }

  private aprIndex(encoding: number): { grp: number; n: number } | undefined {
    const d0 = encoding - ICC.AP0R0_EL1;
    if (d0 >= 0 && d0 < ICC_AP_REGS) return { grp: 0, n: d0 };
    const d1 = encoding - ICC.AP1R0_EL1;
    if (d1 >= 0 && d1 < ICC_AP_REGS) return { grp: 1, n: d1 };
    return undefined;
  }

  // ---- distributor registers ---------------------------------------------------------------

  /** 32-bit bitmap registers (IGROUPR, IS/ICENABLER, IS/ICPENDR, IS/ICACTIVER, IGRPMODR). */
  private bitmapArray(base: number): Uint32Array | undefined {
    switch (base) {
      case 0x080:
        return this.group;
      case 0x100:
      case 0x180:
        return this.enabled;
      case 0x200:
      case 0x280:
        return this.pending;
      case 0x300:
      case 0x380:
        return this.active;
      case 0xd00:
        return this.grpmod;
      default:
        return undefined;
    }
  }

  /** Returns undefined for offsets that do not decode (RAZ/WI and logged as such). */
  distRead32(off: number): number | undefined {
    if (off < 0x80) {
      switch (off) {
        case 0x0:
          return this.ctlr;
        case 0x4:
          // No1N, A3V, IDbits = 16, LPIS; ITLinesNumber counts SPIs only, as QEMU 7.2 computes it.
          return ((1 << 25) | (1 << 24) | (15 << 19) | (1 << 17) | ((this.numIrq - GIC_INTERNAL) / 32 - 1)) >>> 0;
        case 0x8:
          return IIDR;
        case 0xc:
        case 0x10:
          return 0;
        default:
          return undefined;
      }
    }
    if (off < 0x400 || (off >= 0xd00 && off < 0xd80)) {
      const base = off < 0x400 ? off & ~0x7f : 0xd00;
      const w = (off - base) >> 2;
      const arr = this.bitmapArray(base);
      if (!arr || w >= this.words) return undefined;
      if (w === 0) return 0; // INTIDs 0-31 live in the redistributors (ARE = 1)
      if (base === 0x200 || base === 0x280) return (arr[w]! | (~this.edge[w]! & this.level[w]!)) >>> 0;
      return arr[w]! >>> 0;
    }
    if (off < 0x800) {
      let v = 0;
      for (let i = 0; i < 4; i++) v |= this.distReadPrio(off - 0x400 + i) << (8 * i);
      return v >>> 0;
    }
    if (off < 0xc00) return 0; // ITARGETSR: RAZ/WI with ARE
    if (off < 0xd00) {
      const idx = (off - 0xc00) >> 2;
      if (idx >= this.numIrq / 16) return undefined;
      if (idx < 2) return 0;
      return this.icfgrOf(this.edge[idx >> 1]! >>> ((idx & 1) * 16));
    }
    if (off >= 0xe00 && off < 0xf00) return 0; // NSACR: RAZ with DS = 1
    if (off >= 0xf00 && off < 0xf30) return 0; // legacy SGI registers: RAZ/WI with ARE
    if (off >= 0x6000 && off < 0x6000 + 8 * this.numIrq) {
      const irq = (off - 0x6000) >> 3;
      if (irq < GIC_INTERNAL) return 0;
      return off & 4 ? this.irouterHi[irq]! : this.irouterLo[irq]!;
    }
    if (off >= 0xffd0 && off < 0x10000) return GICD_IDS[(off - 0xffd0) >> 2]!;
    return undefined;
  }

  private icfgrOf(edgeBits16: number): number {
    let v = 0;
    for (let i = 0; i < 16; i++) if (edgeBits16 & (1 << i)) v |= 2 << (i * 2);
    return v >>> 0;
  }

  distReadPrio(irq: number): number {
    if (irq < GIC_INTERNAL || irq >= this.numIrq) return 0;
    return this.prio[irq]!;
  }

  distWritePrio(irq: number, v: number): void {
    if (irq < GIC_INTERNAL || irq >= this.numIrq) return;
    this.prio[irq] = v & 0xff;
  }

  /** Returns false for offsets that do not decode. */
  distWrite32(off: number, v: number): boolean {
    if (off < 0x80) {
      if (off === 0) {
        this.ctlr = CTLR_ARE | CTLR_DS | (v & (CTLR_EN_GRP0 | CTLR_EN_GRP1));
        this.updateAll();
        return true;
      }
      return off === 0x4 || off === 0x8 || off === 0xc || off === 0x10;
    }
    if (off < 0x400 || (off >= 0xd00 && off < 0xd80)) {
      const base = off < 0x400 ? off & ~0x7f : 0xd00;
      const w = (off - base) >> 2;
      const arr = this.bitmapArray(base);
      if (!arr || w >= this.words) return false;
      if (w === 0) return true;
      switch (base) {
        case 0x080:
        case 0xd00:
          arr[w] = v;
          break;
        case 0x100:
        case 0x200:
        case 0x300:
          arr[w]! |= v;
          break;
        default:
          arr[w]! &= ~v;
      }
      this.updateAll();
      return true;
    }
    if (off < 0x800) {
      for (let i = 0; i < 4; i++) this.distWritePrio(off - 0x400 + i, (v >>> (8 * i)) & 0xff);
      this.updateAll();
      return true;
    }
    if (off < 0xc00) return true;
    if (off < 0xd00) {
      const idx = (off - 0xc00) >> 2;
      if (idx >= this.numIrq / 16) return false;
      if (idx < 2) return true;
      let bits = 0;
      for (let i = 0; i < 16; i++) if (v & (2 << (i * 2))) bits |= 1 << i;
      const w = idx >> 1;
      const sh = (idx & 1) * 16;
      this.edge[w] = ((this.edge[w]! & ~(0xffff << sh)) | (bits << sh)) >>> 0;
      this.updateAll();
      return true;
    }
    if (off >= 0xe00 && off < 0xf30) return true;
    if (off >= 0x6000 && off < 0x6000 + 8 * this.numIrq) {
      const irq = (off - 0x6000) >> 3;
      if (irq < GIC_INTERNAL) return true;
      if (off & 4) this.irouterHi[irq] = v & 0xff;
      else this.irouterLo[irq] = v & 0x80ffffff;
      this.spiTarget[irq] = this.routeOf(irq);
      this.updateAll();
      return true;
    }
    return false;
  }

  // ---- redistributor registers -------------------------------------------------------------

  redistRead32(cpu: number, off: number): number | undefined {
    const cs = this.cpus[cpu]!;
    if (off < SGI_FRAME) {
      switch (off) {
        case 0x0:
          return 2; // GICR_CTLR: CES (as QEMU); EnableLPIs stays 0, RWP never set
        case 0x4:
          return IIDR;
        case 0x8:
          return ((1 << 24) | (cpu << 8) | (cpu === this.numCpu - 1 ? 1 << 4 : 0) | 1) >>> 0; // CommonLPIAff, Processor_Number, Last, PLPIS
        case 0xc:
          return cs.affinity;
        case 0x10:
          return 0;
        case 0x14:
          return cs.waker;
        case 0x70:
        case 0x74:
        case 0x78:
        case 0x7c:
          return 0; // PROPBASER/PENDBASER: no LPIs
        default:
          if (off >= 0xffd0 && off < 0x10000) return GICR_IDS[(off - 0xffd0) >> 2]!;
          return undefined;
      }
    }
    const s = off - SGI_FRAME;
    switch (s) {
      case 0x080:
        return cs.group >>> 0;
      case 0x100:
      case 0x180:
        return cs.enabled >>> 0;
      case 0x200:
      case 0x280:
        return (cs.pending | (~cs.edge & cs.level)) >>> 0;
      case 0x300:
      case 0x380:
        return cs.active >>> 0;
      case 0xc00:
        return 0xaaaaaaaa;
      case 0xc04:
        return this.icfgrOf(cs.edge >>> 16);
      case 0xd00:
        return cs.grpmod >>> 0;
      case 0xe00:
        return 0;
      default:
        if (s >= 0x400 && s < 0x420) {
          let v = 0;
          for (let i = 0; i < 4; i++) v |= cs.prio[s - 0x400 + i]! << (8 * i);
          return v >>> 0;
        }
        return undefined;
    }
  }

  redistWrite32(cpu: number, off: number, v: number): boolean {
    const cs = this.cpus[cpu]!;
    if (off < SGI_FRAME) {
      switch (off) {
        case 0x14: {
          let w = v & WAKER_PS;
          if (w & WAKER_PS) w |= WAKER_CA;
          cs.waker = w;
          return true;
        }
        case 0x0:
        case 0x70:
        case 0x74:
        case 0x78:
        case 0x7c:
          return true;
        default:
          return false;
      }
    }
    const s = off - SGI_FRAME;
    switch (s) {
      case 0x080:
        cs.group = v | 0;
        break;
      case 0x100:
        cs.enabled |= v;
        break;
      case 0x180:
        cs.enabled &= ~v;
        break;
      case 0x200:
        cs.pending |= v;
        break;
      case 0x280:
        cs.pending &= ~v;
        break;
      case 0x300:
        cs.active |= v;
        break;
      case 0x380:
        cs.active &= ~v;
        break;
      case 0xc00:
        return true; // SGIs: always edge
      case 0xc04: {
        let bits = 0;
        for (let i = 0; i < 16; i++) if (v & (2 << (i * 2))) bits |= 1 << i;
        cs.edge = (cs.edge & 0xffff) | (bits << 16);
        break;
      }
      case 0xd00:
        cs.grpmod = v | 0;
        break;
      case 0xe00:
        return true;
      default:
        if (s >= 0x400 && s < 0x420) {
          for (let i = 0; i < 4; i++) cs.prio[s - 0x400 + i] = (v >>> (8 * i)) & 0xff;
          break;
        }
        return false;
    }
    this.updateCpu(cpu);
    return true;
  }

  redistWritePrioByte(cpu: number, irq: number, v: number): void {
    this.cpus[cpu]!.prio[irq] = v & 0xff;
    this.updateCpu(cpu);
  }

  /** Live state for tests: is `intid` active / pending on `cpu`? */
  isActive(intid: number, cpu: number): boolean {
    if (intid < GIC_INTERNAL) return ((this.cpus[cpu]!.active >>> intid) & 1) === 1;
    return ((this.active[intid >> 5]! >>> (intid & 31)) & 1) === 1;
  }

  isPending(intid: number, cpu: number): boolean {
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

class GicV3Dist implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';
  private readonly gic: GicV3;
  constructor(gic: GicV3, region: DeviceRegion) {
    this.gic = gic;
    this.region = region;
  }
  registerName(offset: number): string {
    return distRegisterName(offset);
  }
  read(offset: number, size: number, _vcpu = 0): number {
    if (size < 4) {
      // Only IPRIORITYR and ITARGETSR are byte-accessible.
      if (offset >= 0x400 && offset < 0x800) {
        let v = 0;
        for (let i = 0; i < size; i++) v |= this.gic.distReadPrio(offset - 0x400 + i) << (8 * i);
        return v;
      }
      if (offset >= 0x800 && offset < 0xc00) return 0;
      this.lastOutcome = 'raz_wi';
      return 0;
    }
    const v = (offset & 3) === 0 ? this.gic.distRead32(offset) : undefined;
    if (v === undefined) {
      this.lastOutcome = 'raz_wi';
      return 0;
    }
    return v >>> 0;
  }
  write(offset: number, size: number, value: number, _vcpu = 0): void {
    if (size < 4) {
      if (offset >= 0x400 && offset < 0x800) {
        for (let i = 0; i < size; i++) this.gic.distWritePrio(offset - 0x400 + i, (value >>> (8 * i)) & 0xff);
        this.gic.updateAll();
        return;
      }
      if (offset >= 0x800 && offset < 0xc00) return;
      this.lastOutcome = 'raz_wi';
      return;
    }
    if ((offset & 3) !== 0 || !this.gic.distWrite32(offset, value >>> 0)) this.lastOutcome = 'raz_wi';
  }
  read64(offset: number, _vcpu = 0): bigint {
    if (offset >= 0x6000 && offset < 0x8000 && (offset & 7) === 0) {
      const lo = this.gic.distRead32(offset) ?? 0;
      const hi = this.gic.distRead32(offset + 4) ?? 0;
      return (BigInt(hi) << 32n) | BigInt(lo);
    }
    this.lastOutcome = 'raz_wi';
    return 0n;
  }
  write64(offset: number, value: bigint, _vcpu = 0): void {
    if (offset >= 0x6000 && offset < 0x8000 && (offset & 7) === 0) {
      this.gic.distWrite32(offset + 4, Number((value >> 32n) & 0xffffffffn));
      this.gic.distWrite32(offset, Number(value & 0xffffffffn));
      return;
    }
    this.lastOutcome = 'raz_wi';
  }
}

class GicV3Redist implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';
  private readonly gic: GicV3;
  constructor(gic: GicV3, region: DeviceRegion) {
    this.gic = gic;
    this.region = region;
  }
  registerName(offset: number): string {
    return redistRegisterName(offset);
  }
  private locate(offset: number): { cpu: number; off: number } | undefined {
    const cpu = Math.floor(offset / REDIST_STRIDE);
    if (cpu >= this.gic.numCpu) return undefined;
    return { cpu, off: offset % REDIST_STRIDE };
  }
  read(offset: number, size: number, _vcpu = 0): number {
    const loc = this.locate(offset);
    if (!loc) {
      this.lastOutcome = 'abort'; // beyond the last redistributor: unassigned
      return 0;
    }
    if (size < 4) {
      const s = loc.off - SGI_FRAME;
      if (s >= 0x400 && s < 0x420) {
        const cs = this.gic.cpus[loc.cpu]!;
        let v = 0;
        for (let i = 0; i < size; i++) v |= cs.prio[s - 0x400 + i]! << (8 * i);
        return v;
      }
      this.lastOutcome = 'raz_wi';
      return 0;
    }
    const v = (loc.off & 3) === 0 ? this.gic.redistRead32(loc.cpu, loc.off) : undefined;
    if (v === undefined) {
      this.lastOutcome = 'raz_wi';
      return 0;
    }
    return v >>> 0;
  }
  write(offset: number, size: number, value: number, _vcpu = 0): void {
    const loc = this.locate(offset);
    if (!loc) {
      this.lastOutcome = 'abort';
      return;
    }
    if (size < 4) {
      const s = loc.off - SGI_FRAME;
      if (s >= 0x400 && s < 0x420) {
        for (let i = 0; i < size; i++) this.gic.redistWritePrioByte(loc.cpu, s - 0x400 + i, (value >>> (8 * i)) & 0xff);
        return;
      }
      this.lastOutcome = 'raz_wi';
      return;
    }
    if ((loc.off & 3) !== 0 || !this.gic.redistWrite32(loc.cpu, loc.off, value >>> 0)) this.lastOutcome = 'raz_wi';
  }
  read64(offset: number, _vcpu = 0): bigint {
    const loc = this.locate(offset);
    if (!loc) {
      this.lastOutcome = 'abort';
      return 0n;
    }
    const lo = this.gic.redistRead32(loc.cpu, loc.off);
    const hi = this.gic.redistRead32(loc.cpu, loc.off + 4);
    if (lo === undefined || (loc.off & 7) !== 0) {
      this.lastOutcome = 'raz_wi';
      return 0n;
    }
    return (BigInt(hi ?? 0) << 32n) | BigInt(lo);
  }
  write64(offset: number, value: bigint, _vcpu = 0): void {
    const loc = this.locate(offset);
    if (!loc) {
      this.lastOutcome = 'abort';
      return;
    }
    if ((loc.off & 7) !== 0 || !this.gic.redistWrite32(loc.cpu, loc.off, Number(value & 0xffffffffn))) this.lastOutcome = 'raz_wi';
  }
}

function ctz(v: number): number {
  return v === 0 ? 32 : 31 - Math.clz32(v & -v);
}
