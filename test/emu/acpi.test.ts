// The kvm machine's ACPI tables and QEMU's table-loader script: AML encodings, every table's
// length and checksum, and a firmware-side run of the script (allocate, patch pointers, fix
// checksums) that must leave an RSDP → XSDT → tables chain a kernel can walk. The byte-for-byte
// comparison with QEMU 7.2's tables is in test/real/uefi.test.ts.
import { describe, expect, it } from 'vitest';
import * as A from '../../emu/acpi/aml.ts';
import {
  acpiFiles,
  AcpiTableError,
  buildTables,
  checkUserTable,
  LOADER_FILE,
  RSDP_FILE,
  TABLES_FILE,
  uncheckedUserTable,
} from '../../emu/acpi/loader.ts';
import { table, type AcpiMachine } from '../../emu/acpi/tables.ts';
import { virtAffinity } from '../../emu/personality/kvm.ts';

const machine = (smp: number, gic: 2 | 3, spcr = true): AcpiMachine => ({
  smp,
  gic,
  its: gic === 3,
  affinity: (i) => virtAffinity(i, gic),
  spcr,
});
const sum = (b: Uint8Array): number => b.reduce((s, x) => (s + x) & 0xff, 0);

describe('AML encoder', () => {
  it('PkgLength uses the fewest bytes (ACPI 6.4 §20.2.4)', () => {
    expect(A.pkgLength(0x3e)).toEqual([0x3f]);
    expect(A.pkgLength(0x3f)).toEqual([0x41, 0x04]); // 0x41 total: 2 bytes
    expect(A.pkgLength(0x1000)).toEqual([0x83, 0x00, 0x01]); // 0x1003 total: 3 bytes
  });

  it('names and integers', () => {
    expect(A.nameString('\\_SB')).toEqual([0x5c, 0x5f, 0x53, 0x42, 0x5f]);
    expect(A.nameString('\\_SB.GED')).toEqual([0x5c, 0x2e, ...Array.from('_SB_GED_', (c) => c.charCodeAt(0))]);
    expect(A.int(0)).toEqual([0]);
    expect(A.int(1)).toEqual([1]);
    expect(A.int(0x80)).toEqual([0x0a, 0x80]);
    expect(A.int(0x1ffff)).toEqual([0x0c, 0xff, 0xff, 0x01, 0x00]);
    expect(() => A.nameString('TOOLONG')).toThrow(RangeError);
  });

  it('ToUUID puts the first three fields little-endian', () => {
    expect(A.uuid('33db4d5b-1ff7-401c-9657-7441c03dd766').slice(4)).toEqual([
      0x5b, 0x4d, 0xdb, 0x33, 0xf7, 0x1f, 0x1c, 0x40, 0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66,
    ]);
  });
});

describe('ACPI tables (QEMU 7.2 virt)', () => {
  it("have QEMU 7.2's lengths for 1 vCPU GICv3, 1 vCPU GICv2 and 2 vCPUs GICv3, and checksums that sum to zero", () => {
    const lengths = (m: AcpiMachine) => Object.fromEntries(buildTables(m).map((t) => [t.sig, t.data.length]));
    const common = { FACP: 276, GTDT: 96, MCFG: 60, SPCR: 80, DBG2: 87, IORT: 128 };
    expect(lengths(machine(1, 3))).toEqual({ ...common, DSDT: 5196, APIC: 184, PPTT: 96 });
    expect(lengths(machine(1, 2))).toEqual({ ...common, DSDT: 5196, APIC: 172, PPTT: 96 });
    expect(lengths(machine(2, 3))).toEqual({ ...common, DSDT: 5224, APIC: 264, PPTT: 116 });
    for (const t of buildTables(machine(4, 3))) expect(sum(t.data), t.sig).toBe(0);
  });

  it('--acpi-spcr off leaves SPCR out; a user table replaces the one of its signature or is appended', () => {
    expect(buildTables(machine(1, 3, false)).map((t) => t.sig)).toEqual(['DSDT', 'FACP', 'APIC', 'PPTT', 'GTDT', 'MCFG', 'DBG2', 'IORT']);
    const ssdt = table('SSDT', 2, [0x10, 0x05, 0x5c, 0x5f, 0x53, 0x42, 0x5f]);
    const gtdt = table('GTDT', 2, new Array(60).fill(0));
    const list = buildTables(machine(1, 3), [ssdt, gtdt]);
    expect(list.map((t) => t.sig)).toEqual(['DSDT', 'FACP', 'APIC', 'PPTT', 'GTDT', 'MCFG', 'SPCR', 'DBG2', 'IORT', 'SSDT']);
    expect(list[4]!.data).toBe(gtdt);
  });

  it('the table-loader script, run as firmware runs it, yields a valid RSDP → XSDT → tables chain', () => {
    const files = new Map(acpiFiles(buildTables(machine(2, 3))).map((f) => [f.name, Uint8Array.from(f.data)]));
    const script = files.get(LOADER_FILE)!;
    const base = new Map<string, number>();
    let next = 0x5c000000;
    const dv = (f: string) => new DataView(files.get(f)!.buffer);
    const name = (o: number) => String.fromCharCode(...script.subarray(o, o + 56)).replace(/\0+$/, '');
    expect(script.length % 128).toBe(0);
    for (let o = 0; o < script.length; o += 128) {
      const cmd = new DataView(script.buffer).getUint32(o, true);
      const sdv = new DataView(script.buffer, o);
      if (cmd === 1) {
        base.set(name(o + 4), next);
        next += 0x100000;
      } else if (cmd === 2) {
        const dest = name(o + 4),
          src = name(o + 60);
        const off = sdv.getUint32(116, true),
          size = sdv.getUint8(120);
        expect(base.has(dest) && base.has(src)).toBe(true);
        if (size === 8) dv(dest).setBigUint64(off, dv(dest).getBigUint64(off, true) + BigInt(base.get(src)!), true);
        else dv(dest).setUint32(off, dv(dest).getUint32(off, true) + base.get(src)!, true);
      } else if (cmd === 3) {
        const f = files.get(name(o + 4))!;
        const off = sdv.getUint32(60, true),
          start = sdv.getUint32(64, true),
          len = sdv.getUint32(68, true);
        f[off] = 0;
        f[off] = (0x100 - sum(f.subarray(start, start + len))) & 0xff;
      } else throw new Error(`unknown command ${cmd}`);
    }
    const rsdp = files.get(RSDP_FILE)!;
    expect(String.fromCharCode(...rsdp.subarray(0, 8))).toBe('RSD PTR ');
    expect(sum(rsdp.subarray(0, 20))).toBe(0);
    expect(sum(rsdp)).toBe(0);
    const tables = files.get(TABLES_FILE)!;
    const at = (addr: bigint) => Number(addr) - base.get(TABLES_FILE)!;
    const xsdt = at(new DataView(rsdp.buffer).getBigUint64(24, true));
    const tdv = new DataView(tables.buffer);
    expect(String.fromCharCode(...tables.subarray(xsdt, xsdt + 4))).toBe('XSDT');
    const xlen = tdv.getUint32(xsdt + 4, true);
    expect(sum(tables.subarray(xsdt, xsdt + xlen))).toBe(0);
    const sigs: string[] = [];
    for (let e = xsdt + 36; e < xsdt + xlen; e += 8) {
      const t = at(tdv.getBigUint64(e, true));
      sigs.push(String.fromCharCode(...tables.subarray(t, t + 4)));
      expect(sum(tables.subarray(t, t + tdv.getUint32(t + 4, true)))).toBe(0);
      if (sigs.at(-1) === 'FACP') {
        const d = at(tdv.getBigUint64(t + 140, true));
        expect(String.fromCharCode(...tables.subarray(d, d + 4))).toBe('DSDT');
        expect(tdv.getUint32(t + 40, true)).toBe(Number(tdv.getBigUint64(t + 140, true)));
      }
    }
    expect(sigs).toEqual(['FACP', 'APIC', 'PPTT', 'GTDT', 'MCFG', 'SPCR', 'DBG2', 'IORT']);
  });

  it('--acpi-table input is checked: truncated header, wrong length, bad checksum, a table the machine builds', () => {
    const good = table('SSDT', 2, [0x10, 0x05, 0x5c, 0x5f, 0x53, 0x42, 0x5f]);
    expect(checkUserTable(good, 'ok.aml')).toBe('SSDT');
    expect(() => checkUserTable(good.subarray(0, 20), 't.aml')).toThrow(
      't.aml: not an ACPI table: 20 bytes, shorter than the 36-byte table header',
    );
    expect(() => checkUserTable(good.subarray(0, 40), 't.aml')).toThrow(
      't.aml: SSDT table header says 43 bytes, the file has 40 (truncated or padded)',
    );
    const bad = Uint8Array.from(good);
    bad[40] ^= 0xff;
    expect(() => checkUserTable(bad, 'b.aml')).toThrow(AcpiTableError);
    expect(() => checkUserTable(bad, 'b.aml')).toThrow(/^b\.aml: SSDT table checksum is wrong \(bytes sum to 0x[0-9a-f]+, not 0\)$/);
    expect(() => checkUserTable(table('DSDT', 2, []), 'd.aml')).toThrow(
      'd.aml: a DSDT cannot be given with --acpi-table (the machine builds it)',
    );
    expect(() => checkUserTable(new TextEncoder().encode('hello world, this is not a table at all'), 'x')).toThrow(
      'x: not an ACPI table: signature "hell" is not 4 letters or digits',
    );
  });

  it('--acpi-table-unchecked needs only a header: a wrong checksum or length is kept, byte for byte, with no checksum command', () => {
    const good = table('OEMX', 1, [1, 2, 3, 4]);
    const bad = Uint8Array.from(good);
    bad[9] = (bad[9]! + 0x5a) & 0xff; // the checksum byte off by 0x5a
    expect(uncheckedUserTable(bad, 'b.aml')).toBe('OEMX');
    const padded = new Uint8Array(good.length + 8);
    padded.set(good);
    expect(uncheckedUserTable(padded, 'p.aml')).toBe('OEMX');
    expect(() => uncheckedUserTable(good.subarray(0, 35), 't.aml')).toThrow(
      't.aml: not an ACPI table: 35 bytes, shorter than the 36-byte table header',
    );
    expect(() => uncheckedUserTable(table('FACP', 6, []), 'f.aml')).toThrow(
      'f.aml: a FACP cannot be given with --acpi-table-unchecked (the machine builds it)',
    );
    const list = buildTables(machine(1, 3), [], [bad]);
    expect(list.at(-1)).toEqual({ sig: 'OEMX', data: bad, asGiven: true });
    const files = new Map(acpiFiles(list).map((f) => [f.name, f.data]));
    const blob = files.get(TABLES_FILE)!;
    const at = list.slice(0, -1).reduce((n, t) => n + t.data.length, 0);
    expect(blob.subarray(at, at + bad.length)).toEqual(bad);
    // Checksum commands (type 3) cover every table but the one given as is.
    const script = files.get(LOADER_FILE)!;
    const starts: number[] = [];
    for (let o = 0; o < script.length; o += 128) {
      const dv = new DataView(script.buffer, script.byteOffset + o);
      if (dv.getUint32(0, true) === 3 && String.fromCharCode(...script.subarray(o + 4, o + 4 + TABLES_FILE.length)) === TABLES_FILE)
        starts.push(dv.getUint32(64, true));
    }
    expect(starts).not.toContain(at);
    expect(starts).toHaveLength(list.length); // the other tables and the XSDT
  });
});
