// SMBIOS for firmware boots, as QEMU 7.2's virt machine offers it through fw_cfg: an SMBIOS 3.0
// entry point in `etc/smbios/smbios-anchor` and the structures in `etc/smbios/smbios-tables`, which
// EDK2's SmbiosPlatformDxe installs (adding its own type 0, BIOS information, and the end-of-table
// structure); Linux then prints "SMBIOS 3.0.0 present." and its "DMI:" line. Structure layouts are
// the DMTF SMBIOS 3.0 specification's (DSP0134 §6.1.2 entry point, §7 structures); the values are
// those a guest reads on QEMU 7.2 (test/real/uefi.test.ts compares them byte for byte), with the
// product named as QEMU names it under KVM. docs/firmware.md.

import type { FwCfgFile } from '../devices/fw-cfg.ts';

/** QEMU's machine type name: the version of the system, chassis and processor structures. */
const MACHINE = 'virt-7.2';
/** QEMU's processor speed when none is configured (MHz). */
const CPU_MHZ = 2000;

/** One structure: formatted area (type, length and handle filled in) and its strings. */
function structure(type: number, handle: number, body: number[], strings: string[]): number[] {
  const head = [type, 4 + body.length, handle & 0xff, handle >> 8];
  const text = strings.length ? strings.flatMap((s) => [...Buffer.from(s, 'latin1'), 0]) : [0];
  return [...head, ...body, ...text, 0];
}

const u16 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff];
const u32 = (v: number): number[] => [...u16(v & 0xffff), ...u16(v >>> 16)];
const zeros = (n: number): number[] => new Array<number>(n).fill(0);

/** The structures QEMU 7.2 virt builds: system, chassis, one processor socket, memory array and device, boot, end. */
export function smbiosTables(opts: { smp: number; memBytes: number; product: string }): Uint8Array {
  const memMiB = Math.floor(opts.memBytes / (1 << 20));
  const t: number[] = [
    // Type 1, System Information (§7.2): manufacturer, product, version; UUID unset; wake-up by power switch.
    ...structure(1, 0x100, [1, 2, 3, 0, ...zeros(16), 0x06, 0, 0], ['QEMU', opts.product, MACHINE]),
    // Type 3, Chassis (§7.4): type other, states safe, security unknown, no contained elements, no SKU.
    ...structure(3, 0x300, [1, 0x01, 2, 0, 0, 0x03, 0x03, 0x03, 0x02, ...zeros(4), 0, 0, 0, 0, 0], ['QEMU', MACHINE]),
    // Type 4, Processor (§7.5): central processor, family other, no ID, 2000 MHz, socket populated
    // and enabled; every vCPU a core of the one socket, the thread count that of the socket
    // (checked against QEMU 7.2 with one and two vCPUs).
    ...structure(
      4,
      0x400,
      [
        1,
        0x03,
        0x01,
        2,
        ...zeros(8),
        3,
        0,
        ...u16(0),
        ...u16(CPU_MHZ),
        ...u16(CPU_MHZ),
        0x41,
        0x01,
        ...u16(0xffff),
        ...u16(0xffff),
        ...u16(0xffff),
        0,
        0,
        0,
        Math.min(opts.smp, 255),
        Math.min(opts.smp, 255),
        Math.min(opts.smp, 255),
        ...u16(0x02),
        ...u16(0x01),
        ...u16(opts.smp),
        ...u16(opts.smp),
        ...u16(opts.smp),
      ],
      ['CPU 0', 'QEMU', MACHINE],
    ),
    // Type 16, Physical Memory Array (§7.17): system memory, multi-bit ECC, capacity in KiB, one device.
    ...structure(16, 0x1000, [0x01, 0x03, 0x06, ...u32(memMiB * 1024), ...u16(0xfffe), ...u16(1), ...zeros(8)], []),
    // Type 17, Memory Device (§7.18): one DIMM of all the RAM (size in MiB), type RAM, detail other.
    ...structure(
      17,
      0x1100,
      [
        ...u16(0x1000),
        ...u16(0xfffe),
        ...u16(0xffff),
        ...u16(0xffff),
        ...u16(memMiB),
        0x09,
        0,
        1,
        0,
        0x07,
        ...u16(0x02),
        ...u16(0),
        2,
        0,
        0,
        0,
        0,
        ...zeros(4),
        ...u16(0),
        ...u16(0),
        ...u16(0),
        ...u16(0),
      ],
      ['DIMM 0', 'QEMU'],
    ),
    // Type 32, System Boot Information (§7.33): no errors detected.
    ...structure(32, 0x2000, [...zeros(6), 0], []),
    // Type 127, End-of-Table (§7.44).
    ...structure(127, 0x7f00, [], []),
  ];
  return Uint8Array.from(t);
}

/** SMBIOS 3.0 64-bit entry point (DSP0134 §5.2.2) for tables of `tablesLength` bytes; the firmware places the tables. */
export function smbiosAnchor(tablesLength: number): Uint8Array {
  const a = Uint8Array.from([...Buffer.from('_SM3_', 'latin1'), 0, 0x18, 3, 0, 0, 0x01, 0, ...u32(tablesLength), ...zeros(8)]);
  let sum = 0;
  for (const b of a) sum = (sum + b) & 0xff;
  a[5] = (256 - sum) & 0xff;
  return a;
}

/** The two fw_cfg files. */
export function smbiosFiles(opts: { smp: number; memBytes: number; product: string }): FwCfgFile[] {
  const tables = smbiosTables(opts);
  return [
    { name: 'etc/smbios/smbios-anchor', data: smbiosAnchor(tables.length) },
    { name: 'etc/smbios/smbios-tables', data: tables },
  ];
}
