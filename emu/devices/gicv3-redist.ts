// The GICv3 redistributors (GICR), one per CPU, 128 KiB apart: the RD_base frame (GICR_CTLR,
// GICR_TYPER with affinity, processor number and Last, the GICR_WAKER handshake, no LPIs) and the
// SGI_base frame (SGI/PPI group, enable, pending, active, priority and trigger). Offsets are the
// register map's (arch/regmaps/gicv3.ts). Arm IHI 0069H chapter 12 (GICR_*); docs/emulator-platform.md.

import type { DeviceRegion, MmioOutcome } from '../../capture/model.ts';
import { GICR, GICR_SGI, GICV3_FRAME, redistRegisterName } from '../../arch/regmaps/gicv3.ts';
import type { MmioDevice } from '../types.ts';
import {
  GICR_CTLR_ENABLE_LPIS,
  IIDR,
  REDIST_STRIDE,
  SGI_FRAME,
  WAKER_CA,
  WAKER_PS,
  edgeBitsOf,
  icfgrOf,
  type GicV3State,
} from './gicv3-state.ts';
import { sanitiseTableAttrs } from './gicv3-tables.ts';

const GICR_IDS = [0x44, 0x00, 0x00, 0x00, 0x93, 0xb4, 0x3b, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

/** SGI_base offsets of IPRIORITYR0..7 (byte-accessible), relative to the frame. */
const PRIO_START = GICR_SGI.IPRIORITYR;
const PRIO_END = GICR_SGI.IPRIORITYR + 0x20;

/**
 * The RAZ/WI rule of this model, stated once (offsets within one redistributor): PROPBASER and
 * PENDBASER when the machine has no ITS (no LPIs), and the SGI frame's NSACR (DS = 1) read as
 * zero and ignore writes, as ordinary handled accesses.
 */
function isRazWi(off: number, lpis: boolean): boolean {
  return (!lpis && isLpiBaser(off)) || off === SGI_FRAME + GICR_SGI.NSACR;
}

function isLpiBaser(off: number): boolean {
  return off >= GICR.PROPBASER && off < GICR.PENDBASER + 8;
}

// GICR_PROPBASER / GICR_PENDBASER fields (Arm IHI 0069H §12.11.29, §12.11.32) as KVM's vgic keeps
// them: RES0 bits cleared, cacheability and shareability sanitised; PENDBASER.PTZ reads as 0.
const PROPBASER_RES0 = 0xf8f0_0000_0000_0060n;
const PENDBASER_RES0 = 0xb8f0_0000_0000_f07fn;
const PENDBASER_PTZ = 1n << 62n;
/** PROPBASER/PENDBASER cacheability: inner [9:7], outer [58:56]; shareability [11:10]. */
const RD_TABLE_FIELDS = { inner: 7n, outer: 56n, shareability: 10n } as const;

export class GicV3Redistributor implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';
  private readonly gic: GicV3State;

  constructor(gic: GicV3State, region: DeviceRegion) {
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
      if (s >= PRIO_START && s < PRIO_END) {
        const cs = this.gic.cpus[loc.cpu]!;
        let v = 0;
        for (let i = 0; i < size; i++) v |= cs.prio[s - PRIO_START + i]! << (8 * i);
        return v;
      }
      this.lastOutcome = 'raz_wi';
      return 0;
    }
    const v = (loc.off & 3) === 0 ? this.read32(loc.cpu, loc.off) : undefined;
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
      if (s >= PRIO_START && s < PRIO_END) {
        for (let i = 0; i < size; i++) this.writePrioByte(loc.cpu, s - PRIO_START + i, (value >>> (8 * i)) & 0xff);
        return;
      }
      this.lastOutcome = 'raz_wi';
      return;
    }
    if ((loc.off & 3) !== 0 || !this.write32(loc.cpu, loc.off, value >>> 0)) this.lastOutcome = 'raz_wi';
  }

  read64(offset: number, _vcpu = 0): bigint {
    const loc = this.locate(offset);
    if (!loc) {
      this.lastOutcome = 'abort';
      return 0n;
    }
    if (this.gic.lpis && isLpiBaser(loc.off) && (loc.off & 7) === 0) return this.readLpiBaser(loc.cpu, loc.off);
    const lo = this.read32(loc.cpu, loc.off);
    const hi = this.read32(loc.cpu, loc.off + 4);
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
    if (this.gic.lpis && isLpiBaser(loc.off) && (loc.off & 7) === 0) {
      this.writeLpiBaser(loc.cpu, loc.off, value);
      return;
    }
    if ((loc.off & 7) !== 0 || !this.write32(loc.cpu, loc.off, Number(value & 0xffffffffn))) this.lastOutcome = 'raz_wi';
  }

  // ---- LPI tables (with an ITS) --------------------------------------------------------------

  private readLpiBaser(cpu: number, off: number): bigint {
    if (off === GICR.PROPBASER) return this.gic.propbaser;
    return this.gic.cpus[cpu]!.pendbaser & ~PENDBASER_PTZ;
  }

  /** Writes are ignored once EnableLPIs is set (KVM's vgic; the architecture leaves it UNPREDICTABLE). */
  private writeLpiBaser(cpu: number, off: number, v: bigint): void {
    const cs = this.gic.cpus[cpu]!;
    if (cs.lpiEnabled) return;
    if (off === GICR.PROPBASER) this.gic.propbaser = sanitiseTableAttrs(v & ~PROPBASER_RES0, RD_TABLE_FIELDS);
    else cs.pendbaser = sanitiseTableAttrs(v & ~PENDBASER_RES0, RD_TABLE_FIELDS);
  }

  private setEnableLpis(cpu: number, on: boolean): void {
    const cs = this.gic.cpus[cpu]!;
    if (cs.lpiEnabled === on) return;
    cs.lpiEnabled = on;
    if (!on) cs.lpiPending.clear();
    this.gic.updateCpu(cpu);
  }

  /** A 32-bit register of `cpu`'s redistributor; undefined for offsets that do not decode. */
  private read32(cpu: number, off: number): number | undefined {
    const g = this.gic;
    const cs = g.cpus[cpu]!;
    if (isRazWi(off, g.lpis)) return 0;
    if (isLpiBaser(off)) {
      const v = this.readLpiBaser(cpu, off & ~7);
      return Number(off & 4 ? v >> 32n : v & 0xffffffffn);
    }
    if (off < SGI_FRAME) {
      switch (off) {
        case GICR.CTLR:
          // CES (as QEMU), IR under KVM (Arm IHI 0069H §12.11.2: GICR_INVLPIR/INVALLR/SYNCR are
          // there, so Linux invalidates LPIs through the redistributor), EnableLPIs; RWP never set.
          return (g.ids === 'kvm' ? 6 : 2) | (cs.lpiEnabled ? GICR_CTLR_ENABLE_LPIS : 0);
        case GICR.IIDR:
          return IIDR;
        case GICR.TYPER:
          // CommonLPIAff (QEMU only), Processor_Number, Last, PLPIS; no DirectLPI.
          return ((g.ids === 'kvm' ? 0 : 1 << 24) | (cpu << 8) | (cpu === g.numCpu - 1 ? 1 << 4 : 0) | 1) >>> 0;
        case GICR.TYPER + 4:
          return cs.affinity;
        case GICR.STATUSR:
          return 0;
        case GICR.WAKER:
          // KVM's vGICv3 has no redistributor power management: WAKER reads 0 (awake), ignores writes.
          return g.ids === 'kvm' ? 0 : cs.waker;
        case GICR.SYNCR:
          // KVM: invalidation takes effect at once, so GICR_SYNCR.Busy never reads 1.
          return g.ids === 'kvm' ? 0 : undefined;
        default:
          if (off >= GICR.PIDR4 && off < GICV3_FRAME) return GICR_IDS[(off - GICR.PIDR4) >> 2]!;
          return undefined;
      }
    }
    const s = off - SGI_FRAME;
    switch (s) {
      case GICR_SGI.IGROUPR0:
        return cs.group >>> 0;
      case GICR_SGI.ISENABLER0:
      case GICR_SGI.ICENABLER0:
        return cs.enabled >>> 0;
      case GICR_SGI.ISPENDR0:
      case GICR_SGI.ICPENDR0:
        return (cs.pending | (~cs.edge & cs.level)) >>> 0;
      case GICR_SGI.ISACTIVER0:
      case GICR_SGI.ICACTIVER0:
        return cs.active >>> 0;
      case GICR_SGI.ICFGR0:
        return 0xaaaaaaaa; // SGIs: always edge
      case GICR_SGI.ICFGR1:
        return icfgrOf(cs.edge >>> 16);
      case GICR_SGI.IGRPMODR0:
        return cs.grpmod >>> 0;
      default:
        if (s >= PRIO_START && s < PRIO_END) {
          let v = 0;
          for (let i = 0; i < 4; i++) v |= cs.prio[s - PRIO_START + i]! << (8 * i);
          return v >>> 0;
        }
        return undefined;
    }
  }

  /** Write a 32-bit register of `cpu`'s redistributor; false for offsets that do not decode. */
  private write32(cpu: number, off: number, v: number): boolean {
    const g = this.gic;
    const cs = g.cpus[cpu]!;
    if (isRazWi(off, g.lpis)) return true;
    if (isLpiBaser(off)) {
      const old = this.readLpiBaser(cpu, off & ~7);
      const v64 = off & 4 ? (old & 0xffffffffn) | (BigInt(v >>> 0) << 32n) : (old & ~0xffffffffn) | BigInt(v >>> 0);
      this.writeLpiBaser(cpu, off & ~7, v64);
      return true;
    }
    if (off < SGI_FRAME) {
      switch (off) {
        case GICR.WAKER: {
          if (g.ids === 'kvm') return true;
          let w = v & WAKER_PS;
          if (w & WAKER_PS) w |= WAKER_CA;
          cs.waker = w;
          return true;
        }
        case GICR.CTLR:
          if (g.lpis) this.setEnableLpis(cpu, (v & GICR_CTLR_ENABLE_LPIS) !== 0);
          return true; // without an ITS EnableLPIs stays 0
        case GICR.INVLPIR:
        case GICR.INVLPIR + 4:
        case GICR.INVALLR:
        case GICR.INVALLR + 4:
          // KVM's vGICv3 (GICR_CTLR.IR): re-read an LPI's configuration (INVLPIR.INTID), or all.
          if (g.ids !== 'kvm') return false;
          if (g.lpis && cs.lpiEnabled && off === GICR.INVLPIR) g.reloadLpiConfig?.(v >>> 0);
          if (g.lpis && cs.lpiEnabled && off === GICR.INVALLR) g.reloadLpiConfig?.();
          return true;
        default:
          return false;
      }
    }
    const s = off - SGI_FRAME;
    switch (s) {
      case GICR_SGI.IGROUPR0:
        cs.group = v | 0;
        break;
      case GICR_SGI.ISENABLER0:
        cs.enabled |= v;
        break;
      case GICR_SGI.ICENABLER0:
        cs.enabled &= ~v;
        break;
      case GICR_SGI.ISPENDR0:
        cs.pending |= v;
        break;
      case GICR_SGI.ICPENDR0:
        cs.pending &= ~v;
        break;
      case GICR_SGI.ISACTIVER0:
        cs.active |= v;
        break;
      case GICR_SGI.ICACTIVER0:
        cs.active &= ~v;
        break;
      case GICR_SGI.ICFGR0:
        return true; // SGIs: always edge
      case GICR_SGI.ICFGR1:
        cs.edge = (cs.edge & 0xffff) | (edgeBitsOf(v) << 16);
        break;
      case GICR_SGI.IGRPMODR0:
        cs.grpmod = v | 0;
        break;
      default:
        if (s >= PRIO_START && s < PRIO_END) {
          for (let i = 0; i < 4; i++) cs.prio[s - PRIO_START + i] = (v >>> (8 * i)) & 0xff;
          break;
        }
        return false;
    }
    g.updateCpu(cpu);
    return true;
  }

  private writePrioByte(cpu: number, irq: number, v: number): void {
    this.gic.cpus[cpu]!.prio[irq] = v & 0xff;
    this.gic.updateCpu(cpu);
  }
}
