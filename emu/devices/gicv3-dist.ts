// The GICv3 distributor (GICD) as QEMU's arm_gicv3 presents it with DS = 1 and ARE = 1: SPI group,
// enable, pending, active, priority, trigger and IROUTER routing (INTIDs 0-31 live in the
// redistributors), and the ID registers QEMU 7.2 reads. Offsets are the register map's
// (arch/regmaps/gicv3.ts). Arm IHI 0069H chapter 12 (GICD_*); docs/emulator-platform.md.

import type { DeviceRegion, MmioOutcome } from '../../capture/model.ts';
import { GICD, GICV3_FRAME, distRegisterName } from '../../arch/regmaps/gicv3.ts';
import type { MmioDevice } from '../types.ts';
import {
  CTLR_ARE,
  CTLR_DS,
  CTLR_EN_GRP0,
  CTLR_EN_GRP1,
  GIC_INTERNAL,
  IIDR,
  KVM_IIDR,
  edgeBitsOf,
  icfgrOf,
  type GicV3State,
} from './gicv3-state.ts';

const GICD_IDS = [0x44, 0x00, 0x00, 0x00, 0x92, 0xb4, 0x3b, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

/** The bitmap register arrays span 32 words each (0x80 bytes). */
const BITMAP_SPAN = 0x80;

/**
 * The RAZ/WI rule of this configuration, stated once: ITARGETSR (ignored with ARE = 1), NSACR
 * (DS = 1) and the legacy SGI registers SGIR, CPENDSGIR and SPENDSGIR (ARE = 1) read as zero and
 * ignore writes, as ordinary handled accesses.
 */
function isRazWi(off: number): boolean {
  return (off >= GICD.ITARGETSR && off < GICD.ICFGR) || (off >= GICD.NSACR && off < GICD.SPENDSGIR + 0x10);
}

export class GicV3Distributor implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';
  private readonly gic: GicV3State;

  constructor(gic: GicV3State, region: DeviceRegion) {
    this.gic = gic;
    this.region = region;
  }

  registerName(offset: number): string {
    return distRegisterName(offset);
  }

  read(offset: number, size: number, _vcpu = 0): number {
    if (size < 4) {
      // Only IPRIORITYR and ITARGETSR are byte-accessible.
      if (offset >= GICD.IPRIORITYR && offset < GICD.ITARGETSR) {
        let v = 0;
        for (let i = 0; i < size; i++) v |= this.readPrio(offset - GICD.IPRIORITYR + i) << (8 * i);
        return v;
      }
      if (offset >= GICD.ITARGETSR && offset < GICD.ICFGR) return 0;
      this.lastOutcome = 'raz_wi';
      return 0;
    }
    const v = (offset & 3) === 0 ? this.read32(offset) : undefined;
    if (v === undefined) {
      this.lastOutcome = 'raz_wi';
      return 0;
    }
    return v >>> 0;
  }

  write(offset: number, size: number, value: number, _vcpu = 0): void {
    if (size < 4) {
      if (offset >= GICD.IPRIORITYR && offset < GICD.ITARGETSR) {
        for (let i = 0; i < size; i++) this.writePrio(offset - GICD.IPRIORITYR + i, (value >>> (8 * i)) & 0xff);
        this.gic.updateAll();
        return;
      }
      if (offset >= GICD.ITARGETSR && offset < GICD.ICFGR) return;
      this.lastOutcome = 'raz_wi';
      return;
    }
    if ((offset & 3) !== 0 || !this.write32(offset, value >>> 0)) this.lastOutcome = 'raz_wi';
  }

  read64(offset: number, _vcpu = 0): bigint {
    if (this.isIrouter64(offset)) {
      const lo = this.read32(offset) ?? 0;
      const hi = this.read32(offset + 4) ?? 0;
      return (BigInt(hi) << 32n) | BigInt(lo);
    }
    this.lastOutcome = 'raz_wi';
    return 0n;
  }

  write64(offset: number, value: bigint, _vcpu = 0): void {
    if (this.isIrouter64(offset)) {
      this.write32(offset + 4, Number((value >> 32n) & 0xffffffffn));
      this.write32(offset, Number(value & 0xffffffffn));
      return;
    }
    this.lastOutcome = 'raz_wi';
  }

  /** 64-bit accesses decode only as aligned GICD_IROUTER<n> (n < 1024). */
  private isIrouter64(offset: number): boolean {
    return offset >= GICD.IROUTER && offset < GICD.IROUTER + 8 * 1024 && (offset & 7) === 0;
  }

  /** 32-bit bitmap registers (IGROUPR, IS/ICENABLER, IS/ICPENDR, IS/ICACTIVER, IGRPMODR). */
  private bitmapArray(base: number): Uint32Array | undefined {
    const g = this.gic;
    switch (base) {
      case GICD.IGROUPR:
        return g.group;
      case GICD.ISENABLER:
      case GICD.ICENABLER:
        return g.enabled;
      case GICD.ISPENDR:
      case GICD.ICPENDR:
        return g.pending;
      case GICD.ISACTIVER:
      case GICD.ICACTIVER:
        return g.active;
      case GICD.IGRPMODR:
        return g.grpmod;
      default:
        return undefined;
    }
  }

  private isBitmap(off: number): boolean {
    return off < GICD.IPRIORITYR || (off >= GICD.IGRPMODR && off < GICD.IGRPMODR + BITMAP_SPAN);
  }

  /** Returns undefined for offsets that do not decode (RAZ/WI and logged as such). */
  private read32(off: number): number | undefined {
    const g = this.gic;
    if (off < GICD.IGROUPR) {
      switch (off) {
        case GICD.CTLR:
          return g.ctlr;
        case GICD.TYPER:
          // KVM: IDbits = 16, LPIS, ITLinesNumber for every INTID (SPIs and the 32 private ones:
          // Arm IHI 0069H §12.9.38). QEMU 7.2: No1N and A3V too, and ITLinesNumber counts SPIs only.
          // KVM: LPIS and 16 ID bits only with an ITS, else the 10 bits SPIs need.
          if (g.ids === 'kvm') return ((g.lpis ? (15 << 19) | (1 << 17) : 9 << 19) | ((g.numIrq >> 5) - 1)) >>> 0;
          return ((1 << 25) | (1 << 24) | (15 << 19) | (1 << 17) | ((g.numIrq - GIC_INTERNAL) / 32 - 1)) >>> 0;
        case GICD.IIDR:
          return g.ids === 'kvm' ? KVM_IIDR : IIDR;
        case GICD.TYPER2:
        case GICD.STATUSR:
          return 0;
        default:
          return undefined;
      }
    }
    if (this.isBitmap(off)) {
      const base = off < GICD.IPRIORITYR ? off & ~(BITMAP_SPAN - 1) : GICD.IGRPMODR;
      const w = (off - base) >> 2;
      const arr = this.bitmapArray(base);
      if (!arr || w >= g.words) return undefined;
      if (w === 0) return 0; // INTIDs 0-31 live in the redistributors (ARE = 1)
      if (base === GICD.ISPENDR || base === GICD.ICPENDR) return (arr[w]! | (~g.edge[w]! & g.level[w]!)) >>> 0;
      return arr[w]! >>> 0;
    }
    if (off < GICD.ITARGETSR) {
      let v = 0;
      for (let i = 0; i < 4; i++) v |= this.readPrio(off - GICD.IPRIORITYR + i) << (8 * i);
      return v >>> 0;
    }
    if (isRazWi(off)) return 0;
    if (off < GICD.IGRPMODR) {
      const idx = (off - GICD.ICFGR) >> 2;
      if (idx >= g.numIrq / 16) return undefined;
      if (idx < 2) return 0;
      return icfgrOf(g.edge[idx >> 1]! >>> ((idx & 1) * 16));
    }
    if (off >= GICD.IROUTER && off < GICD.IROUTER + 8 * g.numIrq) {
      const irq = (off - GICD.IROUTER) >> 3;
      if (irq < GIC_INTERNAL) return 0;
      return off & 4 ? g.irouterHi[irq]! : g.irouterLo[irq]!;
    }
    if (off >= GICD.PIDR4 && off < GICV3_FRAME) return GICD_IDS[(off - GICD.PIDR4) >> 2]!;
    return undefined;
  }

  private readPrio(irq: number): number {
    const g = this.gic;
    if (irq < GIC_INTERNAL || irq >= g.numIrq) return 0;
    return g.prio[irq]!;
  }

  private writePrio(irq: number, v: number): void {
    const g = this.gic;
    if (irq < GIC_INTERNAL || irq >= g.numIrq) return;
    g.prio[irq] = v & 0xff;
  }

  /** Returns false for offsets that do not decode. */
  private write32(off: number, v: number): boolean {
    const g = this.gic;
    if (off < GICD.IGROUPR) {
      if (off === GICD.CTLR) {
        g.ctlr = CTLR_ARE | CTLR_DS | (v & (CTLR_EN_GRP0 | CTLR_EN_GRP1));
        g.updateAll();
        return true;
      }
      return off === GICD.TYPER || off === GICD.IIDR || off === GICD.TYPER2 || off === GICD.STATUSR;
    }
    if (this.isBitmap(off)) {
      const base = off < GICD.IPRIORITYR ? off & ~(BITMAP_SPAN - 1) : GICD.IGRPMODR;
      const w = (off - base) >> 2;
      const arr = this.bitmapArray(base);
      if (!arr || w >= g.words) return false;
      if (w === 0) return true;
      switch (base) {
        case GICD.IGROUPR:
        case GICD.IGRPMODR:
          arr[w] = v;
          break;
        case GICD.ISENABLER:
        case GICD.ISPENDR:
        case GICD.ISACTIVER:
          arr[w]! |= v;
          break;
        default:
          arr[w]! &= ~v;
      }
      g.updateAll();
      return true;
    }
    if (off < GICD.ITARGETSR) {
      for (let i = 0; i < 4; i++) this.writePrio(off - GICD.IPRIORITYR + i, (v >>> (8 * i)) & 0xff);
      g.updateAll();
      return true;
    }
    if (isRazWi(off)) return true;
    if (off < GICD.IGRPMODR) {
      const idx = (off - GICD.ICFGR) >> 2;
      if (idx >= g.numIrq / 16) return false;
      if (idx < 2) return true;
      const bits = edgeBitsOf(v);
      const w = idx >> 1;
      const sh = (idx & 1) * 16;
      g.edge[w] = ((g.edge[w]! & ~(0xffff << sh)) | (bits << sh)) >>> 0;
      g.updateAll();
      return true;
    }
    if (off >= GICD.IROUTER && off < GICD.IROUTER + 8 * g.numIrq) {
      const irq = (off - GICD.IROUTER) >> 3;
      if (irq < GIC_INTERNAL) return true;
      if (off & 4) g.irouterHi[irq] = v & 0xff;
      else g.irouterLo[irq] = v & 0x80ffffff;
      g.spiTarget[irq] = g.routeOf(irq);
      g.updateAll();
      return true;
    }
    return false;
  }
}
