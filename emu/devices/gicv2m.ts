// GICv2m MSI frame, as QEMU 7.2's virt machine places it for GICv2 (0x0802_0000, 4 KiB, SPIs
// 80-143): a device's MSI write of an SPI number to MSI_SETSPI_NS raises that SPI as an edge
// (Arm Server Base System Architecture 3.0, appendix E 'GICv2m'). MSI_TYPER tells the driver the
// first SPI and how many there are; MSI_IIDR is QEMU's product ID. Other offsets read 0.

import type { DeviceRegion, MmioOutcome } from '../../capture/model.ts';
import type { MmioDevice } from '../types.ts';
import type { DeviceEnv, InterruptController } from './irq.ts';

export const GICV2M = {
  BASE: 0x0802_0000,
  SIZE: 0x1000,
  MSI_TYPER: 0x008,
  MSI_SETSPI_NS: 0x040,
  MSI_IIDR: 0xfcc,
  /** QEMU virt: 64 SPIs from SPI 48 (INTID 80). */
  FIRST_INTID: 80,
  COUNT: 64,
  /** PRODUCT_ID_QEMU ('Q') in MSI_IIDR[31:20]. */
  IIDR: 0x51 << 20,
} as const;

export class GicV2m implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';
  private readonly irq: InterruptController;
  private readonly env: DeviceEnv;

  constructor(region: DeviceRegion, irq: InterruptController, env: DeviceEnv) {
    this.region = region;
    this.irq = irq;
    this.env = env;
  }

  registerName(offset: number): string {
    switch (offset & ~3) {
      case GICV2M.MSI_TYPER:
        return 'MSI_TYPER';
      case GICV2M.MSI_SETSPI_NS:
        return 'MSI_SETSPI_NS';
      case GICV2M.MSI_IIDR:
        return 'MSI_IIDR';
      default:
        return '';
    }
  }

  read(offset: number, size: number, _vcpu: number): number {
    let v = 0;
    if ((offset & ~3) === GICV2M.MSI_TYPER) v = (GICV2M.FIRST_INTID << 16) | GICV2M.COUNT;
    else if ((offset & ~3) === GICV2M.MSI_IIDR) v = GICV2M.IIDR;
    v >>>= 8 * (offset & 3);
    return size >= 4 ? v >>> 0 : v & ((1 << (8 * size)) - 1);
  }

  write(offset: number, _size: number, value: number, _vcpu: number): void {
    if ((offset & ~3) === GICV2M.MSI_SETSPI_NS) this.setSpi(value, this.region.name);
  }

  /** The INTID a message with this data raises (0: outside the frame's range, ignored). */
  intidFor(data: number): number {
    const intid = data & 0x3ff;
    return intid >= GICV2M.FIRST_INTID && intid < GICV2M.FIRST_INTID + GICV2M.COUNT ? intid : 0;
  }

  /** A write to MSI_SETSPI_NS (from a CPU or a device's MSI): an edge on the SPI it names. */
  setSpi(data: number, source: string): number {
    const intid = this.intidFor(data);
    if (!intid) return 0;
    const r = this.env.recorder;
    if (r.enabled) r.record({ kind: 'irq_line', time: this.env.now(), vcpu: -1, intid, level: 1, trigger: 'edge', source });
    this.irq.setLine(intid, true);
    this.irq.setLine(intid, false);
    return intid;
  }
}
