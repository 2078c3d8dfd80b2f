// virtio-mmio transport with no device behind it, as QEMU's virtio-mmio answers for an empty
// slot (hw/virtio/virtio-mmio.c, no backend): MagicValue, Version (1 = legacy, QEMU's default
// force-legacy=true, or 2) and VendorID; everything else, DeviceID included, reads 0 and writes
// are ignored, at any access size. Linux's probe sees DeviceID 0 and skips the slot. Registers as
// virtio 1.2 §4.2.2 lays them out.

import type { DeviceRegion, MmioOutcome } from '../../capture/model.ts';
import { registerName as virtioRegisterName, VIRTIO_MMIO, VIRTIO_MMIO_REG } from '../../arch/regmaps/virtio-mmio.ts';
import type { MmioDevice } from '../types.ts';

export const VIRTIO_VENDOR_QEMU = 0x554d4551;

export interface VirtioMmioOptions {
  region: DeviceRegion;
  /** 1 = legacy (QEMU's default), 2 = modern (force-legacy=false). */
  version?: 1 | 2;
}

export class VirtioMmio implements MmioDevice {
  readonly region: DeviceRegion;
  readonly version: 1 | 2;
  lastOutcome: MmioOutcome = 'handled';

  constructor(opts: VirtioMmioOptions) {
    this.region = opts.region;
    this.version = opts.version ?? 1;
  }

  registerName(offset: number): string {
    return virtioRegisterName(offset);
  }

  read(offset: number, size: number, _vcpu = 0): number {
    let v: number;
    switch (offset) {
      case VIRTIO_MMIO_REG.MagicValue:
        v = VIRTIO_MMIO.MAGIC;
        break;
      case VIRTIO_MMIO_REG.Version:
        v = this.version;
        break;
      case VIRTIO_MMIO_REG.VendorID:
        v = VIRTIO_VENDOR_QEMU;
        break;
      default:
        return 0;
    }
    return size >= 4 ? v >>> 0 : v & ((1 << (size * 8)) - 1);
  }

  write(_offset?: number, _size?: number, _value?: number, _vcpu?: number): void {
    // No device: writes are ignored.
  }
}
