// GICv2 distributor and CPU interface, behaving as QEMU's arm_gic (revision 2, no security
// extensions, 8 priority bits, GIC_MIN_BPR 0) on the virt machine: per-INTID state is kept as
// CPU masks like QEMU's irq_state, so banked SGI/PPI state and SPI targets work the same way.
// Level-sensitive interrupts are pending while their line is high; edges latch. SGIs are
// always enabled and edge-triggered. With one CPU every SPI goes to CPU0 and ITARGETSR is, by
// option, RAZ/WI (the architecture's uniprocessor choice, which QEMU TCG makes), KVM's vgic-v2
// (reads the target bits masked to the online vCPUs: 0x01 per byte from reset; writes keep only
// the CPU0 bit) or Xen's vgic (reads the vCPU the interrupt is routed to; writes naming no vCPU
// are ignored). Arm IHI 0048B §4.3.12 (GICD_ITARGETSRn).
// The CPU interface keeps active priorities (GICC_APR) per CPU, so EOIR drops the highest
// active priority and, with EOImode = 1, DIR deactivates. Arm IHI 0048B chapter 4 (GICC_EOIR,
// GICC_DIR, GICC_APRn); what the model does is listed in docs/emulator-platform.md (Device models).
// With `registers: 'xen'` the distributor is Xen 4.17's vgic-v2 instead (gicv2-xen.ts): its
// register view in front of the same interrupt state, where SGIs start disabled and every SPI
// starts routed to vCPU 0.

import type { DeviceRegion, MmioOutcome } from '../../capture/model.ts';
import { GICC, GICC_CTLR_EOIMODE_NS, GICD, cpuRegisterName, distRegisterName } from '../../arch/regmaps/gicv2.ts';
import type { MmioDevice } from '../types.ts';
import type { DeviceEnv, InterruptController } from './irq.ts';
import { XenVgicV2Dist } from './gicv2-xen.ts';

const NCPU_MAX = 8;
const ALL_CPU_MASK = 0xff;
const GIC_INTERNAL = 32;
const NR_SGIS = 16;
const NR_APRS = 4; // 128 preemption levels with GIC_MIN_BPR 0
const GIC_MIN_BPR = 0;
/**
 * The virtual CPU interface a hypervisor maps into a guest (GICV) has 32 priority levels: its
 * binary points start at 2 and 3 (QEMU's GIC_VIRT_MIN_BPR / _ABPR), one active-priority word.
 */
const GIC_VIRT_MIN_BPR = 2;
const IDLE_PRIORITY = 0x100;

// GICC_CTLR bits (secure/no-security view)
const CTLR_EN_GRP0 = 1 << 0;
const CTLR_EN_GRP1 = 1 << 1;
const CTLR_ACK_CTL = 1 << 2;
const CTLR_FIQ_EN = 1 << 3;
const CTLR_CBPR = 1 << 4;
const CTLR_EOIMODE = GICC_CTLR_EOIMODE_NS;
/** Writable GICC_CTLR bits on a GICv2 without security extensions (QEMU's GICC_CTLR_V2_MASK). */
const CTLR_V2_MASK = CTLR_EN_GRP0 | (1 << 7) | (1 << 8) | CTLR_EOIMODE;

/** QEMU's GICv2 identification bytes at GICD 0xFD0–0xFFC. */
const GICV2_ID = [0x04, 0x00, 0x00, 0x00, 0x90, 0xb4, 0x2b, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

export interface GicV2Options {
  numCpu: number;
  /** Number of SPIs (QEMU virt: 256, so 288 INTIDs). Multiple of 32. */
  numSpis?: number;
  distRegion: DeviceRegion;
  cpuRegion: DeviceRegion;
  env: DeviceEnv;
  /** ITARGETSR with one CPU: 'raz_wi' (QEMU TCG, the default), 'kvm' (KVM's vgic-v2) or 'xen' (Xen's vgic). */
  uniprocessorTargets?: 'raz_wi' | 'kvm' | 'xen';
  /** The distributor's register interface: QEMU's GICv2 (the default) or Xen 4.17's vgic-v2. */
  registers?: 'qemu' | 'xen';
}

export class GicV2 implements InterruptController {
  readonly numCpu: number;
  readonly numIrq: number;
  readonly dist: MmioDevice;
  readonly cpu: MmioDevice;
  onSignal?: (vcpu: number, irq: boolean, fiq: boolean) => void;
  private readonly env: DeviceEnv;

  // Distributor state, per INTID, as CPU masks (bit n = CPU n).
  ctlr = 0;
  private readonly enabled: Uint8Array;
  private readonly pending: Uint8Array;
  private readonly active: Uint8Array;
  private readonly level: Uint8Array;
  private readonly group: Uint8Array;
  private readonly edge: Uint8Array; // 1 = edge-triggered
  private readonly target: Uint8Array;
  /** What ITARGETSR shows with one CPU under the kvm/xen options (delivery always goes to CPU0). */
  private readonly shownTarget: Uint8Array;
  private readonly upTargets: 'raz_wi' | 'kvm' | 'xen';
  private readonly xenRegisters: boolean;
  /** Smallest BPR (ABPR is one more): 0 for a physical CPU interface, 2 for a virtual one. */
  private readonly minBpr: number;
  private readonly prio1: Uint8Array; // SGI/PPI priorities, [irq * 8 + cpu]
  private readonly prio2: Uint8Array; // SPI priorities, [irq - 32]
  private readonly sgiPending: Uint8Array; // [irq * 8 + cpu] = source CPU mask

  // CPU interface state
  readonly cpuCtlr: Uint32Array;
  readonly pmr: Uint16Array;
  readonly bpr: Uint8Array;
  readonly abpr: Uint8Array;
  private readonly apr: Uint32Array; // [regno * 8 + cpu]
  private readonly nsapr: Uint32Array;
  readonly runningPriority: Uint16Array;
  private readonly currentPending: Uint16Array;
  private readonly irqOut: Uint8Array;
  private readonly fiqOut: Uint8Array;

  constructor(opts: GicV2Options) {
    if (opts.numCpu < 1 || opts.numCpu > NCPU_MAX) throw new RangeError(`GICv2 supports 1..8 CPUs, not ${opts.numCpu}`);
    const spis = opts.numSpis ?? 256;
    if (spis % 32 !== 0 || spis < 0 || spis > 988) throw new RangeError(`GICv2 SPI count ${spis} must be a multiple of 32 up to 988`);
    this.numCpu = opts.numCpu;
    this.numIrq = GIC_INTERNAL + spis;
    this.env = opts.env;
    const n = this.numIrq;
    this.enabled = new Uint8Array(n);
    this.pending = new Uint8Array(n);
    this.active = new Uint8Array(n);
    this.level = new Uint8Array(n);
    this.group = new Uint8Array(n);
    this.edge = new Uint8Array(n);
    this.target = new Uint8Array(n);
    this.shownTarget = new Uint8Array(n);
    this.upTargets = opts.uniprocessorTargets ?? 'raz_wi';
    this.xenRegisters = opts.registers === 'xen';
    // A Xen domU's GICC is the hardware's virtual CPU interface.
    this.minBpr = this.xenRegisters ? GIC_VIRT_MIN_BPR : GIC_MIN_BPR;
    this.prio1 = new Uint8Array(GIC_INTERNAL * NCPU_MAX);
    this.prio2 = new Uint8Array(spis);
    this.sgiPending = new Uint8Array(NR_SGIS * NCPU_MAX);
    this.cpuCtlr = new Uint32Array(NCPU_MAX);
    this.pmr = new Uint16Array(NCPU_MAX);
    this.bpr = new Uint8Array(NCPU_MAX);
    this.abpr = new Uint8Array(NCPU_MAX);
    this.apr = new Uint32Array(NR_APRS * NCPU_MAX);
    this.nsapr = new Uint32Array(NR_APRS * NCPU_MAX);
    this.runningPriority = new Uint16Array(NCPU_MAX);
    this.currentPending = new Uint16Array(NCPU_MAX);
    this.irqOut = new Uint8Array(NCPU_MAX);
    this.fiqOut = new Uint8Array(NCPU_MAX);
    this.dist = this.xenRegisters ? new XenVgicV2Dist(this, opts.distRegion) : new GicV2Dist(this, opts.distRegion);
    this.cpu = new GicV2Cpu(this, opts.cpuRegion);
    this.reset();
  }

  reset(): void {
    for (const a of [
      this.enabled,
      this.pending,
      this.active,
      this.level,
      this.group,
      this.edge,
      this.target,
      this.prio1,
      this.prio2,
      this.sgiPending,
    ])
      a.fill(0);
    for (let i = 0; i < NR_SGIS; i++) {
      this.enabled[i] = this.xenRegisters ? 0 : ALL_CPU_MASK; // Xen: SGIs are enabled by the guest
      this.edge[i] = 1;
    }
    if (this.numCpu === 1 || this.xenRegisters) this.target.fill(1); // Xen routes every SPI to vCPU 0
    (this.dist as { reset?: () => void }).reset?.();
    this.shownTarget.fill(1);
    this.ctlr = 0;
    for (let c = 0; c < NCPU_MAX; c++) {
      this.pmr[c] = 0;
      this.currentPending[c] = 1023;
      this.runningPriority[c] = IDLE_PRIORITY;
      this.cpuCtlr[c] = 0;
      this.bpr[c] = this.minBpr;
      this.abpr[c] = this.minBpr + 1;
    }
    this.apr.fill(0);
    this.nsapr.fill(0);
    this.update();
  }

  // ---- InterruptController ---------------------------------------------------------------

  setLine(intid: number, lvl: boolean, vcpu = 0): void {
    if (intid < NR_SGIS || intid >= this.numIrq) return;
    let cm: number;
    let tgt: number;
    if (intid >= GIC_INTERNAL) {
      cm = ALL_CPU_MASK;
      tgt = this.target[intid]!;
    } else {
      cm = 1 << vcpu;
      tgt = cm;
    }
    if (((this.level[intid]! & cm) !== 0) === lvl) return;
    if (lvl) {
      this.level[intid]! |= cm;
      if (this.edge[intid]) this.pending[intid]! |= tgt;
    } else {
      this.level[intid]! &= ~cm;
    }
    this.update();
  }

  inject(intid: number, vcpu = 0): void {
    if (intid < NR_SGIS || intid >= this.numIrq) return;
    this.pending[intid]! |= intid >= GIC_INTERNAL ? this.target[intid]! : 1 << vcpu;
    this.update();
  }

  irqPending(vcpu: number): boolean {
    return this.irqOut[vcpu] === 1;
  }

  fiqPending(vcpu: number): boolean {
    return this.fiqOut[vcpu] === 1;
  }

  // ---- state helpers (QEMU's GIC_DIST_* macros) -------------------------------------------

  private testPending(irq: number, cm: number): boolean {
    return (this.pending[irq]! & cm) !== 0 || (!this.edge[irq] && (this.level[irq]! & cm) !== 0);
  }

  priority(irq: number, cpu: number): number {
    return irq < GIC_INTERNAL ? this.prio1[irq * NCPU_MAX + cpu]! : this.prio2[irq - GIC_INTERNAL]!;
  }

  private setPriority(irq: number, cpu: number, v: number): void {
    if (irq < GIC_INTERNAL) this.prio1[irq * NCPU_MAX + cpu] = v;
    else this.prio2[irq - GIC_INTERNAL] = v;
  }

  private testGroup(irq: number, cpu: number): number {
    return this.group[irq]! & (1 << cpu) ? 1 : 0;
  }

  /** Recompute every CPU's highest pending interrupt and its IRQ/FIQ outputs. */
  update(): void {
    for (let cpu = 0; cpu < this.numCpu; cpu++) {
      this.currentPending[cpu] = 1023;
      let irqLevel = 0;
      let fiqLevel = 0;
      if (this.ctlr & 3 && this.cpuCtlr[cpu]! & 3) {
        const cm = 1 << cpu;
        let bestPrio = IDLE_PRIORITY;
        let bestIrq = 1023;
        const n = this.numIrq;
        for (let irq = 0; irq < n; irq++) {
          if (!(this.enabled[irq]! & cm)) continue;
          if (!this.testPending(irq, cm) || this.active[irq]! & cm) continue;
          if (irq >= GIC_INTERNAL && !(this.target[irq]! & cm)) continue;
          const p = this.priority(irq, cpu);
          if (p < bestPrio) {
            bestPrio = p;
            bestIrq = irq;
          }
        }
        if (bestPrio < this.pmr[cpu]!) {
          this.currentPending[cpu] = bestIrq;
          if (bestPrio < this.runningPriority[cpu]!) {
            const grp = this.testGroup(bestIrq, cpu);
            const gm = 1 << grp;
            if (this.ctlr & gm && this.cpuCtlr[cpu]! & gm) {
              if (grp === 0 && this.cpuCtlr[cpu]! & CTLR_FIQ_EN) fiqLevel = 1;
              else irqLevel = 1;
            }
          }
        }
      }
      if (this.irqOut[cpu] !== irqLevel || this.fiqOut[cpu] !== fiqLevel) {
        this.irqOut[cpu] = irqLevel;
        this.fiqOut[cpu] = fiqLevel;
        this.onSignal?.(cpu, irqLevel === 1, fiqLevel === 1);
      }
    }
  }

  // ---- CPU interface operations -----------------------------------------------------------

  /** GICC_HPPIR view: the highest pending INTID, 1022 for a hidden Group 1, 1023 for none. */
  currentPendingIrq(cpu: number): number {
    const irq = this.currentPending[cpu]!;
    if (irq < 1020 && this.testGroup(irq, cpu) === 1 && !(this.cpuCtlr[cpu]! & CTLR_ACK_CTL)) return 1022;
    return irq;
  }

  private groupPriority(cpu: number, irq: number): number {
    const bpr = !(this.cpuCtlr[cpu]! & CTLR_CBPR) && this.testGroup(irq, cpu) ? this.abpr[cpu]! - 1 : this.bpr[cpu]!;
    return this.priority(irq, cpu) & ((~0 << ((bpr & 7) + 1)) & 0xff);
  }

  private priorityFromApr(cpu: number): number {
    for (let i = 0; i < NR_APRS; i++) {
      const a = this.apr[i * NCPU_MAX + cpu]! | this.nsapr[i * NCPU_MAX + cpu]!;
      if (a) return (i * 32 + ctz32(a)) << (this.minBpr + 1);
    }
    return IDLE_PRIORITY;
  }

  /** GICC_IAR read: returns the value (INTID | source CPU << 10) and activates the interrupt. */
  acknowledge(cpu: number): number {
    const irq = this.currentPendingIrq(cpu);
    let ret: number;
    if (irq >= 1020) ret = irq;
    else if (this.priority(irq, cpu) >= this.runningPriority[cpu]!) ret = 1023;
    else {
      const prio = this.groupPriority(cpu, irq);
      const level = prio >> (this.minBpr + 1);
      const arr = this.testGroup(irq, cpu) ? this.nsapr : this.apr;
      arr[(level >> 5) * NCPU_MAX + cpu]! |= 1 << (level & 31);
      this.runningPriority[cpu] = prio;
      this.active[irq]! |= 1 << cpu;
      if (irq < NR_SGIS) {
        const k = irq * NCPU_MAX + cpu;
        const src = ctz32(this.sgiPending[k]!);
        this.sgiPending[k]! &= ~(1 << src);
        if (this.sgiPending[k] === 0) this.pending[irq]! &= ~(1 << cpu);
        ret = irq | ((src & 7) << 10);
      } else {
        this.pending[irq]! &= ~(1 << cpu);
        ret = irq;
      }
      this.update();
    }
    const r = this.env.recorder;
    if (r.enabled)
      r.record({ kind: 'irq_ack', time: this.env.now(), vcpu: cpu, intid: ret & 0x3ff, source_cpu: (ret >> 10) & 7, via: 'gicc_mmio' });
    return ret;
  }

  eoiSplit(cpu: number): boolean {
    return (this.cpuCtlr[cpu]! & CTLR_EOIMODE) !== 0;
  }

  /** GICC_EOIR write: priority drop, plus deactivation when EOImode = 0. */
  complete(cpu: number, value: number): void {
    const irq = value & 0x3ff;
    const r = this.env.recorder;
    if (r.enabled) r.record({ kind: 'irq_eoi', time: this.env.now(), vcpu: cpu, intid: irq, via: 'gicc_mmio' });
    if (irq >= this.numIrq) return; // spurious or non-existent: ignored
    if (this.runningPriority[cpu] === IDLE_PRIORITY) return; // nothing active
    const grp = this.testGroup(irq, cpu);
    const arr = grp ? this.nsapr : this.apr;
    for (let i = 0; i < NR_APRS; i++) {
      const k = i * NCPU_MAX + cpu;
      if (!arr[k]) continue;
      arr[k] = arr[k]! & (arr[k]! - 1); // clear lowest set bit = highest active priority
      break;
    }
    this.runningPriority[cpu] = this.priorityFromApr(cpu);
    if (!this.eoiSplit(cpu)) {
      this.active[irq]! &= ~(1 << cpu);
      if (r.enabled) r.record({ kind: 'irq_deactivate', time: this.env.now(), vcpu: cpu, intid: irq, via: 'gicc_mmio' });
    }
    this.update();
  }

  /** GICC_DIR write: deactivate (only with EOImode = 1; ignored otherwise, as QEMU does). */
  deactivate(cpu: number, value: number): void {
    const irq = value & 0x3ff;
    const r = this.env.recorder;
    if (r.enabled) r.record({ kind: 'irq_deactivate', time: this.env.now(), vcpu: cpu, intid: irq, via: 'gicc_mmio' });
    if (irq >= this.numIrq || !this.eoiSplit(cpu)) return;
    this.active[irq]! &= ~(irq < GIC_INTERNAL ? 1 << cpu : 1 << cpu);
    this.update();
  }

  // ---- Distributor byte access (QEMU composes words from bytes) -------------------------

  distReadByte(offset: number, cpu: number): number {
    const cm = 1 << cpu;
    if (offset < GICD.ISENABLER) {
      if (offset === GICD.CTLR) return this.ctlr;
      if (offset === GICD.TYPER) return ((this.numIrq / 32 - 1) | ((this.numCpu - 1) << 5)) & 0xff;
      if (offset === GICD.IIDR) return 0x3b; // IIDR: Arm JEP106
      if (offset === GICD.IIDR + 1) return 0x04;
      if (offset < GICD.IIDR + 4) return 0;
      if (offset >= GICD.IGROUPR) {
        const irq = (offset - GICD.IGROUPR) * 8;
        if (irq >= this.numIrq) return 0;
        let res = 0;
        for (let i = 0; i < 8; i++) if (this.group[irq + i]! & cm) res |= 1 << i;
        return res;
      }
      return 0;
    }
    if (offset < GICD.IPRIORITYR) {
      const base =
        offset < GICD.ISPENDR
          ? offset < GICD.ICENABLER
            ? GICD.ISENABLER
            : GICD.ICENABLER
          : offset < GICD.ISACTIVER
            ? offset < GICD.ICPENDR
              ? GICD.ISPENDR
              : GICD.ICPENDR
            : offset < GICD.ICACTIVER
              ? GICD.ISACTIVER
              : GICD.ICACTIVER;
      const irq = (offset - base) * 8;
      if (irq >= this.numIrq) return 0;
      const mask = irq < GIC_INTERNAL ? cm : ALL_CPU_MASK;
      let res = 0;
      for (let i = 0; i < 8; i++) {
        const q = irq + i;
        let set: boolean;
        if (base < GICD.ISPENDR) set = (this.enabled[q]! & cm) !== 0;
        else if (base < GICD.ISACTIVER) set = this.testPending(q, mask);
        else set = (this.active[q]! & mask) !== 0;
        if (set) res |= 1 << i;
      }
      return res;
    }
    if (offset < GICD.ITARGETSR) {
      const irq = offset - GICD.IPRIORITYR;
      return irq < this.numIrq ? this.priority(irq, cpu) : 0;
    }
    if (offset < GICD.ICFGR) {
      if (this.numCpu === 1) {
        if (this.upTargets === 'raz_wi') return 0; // RAZ/WI on a uniprocessor GIC
        const irq = offset - GICD.ITARGETSR;
        return irq < this.numIrq ? this.shownTarget[irq]! : 0;
      }
      const irq = offset - GICD.ITARGETSR;
      if (irq >= this.numIrq) return 0;
      return irq < GIC_INTERNAL ? cm : this.target[irq]!;
    }
    if (offset < GICD.SGIR) {
      // QEMU decodes ICFGR bytes up to the SGIR (PPISR, SPISR and NSACR are not modelled).
      const irq = (offset - GICD.ICFGR) * 4;
      if (irq >= this.numIrq) return 0;
      let res = 0;
      for (let i = 0; i < 4; i++) if (this.edge[irq + i]) res |= 2 << (i * 2);
      return res;
    }
    if (offset < GICD.CPENDSGIR) return 0; // SGIR is write-only
    if (offset < GICD.SPENDSGIR + 0x10) {
      const irq = offset < GICD.SPENDSGIR ? offset - GICD.CPENDSGIR : offset - GICD.SPENDSGIR;
      return this.sgiPending[irq * NCPU_MAX + cpu]!;
    }
    if (offset >= GICD.PIDR4 && offset < GICD.END) return offset & 3 ? 0 : GICV2_ID[(offset - GICD.PIDR4) >> 2]!;
    return 0;
  }

  /** Returns false for offsets that do not decode (QEMU's "Bad offset"). */
  distWriteByte(offset: number, value: number, cpu: number): void {
    if (offset < GICD.ISENABLER) {
      if (offset === GICD.CTLR) this.ctlr = value & 3;
      else if (offset >= GICD.IGROUPR) {
        const irq = (offset - GICD.IGROUPR) * 8;
        if (irq >= this.numIrq) return;
        for (let i = 0; i < 8; i++) {
          const cm = irq < GIC_INTERNAL ? 1 << cpu : ALL_CPU_MASK;
          if (value & (1 << i)) this.group[irq + i]! |= cm;
          else this.group[irq + i]! &= ~cm;
        }
      }
      return;
    }
    if (offset < GICD.ICENABLER) {
      const irq = (offset - GICD.ISENABLER) * 8;
      if (irq >= this.numIrq) return;
      if (irq < NR_SGIS) value = 0xff;
      for (let i = 0; i < 8; i++) if (value & (1 << i)) this.enabled[irq + i]! |= irq < GIC_INTERNAL ? 1 << cpu : ALL_CPU_MASK;
      return;
    }
    if (offset < GICD.ISPENDR) {
      const irq = (offset - GICD.ICENABLER) * 8;
      if (irq >= this.numIrq) return;
      if (irq < NR_SGIS) value = 0;
      for (let i = 0; i < 8; i++) if (value & (1 << i)) this.enabled[irq + i]! &= ~(irq < GIC_INTERNAL ? 1 << cpu : ALL_CPU_MASK);
      return;
    }
    if (offset < GICD.ICPENDR) {
      const irq = (offset - GICD.ISPENDR) * 8;
      if (irq >= this.numIrq) return;
      if (irq < NR_SGIS) value = 0;
      for (let i = 0; i < 8; i++) if (value & (1 << i)) this.pending[irq + i]! |= irq < GIC_INTERNAL ? 1 << cpu : this.target[irq + i]!;
      return;
    }
    if (offset < GICD.ISACTIVER) {
      const irq = (offset - GICD.ICPENDR) * 8;
      if (irq >= this.numIrq) return;
      if (irq < NR_SGIS) value = 0;
      for (let i = 0; i < 8; i++) if (value & (1 << i)) this.pending[irq + i] = 0; // QEMU clears for all CPUs
      return;
    }
    if (offset < GICD.IPRIORITYR) {
      const set = offset < GICD.ICACTIVER;
      const irq = (offset - (set ? GICD.ISACTIVER : GICD.ICACTIVER)) * 8;
      if (irq >= this.numIrq) return;
      const cm = irq < GIC_INTERNAL ? 1 << cpu : ALL_CPU_MASK;
      for (let i = 0; i < 8; i++) {
        if (!(value & (1 << i))) continue;
        if (set) this.active[irq + i]! |= cm;
        else this.active[irq + i]! &= ~cm;
      }
      return;
    }
    if (offset < GICD.ITARGETSR) {
      const irq = offset - GICD.IPRIORITYR;
      if (irq < this.numIrq) this.setPriority(irq, cpu, value & 0xff);
      return;
    }
    if (offset < GICD.ICFGR) {
      if (this.numCpu === 1) {
        // Delivery stays on CPU0 whatever is written; only what reads back differs.
        const irq = offset - GICD.ITARGETSR;
        if (irq < GIC_INTERNAL || irq >= this.numIrq || this.upTargets === 'raz_wi') return;
        if (this.upTargets === 'kvm') this.shownTarget[irq] = value & 1;
        return; // Xen: the only vCPU stays the target (a write naming none is ignored)
      }
      const irq = offset - GICD.ITARGETSR;
      if (irq >= this.numIrq) return;
      if (irq < GIC_INTERNAL) value = ALL_CPU_MASK;
      const cpus = (1 << this.numCpu) - 1;
      this.target[irq] = value & ALL_CPU_MASK & cpus;
      if (irq >= GIC_INTERNAL && this.pending[irq]) this.pending[irq] = value & ALL_CPU_MASK & cpus;
      return;
    }
    if (offset < GICD.SGIR) {
      const irq = (offset - GICD.ICFGR) * 4;
      if (irq >= this.numIrq) return;
      if (irq < NR_SGIS) value |= 0xaa;
      for (let i = 0; i < 4; i++) this.edge[irq + i] = value & (2 << (i * 2)) ? 1 : 0;
      return;
    }
    if (offset < GICD.CPENDSGIR) return; // SGIR only decodes as a 32-bit write
    if (offset < GICD.SPENDSGIR) {
      const irq = offset - GICD.CPENDSGIR;
      const k = irq * NCPU_MAX + cpu;
      this.sgiPending[k]! &= ~value;
      if (this.sgiPending[k] === 0) this.pending[irq]! &= ~(1 << cpu);
      return;
    }
    if (offset < GICD.SPENDSGIR + 0x10) {
      const irq = offset - GICD.SPENDSGIR;
      this.pending[irq]! |= 1 << cpu;
      this.sgiPending[irq * NCPU_MAX + cpu]! |= value & 0xff;
    }
  }

  /** GICD_SGIR write from `cpu`. */
  sendSgi(cpu: number, value: number): void {
    const irq = value & 0xf;
    let mask: number;
    switch ((value >>> 24) & 3) {
      case 0:
        mask = (value >>> 16) & ALL_CPU_MASK;
        break;
      case 1:
        mask = ALL_CPU_MASK ^ (1 << cpu);
        break;
      case 2:
        mask = 1 << cpu;
        break;
      default:
        mask = ALL_CPU_MASK; // reserved filter: QEMU targets everyone
    }
    mask &= (1 << this.numCpu) - 1;
    this.pending[irq]! |= mask;
    for (let t = 0; t < this.numCpu; t++) if (mask & (1 << t)) this.sgiPending[irq * NCPU_MAX + t]! |= 1 << cpu;
    this.update();
  }

  // ---- CPU interface register access ------------------------------------------------------

  cpuRead(offset: number, cpu: number): number {
    switch (offset) {
      case GICC.CTLR:
        return this.cpuCtlr[cpu]!;
      case GICC.PMR:
        return this.pmr[cpu]!;
      case GICC.BPR:
        return this.bpr[cpu]!;
      case GICC.IAR:
        return this.acknowledge(cpu);
      case GICC.RPR:
        return this.runningPriority[cpu]! > 0xff ? 0xff : this.runningPriority[cpu]!;
      case GICC.HPPIR:
        return this.currentPendingIrq(cpu);
      case GICC.ABPR:
        return this.abpr[cpu]!;
      case GICC.APR:
      case GICC.APR + 4:
      case GICC.APR + 8:
      case GICC.APR + 12:
        return this.apr[((offset - GICC.APR) >> 2) * NCPU_MAX + cpu]!;
      case GICC.NSAPR:
      case GICC.NSAPR + 4:
      case GICC.NSAPR + 8:
      case GICC.NSAPR + 12:
        return this.nsapr[((offset - GICC.NSAPR) >> 2) * NCPU_MAX + cpu]!;
      case GICC.IIDR:
        return (2 << 16) | 0x43b;
      default:
        return 0; // RAZ: the write-only EOIR and DIR, the aliased A* registers (not modelled) and unused offsets
    }
  }

  cpuWrite(offset: number, value: number, cpu: number): void {
    switch (offset) {
      case GICC.CTLR:
        this.cpuCtlr[cpu] = value & CTLR_V2_MASK;
        break;
      case GICC.PMR:
        this.pmr[cpu] = value & 0xff;
        break;
      case GICC.BPR:
        this.bpr[cpu] = Math.max(value & 7, this.minBpr);
        break;
      case GICC.EOIR:
        this.complete(cpu, value);
        return;
      case GICC.ABPR:
        this.abpr[cpu] = Math.max(value & 7, this.minBpr + 1);
        break;
      case GICC.APR:
      case GICC.APR + 4:
      case GICC.APR + 8:
      case GICC.APR + 12:
        this.apr[((offset - GICC.APR) >> 2) * NCPU_MAX + cpu] = value >>> 0;
        this.runningPriority[cpu] = this.priorityFromApr(cpu);
        break;
      case GICC.NSAPR:
      case GICC.NSAPR + 4:
      case GICC.NSAPR + 8:
      case GICC.NSAPR + 12:
        this.nsapr[((offset - GICC.NSAPR) >> 2) * NCPU_MAX + cpu] = value >>> 0;
        this.runningPriority[cpu] = this.priorityFromApr(cpu);
        break;
      case GICC.DIR:
        this.deactivate(cpu, value);
        break;
      default:
        return; // WI: read-only and unused offsets
    }
    this.update();
  }

  /** Is `intid` active on `cpu`? (tests, analyzers of live state) */
  isActive(intid: number, cpu: number): boolean {
    return (this.active[intid]! & (1 << cpu)) !== 0;
  }

  isPending(intid: number, cpu: number): boolean {
    return this.testPending(intid, 1 << cpu);
  }

  // ---- state as another register interface (gicv2-xen.ts) sets it -------------------------

  /** Is `irq` enabled for `cpu` (SGIs and PPIs are per CPU)? */
  isEnabled(irq: number, cpu: number): boolean {
    return (this.enabled[irq]! & (irq < GIC_INTERNAL ? 1 << cpu : ALL_CPU_MASK)) !== 0;
  }

  setEnabled(irq: number, cpu: number, on: boolean): void {
    const cm = irq < GIC_INTERNAL ? 1 << cpu : ALL_CPU_MASK;
    if (on) this.enabled[irq]! |= cm;
    else this.enabled[irq]! &= ~cm;
  }

  /** Make `irq` pending as the guest asked from `cpu` (an SGI comes from that CPU itself). */
  setPendingFrom(irq: number, cpu: number): void {
    if (irq < NR_SGIS) {
      this.pending[irq]! |= 1 << cpu;
      this.sgiPending[irq * NCPU_MAX + cpu]! |= 1 << cpu;
    } else this.pending[irq]! |= irq < GIC_INTERNAL ? 1 << cpu : this.target[irq]!;
  }

  setPriorityOf(irq: number, cpu: number, v: number): void {
    this.setPriority(irq, cpu, v & 0xff);
  }

  /** The CPU an SPI is routed to (lowest set target bit), or -1. */
  spiTarget(irq: number): number {
    const t = this.target[irq]!;
    return t ? ctz32(t) : -1;
  }

  /** Route an SPI to one CPU. */
  routeSpi(irq: number, cpu: number): void {
    this.target[irq] = 1 << cpu;
    if (this.pending[irq]) this.pending[irq] = 1 << cpu;
  }

  setEdge(irq: number, edge: boolean): void {
    if (irq >= NR_SGIS) this.edge[irq] = edge ? 1 : 0;
  }
}

class GicV2Dist implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';
  private readonly gic: GicV2;
  constructor(gic: GicV2, region: DeviceRegion) {
    this.gic = gic;
    this.region = region;
  }
  registerName(offset: number): string {
    return distRegisterName(offset);
  }
  read(offset: number, size: number, vcpu: number): number {
    let v = 0;
    for (let i = 0; i < size && i < 4; i++) v |= this.gic.distReadByte(offset + i, vcpu) << (8 * i);
    return v >>> 0;
  }
  write(offset: number, size: number, value: number, vcpu: number): void {
    if (offset === GICD.SGIR && size === 4) {
      this.gic.sendSgi(vcpu, value >>> 0);
      return;
    }
    for (let i = 0; i < size && i < 4; i++) this.gic.distWriteByte(offset + i, (value >>> (8 * i)) & 0xff, vcpu);
    this.gic.update();
  }
}

class GicV2Cpu implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';
  private readonly gic: GicV2;
  constructor(gic: GicV2, region: DeviceRegion) {
    this.gic = gic;
    this.region = region;
  }
  registerName(offset: number): string {
    return cpuRegisterName(offset);
  }
  read(offset: number, _size: number, vcpu: number): number {
    return this.gic.cpuRead(offset, vcpu) >>> 0;
  }
  write(offset: number, _size: number, value: number, vcpu: number): void {
    this.gic.cpuWrite(offset, value >>> 0, vcpu);
  }
}

/** Count of trailing zero bits (32 for 0). */
export function ctz32(v: number): number {
  return v === 0 ? 32 : 31 - Math.clz32(v & -v);
}
