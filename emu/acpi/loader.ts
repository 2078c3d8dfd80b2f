// The ACPI tables as fw_cfg hands them to the firmware, in QEMU's form: every table but the RSDP
// in one blob ("etc/acpi/tables"), the RSDP in its own file ("etc/acpi/rsdp"), and a table-loader
// script ("etc/table-loader") telling the firmware to allocate both, patch the pointers between
// tables with the addresses it chose, and fix the checksums. docs/firmware.md ("ACPI tables") describes the script's
// commands (128-byte entries: 1 allocate, 2 add pointer, 3 add checksum).

import type { FwCfgFile } from '../devices/fw-cfg.ts';
import { dsdt } from './dsdt.ts';
import {
  Bytes,
  dbg2,
  fadt,
  FADT_X_DSDT,
  gtdt,
  HEADER_LEN,
  iort,
  madt,
  mcfg,
  OEM_ID,
  pptt,
  spcr,
  table,
  type AcpiMachine,
} from './tables.ts';

export const TABLES_FILE = 'etc/acpi/tables';
export const RSDP_FILE = 'etc/acpi/rsdp';
export const LOADER_FILE = 'etc/table-loader';
const ENTRY = 128;
const FILE_NAME = 56;
const ZONE_HIGH = 1;
const ZONE_FSEG = 2;

/** A table given with --acpi-table, or a reason it cannot be used. */
export class AcpiTableError extends Error {
  override name = 'AcpiTableError';
}

/** Checks a user table: a whole header, the length it claims, and a checksum that sums to zero. */
export function checkUserTable(b: Uint8Array, file: string): string {
  const sig = userTableSignature(b, file, '--acpi-table');
  const len = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(4, true);
  if (len !== b.length)
    throw new AcpiTableError(`${file}: ${sig} table header says ${len} bytes, the file has ${b.length} (truncated or padded)`);
  let sum = 0;
  for (const x of b) sum = (sum + x) & 0xff;
  if (sum !== 0) throw new AcpiTableError(`${file}: ${sig} table checksum is wrong (bytes sum to 0x${sum.toString(16)}, not 0)`);
  return sig;
}

/**
 * The signature of a table given with --acpi-table-unchecked: only a whole header with a signature
 * is required (its length and checksum are left as given, to reproduce a firmware's broken table).
 */
export function uncheckedUserTable(b: Uint8Array, file: string): string {
  return userTableSignature(b, file, '--acpi-table-unchecked');
}

/** A 36-byte header whose signature names a table the loader may add or replace. */
function userTableSignature(b: Uint8Array, file: string, option: string): string {
  if (b.length < HEADER_LEN)
    throw new AcpiTableError(`${file}: not an ACPI table: ${b.length} bytes, shorter than the 36-byte table header`);
  const sig = String.fromCharCode(...b.subarray(0, 4));
  if (!/^[A-Z0-9_]{4}$/.test(sig))
    throw new AcpiTableError(`${file}: not an ACPI table: signature ${JSON.stringify(sig)} is not 4 letters or digits`);
  // The loader script patches these (pointers between them); the machine's own are always used.
  if (sig === 'RSDP' || sig === 'XSDT' || sig === 'RSDT' || sig === 'DSDT' || sig === 'FACP')
    throw new AcpiTableError(`${file}: a ${sig} cannot be given with ${option} (the machine builds it)`);
  return sig;
}

/** A table for the firmware; `asGiven`: passed on byte for byte (no checksum fix in the loader script). */
export interface GivenTable {
  sig: string;
  data: Uint8Array;
  asGiven?: true;
}

/**
 * The tables in QEMU 7.2's order (each listed in the XSDT but the DSDT, which the FADT points at);
 * `user` tables (--acpi-table), then `unchecked` ones (--acpi-table-unchecked), each replacing the
 * table of its signature or added after the others.
 */
export function buildTables(m: AcpiMachine, user: Uint8Array[] = [], unchecked: Uint8Array[] = []): GivenTable[] {
  const list: GivenTable[] = [
    { sig: 'DSDT', data: dsdt(m.smp) },
    { sig: 'FACP', data: fadt() },
    { sig: 'APIC', data: madt(m) },
    { sig: 'PPTT', data: pptt(m) },
    { sig: 'GTDT', data: gtdt() },
    { sig: 'MCFG', data: mcfg() },
    ...(m.spcr === false ? [] : [{ sig: 'SPCR', data: spcr() }]),
    { sig: 'DBG2', data: dbg2() },
    // QEMU 7.2 builds the IORT (with its ITS group) for every GIC version.
    { sig: 'IORT', data: iort() },
  ];
  const give = (t: Uint8Array, asGiven: boolean): void => {
    const sig = String.fromCharCode(...t.subarray(0, 4));
    const entry: GivenTable = { sig, data: t, ...(asGiven ? { asGiven: true as const } : {}) };
    const i = list.findIndex((x) => x.sig === sig);
    if (i >= 0) list[i] = entry;
    else list.push(entry);
  };
  for (const t of user) give(t, false);
  for (const t of unchecked) give(t, true);
  return list;
}

class Script {
  private readonly b = new Bytes();
  private name(n: string): void {
    this.b.ascii(n, FILE_NAME);
  }
  allocate(file: string, align: number, zone: number): void {
    this.b.u32(1);
    this.name(file);
    this.b
      .u32(align)
      .u8(zone)
      .zeros(ENTRY - 4 - FILE_NAME - 5);
  }
  pointer(dest: string, src: string, offset: number, size: number): void {
    this.b.u32(2);
    this.name(dest);
    this.name(src);
    this.b
      .u32(offset)
      .u8(size)
      .zeros(ENTRY - 4 - 2 * FILE_NAME - 5);
  }
  checksum(file: string, offset: number, start: number, length: number): void {
    this.b.u32(3);
    this.name(file);
    this.b
      .u32(offset)
      .u32(start)
      .u32(length)
      .zeros(ENTRY - 4 - FILE_NAME - 12);
  }
  bytes(): Uint8Array {
    return this.b.bytes();
  }
}

/** The fw_cfg files for these tables: the blob (with the XSDT last), the RSDP and the loader script. */
export function acpiFiles(tables: GivenTable[]): FwCfgFile[] {
  const script = new Script();
  script.allocate(TABLES_FILE, 64, ZONE_HIGH);
  const blob: Uint8Array[] = [];
  let at = 0;
  const offsets = new Map<string, number>();
  const xsdtEntries: number[] = [];
  let dsdtAt = -1;
  for (const t of tables) {
    const data = Uint8Array.from(t.data);
    // The firmware computes the checksum after patching; a table given as is keeps its own (a
    // firmware bug to reproduce; EDK2 leaves such a table uninstalled, docs/firmware.md).
    if (!t.asGiven) data[9] = 0;
    offsets.set(t.sig, at);
    if (t.sig === 'DSDT') dsdtAt = at;
    else xsdtEntries.push(at);
    if (t.sig === 'FACP' && dsdtAt >= 0) {
      script.pointer(TABLES_FILE, TABLES_FILE, at + 40, 4);
      script.pointer(TABLES_FILE, TABLES_FILE, at + FADT_X_DSDT, 8);
      const dv = new DataView(data.buffer);
      dv.setUint32(40, dsdtAt, true);
      dv.setBigUint64(FADT_X_DSDT, BigInt(dsdtAt), true);
    }
    if (!t.asGiven) script.checksum(TABLES_FILE, at + 9, at, data.length);
    blob.push(data);
    at += data.length;
  }
  // XSDT (ACPI 6.4 §5.2.8): one 64-bit entry per table, each patched to the table's address.
  const xsdtAt = at;
  const xb = new Bytes();
  xsdtEntries.forEach((off, i) => {
    xb.u64(off);
    script.pointer(TABLES_FILE, TABLES_FILE, xsdtAt + HEADER_LEN + 8 * i, 8);
  });
  const xsdt = table('XSDT', 1, xb);
  xsdt[9] = 0;
  script.checksum(TABLES_FILE, xsdtAt + 9, xsdtAt, xsdt.length);
  blob.push(xsdt);
  // RSDP (ACPI 6.4 §5.2.5.3), revision 2: checksum over the first 20 bytes, extended over all 36.
  const rsdp = new Bytes().ascii('RSD PTR ').u8(0).ascii(OEM_ID, 6).u8(2).u32(0).u32(36).u64(xsdtAt).u8(0).zeros(3).bytes();
  script.allocate(RSDP_FILE, 16, ZONE_FSEG);
  script.pointer(RSDP_FILE, TABLES_FILE, 24, 8);
  script.checksum(RSDP_FILE, 8, 0, 20);
  script.checksum(RSDP_FILE, 32, 0, 36);
  const all = new Uint8Array(at + xsdt.length);
  let o = 0;
  for (const b of blob) {
    all.set(b, o);
    o += b.length;
  }
  return [
    { name: TABLES_FILE, data: all },
    { name: RSDP_FILE, data: rsdp },
    { name: LOADER_FILE, data: script.bytes() },
  ];
}
