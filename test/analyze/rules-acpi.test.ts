// The acpi rule family on hand-made traces carrying the kvm machine's own ACPI tables (as `run
// --bios` stores them): clean when tables and platform agree, and each rule on a table or a run
// made to break it.
import { afterAll, describe, expect, it } from 'vitest';
import type { DeviceRegion, NewEvent } from '../../capture/model.ts';
import { check } from '../../analyze/check.ts';
import { ACPI_RULES } from '../../analyze/rules/acpi.ts';
import { buildTables } from '../../emu/acpi/loader.ts';
import { checksumOf } from '../../emu/acpi/tables.ts';
import { GICD3, GICR3, PCIE, PL011, tmpTraces, writeTrace } from './engine-helpers.ts';

const tmp = tmpTraces();
afterAll(() => tmp.cleanup());
let n = 0;
const ACPI_IDS = Object.values(ACPI_RULES).map((r) => r.id);
const ITS: DeviceRegion = { name: 'gicv3-its@8080000', model: 'gicv3-its', role: 'gic_its', base: 0x08080000, size: 0x20000 };

type Patch = (sig: string, b: Uint8Array) => void;
function extra(patch: Patch = () => {}) {
  const tables = buildTables({ smp: 2, gic: 3, its: true, affinity: (i) => i });
  return {
    acpi: tables.map((t) => {
      const b = Uint8Array.from(t.data);
      patch(t.sig, b);
      return { sig: t.sig, base64: Buffer.from(b).toString('base64') };
    }),
  };
}
const fix = (b: Uint8Array) => {
  b[9] = 0;
  b[9] = checksumOf(b);
};
let t = 0;
const consoleLine = (text: string): NewEvent =>
  ({ kind: 'console', time: ++t, vcpu: 0, port: 'pl011@9000000', bytes: Buffer.from(text + '\n') }) as NewEvent;
const timerLine = (intid: number): NewEvent =>
  ({ kind: 'irq_line', time: ++t, vcpu: 0, intid, level: 1, trigger: 'level', source: 'timer:virt' }) as NewEvent;

function acpiFindings(regions: DeviceRegion[], events: NewEvent[], ex: Record<string, unknown>) {
  const r = writeTrace(tmp.file(`a${n++}.trace`), regions, events, { extra: ex });
  try {
    return check(r, new Set(ACPI_IDS)).findings;
  } finally {
    r.close();
  }
}
const ACPI_BOOT = [
  consoleLine('EFI stub: Generating empty DTB'),
  consoleLine('[    0.000000] ACPI: XSDT 0x000000005C48FE98 000064 (v01 BOCHS  BXPC)'),
  timerLine(27),
];

describe('acpi rules', () => {
  it('a correct ACPI boot is clean', () => {
    expect(acpiFindings([GICD3, GICR3, ITS, PCIE, PL011], ACPI_BOOT, extra())).toEqual([]);
  });

  it('acpi.madt-gic: an ITS in the MADT the platform lacks (QEMU 7.2 its=off); a wrong GICD base', () => {
    const fs = acpiFindings([GICD3, GICR3, PCIE, PL011], ACPI_BOOT, extra());
    expect(fs.map((f) => f.rule)).toEqual(['acpi.madt-gic']);
    expect(fs[0]!.message).toMatch(/^the MADT lists a GIC ITS at 0x8080000, but the platform has none there/);
    const moved = acpiFindings(
      [GICD3, GICR3, ITS, PCIE, PL011],
      ACPI_BOOT,
      extra((s, b) => s === 'APIC' && ((b[44 + 8 + 3] = 0x09), fix(b))),
    );
    expect(moved.map((f) => f.message)).toEqual(["the MADT puts the GIC distributor at 0x9000000; the platform's is at 0x8000000."]);
  });

  it('acpi.spcr-uart: wrong base, interface type, GSI', () => {
    const fs = acpiFindings(
      [GICD3, GICR3, ITS, PCIE, PL011],
      ACPI_BOOT,
      extra((s, b) => s === 'SPCR' && ((b[36] = 0x0e), (b[54] = 40), fix(b))),
    );
    expect(fs.map((f) => f.message)).toEqual([
      'SPCR says interface type 0xe for pl011@9000000, a pl011 (expected 0x3); the kernel picks the wrong driver.',
      'SPCR gives GSI 40 for pl011@9000000, whose interrupt is INTID 33.',
    ]);
    const gone = acpiFindings(
      [GICD3, GICR3, ITS, PCIE, PL011],
      ACPI_BOOT,
      extra((s, b) => s === 'SPCR' && ((b[46] = 0x10), fix(b))),
    );
    expect(gone[0]!.message).toBe(
      "SPCR names a UART at 0x9100000, where the platform has none (pl011@9000000 at 0x9000000); the kernel's console goes nowhere.",
    );
  });

  it('acpi.gtdt-timer: the virtual timer signals another PPI than the GTDT gives', () => {
    const fs = acpiFindings([GICD3, GICR3, ITS, PCIE, PL011], [...ACPI_BOOT, timerLine(28)], extra());
    expect(fs.map((f) => f.message)).toEqual([
      'the virtual timer signals INTID 28, but the GTDT gives GSIV 27: the kernel waits on another interrupt.',
    ]);
  });

  it('acpi.table-header and acpi.hw-description', () => {
    const bad = acpiFindings(
      [GICD3, GICR3, ITS, PCIE, PL011],
      ACPI_BOOT,
      extra((s, b) => s === 'MCFG' && (b[50] ^= 1)),
    );
    expect(bad.map((f) => f.rule)).toEqual(['acpi.table-header']);
    const both = acpiFindings(
      [GICD3, GICR3, ITS, PCIE, PL011],
      [consoleLine('EFI stub: Using DTB from configuration table'), ACPI_BOOT[1]!],
      extra(),
    );
    expect(both.map((f) => f.rule)).toEqual(['acpi.hw-description']);
    const kernelLog = consoleLine('[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x411fd070]');
    const neither = acpiFindings([GICD3, GICR3, ITS, PCIE, PL011], [ACPI_BOOT[0]!, kernelLog], {});
    expect(neither.map((f) => f.message)).toEqual([
      'the EFI stub generated an empty DTB (the firmware gave no DT) but the kernel found no ACPI tables: it has no hardware description.',
    ]);
    // The firmware put ACPI in the system table (the kernel's efi: line) and the kernel was told
    // acpi=off (as on a real run in test/real/uefi-broken.test.ts): not the VM's fault.
    const efiLine = consoleLine('[    0.000000] efi: SMBIOS 3.0=0x5fed0000 MEMATTR=0x5d28f018 ACPI 2.0=0x5c430018 MEMRESERVE=0x5c42ff18 ');
    const acpiOff = consoleLine('[    0.000000] Kernel command line: acpi=off earlycon=pl011,0x9000000 console=ttyAMA0');
    expect(acpiFindings([GICD3, GICR3, ITS, PCIE, PL011], [ACPI_BOOT[0]!, kernelLog, efiLine, acpiOff], extra())).toEqual([]);
    // Without the efi: line's ACPI (a firmware that gave neither), acpi=off does not excuse it.
    expect(acpiFindings([GICD3, GICR3, ITS, PCIE, PL011], [ACPI_BOOT[0]!, kernelLog, acpiOff], {}).map((f) => f.rule)).toEqual([
      'acpi.hw-description',
    ]);
    // A real ACPI boot with no SPCR and no console= (test/real/uefi-broken.test.ts): the EFI stub's
    // lines reach the UART, the kernel's log never does; that is no evidence of missing tables.
    expect(acpiFindings([GICD3, GICR3, ITS, PCIE, PL011], [ACPI_BOOT[0]!, timerLine(27)], extra())).toEqual([]);
  });
});
