// Numbers out of range in imported text: a number wider than 64 bits (or, where the model keeps
// a JavaScript number, one of 2^53 or more) makes its line a counted bad line with its line
// number; values are exact to 64 bits from the parser through the store to every output.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { importFile } from '../../../capture/import/index.ts';
import { openTrace, runSql } from '../../../capture/store/index.ts';
import { eventToJson } from '../../../capture/describe.ts';
import { ofKind, parse, tmp, tmpFile } from './helpers.ts';

const L = (lines: string[]) => lines.join('\n') + '\n';
let n = 0;
const out = () => join(tmp, `numbers${n++}.trace`);

const UART_A = 'pl011_write addr 0x00000000 value 0x00000041';
const UART_B = 'pl011_write addr 0x00000000 value 0x00000042';

describe('QEMU log: numbers out of range', () => {
  it('a value wider than 64 bits is a counted bad line; the lines around it are kept', async () => {
    const input = tmpFile(
      L([UART_A, 'gicv3_dist_write GICv3 distributor write: offset 0x0 data 0xffffffffffffffffff size 4 secure 0', UART_B]),
    );
    const o = out();
    const r = await importFile({ input, output: o });
    expect(r.stats.bad).toBe(1);
    expect(r.stats.badSamples[0]).toMatchObject({ line: 2 });
    expect(r.stats.badSamples[0]!.reason).toMatch(/number out of range/);
    expect(r.accounted).toBe(true);
    const t = openTrace(o);
    const evs = [...t.events()];
    expect(t.verify()).toEqual([]);
    expect(ofKind(evs, 'console').map((e) => e.bytes[0])).toEqual([0x41, 0x42]);
    expect(evs.map((e) => e.src_line)).toEqual([1, 1, 3, 3]);
    t.close();
  });

  it('an address of 2^53 or more is a bad line, not a damaged chunk', async () => {
    const input = tmpFile(
      L([
        UART_A,
        "memory_region_ops_write cpu 0 mr 0x55d0 addr 0xffffffffffffffffff value 0x1 size 4 name 'x'",
        "memory_region_ops_write cpu 0 mr 0x55d0 addr 0x20000000000001 value 0x1 size 4 name 'x'",
        'gic_set_irq irq 0x1ffffffffffffffff level 1 cpumask 0x1',
        UART_B,
      ]),
    );
    const o = out();
    const r = await importFile({ input, output: o });
    expect(r.stats.bad).toBe(3);
    expect(r.stats.badSamples.map((b) => b.line)).toEqual([2, 3, 4]);
    const t = openTrace(o);
    expect([...t.events()]).toHaveLength(4);
    expect(t.problems).toEqual([]);
    t.close();
  });

  it('a 10 MB hex string is one bad line', () => {
    const r = parse('qemu-log', L([UART_A, `pl011_write addr 0x00000000 value 0x${'f'.repeat(10 << 20)}`, UART_B]));
    expect(r.stats.bad).toBe(1);
    expect(r.stats.badSamples[0]!.line).toBe(2);
    expect(r.stats.badSamples[0]!.text.length).toBeLessThan(100);
    expect(ofKind(r.events, 'console')).toHaveLength(2);
  });

  it('leading zeros do not count: a 64-bit value with padding is exact', () => {
    const r = parse('qemu-log', L(['arm_gt_cval_write gt_cval_write: timer 1 value 0x0000ffffffffffffffff']));
    expect(r.stats.bad).toBe(0);
    expect(ofKind(r.events, 'timer')[0]!.value).toBe(0xffffffffffffffffn);
  });

  it('values of 2^53 and more are exact: parse, store, events --json and sql', async () => {
    const input = tmpFile(
      L([
        'gic_dist_write dist write at 0x00000000 size 4: 0x20000000000001',
        'pl011_write addr 0x00000000 value 0x20000000000003',
        'arm_gt_cval_write gt_cval_write: timer 1 value 0xfffffffffffffffe',
        "memory_region_ops_write cpu 0 mr 0x55d0 addr 0x0a000000 value 0x8000000000000001 size 8 name 'virtio-mmio'",
      ]),
    );
    const o = out();
    const r = await importFile({ input, output: o });
    expect(r.stats.bad).toBe(0);
    const t = openTrace(o);
    const evs = [...t.events()];
    const values = evs.filter((e) => e.kind === 'mmio_write' || e.kind === 'timer').map((e) => (e as { value: bigint }).value);
    expect(values).toEqual([0x20000000000001n, 0x20000000000003n, 0xfffffffffffffffen, 0x8000000000000001n]);
    expect(evs.filter((e) => e.kind !== 'console').map((e) => eventToJson(e).value)).toEqual([
      '0x20000000000001',
      '0x20000000000003',
      '0xfffffffffffffffe',
      '0x8000000000000001',
    ]);
    const sql = runSql(t, "SELECT printf('%x', value) FROM events WHERE kind IN ('mmio_write', 'timer') ORDER BY seq");
    expect(sql.rows.map((x) => x[0])).toEqual(['20000000000001', '20000000000003', 'fffffffffffffffe', '8000000000000001']);
    t.close();
  });

  it('with --strict the first out-of-range number stops the import, naming the line', async () => {
    const input = tmpFile(L([UART_A, 'pl011_write addr 0x00000000 value 0x1ffffffffffffffff']));
    await expect(importFile({ input, output: out(), strict: true })).rejects.toThrow(new RegExp(`^${input}:2: number out of range`));
  });
});

const FT = (s: string) => ` CPU 0/KVM-4123 [002] ..... 1234.500001: ${s}`;

describe('ftrace: numbers out of range', () => {
  it('a value or address wider than its field is a counted bad line', () => {
    const r = parse(
      'ftrace',
      L([
        FT('kvm_mmio: mmio write len 4 gpa 0x9000000 val 0x41'),
        FT('kvm_mmio: mmio write len 4 gpa 0x9000000 val 0x1ffffffffffffffff'),
        FT('kvm_mmio: mmio write len 4 gpa 0xffffffffffffffffff val 0x1'),
        FT('kvm_mmio: mmio write len 4 gpa 0x9000000 val 0xffffffffffffffff'),
        FT(`kvm_entry: PC: 0x${'1'.repeat(1 << 20)}`),
      ]),
    );
    expect(r.stats.bad).toBe(3);
    expect(r.stats.badSamples.map((b) => b.line)).toEqual([2, 3, 5]);
    for (const b of r.stats.badSamples) expect(b.reason).toMatch(/number out of range/);
    expect(ofKind(r.events, 'mmio_write').map((e) => e.value)).toEqual([0x41n, 0xffffffffffffffffn]);
  });

  it('a timestamp of 2^53 seconds or more is a bad line', () => {
    const r = parse(
      'ftrace',
      L([
        FT('kvm_mmio: mmio write len 4 gpa 0x9000000 val 0x41'),
        ' CPU 0/KVM-4123 [002] ..... 99999999999999999999.500001: kvm_mmio: mmio write len 4 gpa 0x9000000 val 0x42',
      ]),
    );
    expect(r.stats.bad).toBe(1);
    expect(r.stats.badSamples[0]!.line).toBe(2);
  });
});
