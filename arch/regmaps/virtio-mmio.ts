// virtio-mmio transport registers, version 1 (legacy) and 2 (OASIS virtio 1.2 §4.2.2 'MMIO Device
// Register Layout', §4.2.4 'Legacy interface'; docs/arch.md).
import { makeLookup, type RegisterDef } from './table.ts';

export const VIRTIO_MMIO_REGISTERS: readonly RegisterDef[] = [
  { offset: 0x000, name: 'MagicValue' },
  { offset: 0x004, name: 'Version' },
  { offset: 0x008, name: 'DeviceID' },
  { offset: 0x00c, name: 'VendorID' },
  { offset: 0x010, name: 'DeviceFeatures' },
  { offset: 0x014, name: 'DeviceFeaturesSel' },
  { offset: 0x020, name: 'DriverFeatures' },
  { offset: 0x024, name: 'DriverFeaturesSel' },
  { offset: 0x028, name: 'GuestPageSize' },
  { offset: 0x030, name: 'QueueSel' },
  { offset: 0x034, name: 'QueueNumMax' },
  { offset: 0x038, name: 'QueueNum' },
  { offset: 0x03c, name: 'QueueAlign' },
  { offset: 0x040, name: 'QueuePFN' },
  { offset: 0x044, name: 'QueueReady' },
  { offset: 0x050, name: 'QueueNotify' },
  { offset: 0x060, name: 'InterruptStatus' },
  { offset: 0x064, name: 'InterruptACK' },
  { offset: 0x070, name: 'Status' },
  { offset: 0x080, name: 'QueueDescLow' },
  { offset: 0x084, name: 'QueueDescHigh' },
  { offset: 0x090, name: 'QueueDriverLow' },
  { offset: 0x094, name: 'QueueDriverHigh' },
  { offset: 0x0a0, name: 'QueueDeviceLow' },
  { offset: 0x0a4, name: 'QueueDeviceHigh' },
  { offset: 0x0ac, name: 'SHMSel' },
  { offset: 0x0b0, name: 'SHMLenLow' },
  { offset: 0x0b4, name: 'SHMLenHigh' },
  { offset: 0x0b8, name: 'SHMBaseLow' },
  { offset: 0x0bc, name: 'SHMBaseHigh' },
  { offset: 0x0c0, name: 'QueueReset' },
  { offset: 0x0fc, name: 'ConfigGeneration' },
];

export const VIRTIO_MMIO = { MAGIC: 0x74726976, CONFIG: 0x100 } as const;

const base = makeLookup(VIRTIO_MMIO_REGISTERS);

/** Transport register name, or `Config+0xNN` inside the device-specific configuration space. */
export function registerName(offset: number): string {
  if (offset >= VIRTIO_MMIO.CONFIG) return `Config+0x${(offset - VIRTIO_MMIO.CONFIG).toString(16)}`;
  return base(offset);
}
