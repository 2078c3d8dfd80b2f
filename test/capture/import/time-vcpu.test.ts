// Timestamps that go backwards and vCPU numbers the store cannot hold: both are the input's
// problems, so the import names the input file and its lines — never the temporary trace.
import { describe, expect, it, vi, afterEach } from 'vitest';
import { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importFile } from '../../../capture/import/index.ts';
import { openTrace } from '../../../capture/store/index.ts';
import { registerImport } from '../../../cli/commands/import.ts';
import { ofKind, parse, tmp, tmpFile } from './helpers.ts';
import { writeSimpleTrace } from './simpletrace-writer.ts';

const L = (lines: string[]) => lines.join('\n') + '\n';
let n = 0;
const out = () => join(tmp, `tv${n++}.trace`);
const FT = (cpu: string, ts: string, s: string) => ` ${cpu}-4123 [002] ..... ${ts}: ${s}`;
const MMIO = 'kvm_mmio: mmio write len 4 gpa 0x9000000 val 0x41';

describe('ftrace timestamps that go backwards', () => {
  it('are counted with their lines and the largest step; events keep the previous time', async () => {
    const input = tmpFile(
      L([
        FT('CPU 0/KVM', '2000.000000', MMIO),
        FT('CPU 0/KVM', '2000.000010', MMIO),
        FT('CPU 0/KVM', '800.000020', MMIO), // 20 minutes earlier
        FT('CPU 0/KVM', '2000.000030', MMIO),
        FT('CPU 0/KVM', '2000.000029', MMIO), // 1 µs earlier
      ]),
    );
    const o = out();
    const r = await importFile({ input, output: o });
    expect(r.stats.backwards).toEqual({
      lines: 2,
      maxStepNs: 1199999990000,
      maxStepLine: 3,
      samples: [
        { line: 3, stepNs: 1199999990000 },
        { line: 5, stepNs: 1000 },
      ],
    });
    expect(r.stats.bad).toBe(0);
    const t = openTrace(o);
    expect(ofKind([...t.events()], 'mmio_write').map((e) => e.time)).toEqual([0, 10000, 10000, 30000, 30000]);
    expect(t.meta.extra.timeBackwards).toMatchObject({ lines: 2, maxStepLine: 3 });
    t.close();
  });

  it('the import summary warns with the line numbers (text and JSON)', async () => {
    const input = tmpFile(L([FT('CPU 0/KVM', '2000.000000', MMIO), FT('CPU 0/KVM', '800.000000', MMIO)]));
    const printed: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (printed.push(String(s)), true));
    Object.defineProperty(process.stdout, 'isTTY', { value: true, configurable: true });
    const p = new Command().exitOverride();
    registerImport(p);
    await p.parseAsync(['import', input, '-o', out()], { from: 'user' });
    expect(printed.join('')).toMatch(
      /warning: time went backwards on 1 line \(largest step 1200\.000 s back, at line 2; first at lines 2\)/,
    );
    printed.length = 0;
    await p.parseAsync(['import', input, '-o', out(), '--json'], { from: 'user' });
    expect(JSON.parse(printed.join('')).timeBackwards).toMatchObject({ lines: 1, maxStepLine: 2 });
  });
  it('names from the input (a simpletrace mapping record) reach the terminal escaped', async () => {
    const f = join(tmp, 'escape.simpletrace');
    writeSimpleTrace(f, [{ name: 'pl011_read', ns: 1n, args: [0, 0] }]);
    const b = readFileSync(f);
    b.write('\x1b[2J\x1b]0;xy', b.indexOf('pl011_read'), 'latin1'); // same length: an unknown event
    writeFileSync(f, b);
    const printed: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (printed.push(String(s)), true));
    Object.defineProperty(process.stdout, 'isTTY', { value: true, configurable: true });
    const p = new Command().exitOverride();
    registerImport(p);
    await p.parseAsync(['import', f, '-o', out()], { from: 'user' });
    expect(printed.join('')).toContain('unmapped: \\x1b[2J\\x1b]0;xy 1');
    expect(printed.join('')).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    Object.defineProperty(process.stdout, 'isTTY', { value: undefined, configurable: true });
  });

  it('QEMU logs count them too (threads stamp before the log lock)', () => {
    const r = parse(
      'qemu-log',
      L(['1@100.000010:pl011_read addr 0x00000018 value 0x00000010', '2@100.000005:pl011_read addr 0x00000018 value 0x00000010']),
    );
    expect(r.stats.backwards).toMatchObject({ lines: 1, maxStepNs: 5000, maxStepLine: 2 });
  });
});

describe('vCPU numbers out of range', () => {
  it('ftrace: a thread name "CPU 70000/KVM" is a bad line naming the line, not an error about the temporary file', async () => {
    const input = tmpFile(L([FT('CPU 0/KVM', '1.000000', MMIO), FT('CPU 70000/KVM', '1.000001', MMIO), FT('CPU 1/KVM', '1.000002', MMIO)]));
    const r = await importFile({ input, output: out() });
    expect(r.stats.bad).toBe(1);
    expect(r.stats.badSamples[0]).toMatchObject({ line: 2, reason: 'vCPU 70000 out of range (0 to 65534) in the thread name' });
    expect(r.events).toBe(4);
  });

  it('ftrace: a VCPU field out of range is a bad line; with --strict the error names the input line', async () => {
    const lines = L([
      FT('CPU 0/KVM', '1.000000', MMIO),
      FT('CPU 0/KVM', '1.000001', 'kvm_timer_update_irq: VCPU: 99999, IRQ 27, level 1'),
      FT('CPU 0/KVM', '1.000002', 'vgic_update_irq_pending: VCPU: -5, IRQ 27, level: 1'),
    ]);
    const input = tmpFile(lines);
    const r = await importFile({ input, output: out() });
    expect(r.stats.badSamples.map((b) => [b.line, b.reason])).toEqual([
      [2, 'vCPU 99999 out of range (0 to 65534)'],
      [3, 'vCPU -5 out of range (0 to 65534)'],
    ]);
    const o = out();
    await expect(importFile({ input, output: o, strict: true })).rejects.toThrow(
      new RegExp(`^${input}:2: vCPU 99999 out of range \\(0 to 65534\\): `),
    );
  });

  it('QEMU log: memory_region_ops and GIC CPU-interface lines with a vCPU out of range are bad lines', async () => {
    const input = tmpFile(
      L([
        "memory_region_ops_write cpu 70000 mr 0x55d0 addr 0x09000000 value 0x41 size 4 name 'pl011'",
        'gic_cpu_read cpu 65535 s_read at 0x0000000c: 0x00000021',
        'gic_acknowledge_irq cpu 100000 irq 33',
        "memory_region_ops_write cpu -1 mr 0x55d0 addr 0x09000000 value 0x42 size 4 name 'pl011'",
      ]),
    );
    const r = await importFile({ input, output: out() });
    expect(r.stats.badSamples.map((b) => [b.line, b.reason])).toEqual([
      [1, 'vCPU 70000 out of range (-1 to 65534)'],
      [2, 'vCPU 65535 out of range (-1 to 65534)'],
      [3, 'vCPU 100000 out of range (-1 to 65534)'],
    ]);
    expect(r.events).toBe(2);
  });
});
