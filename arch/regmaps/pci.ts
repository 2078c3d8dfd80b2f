// PCI configuration space: the type 0 header, the command/status bits, capability IDs, BAR
// encoding (PCI Local Bus Specification 3.0 §6.1 'Configuration Space Organization', §6.2.5 'Base
// Addresses', §6.7 'Capabilities List'; PCI Express Base Specification 5.0 §7.2.2 'PCI Express
// Enhanced Configuration Access Mechanism (ECAM)').
import { makeLookup, type RegisterDef } from './table.ts';

/** Type 0 header offsets. */
export const PCI_CFG = {
  VENDOR_ID: 0x00,
  DEVICE_ID: 0x02,
  COMMAND: 0x04,
  STATUS: 0x06,
  REVISION_ID: 0x08,
  CLASS_PROG: 0x09,
  CLASS_DEVICE: 0x0a,
  CACHE_LINE_SIZE: 0x0c,
  LATENCY_TIMER: 0x0d,
  HEADER_TYPE: 0x0e,
  BIST: 0x0f,
  BAR0: 0x10,
  CARDBUS_CIS: 0x28,
  SUBSYSTEM_VENDOR_ID: 0x2c,
  SUBSYSTEM_ID: 0x2e,
  ROM_ADDRESS: 0x30,
  CAPABILITY_LIST: 0x34,
  INTERRUPT_LINE: 0x3c,
  INTERRUPT_PIN: 0x3d,
  MIN_GNT: 0x3e,
  MAX_LAT: 0x3f,
  /** The type 0 header is 64 bytes; capabilities live after it (§6.7). */
  HEADER_SIZE: 0x40,
  /** Conventional PCI functions have 256 bytes of configuration space; PCIe functions 4 KiB. */
  SIZE: 0x100,
  EXT_SIZE: 0x1000,
} as const;

export const PCI_COMMAND = {
  IO: 1 << 0,
  MEMORY: 1 << 1,
  MASTER: 1 << 2,
  SPECIAL: 1 << 3,
  INVALIDATE: 1 << 4,
  VGA_PALETTE: 1 << 5,
  PARITY: 1 << 6,
  SERR: 1 << 8,
  FAST_BACK: 1 << 9,
  INTX_DISABLE: 1 << 10,
} as const;

export const PCI_STATUS = {
  INTERRUPT: 1 << 3,
  CAP_LIST: 1 << 4,
} as const;

/** BAR low bits (§6.2.5.1). */
export const PCI_BAR = {
  IO: 1 << 0,
  MEM_TYPE_64: 2 << 1,
  PREFETCH: 1 << 3,
  ROM_ENABLE: 1 << 0,
} as const;

/** Capability IDs (PCI Code and ID Assignment Specification §2). */
export const PCI_CAP_ID = {
  MSI: 0x05,
  VENDOR: 0x09,
  EXP: 0x10,
  MSIX: 0x11,
} as const;

/** The type 0 header's registers by name; CLASS_CODE spans the programming interface, sub-class and class bytes. */
const HEADER: readonly RegisterDef[] = [
  { offset: PCI_CFG.VENDOR_ID, name: 'VENDOR_ID', width: 2 },
  { offset: PCI_CFG.DEVICE_ID, name: 'DEVICE_ID', width: 2 },
  { offset: PCI_CFG.COMMAND, name: 'COMMAND', width: 2 },
  { offset: PCI_CFG.STATUS, name: 'STATUS', width: 2 },
  { offset: PCI_CFG.REVISION_ID, name: 'REVISION_ID', width: 1 },
  { offset: PCI_CFG.CLASS_PROG, name: 'CLASS_CODE', width: 3 },
  { offset: PCI_CFG.CACHE_LINE_SIZE, name: 'CACHE_LINE_SIZE', width: 1 },
  { offset: PCI_CFG.LATENCY_TIMER, name: 'LATENCY_TIMER', width: 1 },
  { offset: PCI_CFG.HEADER_TYPE, name: 'HEADER_TYPE', width: 1 },
  { offset: PCI_CFG.BIST, name: 'BIST', width: 1 },
  { offset: PCI_CFG.BAR0, name: 'BAR', count: 6 },
  { offset: PCI_CFG.CARDBUS_CIS, name: 'CARDBUS_CIS' },
  { offset: PCI_CFG.SUBSYSTEM_VENDOR_ID, name: 'SUBSYSTEM_VENDOR_ID', width: 2 },
  { offset: PCI_CFG.SUBSYSTEM_ID, name: 'SUBSYSTEM_ID', width: 2 },
  { offset: PCI_CFG.ROM_ADDRESS, name: 'ROM_ADDRESS' },
  { offset: PCI_CFG.CAPABILITY_LIST, name: 'CAPABILITY_LIST', width: 1 },
  { offset: PCI_CFG.INTERRUPT_LINE, name: 'INTERRUPT_LINE', width: 1 },
  { offset: PCI_CFG.INTERRUPT_PIN, name: 'INTERRUPT_PIN', width: 1 },
  { offset: PCI_CFG.MIN_GNT, name: 'MIN_GNT', width: 1 },
  { offset: PCI_CFG.MAX_LAT, name: 'MAX_LAT', width: 1 },
];

/** Name of a type 0 header register ('' past the header: capabilities are named by the function). */
export const headerRegisterName = makeLookup(HEADER);

/** ECAM: bus, device, function and register of an offset in the ECAM window (PCIe Base §7.2.2). */
export function ecamDecode(offset: number): { bus: number; dev: number; fn: number; reg: number } {
  return { bus: Math.floor(offset / 0x100000) & 0xff, dev: (offset >>> 15) & 0x1f, fn: (offset >>> 12) & 7, reg: offset & 0xfff };
}

/** "bb:dd.f" as Linux prints it. */
export const bdfName = (bus: number, dev: number, fn: number): string =>
  `${bus.toString(16).padStart(2, '0')}:${dev.toString(16).padStart(2, '0')}.${fn}`;
