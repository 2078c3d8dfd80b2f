import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { formatEvent, parseTraceEvents } from '../../../capture/import/trace-events.ts';
import { ofKind, parsePath, tmp } from './helpers.ts';
import { writeSimpleTrace } from './simpletrace-writer.ts';

let n = 0;
const path = () => join(tmp, `simple${n++}.bin`);

describe('QEMU simple backend (v4)', () => {
  it('renders records with the trace-events formats and maps them like log lines', () => {
    const p = path();
    writeSimpleTrace(
      p,
      [
        { name: 'memory_region_ops_write', ns: 1000n, args: [0, 0x55n, 0x9000000n, 0x41n, 1, 'pl011'] },
        { name: 'pl011_write', ns: 1100n, args: [0, 0x41] },
        { name: 'pl011_read', ns: 2000n, args: [0x18, 0x90] },
        { name: 'memory_region_ops_read', ns: 2100n, args: [-1, 0x55n, 0x9000018n, 0x90n, 4, 'pl011'] },
        { name: 'gicv3_redist_set_irq', ns: 3000n, args: [1, 27, 1] },
        { name: 'pl011_can_receive', ns: 3100n, args: [0x70, 0, 1] },
      ],
      { dropped: 3n },
    );
    const r = parsePath('qemu-simple', p);
    expect(r.events.map((e) => e.kind)).toEqual(['mmio_write', 'console', 'mmio_read', 'irq_line']);
    expect(r.events[0]).toMatchObject({ time: 0, addr: 0x9000000, register: 'DR', size: 1, vcpu: 0 });
    expect(r.events[2]).toMatchObject({ time: 1000, register: 'FR', value: 0x90n, vcpu: -1 });
    expect(r.events[3]).toMatchObject({ time: 2000, intid: 27, vcpu: 1 });
    expect(r.stats.unmapped).toEqual({ pl011_can_receive: 1 });
    expect(r.extra.droppedEvents).toBe('3');
    expect(r.stats.lines).toBe(r.stats.parsed + 1 + r.stats.header + r.stats.bad);
  });

  it('formats like printf: widths, PRIx64, negative ints', () => {
    const defs = parseTraceEvents(
      'a(uint32_t addr, uint32_t value) "addr 0x%08x value 0x%08x"\nb(int cpu, uint64_t v) "cpu %d v 0x%" PRIx64 " end"\n',
      'x',
    );
    expect(formatEvent(defs.get('a')!, [0x18n, 0x90n])).toBe('addr 0x00000018 value 0x00000090');
    expect(formatEvent(defs.get('b')!, [0xffffffffffffffffn, 0xabcn])).toBe('cpu -1 v 0xabc end');
  });

  it('rejects another format version, naming the file', () => {
    const p = path();
    writeSimpleTrace(p, [{ name: 'pl011_read', ns: 1n, args: [0, 0] }], { version: 3 });
    expect(() => parsePath('qemu-simple', p)).toThrow(new RegExp(`${p}: simpletrace format version 3 is not supported`));
  });

  it('reports records whose event has no mapping record', () => {
    const p = path();
    writeSimpleTrace(p, [{ name: 'pl011_read', ns: 1n, args: [0x18, 0x90] }], { skipMapping: ['pl011_read'] });
    const r = parsePath('qemu-simple', p);
    expect(r.stats.bad).toBe(1);
    expect(() => parsePath('qemu-simple', p, { strict: true })).toThrow(/: record 1: event id 1 has no mapping record/);
    expect(ofKind(r.events, 'mmio_read')).toHaveLength(0);
  });
});
