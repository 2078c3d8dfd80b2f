// The GICv2 distributor as Xen 4.17's vgic-v2 (xen/arch/arm/vgic-v2.c) shows it to a domU: the
// register interface in front of the GICv2 model's interrupt state (gicv2.ts). The CPU interface is
// not Xen's: a domU's GICC is the hardware's virtual CPU interface, mapped straight in.
// What a domU reads differs from QEMU's GICv2:
//   - GICD_CTLR keeps only Enable; GICD_TYPER = (vCPUs − 1) << 5 | SPIs / 32 (no SecurityExtn);
//     GICD_IIDR 0x43b; the identification registers RAZ, except ICPIDR2, whose reads abort;
//   - IGROUPR and NSACR RAZ/WI (word accesses only); pending and active state reads as zero;
//     ICPENDR writes and ICACTIVER writes are ignored; an ISACTIVER write of anything but 0 aborts;
//   - SGIs start disabled (the guest enables them); ICFGR0 and ICFGR1 ignore writes and ICFGR reads
//     back what was written; ITARGETSR names one vCPU per interrupt (the lowest of a written mask; a
//     mask naming no vCPU is ignored), ITARGETSR0-7 read the calling vCPU and ignore word writes;
//     GICD_SGIR reads 0xdeadbeef; writes to C/SPENDSGIR abort;
//   - access widths: registers Xen handles only as words abort other widths (IPRIORITYR and
//     ITARGETSR take bytes too); reserved and implementation-defined offsets are RAZ/WI, except
//     that writes to 0xFEC-0xFFC abort.
// Arm IHI 0048B §4.3 names the registers; docs/xen.md ("The vGIC") lists every answer.

import type { DeviceRegion, MmioOutcome } from '../../capture/model.ts';
import { distRegisterName, GICD } from '../../arch/regmaps/gicv2.ts';
import type { MmioDevice } from '../types.ts';

const GIC_INTERNAL = 32;
const WORD = 4;
/** GICD_IPRIORITYR0-254 and GICD_ITARGETSR0-254: the last word of each range (0x7FC, 0xBFC) is reserved. */
const IPRIORITYR_END = GICD.IPRIORITYR + 4 * 255;
const ITARGETSR_END = GICD.ITARGETSR + 4 * 255;
/** GICD_ICFGR0-63: two bits for each of 1024 INTIDs. */
const ICFGR_END = GICD.ICFGR + 4 * 64;
/** GICD_IIDR of Xen's vgic-v2 (the hardware's, as Xen says). */
export const XEN_VGIC_V2_IIDR = 0x43b;

/** What the Xen register view needs from the GICv2 model (gicv2.ts's GicV2 provides it). */
export interface VgicV2State {
  readonly numCpu: number;
  readonly numIrq: number;
  ctlr: number;
  isEnabled(irq: number, cpu: number): boolean;
  setEnabled(irq: number, cpu: number, on: boolean): void;
  setPendingFrom(irq: number, cpu: number): void;
  priority(irq: number, cpu: number): number;
  setPriorityOf(irq: number, cpu: number, v: number): void;
  spiTarget(irq: number): number;
  routeSpi(irq: number, cpu: number): void;
  setEdge(irq: number, edge: boolean): void;
  sendSgi(cpu: number, value: number): void;
  update(): void;
}

const inRange = (off: number, start: number, last: number): boolean => off >= start && off <= last + 3;

export class XenVgicV2Dist implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';
  private readonly gic: VgicV2State;
  /** ICFGR<n> as written (Xen reads it back verbatim; the model keeps only trigger bits). */
  private readonly icfg: Uint32Array;

  constructor(gic: VgicV2State, region: DeviceRegion) {
    this.gic = gic;
    this.region = region;
    this.icfg = new Uint32Array(gic.numIrq / 16);
  }

  reset(): void {
    this.icfg.fill(0);
  }

  registerName(offset: number): string {
    return distRegisterName(offset);
  }

  read(off: number, size: number, vcpu: number): number {
    return this.access(off, size, vcpu, undefined) >>> 0;
  }

  write(off: number, size: number, value: number, vcpu: number): void {
    this.access(off, size, vcpu, value >>> 0);
    this.gic.update();
  }

  /** A 64-bit access: no register of vgic-v2 takes one (a bad width everywhere Xen checks it). */
  read64(off: number, vcpu: number): bigint {
    return BigInt(this.access(off, 8, vcpu, undefined) >>> 0);
  }

  write64(off: number, value: bigint, vcpu: number): void {
    this.access(off, 8, vcpu, Number(value & 0xffffffffn));
  }

  private access(off: number, size: number, vcpu: number, value: number | undefined): number {
    const g = this.gic;
    const write = value !== undefined;
    const v = value ?? 0;
    const word = size === WORD;
    const byteOrWord = size === 1 || word;
    const bad = (): number => {
      this.lastOutcome = 'abort';
      return 0;
    };
    const razAny = (): number => {
      this.lastOutcome = 'raz_wi';
      return 0;
    };
    const wordReg = (read: number, onWrite?: () => void): number => {
      if (!word) return bad();
      if (write) {
        onWrite?.();
        return 0;
      }
      return read;
    };
    /** Is the rank (32 interrupts) holding `irq` one this domain has? */
    const has = (irq: number): boolean => irq < g.numIrq;

    if (inRange(off, GICD.CTLR, GICD.CTLR)) return wordReg(g.ctlr & 1, () => (g.ctlr = v & 1));
    if (inRange(off, GICD.TYPER, GICD.TYPER)) return wordReg(((g.numCpu - 1) << 5) | ((g.numIrq - GIC_INTERNAL) / 32));
    if (inRange(off, GICD.IIDR, GICD.IIDR)) return wordReg(XEN_VGIC_V2_IIDR);
    if (off < GICD.IGROUPR) return razAny(); // reserved and implementation defined
    if (off < GICD.ISENABLER) return wordReg(0); // IGROUPR: no security extensions
    if (off < GICD.ISPENDR) {
      const set = off < GICD.ICENABLER;
      const irq = ((off - (set ? GICD.ISENABLER : GICD.ICENABLER)) >> 2) * 32;
      if (!word) return bad();
      if (!has(irq)) return write ? 0 : razAny();
      if (write) {
        for (let i = 0; i < 32; i++) if (v & (1 << i)) g.setEnabled(irq + i, vcpu, set);
        return 0;
      }
      let r = 0;
      for (let i = 0; i < 32; i++) if (g.isEnabled(irq + i, vcpu)) r |= 1 << i;
      return r >>> 0;
    }
    if (off < GICD.ICPENDR) {
      if (!write) return 0; // pending state is not readable through vgic-v2
      if (!word) return bad();
      const irq = ((off - GICD.ISPENDR) >> 2) * 32;
      if (has(irq)) for (let i = 0; i < 32; i++) if (v & (1 << i)) g.setPendingFrom(irq + i, vcpu);
      return 0;
    }
    if (off < GICD.ISACTIVER) return write && !word ? bad() : 0; // ICPENDR: writes ignored
    if (off < GICD.ICACTIVER) return write && (!word || v !== 0) ? bad() : 0; // ISACTIVER
    if (off < GICD.IPRIORITYR) return write && !word ? bad() : 0; // ICACTIVER: writes ignored
    if (off < IPRIORITYR_END) {
      if (!byteOrWord) return bad();
      const irq = off - GICD.IPRIORITYR;
      if (!has(irq & ~31)) return write ? 0 : razAny();
      if (write) {
        for (let i = 0; i < size; i++) g.setPriorityOf(irq + i, vcpu, (v >>> (8 * i)) & 0xff);
        return 0;
      }
      let r = 0;
      for (let i = 0; i < size; i++) r |= g.priority(irq + i, vcpu) << (8 * i);
      return r >>> 0;
    }
    if (off < GICD.ITARGETSR) return razAny();
    if (off < ITARGETSR_END) {
      const irq = off - GICD.ITARGETSR;
      if (write && irq < GIC_INTERNAL) return word ? 0 : bad(); // SGI/PPI targets are read-only
      if (!byteOrWord) return bad();
      if (!has(irq & ~31)) return write ? 0 : razAny();
      if (write) {
        for (let i = 0; i < size; i++) {
          const mask = (v >>> (8 * i)) & 0xff;
          const cpu = mask ? 31 - Math.clz32(mask & -mask) : -1; // the lowest vCPU named
          if (cpu >= 0 && cpu < g.numCpu) g.routeSpi(irq + i, cpu); // else: ignored
        }
        return 0;
      }
      let r = 0;
      for (let i = 0; i < size; i++) r |= (1 << (irq + i < GIC_INTERNAL ? vcpu : Math.max(0, g.spiTarget(irq + i)))) << (8 * i);
      return r >>> 0;
    }
    if (off < GICD.ICFGR) return razAny();
    if (off < ICFGR_END) {
      const n = (off - GICD.ICFGR) >> 2;
      if (!word) return bad();
      if (write && n < 2) return 0; // SGIs fixed; PPIs not programmable (Xen's choice)
      if (!has(n * 16)) return write ? 0 : razAny();
      if (write) {
        this.icfg[n] = v;
        for (let i = 0; i < 16; i++) g.setEdge(n * 16 + i, (v & (2 << (2 * i))) !== 0);
        return 0;
      }
      return this.icfg[n]!;
    }
    if (off < GICD.NSACR) return razAny();
    if (off < GICD.SGIR) return wordReg(0); // NSACR
    if (inRange(off, GICD.SGIR, GICD.SGIR)) {
      if (!word) return bad();
      if (!write) return 0xdeadbeef; // write-only: reads unknown
      if (((v >>> 24) & 3) === 3) return bad(); // a target-list filter Xen does not take
      g.sendSgi(vcpu, v);
      return 0;
    }
    if (off < GICD.CPENDSGIR) return razAny();
    if (off < GICD.SPENDSGIR + 0x10) return write ? bad() : 0; // C/SPENDSGIR: no SGI pending bits here
    if (off < GICD.PIDR2) return razAny(); // reserved, implementation-defined identification registers
    if (inRange(off, GICD.PIDR2, GICD.PIDR2)) return write ? (word ? 0 : bad()) : bad(); // ICPIDR2: reads are not handled
    return write ? bad() : razAny(); // 0xFEC-0xFFC: RAZ, writes unhandled
  }
}
