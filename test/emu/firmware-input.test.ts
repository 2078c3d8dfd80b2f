// --bios / --efi-vars input checks: every bad image is refused with one line naming the file and
// what is wrong, before the machine runs. The firmware image checks use a small firmware volume
// made here (a valid EFI_FIRMWARE_VOLUME_HEADER, UEFI PI Vol. 3 §3.2.1).
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runGuest } from '../../emu/run.ts';
import { checkFirmwareImage, checkVarsImage, fvHeaderAt } from '../../emu/machine/firmware.ts';
import { PFLASH_BANK_SIZE } from '../../emu/devices/pflash.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'bootscope-fw-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, data: Uint8Array | string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, data);
  return p;
};

/** A firmware volume header at `off` of a `size`-byte image, with its checksum fixed. */
function withFv(size: number, off: number): Uint8Array {
  const b = new Uint8Array(size).fill(0xff);
  const dv = new DataView(b.buffer);
  b.fill(0, off, off + 0x48);
  dv.setBigUint64(off + 0x20, BigInt(size - off), true); // FvLength
  dv.setUint32(off + 0x28, 0x4856465f, true); // "_FVH"
  dv.setUint16(off + 0x30, 0x48, true); // HeaderLength
  let sum = 0;
  for (let i = 0; i < 0x48; i += 2) sum = (sum + dv.getUint16(off + i, true)) & 0xffff;
  dv.setUint16(off + 0x32, (0x10000 - sum) & 0xffff, true); // Checksum
  return b;
}

const kernel = file('kernel', new Uint8Array(4096));

async function runError(extra: {
  bios?: string;
  efiVars?: string;
  acpi?: boolean;
  acpiTables?: string[];
  acpiTablesUnchecked?: string[];
  machine?: 'kvm' | 'xen';
}): Promise<string> {
  try {
    await runGuest({ kernel, maxInsns: 1, ...extra });
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
}

describe('firmware image checks', () => {
  it('a valid firmware volume is found at a 4 KiB boundary; a broken checksum is not one', () => {
    const img = withFv(0x4000, 0x1000);
    expect(fvHeaderAt(img, 0x1000)).toBe(true);
    expect(() => checkFirmwareImage(img, 'fw.fd')).not.toThrow();
    img[0x1050] ^= 1; // outside the header: still valid
    expect(fvHeaderAt(img, 0x1000)).toBe(true);
    img[0x1010] ^= 1; // inside the header
    expect(fvHeaderAt(img, 0x1000)).toBe(false);
  });

  it('refuses an empty image, one that is not a flash image, and one larger than the bank', async () => {
    expect(await runError({ bios: file('empty.fd', '') })).toBe(`${path.join(dir, 'empty.fd')}: the firmware image is empty`);
    expect(await runError({ bios: file('text.fd', 'not firmware\n'.repeat(1000)) })).toBe(
      `${path.join(dir, 'text.fd')}: not a UEFI flash image: no firmware volume header ('_FVH' with a valid checksum) at a 4 KiB boundary in its first MiB`,
    );
    const big = path.join(dir, 'big.fd');
    writeFileSync(big, '');
    truncateSync(big, PFLASH_BANK_SIZE + 1);
    expect(await runError({ bios: big })).toBe(
      `${big}: the firmware image is 64.0 MiB (67,108,865 bytes), larger than a flash bank (64 MiB = 67,108,864 bytes)`,
    );
    expect(await runError({ bios: path.join(dir, 'missing.fd') })).toBe(`${path.join(dir, 'missing.fd')}: firmware image file not found`);
  });

  it('refuses a variable store of the wrong size or without a firmware volume header', async () => {
    const bios = file('ok.fd', withFv(0x4000, 0x1000));
    const small = file('small.vars', new Uint8Array(0x1000));
    expect(await runError({ bios, efiVars: small })).toBe(
      `${small}: a UEFI variable store must be exactly 64 MiB (67,108,864 bytes, flash bank 1), this file is 4,096 bytes`,
    );
    const corrupt = new Uint8Array(PFLASH_BANK_SIZE).fill(0xff);
    corrupt.set(new TextEncoder().encode('garbage'), 0);
    expect(() => checkVarsImage(corrupt, 'bad.vars')).toThrow(
      "bad.vars: corrupt UEFI variable store: no valid firmware volume header at offset 0 ('_FVH' signature and header checksum)",
    );
    // Blank stores (erased or zero) are fine: the firmware formats them.
    expect(() => checkVarsImage(new Uint8Array(PFLASH_BANK_SIZE), 'zero.vars')).not.toThrow();
    const formatted = new Uint8Array(PFLASH_BANK_SIZE).fill(0xff);
    formatted.set(withFv(0x1000, 0).subarray(0, 0x48), 0);
    new DataView(formatted.buffer).setBigUint64(0x20, 0x40000n, true);
    expect(fvHeaderAt(formatted, 0)).toBe(false); // the length changed: the checksum no longer holds
  });

  it('--acpi-table refuses a bad checksum; --acpi-table-unchecked refuses only a missing file or one shorter than a header', async () => {
    const bios = file('ok3.fd', withFv(0x4000, 0x1000));
    const oem = Buffer.alloc(40);
    oem.write('OEMX', 0, 'ascii');
    oem.writeUInt32LE(40, 4); // the right length, the checksum byte left 0
    const bad = file('oemx.aml', oem);
    // 'O' + 'E' + 'M' + 'X' + 40 = 0x161
    expect(await runError({ bios, acpiTables: [bad] })).toBe(`${bad}: OEMX table checksum is wrong (bytes sum to 0x61, not 0)`);
    const missing = path.join(dir, 'missing.aml');
    expect(await runError({ bios, acpiTablesUnchecked: [missing] })).toBe(`${missing}: ACPI table file not found`);
    const short = file('short.aml', oem.subarray(0, 20));
    expect(await runError({ bios, acpiTablesUnchecked: [short] })).toBe(
      `${short}: not an ACPI table: 20 bytes, shorter than the 36-byte table header`,
    );
    expect(await runError({ bios, acpi: false, acpiTablesUnchecked: [bad] })).toBe(
      '--acpi-table-unchecked shapes the ACPI tables: it needs --acpi on',
    );
  });

  it('--bios needs the kvm machine', async () => {
    expect(await runError({ bios: file('ok2.fd', withFv(0x4000, 0x1000)), machine: 'xen' })).toBe(
      '--bios loads firmware into the flash of the kvm machine (--machine kvm)',
    );
  });
});
