// The kvm machine's static ACPI tables, laid out as QEMU 7.2's virt machine builds them (same
// tables, order, revisions, OEM "BOCHS "/"BXPC" and contents for the devices we model; the
// differences are listed in docs/firmware.md, "ACPI tables"). Each table's layout is cited from the ACPI 6.4
// specification (or the Arm document that defines it). Pointers between tables (FADT → DSDT,
// XSDT → tables, RSDP → XSDT) are left zero: the firmware fills them in as the table-loader
// script (loader.ts) tells it.

export interface AcpiMachine {
  smp: number;
  gic: 2 | 3;
  /** GICv3 ITS present (QEMU 7.2 describes one whenever the GIC is v3, even with its=off). */
  its: boolean;
  /** MPIDR affinity of vCPU i. */
  affinity: (cpu: number) => number;
  /** Leave SPCR out (--acpi-spcr off). */
  spcr?: boolean;
}

export const OEM_ID = 'BOCHS ';
export const OEM_TABLE_ID = 'BXPC    ';
const CREATOR_ID = 'BXPC';
export const HEADER_LEN = 36;

/** Little-endian writer that grows as fields are appended. */
export class Bytes {
  private buf: number[] = [];
  get length(): number {
    return this.buf.length;
  }
  u8(v: number): this {
    this.buf.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >>> 8);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  u64(v: number | bigint): this {
    const n = BigInt(v);
    return this.u32(Number(n & 0xffffffffn)).u32(Number((n >> 32n) & 0xffffffffn));
  }
  ascii(s: string, len = s.length): this {
    for (let i = 0; i < len; i++) this.u8(i < s.length ? s.charCodeAt(i) : 0);
    return this;
  }
  zeros(n: number): this {
    for (let i = 0; i < n; i++) this.u8(0);
    return this;
  }
  raw(b: readonly number[]): this {
    for (const x of b) this.u8(x);
    return this;
  }
  /** Generic Address Structure (ACPI 6.4 §5.2.3.2). */
  gas(space: number, bitWidth: number, bitOffset: number, accessSize: number, address: number | bigint): this {
    return this.u8(space).u8(bitWidth).u8(bitOffset).u8(accessSize).u64(address);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.buf);
  }
}

/** The 8-bit checksum byte that makes the sum of `b` zero. */
export function checksumOf(b: Uint8Array, start = 0, end = b.length): number {
  let s = 0;
  for (let i = start; i < end; i++) s = (s + b[i]!) & 0xff;
  return (0x100 - s) & 0xff;
}

/** A table with its System Description Table Header (ACPI 6.4 §5.2.6), length and checksum set. */
export function table(sig: string, revision: number, body: Bytes | readonly number[], oemTableId = OEM_TABLE_ID): Uint8Array {
  const payload = body instanceof Bytes ? body.bytes() : Uint8Array.from(body);
  const h = new Bytes()
    .ascii(sig, 4)
    .u32(HEADER_LEN + payload.length)
    .u8(revision)
    .u8(0);
  h.ascii(OEM_ID, 6).ascii(oemTableId, 8).u32(1).ascii(CREATOR_ID, 4).u32(1);
  const out = new Uint8Array(HEADER_LEN + payload.length);
  out.set(h.bytes(), 0);
  out.set(payload, HEADER_LEN);
  out[9] = checksumOf(out);
  return out;
}

/** FADT revision 6.0 (ACPI 6.4 §5.2.9): hardware-reduced, PSCI over HVC, hypervisor "QEMU". */
export function fadt(): Uint8Array {
  const b = new Bytes();
  b.u32(0).u32(0); // FIRMWARE_CTRL, DSDT (32-bit; the loader patches X_DSDT)
  b.zeros(109 - 44); // reserved, profile, SCI … century (all zero when hardware-reduced)
  b.u16(0).u8(0); // IAPC_BOOT_ARCH, reserved
  b.u32(1 << 20); // Flags: HW_REDUCED_ACPI (Table 5.10)
  b.gas(0, 0, 0, 0, 0).u8(0); // RESET_REG, RESET_VALUE
  b.u16(0x3); // ARM_BOOT_ARCH: PSCI_COMPLIANT | PSCI_USE_HVC (Table 5.11)
  b.u8(0); // FADT minor version
  b.u64(0).u64(0); // X_FIRMWARE_CTRL, X_DSDT (patched)
  for (let i = 0; i < 10; i++) b.gas(0, 0, 0, 0, 0); // X_PM1a_EVT_BLK … SLEEP_STATUS_REG
  b.ascii('QEMU', 8); // Hypervisor Vendor Identity
  return table('FACP', 6, b);
}
/** Offset of X_DSDT in the FADT (ACPI 6.4 Table 5.9). */
export const FADT_X_DSDT = 140;

/** MADT revision 4 (ACPI 6.4 §5.2.12): GICD, a GICC per vCPU, GICR + ITS (v3) or the GICv2m frame. */
export function madt(m: AcpiMachine): Uint8Array {
  const b = new Bytes().u32(0).u32(0); // Local Interrupt Controller Address, Flags
  // GIC Distributor (§5.2.12.15)
  b.u8(0x0c).u8(24).u16(0).u32(0).u64(0x08000000).u32(0).u8(m.gic).zeros(3);
  for (let i = 0; i < m.smp; i++) {
    // GIC CPU Interface (§5.2.12.14). No performance interrupt: the vCPUs have no PMU.
    const v2 = m.gic === 2;
    b.u8(0x0b).u8(80).u16(0).u32(i).u32(i).u32(1).u32(0).u32(0).u64(0);
    b.u64(v2 ? 0x08010000 : 0)
      .u64(v2 ? 0x08040000 : 0)
      .u64(v2 ? 0x08030000 : 0)
      .u32(0)
      .u64(0);
    b.u64(m.affinity(i)).u8(0).u8(0).u16(0);
  }
  if (m.gic === 3) {
    b.u8(0x0e).u8(16).u16(0).u64(0x080a0000).u32(0xf60000); // GICR (§5.2.12.17)
    if (m.its) b.u8(0x0f).u8(20).u16(0).u32(0).u64(0x08080000).u32(0); // ITS (§5.2.12.18)
  } else {
    // GIC MSI Frame (§5.2.12.16): SPI count/base given (flags bit 0), 64 SPIs from 80.
    b.u8(0x0d).u8(24).u16(0).u32(0).u64(0x08020000).u32(1).u16(64).u16(80);
  }
  return table('APIC', 4, b);
}

/** GTDT revision 2 (ACPI 6.4 §5.2.24): the EL1/EL2 timers' PPIs; the EL1 physical timer level, active-high, always-on. */
export function gtdt(): Uint8Array {
  const b = new Bytes().u64(0xffffffffffffffffn).u32(0);
  b.u32(29).u32(0); // secure EL1 timer
  b.u32(30).u32(1 << 2); // non-secure EL1 timer: always-on capability
  b.u32(27).u32(0); // virtual timer
  b.u32(26).u32(0); // EL2 timer
  b.u64(0xffffffffffffffffn).u32(0).u32(0); // CntReadBase, no platform timers
  return table('GTDT', 2, b);
}
export const GTDT_OFFSETS = { secureEl1: 48, nonSecureEl1: 56, virtual: 64, el2: 72 } as const;

/** MCFG revision 1 (PCI Firmware Specification 3.2 §4.1.2): the ECAM for buses 0–255. */
export function mcfg(): Uint8Array {
  const b = new Bytes().u64(0).u64(0x40_1000_0000).u16(0).u8(0).u8(255).u32(0);
  return table('MCFG', 1, b);
}

/** SPCR revision 2 (Microsoft "Serial Port Console Redirection Table"): the PL011 at 0x09000000, GSI 33, 9600 baud. */
export function spcr(): Uint8Array {
  const b = new Bytes().u8(3).zeros(3); // Interface Type: ARM PL011 UART
  b.gas(0, 8, 0, 1, 0x09000000);
  b.u8(1 << 3)
    .u8(0)
    .u32(33); // Interrupt Type: ARMH GIC; PC-AT IRQ; GSI
  b.u8(3).u8(0).u8(1).u8(2).u8(0).u8(0); // 9600 baud, no parity, 1 stop bit, RTS/CTS, VT100, reserved
  b.u16(0xffff).u16(0xffff).u8(0).u8(0).u8(0).u32(0).u8(0).u32(0); // not a PCI device
  return table('SPCR', 2, b);
}
export const SPCR_OFFSETS = { interfaceType: 36, address: 44, gsi: 54 } as const;

/** DBG2 revision 0 (Microsoft "Debug Port Table 2"): one Arm PL011 debug device, namespace path COM0. */
export function dbg2(): Uint8Array {
  const b = new Bytes().u32(44).u32(1); // OffsetDbgDeviceInfo, NumberDbgDeviceInfo
  const ns = 'COM0';
  // Debug Device Information: 22-byte head, one GAS, one address size, the namespace string.
  b.u8(0)
    .u16(22 + 12 + 4 + ns.length + 1)
    .u8(1)
    .u16(ns.length + 1)
    .u16(22 + 12 + 4)
    .u16(0)
    .u16(0);
  b.u16(0x8000)
    .u16(0x0003)
    .u16(0)
    .u16(22)
    .u16(22 + 12); // serial, Arm PL011; register and size offsets
  b.gas(0, 8, 0, 1, 0x09000000).u32(0x1000).ascii(ns).u8(0);
  return table('DBG2', 0, b);
}

/** IORT revision 3 (Arm DEN 0049E): an ITS group and the PCIe root complex mapping RIDs 0–0xFFFF to it. */
export function iort(): Uint8Array {
  const b = new Bytes().u32(2).u32(48).u32(0); // node count, offset, reserved
  // ITS group node (§3.1.1.2): one ITS, ID 0.
  b.u8(0).u16(24).u8(1).u32(0).u32(0).u32(0).u32(1).u32(0);
  // Root complex node (§3.1.1.5), revision 3: cache-coherent, memory flags CPM|DACS, 64-bit DMA.
  b.u8(2).u16(56).u8(3).u32(1).u32(1).u32(36);
  b.u32(1).u8(0).u16(0).u8(3).u32(0).u32(0).u8(64).zeros(3);
  b.u32(0).u32(0xffff).u32(0).u32(48).u32(0); // ID mapping: input 0, count, output 0, → the ITS node
  return table('IORT', 3, b);
}

/** PPTT revision 2 (ACPI 6.4 §5.2.29): one socket, one cluster, a core per vCPU (as QEMU 7.2's -smp N). */
export function pptt(m: AcpiMachine): Uint8Array {
  const b = new Bytes();
  const node = (flags: number, parent: number, uid: number): void => void b.u8(0).u8(20).u16(0).u32(flags).u32(parent).u32(uid).u32(0);
  const socket = HEADER_LEN + b.length;
  node(1, 0, 0); // physical package
  const cluster = HEADER_LEN + b.length;
  node(0, socket, 0);
  for (let i = 0; i < m.smp; i++) node(0x2 | 0x8, cluster, i); // ACPI processor ID valid, leaf
  return table('PPTT', 2, b);
}
