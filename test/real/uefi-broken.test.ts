// EDK2 ACPI boots on the kvm machine made to break: each shows, on a real run, the explain-uart
// verdict or check rule of the acpi family that names what is wrong (the hand-made traces of
// test/analyze/ show the same verdicts; these show the analyzers right on real input).
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { bootscope, fetchGuests, tempDir } from '../helpers/real-guests.ts';

const tmp = tempDir('bootscope-real-uefi-broken-');
afterAll(() => tmp.cleanup());

const PANIC = 'end Kernel panic';

async function edk2Run(name: string, ...args: string[]): Promise<{ trace: string; console: string }> {
  const { kernel, edk2 } = fetchGuests();
  const trace = tmp.file(`${name}.trace`);
  const r = await bootscope(
    tmp.dir,
    'run',
    ...['--kernel', kernel, '--bios', edk2, ...args],
    ...['--stop-on', PANIC, '--max-insns', '3e9', '-o', trace, '--json'],
  );
  expect(r.err).toBe('');
  return { trace, console: (JSON.parse(r.out).console as string).replace(/\r/g, '') };
}

const findings = async (trace: string): Promise<string[]> =>
  (
    JSON.parse((await bootscope(tmp.dir, 'check', trace, '--rules', 'acpi', '--json')).out) as { findings: { rule: string }[] }
  ).findings.map((f) => f.rule);
const uartVerdict = async (trace: string): Promise<string> =>
  JSON.parse((await bootscope(tmp.dir, 'explain', 'uart', trace, '--json')).out).verdict as string;

describe('EDK2 ACPI boots made to break (kvm machine, GICv3)', () => {
  it('no SPCR and no console= gives acpi-no-spcr; console=ttyAMA1 (SPCR made ttyAMA0 only) gives acpi-console-wrong-port; neither is an acpi rule finding', async () => {
    const [noSpcr, wrongPort] = await Promise.all([
      edk2Run('no-spcr', '--acpi-spcr', 'off'),
      edk2Run('wrong-port', '--append', 'console=ttyAMA1'),
    ]);
    // The EFI stub's lines reach the UART (EDK2's console); the kernel's log never does.
    expect(noSpcr.console).toContain('EFI stub: Generating empty DTB');
    expect(noSpcr.console).not.toMatch(/^\[\s*\d+\.\d+\] /m);
    expect(await uartVerdict(noSpcr.trace)).toBe('acpi-no-spcr');
    expect(await findings(noSpcr.trace)).toEqual([]);
    expect(await uartVerdict(wrongPort.trace)).toBe('acpi-console-wrong-port');
    // The pl011 console's setup fails for port 1, which keeps printk from falling back to SPCR's ttyAMA0.
    expect(wrongPort.console).not.toMatch(/^\[\s*\d+\.\d+\] /m);
    expect(await findings(wrongPort.trace)).toEqual([]);
  });

  it('console=ttyS0 (no 16550 on this machine; SPCR names the PL011, ttyAMA0) gives acpi-console-other-device: the console still works, through SPCR', async () => {
    const r = await edk2Run('ttys0', '--append', 'console=ttyS0');
    // Unlike console=ttyAMA1 above, the log reaches the UART: printk falls back to SPCR's ttyAMA0.
    expect(r.console).toMatch(/^\[\s*\d+\.\d+\] printk: console \[ttyAMA0\] enabled$/m);
    expect(r.console).toMatch(/^\[\s*\d+\.\d+\] Serial: 8250\/16550 driver, /m);
    expect(r.console).not.toMatch(/ttyS\d+ at (MMIO|I\/O) /);
    const x = JSON.parse((await bootscope(tmp.dir, 'explain', 'uart', r.trace, '--json')).out);
    expect(x.verdict).toBe('acpi-console-other-device');
    expect(x.hasConsole).toBe(true);
    expect(x.summary).toContain('its console UART is the PL011 at 0x9000000 that SPCR names, ttyAMA0');
    expect(await findings(r.trace)).toEqual([]);
  });

  it('acpi=off on an ACPI boot: the kernel has no hardware description and panics at the timer, but the firmware gave ACPI (efi: ACPI 2.0=…), so acpi.hw-description stays quiet', async () => {
    const r = await edk2Run('acpi-off', '--append', 'acpi=off earlycon=pl011,0x9000000 console=ttyAMA0');
    expect(r.console).toContain('EFI stub: Generating empty DTB');
    expect(r.console).toMatch(/^\[\s*\d+\.\d+\] efi: .*ACPI 2\.0=0x/m);
    expect(r.console).toMatch(/Kernel panic - not syncing: Unable to initialise architected timer/);
    expect(r.console).not.toMatch(/\] ACPI: (RSDP|XSDT) 0x/);
    expect(await findings(r.trace)).toEqual([]);
  });

  it('--its off: the MADT (as QEMU 7.2 builds it) still lists an ITS, check gives acpi.madt-gic', async () => {
    const r = await edk2Run('its-off', '--its', 'off', '--append', 'console=ttyAMA0');
    expect(await findings(r.trace)).toEqual(['acpi.madt-gic']);
  });
});

/** ACPI 6.4 §5.2.6 System Description Table Header around `body`, the checksum making all bytes sum to 0. */
function acpiTable(sig: string, revision: number, body: Buffer): Buffer {
  const b = Buffer.alloc(36 + body.length);
  b.write(sig, 0, 'ascii');
  b.writeUInt32LE(b.length, 4);
  b.writeUInt8(revision, 8);
  b.write('BOCHS ', 10, 'ascii'); // OEMID
  b.write('BROKEN  ', 16, 'ascii'); // OEM Table ID
  b.writeUInt32LE(1, 24); // OEM Revision
  b.write('BSCP', 28, 'ascii'); // Creator ID
  b.writeUInt32LE(1, 32); // Creator Revision
  body.copy(b, 36);
  let sum = 0;
  for (const x of b) sum = (sum + x) & 0xff;
  b.writeUInt8((256 - sum) & 0xff, 9);
  return b;
}

/**
 * SPCR revision 2 (Microsoft "Serial Port Console Redirection Table", Table 3): Interface Type at 36,
 * Base Address (an ACPI 6.4 §5.2.3.2 Generic Address Structure) at 40, Interrupt Type at 52, GSI at
 * 54, then 9600 baud 8N1, no PCI device.
 */
function spcrTable(interfaceType: number, base: number, gsi = 33): Buffer {
  const b = Buffer.alloc(44);
  b.writeUInt8(interfaceType, 0);
  b.writeUInt8(0, 4); // GAS: system memory space
  b.writeUInt8(8, 5); // register bit width
  b.writeUInt8(1, 7); // access size: byte
  b.writeBigUInt64LE(BigInt(base), 8);
  b.writeUInt8(1 << 3, 16); // Interrupt Type: ARMH GIC
  b.writeUInt32LE(gsi, 18); // GSI: 33 is the PL011's SPI 1
  b.writeUInt8(3, 22); // 9600 baud
  b.writeUInt8(1, 24); // 1 stop bit
  b.writeUInt16LE(0xffff, 28); // PCI Device ID: not a PCI device
  b.writeUInt16LE(0xffff, 30); // PCI Vendor ID
  return acpiTable('SPCR', 2, b);
}

/**
 * GTDT revision 2 (ACPI 6.4 §5.2.24, Table 5.117): CntControlBase, then GSIV and flags of the secure
 * EL1 (48), non-secure EL1 (56), virtual (64) and EL2 (72) timers, CntReadBase, no platform timers.
 */
function gtdtTable(gsiv: { secure: number; nonSecure: number; virtual: number; el2: number }): Buffer {
  const b = Buffer.alloc(60);
  b.writeBigUInt64LE(0xffffffffffffffffn, 0);
  b.writeUInt32LE(gsiv.secure, 12);
  b.writeUInt32LE(gsiv.nonSecure, 20);
  b.writeUInt32LE(1 << 2, 24); // always-on capability
  b.writeUInt32LE(gsiv.virtual, 28);
  b.writeUInt32LE(gsiv.el2, 36);
  b.writeBigUInt64LE(0xffffffffffffffffn, 44);
  return acpiTable('GTDT', 2, b);
}

describe('EDK2 ACPI boots with a broken table given by --acpi-table', () => {
  it('an SPCR naming 16550 for the PL011 and one at an address with no UART give acpi.spcr-uart and acpi-spcr-wrong; a GTDT naming INTID 30 for the virtual timer gives acpi.gtdt-timer', async () => {
    const file = (name: string, b: Buffer) => {
      const f = tmp.file(name);
      writeFileSync(f, b);
      return f;
    };
    const spcrType = file('spcr-type.aml', spcrTable(0x00, 0x0900_0000)); // 0 = 16550 compatible
    const spcrBase = file('spcr-base.aml', spcrTable(0x03, 0x0901_0000)); // PL011 type, 64 KiB past the UART
    // The GSIVs of the two EL1 timers swapped: the kernel waits on INTID 30 while the virtual timer signals 27.
    const gtdt = file('gtdt.aml', gtdtTable({ secure: 29, nonSecure: 27, virtual: 30, el2: 26 }));
    const [type, base] = await Promise.all([
      edk2Run('spcr-type', '--acpi-table', spcrType, '--append', 'console=ttyAMA0'),
      edk2Run('spcr-base', '--acpi-table', spcrBase),
    ]);
    expect(await findings(type.trace)).toEqual(['acpi.spcr-uart']);
    expect(await uartVerdict(type.trace)).toBe('acpi-spcr-wrong');
    expect(await findings(base.trace)).toEqual(['acpi.spcr-uart']);
    expect(await uartVerdict(base.trace)).toBe('acpi-spcr-wrong');
    const timer = await edk2Run('gtdt', '--acpi-table', gtdt, '--append', 'console=ttyAMA0');
    expect(await findings(timer.trace)).toEqual(['acpi.gtdt-timer']);
  });
});

describe('EDK2 ACPI boot with a table given as is by --acpi-table-unchecked', () => {
  it('an OEM table with a wrong checksum gives acpi.table-header (EDK2 does not install it), an SPCR with GSI 34 gives acpi.spcr-uart; the console still works and replay is identical', async () => {
    const oem = acpiTable('OEMX', 1, Buffer.from('a table the OS never sees'));
    oem[9] = (oem[9]! + 0x5a) & 0xff; // the bytes now sum to 0x5a
    const oemFile = tmp.file('oemx.aml');
    writeFileSync(oemFile, oem);
    // The machine's SPCR (PL011 at 0x9000000) with the interrupt of SPI 2 instead of SPI 1.
    const spcrFile = tmp.file('spcr-gsi.aml');
    writeFileSync(spcrFile, spcrTable(0x03, 0x0900_0000, 34));
    const r = await edk2Run('unchecked', '--acpi-table-unchecked', oemFile, '--acpi-table', spcrFile, '--append', 'console=ttyAMA0');
    // EDK2's QEMU table loader installs only tables whose length and checksum hold: the kernel's
    // list has the given SPCR but no OEMX, and ACPICA has no checksum to complain about.
    expect(r.console).toMatch(/^\[\s*\d+\.\d+\] ACPI: SPCR 0x[0-9A-F]+ 000050 \(v02 BOCHS  BROKEN   00000001 BSCP 00000001\)$/m);
    expect(r.console).toMatch(/^\[\s*\d+\.\d+\] ACPI: XSDT 0x[0-9A-F]+ 000064 /m); // 8 tables, as without OEMX
    expect(r.console).not.toContain('OEMX');
    expect(r.console).not.toContain('Incorrect checksum');
    // Linux ignores SPCR's interrupt: the console comes up as usual.
    expect(r.console).toContain('ACPI: SPCR: console: pl011,mmio,0x9000000,9600');
    expect(r.console).toMatch(/^\[\s*\d+\.\d+\] printk: console \[ttyAMA0\] enabled$/m);
    const check = JSON.parse((await bootscope(tmp.dir, 'check', r.trace, '--rules', 'acpi', '--json')).out) as {
      findings: { rule: string; message: string }[];
    };
    expect(check.findings.map((f) => [f.rule, f.message])).toEqual([
      [
        'acpi.table-header',
        "OEMX: header length 61, 61 bytes stored, bytes sum to 0x5a; a table must be as long as its header says and sum to 0. The kernel's table list has no OEMX: the firmware did not pass it on.",
      ],
      ['acpi.spcr-uart', 'SPCR gives GSI 34 for pl011@9000000, whose interrupt is INTID 33.'],
    ]);
    const x = JSON.parse((await bootscope(tmp.dir, 'explain', 'uart', r.trace, '--json')).out);
    expect(x.verdict).toBe('working-acpi');
    expect(x.hasConsole).toBe(true);
    expect(x.reasons).toContainEqual(
      expect.stringMatching(
        /^SPCR gives GSI 34 for pl011@9000000, whose interrupt is INTID 33 \(check: acpi.spcr-uart\)\. Linux does not use SPCR's interrupt/,
      ),
    );
    // The table given as is is an input of the run: replay hands the firmware the same bytes.
    const info = JSON.parse((await bootscope(tmp.dir, 'info', r.trace, '--json')).out);
    expect(info.meta.source.config.acpiTablesUnchecked).toEqual([oemFile]);
    expect(Object.keys(info.meta.hashes)).toContain('acpiTableUnchecked0');
    const replay = await bootscope(tmp.dir, 'replay', r.trace, '--json');
    expect(replay.err).toBe('');
    expect(JSON.parse(replay.out).identical).toBe(true);
  });
});
