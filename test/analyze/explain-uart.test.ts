// `explain uart` on the six cases the issue names, each built on purpose: emulator switches
// (xen vUART described as a PL011, no vUART) and hand-made DTBs (dtc) for the kvm machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainUart, type UartExplanation } from '../../analyze/explain-uart.ts';
import { openTrace } from '../../capture/store/index.ts';
import { importFile } from '../../capture/import/index.ts';
import { runGuest, type RunConfig } from '../../emu/run.ts';
import { at, GICD3, GICR3, mmio, PL011, tmpTraces, writeTrace } from './engine-helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const UART_BIN = path.join(ROOT, 'guests/bin/uart.bin');
const tmp = tmpTraces();
afterAll(() => tmp.cleanup());

async function explainRun(name: string, cfg: Omit<RunConfig, 'kernel'>): Promise<UartExplanation> {
  const out = tmp.file(`${name}.trace`);
  await runGuest({ kernel: UART_BIN, output: out, maxInsns: 2_000_000, ...cfg });
  const r = openTrace(out);
  try {
    return explainUart(r);
  } finally {
    r.close();
  }
}

/** The kvm machine's own DTB as source text (from a trace's meta, zero padding restored). */
let virtDts = '';
beforeAll(async () => {
  const out = tmp.file('dtb-source.trace');
  await runGuest({ kernel: UART_BIN, output: out, maxInsns: 1 });
  const r = openTrace(out);
  const raw = Buffer.from(r.meta.extra['dtbBase64'] as string, 'base64');
  const dtb = Buffer.alloc(r.meta.extra['dtbSize'] as number);
  raw.copy(dtb);
  r.close();
  writeFileSync(tmp.file('virt.dtb'), dtb);
  virtDts = execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts', tmp.file('virt.dtb')], { encoding: 'utf8' });
}, 120_000);

/** Compile an edited copy of the kvm DTB. */
function dtbWith(name: string, edit: (dts: string) => string): string {
  const dts = edit(virtDts);
  expect(dts).not.toBe(virtDts);
  writeFileSync(tmp.file(`${name}.dts`), dts);
  execFileSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-o', tmp.file(`${name}.dtb`), tmp.file(`${name}.dts`)]);
  return tmp.file(`${name}.dtb`);
}

describe('explain uart: the six cases', () => {
  it('a working PL011', async () => {
    const x = await explainRun('working', { machine: 'kvm' });
    expect(x.verdict).toBe('working-pl011');
    expect(x.hasConsole).toBe(true);
    expect(x.regions[0]!.ids).toEqual({ periphId: '0x141011', cellId: '0xb105f00d', ambaMatch: true });
    expect(x.dt.nodes[0]).toMatchObject({ path: '/pl011@9000000', region: 'pl011@9000000', intid: 33, clocks: [24000000, 24000000] });
    expect(x.reasons.join('\n')).toContain('Interrupt: INTID 33 asserted 1, delivered 1, acknowledged 1 times.');
    expect(x.evidence.some((e) => e.text.includes('pl011@9000000.CR = 0x0'))).toBe(true);
  }, 120_000);

  it('an SBSA vUART described as a PL011: IDs read 0, the driver never binds', async () => {
    const x = await explainRun('sbsa-as-pl011', { machine: 'xen', vuart: 'sbsa', uartDt: 'pl011' });
    expect(x.verdict).toBe('sbsa-described-as-pl011');
    expect(x.regions[0]!.ids).toEqual({ periphId: '0x0', cellId: '0x0', ambaMatch: false });
    expect(x.summary).toContain('its IDs read PeriphID 0x0, PCellID 0x0, the AMBA match fails and the driver never binds');
    expect(x.evidence.length).toBeGreaterThan(0);
    expect(x.evidence[0]!.text).toContain('sbsa-uart@22000000');
  }, 120_000);

  it('a UART missing from the DT', async () => {
    const dtb = dtbWith('no-uart', (s) => s.replace(/\tpl011@9000000 \{[\s\S]*?\n\t\};\n/, '').replace(/.*"\/pl011@9000000";\n/g, ''));
    const x = await explainRun('missing', { machine: 'kvm', dtb });
    expect(x.verdict).toBe('missing-from-dt');
    expect(x.hasConsole).toBe(false);
    expect(x.dt.nodes).toEqual([]);
    expect(x.summary).toBe('The UART is missing from the DT: the guest cannot find pl011@9000000.');
    expect(x.reasons.at(-1)).toBe('Add a node: compatible = "arm,pl011", "arm,primecell"; reg = <0x9000000 0x1000>; interrupts = <0 1 4>.');
  }, 120_000);

  it('a UART described at the wrong address', async () => {
    const dtb = dtbWith('moved', (s) =>
      s.replaceAll('pl011@9000000', 'pl011@9100000').replace('reg = <0x00 0x9000000 0x00 0x1000>', 'reg = <0x00 0x9100000 0x00 0x1000>'),
    );
    const x = await explainRun('moved', { machine: 'kvm', dtb, maxInsns: 300_000 });
    expect(x.verdict).toBe('wrong-address');
    expect(x.dt.nodes[0]).toMatchObject({ path: '/pl011@9100000', region: '' });
    expect(x.unassignedNearUart[0]!.addr).toBe('0x9100000');
    expect(x.evidence[0]!.text).toContain('[unassigned]');
    expect(x.reasons.at(-1)).toBe("Fix the node's reg to 0x9000000.");
  }, 120_000);

  it("the console on Xen's PV console instead", async () => {
    // an xl domU: the PV console ring (console_io is refused to a domain that is not the console domain)
    const x = await explainRun('pv', { machine: 'xen' });
    expect(x.verdict).toBe('xen-pv-console');
    expect(x.hasConsole).toBe(true);
    expect(x.xenConsole.port).toBe('hvc0');
    expect(x.xenConsole.bytes).toBeGreaterThan(0);
    expect(x.regions).toEqual([]);
    // a dom0less domU: console_io
    const d = await explainRun('pv-dom0less', { machine: 'xen', xenToolstack: 'dom0less' });
    expect(d.verdict).toBe('xen-pv-console');
    expect(d.xenConsole.port).toBe('xen_console_io');
    expect(d.xenConsole.bytes).toBeGreaterThan(0);
  }, 120_000);

  it('a UART whose interrupt never arrives (DT names the wrong SPI)', async () => {
    const dtb = dtbWith('irq', (s) =>
      s.replace('interrupts = <0x00 0x01 0x04>;\n\t\treg = <0x00 0x9000000', 'interrupts = <0x00 0x05 0x04>;\n\t\treg = <0x00 0x9000000'),
    );
    const x = await explainRun('irq', { machine: 'kvm', dtb });
    expect(x.verdict).toBe('interrupt-never-arrives');
    expect(x.hasConsole).toBe(true);
    expect(x.summary).toBe('The UART transmits, but its interrupt never arrives (device drives INTID 33, DT says INTID 37).');
    expect(x.regions[0]!.interrupt).toMatchObject({ intid: 33, dtIntid: 37, acked: 0 });
    expect(x.evidence.some((e) => e.text.includes('GICD_ISENABLER1 = 0x20'))).toBe(true);
  }, 120_000);
});

describe('explain uart: hand-made traces and the CLI', () => {
  it('no UART and no console at all', () => {
    const r = writeTrace(
      tmp.file('none.trace'),
      [GICD3, GICR3],
      [{ kind: 'wfx', time: at(), vcpu: 0, wfe: false, wake: 'none', slept: 0 }],
    );
    const x = explainUart(r);
    r.close();
    expect(x.verdict).toBe('no-uart');
    expect(x.dt.present).toBe(false);
  });

  it('RX interrupts unmasked without input are not owed; an unmasked TX interrupt that never comes is', () => {
    const events = (imsc: number) => [
      mmio('mmio_write', PL011, 0x30, 0x301, 'CR'),
      mmio('mmio_write', PL011, 0x38, imsc, 'IMSC'),
      mmio('mmio_write', PL011, 0x0, 0x41, 'DR'),
      { kind: 'console' as const, time: at(), vcpu: -1, port: PL011.name, bytes: new Uint8Array([0x41]) },
    ];
    const rx = writeTrace(tmp.file('rx.trace'), [GICD3, GICR3, PL011], events(0x50), { source: { type: 'emulator' } });
    const a = explainUart(rx);
    rx.close();
    expect(a.verdict).toBe('working-pl011');
    expect(a.reasons.at(-1)).toBe(
      'Interrupt: the guest unmasked IMSC 0x50 (receive/timeout) and enabled INTID 33; no input arrived, so no interrupt was due.',
    );
    const tx = writeTrace(tmp.file('tx.trace'), [GICD3, GICR3, PL011], events(0x20), { source: { type: 'emulator' } });
    const b = explainUart(tx);
    tx.close();
    expect(b.verdict).toBe('interrupt-never-arrives');
    expect(b.summary).toBe(
      'The UART transmits, but its interrupt never arrives (the UART never asserted its line although an unmasked interrupt was due; check IMSC, RIS and the device model).',
    );
  });

  it('an imported QEMU boot without a DTB: the region table stands in for the DT', async () => {
    const out = tmp.file('qemu.trace');
    await importFile({ input: path.join(ROOT, 'test/fixtures/qemu/linux-gicv3-smp2.prefix.log.gz'), output: out });
    const r = openTrace(out);
    const x = explainUart(r);
    r.close();
    expect(x.verdict).toBe('working-pl011');
    expect(x.dt.present).toBe(false);
    expect(x.dt.nodes[0]!.path).toBe('region table: pl011@9000000');
    expect(x.reasons).toContain(
      'Enable sequence: not in the trace (firmware or an earlier stage may have enabled the UART before the trace starts).',
    );
  }, 120_000);

  it('prints text and JSON', async () => {
    const out = tmp.file('cli.trace');
    await runGuest({ kernel: UART_BIN, output: out, machine: 'xen' });
    const text = spawnSync(path.join(ROOT, 'bootscope'), ['explain', 'uart', out], { encoding: 'utf8' });
    expect(text.status).toBe(0);
    expect(text.stdout.split('\n')[0]).toBe('verdict: xen-pv-console');
    const json = spawnSync(path.join(ROOT, 'bootscope'), ['explain', 'uart', out, '--json'], { encoding: 'utf8' });
    expect((JSON.parse(json.stdout) as UartExplanation).verdict).toBe('xen-pv-console');
    expect(readFileSync(out).length).toBeGreaterThan(0);
  }, 120_000);
});
