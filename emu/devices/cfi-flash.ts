// QEMU virt's flash: two 64 MiB CFI banks at 0x0 (pflash0: firmware, pflash1: its variables),
// present under KVM as under TCG. Modelled as erased, unbacked flash in read-array mode: every
// read returns 0 (QEMU's unbacked pflash storage is zero-filled) and writes (CFI commands) are
// ignored. U-Boot's qemu_arm64 build reads its environment from bank 1 (0x4000000) before it
// relocates, and dies of an external abort when nothing answers there.
//
// Under KVM QEMU maps the banks as ROM, so array reads do not exit to the VMM; here every read is
// an MMIO access and is recorded (docs/real-guests.md).

import type { DeviceRegion, MmioOutcome } from '../../capture/model.ts';
import type { MmioDevice } from '../types.ts';

export const FLASH_BASE = 0;
export const FLASH_BANK_SIZE = 0x400_0000;

export class CfiFlash implements MmioDevice {
  readonly region: DeviceRegion;
  lastOutcome: MmioOutcome = 'handled';

  constructor(region: DeviceRegion) {
    this.region = region;
  }

  read(_offset: number, _size: number): number {
    return 0;
  }

  write(_offset: number, _size: number, _value: number): void {
    this.lastOutcome = 'raz_wi';
  }

  registerName(offset: number): string {
    return offset < FLASH_BANK_SIZE ? 'bank0' : 'bank1';
  }
}
