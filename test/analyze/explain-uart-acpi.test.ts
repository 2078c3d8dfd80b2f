// `explain uart` on ACPI boots (UEFI firmware, tables stored by `run --bios`): the console comes
// from SPCR and the ARMH0011 device; each verdict on a hand-made trace.
import { afterAll, describe, expect, it } from 'vitest';
import type { NewEvent } from '../../capture/model.ts';
import { explainUart } from '../../analyze/explain-uart.ts';
import { buildTables } from '../../emu/acpi/loader.ts';
import { GICD3, GICR3, PCIE, PL011, tmpTraces, writeTrace } from './engine-helpers.ts';

const tmp = tmpTraces();
afterAll(() => tmp.cleanup());
let n = 0;
let t = 0;
const line = (text: string): NewEvent =>
  ({ kind: 'console', time: ++t, vcpu: 0, port: 'pl011@9000000', bytes: Buffer.from(text + '\n') }) as NewEvent;

function explain(opts: { spcr?: boolean; spcrBase?: number; cmdline: string; enabled?: string; more?: string[] }) {
  const tables = buildTables({ smp: 2, gic: 3, its: true, affinity: (i) => i, spcr: opts.spcr ?? true }).map((x) => {
    const b = Uint8Array.from(x.data);
    if (x.sig === 'SPCR' && opts.spcrBase !== undefined) new DataView(b.buffer).setBigUint64(44, BigInt(opts.spcrBase), true);
    return { sig: x.sig, base64: Buffer.from(b).toString('base64') };
  });
  const events = [
    line('EFI stub: Generating empty DTB'),
    line('[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x411fd070]'),
    line('[    0.000000] ACPI: XSDT 0x000000005C48FE98 000064 (v01 BOCHS  BXPC     00000001      01000013)'),
    ...(opts.spcr === false ? [] : [line('[    0.000000] ACPI: SPCR: console: pl011,mmio,0x9000000,9600')]),
    line(`[    0.000000] Kernel command line: ${opts.cmdline}`),
    line('[    0.050000] ARMH0011:00: ttyAMA0 at MMIO 0x9000000 (irq = 12, base_baud = 0) is a SBSA'),
    ...(opts.enabled ? [line(`[    0.050100] printk: console [${opts.enabled}] enabled`)] : []),
    ...(opts.more ?? []).map(line),
  ];
  const r = writeTrace(tmp.file(`e${n++}.trace`), [GICD3, GICR3, PCIE, PL011], events, { extra: { acpi: tables } });
  try {
    return explainUart(r);
  } finally {
    r.close();
  }
}

describe('explain uart on ACPI boots', () => {
  it('working: SPCR names the PL011 and ttyAMA0 is the console', () => {
    const x = explain({ cmdline: 'console=ttyAMA0', enabled: 'ttyAMA0' });
    expect(x.verdict).toBe('working-acpi');
    expect(x.summary).toBe('ACPI boot: ttyAMA0 is the console, as SPCR names the UART at 0x9000000.');
  });

  it('no SPCR and no console=: nothing selects the console', () => {
    const x = explain({ spcr: false, cmdline: 'root=/dev/vda' });
    expect(x.verdict).toBe('acpi-no-spcr');
    expect(x.hasConsole).toBe(false);
  });

  it('SPCR pointing where there is no UART', () => {
    const x = explain({ spcrBase: 0x9100000, cmdline: '', enabled: 'ttyAMA0' });
    expect(x.verdict).toBe('acpi-spcr-wrong');
    expect(x.summary).toBe(
      "SPCR points the console at 0x9100000, where the platform has no UART: the kernel's SPCR console writes nowhere.",
    );
  });

  it('console= naming a port the kernel never created', () => {
    const x = explain({ cmdline: 'console=ttyAMA1' });
    expect(x.verdict).toBe('acpi-console-wrong-port');
    expect(x.summary).toBe('console=ttyAMA1 names a port the kernel never created: on this ACPI boot the PL011 ports are ttyAMA0.');
  });

  it('console=ttyS0: no 16550 on this machine; SPCR still made ttyAMA0 a console (printk falls back to it)', () => {
    const x = explain({
      cmdline: 'console=ttyS0',
      enabled: 'ttyAMA0',
      more: ['[    0.130081] Serial: 8250/16550 driver, 4 ports, IRQ sharing enabled'],
    });
    expect(x.verdict).toBe('acpi-console-other-device');
    expect(x.hasConsole).toBe(true);
    expect(x.summary).toBe(
      '"console=ttyS0" names an 8250/16550 UART (the 8250 driver), which this machine does not have: its console UART is the PL011 at 0x9000000 that SPCR names, ttyAMA0. The console works only because SPCR made ttyAMA0 a default console; "console=ttyS0" itself does nothing.',
    );
    expect(x.reasons.some((r) => r.startsWith('The 8250 driver registered ("Serial: 8250/16550 driver, 4 ports'))).toBe(true);
    expect(x.reasons.at(-1)).toBe('Fix: console=ttyAMA0 (or drop console= and let SPCR choose).');
  });

  it('console=ttyS0 next to console=ttyAMA0 is no verdict (ttyAMA0 is a named console and enabled); console=hvc0 with no console at all is', () => {
    expect(explain({ cmdline: 'console=ttyS0 console=ttyAMA0', enabled: 'ttyAMA0' }).verdict).toBe('working-acpi');
    const x = explain({ cmdline: 'console=hvc0' });
    expect(x.verdict).toBe('acpi-console-other-device');
    expect(x.hasConsole).toBe(false);
    expect(x.summary).toContain('and the kernel enabled no console');
  });
});
