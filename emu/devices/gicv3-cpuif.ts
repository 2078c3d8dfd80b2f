// The GICv3 CPU interface as system registers (ICC_*_EL1): acknowledge (IAR0/IAR1), priority drop
// and deactivation (EOIR0/EOIR1, DIR, EOImode), the active-priority registers (AP0R/AP1R), the
// priority mask and binary points, and SGI generation (SGI0R, SGI1R, ASGI1R). Encodings and names
// come from arch/sysregs.ts. Arm IHI 0069H §12.2 and chapter 4; docs/emulator-platform.md.

import { ICC, ICC_AP_REGS } from '../../arch/sysregs.ts';
import type { SysregProvider } from '../types.ts';
import {
  GIC_INTERNAL,
  LPI_BASE,
  ICC_CTLR_CBPR,
  ICC_CTLR_EOIMODE,
  ICC_CTLR_PMHE,
  ICC_CTLR_RO,
  MIN_BPR,
  MIN_BPR_NS,
  PREBITS,
  PRIO_MASK,
  SPURIOUS,
  type GicV3State,
} from './gicv3-state.ts';

export class GicV3CpuInterface implements SysregProvider {
  private readonly gic: GicV3State;

  constructor(gic: GicV3State) {
    this.gic = gic;
  }

  // ---- SysregProvider (ICC_*_EL1) ---------------------------------------------------------

  readSysreg(vcpu: number, encoding: number): bigint | undefined {
    const cs = this.gic.cpus[vcpu];
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
        return BigInt(this.gic.highestActivePrio(cs));
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
    const cs = this.gic.cpus[vcpu];
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
    this.gic.updateCpu(vcpu);
    return true;
  }

  private aprIndex(encoding: number): { grp: number; n: number } | undefined {
    const d0 = encoding - ICC.AP0R0_EL1;
    if (d0 >= 0 && d0 < ICC_AP_REGS) return { grp: 0, n: d0 };
    const d1 = encoding - ICC.AP1R0_EL1;
    if (d1 >= 0 && d1 < ICC_AP_REGS) return { grp: 1, n: d1 };
    return undefined;
  }

  // ---- operations ---------------------------------------------------------------------------

  private acknowledge(cpu: number, grp: number): number {
    const cs = this.gic.cpus[cpu]!;
    let intid = SPURIOUS;
    if (this.gic.canPreempt(cs) && cs.hppiGrp === grp) intid = cs.hppiIrq;
    if (intid < 1020 || intid >= LPI_BASE) {
      const prio = cs.hppiPrio & this.gic.gprioMask(cs, grp);
      const aprbit = prio >> (8 - PREBITS);
      (grp ? cs.ap1r : cs.ap0r)[aprbit >> 5]! |= 1 << (aprbit & 31);
      if (intid >= LPI_BASE) {
        // LPIs have no active state: acknowledging one only ends its pending state (Arm IHI 0069H §5.1).
        cs.lpiPending.delete(intid);
        this.gic.updateCpu(cpu);
      } else if (intid < GIC_INTERNAL) {
        cs.active |= 1 << intid;
        cs.pending &= ~(1 << intid);
        this.gic.updateCpu(cpu);
      } else {
        this.gic.active[intid >> 5]! |= 1 << (intid & 31);
        this.gic.pending[intid >> 5]! &= ~(1 << (intid & 31));
        this.gic.updateCpu(cpu);
      }
    }
    const r = this.gic.env.recorder;
    if (r.enabled) r.record({ kind: 'irq_ack', time: this.gic.env.now(), vcpu: cpu, intid, source_cpu: 0, via: 'icc_sysreg' });
    return intid;
  }

  private hppir(cpu: number, grp: number): number {
    const cs = this.gic.cpus[cpu]!;
    if (this.gic.noEnabledHppi(cs) || cs.hppiGrp !== grp) return SPURIOUS;
    return cs.hppiIrq;
  }

  private eoi(cpu: number, value: number, grp: number): void {
    const cs = this.gic.cpus[cpu]!;
    const irq = value & 0xffffff;
    const r = this.gic.env.recorder;
    if (r.enabled) r.record({ kind: 'irq_eoi', time: this.gic.env.now(), vcpu: cpu, intid: irq, via: 'icc_sysreg' });
    if (irq >= this.gic.numIrq && irq < LPI_BASE) return;
    if (this.gic.highestActiveGroup(cs) !== grp) return; // nothing active in this group: ignored
    const ap = grp ? cs.ap1r : cs.ap0r;
    for (let i = 0; i < 4; i++) {
      if (!ap[i]) continue;
      ap[i] = ap[i]! & (ap[i]! - 1);
      break;
    }
    if (!(cs.ctlr & ICC_CTLR_EOIMODE)) this.deactivateIrq(cpu, irq);
    else this.gic.updateCpu(cpu);
  }

  private dir(cpu: number, value: number): void {
    const cs = this.gic.cpus[cpu]!;
    const irq = value & 0xffffff;
    const r = this.gic.env.recorder;
    if (r.enabled) r.record({ kind: 'irq_deactivate', time: this.gic.env.now(), vcpu: cpu, intid: irq, via: 'icc_sysreg' });
    if (!(cs.ctlr & ICC_CTLR_EOIMODE) || irq >= this.gic.numIrq) return;
    this.deactivateIrq(cpu, irq, false);
  }

  private deactivateIrq(cpu: number, irq: number, record = true): void {
    if (irq >= LPI_BASE) {
      // No active state to end; only the priority drop (done by EOIR) mattered.
      this.gic.updateCpu(cpu);
      return;
    }
    if (irq < GIC_INTERNAL) this.gic.cpus[cpu]!.active &= ~(1 << irq);
    else this.gic.active[irq >> 5]! &= ~(1 << (irq & 31));
    const r = this.gic.env.recorder;
    if (record && r.enabled) r.record({ kind: 'irq_deactivate', time: this.gic.env.now(), vcpu: cpu, intid: irq, via: 'icc_sysreg' });
    if (irq < GIC_INTERNAL) this.gic.updateCpu(cpu);
    else this.gic.updateAll();
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
    for (let c = 0; c < this.gic.numCpu; c++) {
      const cs = this.gic.cpus[c]!;
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
      this.gic.updateCpu(c);
    }
  }
}
