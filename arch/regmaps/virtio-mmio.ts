// virtio-mmio transport registers, version 1 (legacy) and 2 (OASIS virtio 1.2 §4.2.2 'MMIO Device
// Register Layout', §4.2.4 'Legacy interface'; docs/arch.md).
import { makeLookup, type RegisterDef } from './table.ts';

/** Register offsets (virtio 1.2 §4.2.2; GuestPageSize, QueueAlign and QueuePFN are legacy only, §4.2.4). */
export const VIRTIO_MMIO_REG = {
  MagicValue: 0x000,
  Version: 0x004,
  DeviceID: 0x008,
  VendorID: 0x00c,
  DeviceFeatures: 0x010,
  DeviceFeaturesSel: 0x014,
  DriverFeatures: 0x020,
  DriverFeaturesSel: 0x024,
  GuestPageSize: 0x028,
  QueueSel: 0x030,
  QueueNumMax: 0x034,
  QueueNum: 0x038,
  QueueAlign: 0x03c,
  QueuePFN: 0x040,
  QueueReady: 0x044,
  QueueNotify: 0x050,
  InterruptStatus: 0x060,
  InterruptACK: 0x064,
  Status: 0x070,
  QueueDescLow: 0x080,
  QueueDescHigh: 0x084,
  QueueDriverLow: 0x090,
  QueueDriverHigh: 0x094,
  QueueDeviceLow: 0x0a0,
  QueueDeviceHigh: 0x0a4,
  SHMSel: 0x0ac,
  SHMLenLow: 0x0b0,
  SHMLenHigh: 0x0b4,
  SHMBaseLow: 0x0b8,
  SHMBaseHigh: 0x0bc,
  QueueReset: 0x0c0,
  ConfigGeneration: 0x0fc,
} as const;

export const VIRTIO_MMIO_REGISTERS: readonly RegisterDef[] = Object.entries(VIRTIO_MMIO_REG).map(([name, offset]) => ({ offset, name }));

export const VIRTIO_MMIO = { MAGIC: 0x74726976, CONFIG: 0x100 } as const;

const base = makeLookup(VIRTIO_MMIO_REGISTERS);

/** Transport register name, or `Config+0xNN` inside the device-specific configuration space. */
export function registerName(offset: number): string {
  if (offset >= VIRTIO_MMIO.CONFIG) return `Config+0x${(offset - VIRTIO_MMIO.CONFIG).toString(16)}`;
  return base(offset);
}
