// virtio over PCI, modern interface (OASIS virtio 1.2 §4.1 'Virtio Over PCI Bus'): the vendor
// capability types (§4.1.4), the common configuration structure (§4.1.4.3), the ISR bits
// (§4.1.4.5), device status bits (§2.1) and the feature bits the transport and rings use (§6).
// The BAR layout is QEMU 7.2's (one 16 KiB BAR 4: common, ISR, device, notify at 4 KiB steps).
import { makeLookup, type RegisterDef } from './table.ts';

export const VIRTIO_PCI_VENDOR = 0x1af4;
/** Modern device IDs are 0x1040 + the virtio device type (§4.1.2.1). */
export const VIRTIO_PCI_DEVICE_BASE = 0x1040;

export const VIRTIO_PCI_CAP = { COMMON: 1, NOTIFY: 2, ISR: 3, DEVICE: 4, PCI_CFG: 5 } as const;

/** Offsets of struct virtio_pci_common_cfg (§4.1.4.3). */
export const VIRTIO_COMMON = {
  DFSELECT: 0x00,
  DF: 0x04,
  GFSELECT: 0x08,
  GF: 0x0c,
  MSIX_CONFIG: 0x10,
  NUM_QUEUES: 0x12,
  STATUS: 0x14,
  CFG_GENERATION: 0x15,
  Q_SELECT: 0x16,
  Q_SIZE: 0x18,
  Q_MSIX: 0x1a,
  Q_ENABLE: 0x1c,
  Q_NOTIFY_OFF: 0x1e,
  Q_DESCLO: 0x20,
  Q_DESCHI: 0x24,
  Q_AVAILLO: 0x28,
  Q_AVAILHI: 0x2c,
  Q_USEDLO: 0x30,
  Q_USEDHI: 0x34,
  Q_NOTIFY_DATA: 0x38,
  Q_RESET: 0x3a,
} as const;

/** The common configuration's fields by the names the specification gives them (struct virtio_pci_common_cfg). */
const COMMON: readonly RegisterDef[] = [
  { offset: VIRTIO_COMMON.DFSELECT, name: 'device_feature_select' },
  { offset: VIRTIO_COMMON.DF, name: 'device_feature' },
  { offset: VIRTIO_COMMON.GFSELECT, name: 'driver_feature_select' },
  { offset: VIRTIO_COMMON.GF, name: 'driver_feature' },
  { offset: VIRTIO_COMMON.MSIX_CONFIG, name: 'config_msix_vector', width: 2 },
  { offset: VIRTIO_COMMON.NUM_QUEUES, name: 'num_queues', width: 2 },
  { offset: VIRTIO_COMMON.STATUS, name: 'device_status', width: 1 },
  { offset: VIRTIO_COMMON.CFG_GENERATION, name: 'config_generation', width: 1 },
  { offset: VIRTIO_COMMON.Q_SELECT, name: 'queue_select', width: 2 },
  { offset: VIRTIO_COMMON.Q_SIZE, name: 'queue_size', width: 2 },
  { offset: VIRTIO_COMMON.Q_MSIX, name: 'queue_msix_vector', width: 2 },
  { offset: VIRTIO_COMMON.Q_ENABLE, name: 'queue_enable', width: 2 },
  { offset: VIRTIO_COMMON.Q_NOTIFY_OFF, name: 'queue_notify_off', width: 2 },
  { offset: VIRTIO_COMMON.Q_DESCLO, name: 'queue_desc_lo' },
  { offset: VIRTIO_COMMON.Q_DESCHI, name: 'queue_desc_hi' },
  { offset: VIRTIO_COMMON.Q_AVAILLO, name: 'queue_driver_lo' },
  { offset: VIRTIO_COMMON.Q_AVAILHI, name: 'queue_driver_hi' },
  { offset: VIRTIO_COMMON.Q_USEDLO, name: 'queue_device_lo' },
  { offset: VIRTIO_COMMON.Q_USEDHI, name: 'queue_device_hi' },
  { offset: VIRTIO_COMMON.Q_NOTIFY_DATA, name: 'queue_notify_data', width: 2 },
  { offset: VIRTIO_COMMON.Q_RESET, name: 'queue_reset', width: 2 },
];

export const commonRegisterName = makeLookup(COMMON);

/** QEMU 7.2's layout of BAR 4. */
export const VIRTIO_PCI_BAR = {
  INDEX: 4,
  SIZE: 0x4000,
  COMMON: 0x0000,
  ISR: 0x1000,
  DEVICE: 0x2000,
  NOTIFY: 0x3000,
  REGION: 0x1000,
  /** notify_off_multiplier: queue q is notified at NOTIFY + 4·q. */
  NOTIFY_MULTIPLIER: 4,
} as const;

export const VIRTIO_ISR = { QUEUE: 1, CONFIG: 2 } as const;

export const VIRTIO_STATUS = { ACKNOWLEDGE: 1, DRIVER: 2, DRIVER_OK: 4, FEATURES_OK: 8, NEEDS_RESET: 0x40, FAILED: 0x80 } as const;

/** Feature bits (§6 'Reserved Feature Bits') as bit numbers. */
export const VIRTIO_F = {
  NOTIFY_ON_EMPTY: 24,
  ANY_LAYOUT: 27,
  RING_INDIRECT_DESC: 28,
  RING_EVENT_IDX: 29,
  /** Offered by QEMU for legacy reasons (VIRTIO_F_BAD_FEATURE); never accepted. */
  BAD_FEATURE: 30,
  VERSION_1: 32,
  RING_RESET: 40,
} as const;

export const VIRTIO_MSI_NO_VECTOR = 0xffff;

/** Virtio device types (§5). */
export const VIRTIO_ID = { NET: 1, BLOCK: 2, CONSOLE: 3 } as const;

/** Name of a BAR 4 offset: the region and, for the common configuration, the field. */
export function virtioBarRegisterName(offset: number): string {
  if (offset < VIRTIO_PCI_BAR.ISR) return commonRegisterName(offset) || `common+0x${offset.toString(16)}`;
  if (offset < VIRTIO_PCI_BAR.DEVICE) return offset === VIRTIO_PCI_BAR.ISR ? 'isr' : '';
  if (offset < VIRTIO_PCI_BAR.NOTIFY) return `device+0x${(offset - VIRTIO_PCI_BAR.DEVICE).toString(16)}`;
  if (offset < VIRTIO_PCI_BAR.SIZE) return `notify.q${(offset - VIRTIO_PCI_BAR.NOTIFY) / VIRTIO_PCI_BAR.NOTIFY_MULTIPLIER}`;
  return '';
}
