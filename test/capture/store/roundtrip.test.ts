import { describe, it, expect, beforeAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { matchesFilter, type EventFilter, type TraceEvent } from '../../../capture/model.ts';
import { openTrace, createTrace, TraceError } from '../../../capture/store/index.ts';
import { bootMixPool, BOOT_MIX_DEVICES } from '../../../bench/boot-mix.ts';
import { BASE_OPTS, everyKind, plain, tmpDir, withSeq, writeEvents } from './helpers.ts';

const dir = tmpDir();

describe('write and read back', () => {
  it('keeps every kind and field exactly, including 64-bit extremes, bytes and lists', () => {
    const file = path.join(dir, 'kinds.trace');
    const evs = everyKind();
    const res = writeEvents(file, evs);
    expect(res.events).toBe(evs.length);
    const r = openTrace(file);
    expect(r.complete).toBe(true);
    const got = [...r.events()];
    expect(plain(got)).toEqual(plain(withSeq(evs)));
    expect(got[11]!.kind === 'console' && got[11]!.bytes).toBeInstanceOf(Uint8Array);
    expect(r.meta.source).toEqual(BASE_OPTS.source);
    expect(r.meta.clock).toEqual(BASE_OPTS.clock);
    expect(r.meta.hashes).toEqual(BASE_OPTS.hashes);
    expect(r.regions.map((d) => d.name)).toEqual(BOOT_MIX_DEVICES.map((d) => d.name));
    r.close();
  });

  it('keeps producer-given sequence numbers (gaps allowed, never backwards)', () => {
    const file = path.join(dir, 'seq.trace');
    const evs = everyKind().map((e, i) => ({ ...e, seq: 10 + i * 3 }));
    writeEvents(file, evs, { chunkEvents: 4 });
    const r = openTrace(file);
    expect([...r.events()].map((e) => e.seq)).toEqual(evs.map((e) => e.seq));
    expect(r.event(13)!.kind).toBe('mmio_write');
    expect(r.event(14)).toBeUndefined();
    r.close();
    const w = createTrace(path.join(dir, 'seq-bad.trace'), BASE_OPTS);
    w.record({ ...everyKind()[0]!, seq: 5 });
    expect(() => w.record({ ...everyKind()[0]!, seq: 5 })).toThrow(/event seq 5 is not after the previous one \(5\)/);
    w.close();
  });

  it('round-trips a boot-shaped stream across many chunks', () => {
    const file = path.join(dir, 'mix.trace');
    const evs = bootMixPool(50_000, { vcpus: 4 });
    const res = writeEvents(file, evs, { chunkEvents: 4096 });
    expect(res.chunks).toBe(Math.ceil(50_000 / 4096));
    const r = openTrace(file);
    expect(r.eventCount).toBe(50_000);
    let i = 0;
    for (const e of r.events()) {
      expect(plain(e)).toEqual(plain({ ...evs[i], seq: i }));
      i++;
    }
    expect(i).toBe(50_000);
    r.close();
  });
});

describe('reader queries', () => {
  const file = path.join(dir, 'query.trace');
  let evs: TraceEvent[];
  beforeAll(() => {
    const src = [...bootMixPool(30_000, { vcpus: 3, seed: 7 }), ...everyKind(10_000_000)];
    evs = withSeq(src);
    writeEvents(file, src, { chunkEvents: 2000 });
  });

  const filters: [string, EventFilter][] = [
    ['kinds', { kinds: ['irq_ack', 'irq_eoi'] }],
    ['devices', { devices: ['gic-cpu@8010000'] }],
    ['device of irq lines and consoles', { devices: ['arch_timer', 'pl011@9000000'] }],
    ['registers', { registers: ['UARTDR', 'GICC_IAR'] }],
    ['vcpus', { vcpus: [2] }],
    ['unknown vcpu', { vcpus: [-1] }],
    ['intids', { intids: [27] }],
    ['time window', { fromTime: 50_000, toTime: 90_000 }],
    ['seq window', { fromSeq: 4_321, toSeq: 9_999 }],
    ['everything combined', { kinds: ['mmio_read'], registers: ['UARTFR'], vcpus: [0], fromTime: 10_000, toTime: 400_000 }],
    ['nothing', { kinds: ['input'], fromSeq: 0, toSeq: 10 }],
  ];
  for (const [name, f] of filters) {
    it(`filters by ${name} like matchesFilter does`, () => {
      const r = openTrace(file);
      const want = evs.filter((e) => matchesFilter(e, f));
      expect(plain([...r.events(f)])).toEqual(plain(want));
      r.close();
    });
  }

  it('finds event N by sequence number and seeks by time', () => {
    const r = openTrace(file);
    for (const n of [0, 1, 1999, 2000, 12_345, evs.length - 1]) expect(plain(r.event(n))).toEqual(plain(evs[n]));
    expect(r.event(evs.length)).toBeUndefined();
    for (const t of [0, 77_777, 123_456, 10_000_005]) {
      const want = evs.find((e) => e.time >= t);
      expect(plain(r.seekTime(t))).toEqual(plain(want));
    }
    expect(r.seekTime(1e15)).toBeUndefined();
    r.close();
  });

  it('prunes chunks by the index before decoding', () => {
    const r = openTrace(file);
    expect(r.candidateChunks({ fromSeq: 4_500, toSeq: 4_600 }).map((c) => c.id)).toEqual([2]);
    expect(r.candidateChunks({ kinds: ['hypercall'] }).length).toBeLessThan(r.chunks.length);
    r.close();
  });

  it('stores summaries that match the events', () => {
    const r = openTrace(file);
    const c = r.counts();
    expect(c.origin).toBe('stored');
    const byKind: Record<string, number> = {};
    for (const e of evs) byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
    expect(c.kinds).toEqual(byKind);
    const uartDr = evs.filter((e) => e.kind === 'mmio_write' && e.register === 'UARTDR').length;
    expect(c.registers.find((x) => x.register === 'UARTDR')!.count).toBe(uartDr);
    const ticks = evs.filter((e) => e.kind === 'irq_ack' && e.intid === 27).length;
    expect(c.intids.find((x) => x.intid === 27 && x.kind === 'irq_ack')!.count).toBe(ticks);
    expect(c.hypercalls).toContainEqual({ conduit: 'smc', func: 0x84000000, name: 'PSCI_VERSION', subop: '', count: 1 });
    const v2 = evs.filter((e) => e.vcpu === 2).length;
    expect(c.vcpus.filter((x) => x.vcpu === 2).reduce((a, x) => a + x.count, 0)).toBe(v2);
    const s = r.summary;
    expect(s.eventCount).toBe(evs.length);
    expect(s.byDevice['pl011@9000000']).toBe(
      evs.filter((e) =>
        e.kind !== 'irq_line' && 'device' in e
          ? e.device === 'pl011@9000000'
          : 'port' in e
            ? e.port === 'pl011@9000000'
            : 'source' in e && e.source === 'pl011@9000000',
      ).length,
    );
    expect(s.byHypercall['PSCI_VERSION']).toBe(1);
    const info = r.info();
    expect(info.complete).toBe(true);
    expect(info.events).toBe(evs.length);
    expect(info.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(info.timeLast).toBe(evs[evs.length - 1]!.time);
    r.close();
  });
});

describe('digest', () => {
  it('is the same for the same events and differs when one field differs', () => {
    const a = writeEvents(path.join(dir, 'd1.trace'), bootMixPool(5000));
    const b = writeEvents(path.join(dir, 'd2.trace'), bootMixPool(5000));
    const evs = bootMixPool(5000);
    (evs[4321] as { time: number }).time += 1;
    const c = writeEvents(path.join(dir, 'd3.trace'), evs);
    expect(a.digest).toBe(b.digest);
    expect(c.digest).not.toBe(a.digest);
  });
});

describe('bad events', () => {
  const cases: [string, object, RegExp][] = [
    [
      'a missing field',
      { kind: 'mmio_read', time: 1, vcpu: 0, addr: 1, size: 4, value: 0n, device: 'x', outcome: 'handled' },
      /event 0: mmio_read event: field 'register' is missing/,
    ],
    [
      'a wrong type',
      { kind: 'irq_eoi', time: 1, vcpu: 0, intid: '33', via: 'gicc_mmio' },
      /event 0: irq_eoi event: field 'intid' has the wrong type \(string\)/,
    ],
    [
      'a bad enum value',
      { kind: 'irq_eoi', time: 1, vcpu: 0, intid: 33, via: 'mmio' },
      /field 'via' is "mmio", expected one of gicc_mmio, icc_sysreg, unknown/,
    ],
    ['an unknown kind', { kind: 'teleport', time: 1, vcpu: 0 }, /unknown event kind "teleport"/],
    [
      'a bad vCPU',
      { kind: 'irq_eoi', time: 1, vcpu: -2, intid: 33, via: 'gicc_mmio' },
      /vcpu must be an integer from -1 \(unknown\) to 65534, got -2/,
    ],
    ['a negative time', { kind: 'irq_eoi', time: -1, vcpu: 0, intid: 33, via: 'gicc_mmio' }, /time must be a non-negative integer, got -1/],
    // Out of range: stored, these would turn into varints the reader cannot decode (a lost chunk).
    [
      'a time of 2^53',
      { kind: 'irq_eoi', time: 2 ** 53, vcpu: 0, intid: 33, via: 'gicc_mmio' },
      /time must be below 2\^53, got 9007199254740992/,
    ],
    [
      'an address of 2^60',
      { kind: 'mmio_read', time: 1, vcpu: 0, addr: 2 ** 60, size: 4, value: 0n, device: '', register: '', outcome: 'handled' },
      /field 'addr' is 1152921504606847000, expected an integer from 0 to 2\^53-1/,
    ],
    [
      'an INTID of 1e21',
      { kind: 'irq_eoi', time: 1, vcpu: 0, intid: 1e21, via: 'gicc_mmio' },
      /field 'intid' is 1e\+21, expected an integer from 0 to 2\^53-1/,
    ],
    [
      'a 65-bit argument',
      { kind: 'hypercall', time: 1, vcpu: 0, conduit: 'hvc', imm: 0, func: 0, name: '', subop: '', args: [1n, 2n ** 64n], results: [] },
      /field 'args' is 1,18446744073709551616, expected 0 to 2\^64-1/,
    ],
  ];
  for (const [name, ev, msg] of cases) {
    it(`rejects ${name} with a clear message and keeps the trace consistent`, () => {
      const file = path.join(dir, `bad-${name.replace(/\W+/g, '-')}.trace`);
      const w = createTrace(file, BASE_OPTS);
      expect(() => w.record(ev as never)).toThrow(TraceError);
      expect(() => w.record(ev as never)).toThrow(msg);
      w.record(everyKind()[5]!);
      w.close();
      const r = openTrace(file);
      expect(plain([...r.events()])).toEqual(plain(withSeq([everyKind()[5]!])));
      r.close();
    });
  }

  it('an abandoned writer leaves one readable file, reported as stopped early', () => {
    const file = path.join(dir, 'abandoned.trace');
    const w = createTrace(file, { ...BASE_OPTS, chunkEvents: 100 });
    for (const e of bootMixPool(250)) w.record(e);
    w.abandon('guest image not found');
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    const r = openTrace(file);
    expect(r.complete).toBe(false);
    expect(r.eventCount).toBe(250);
    expect(r.info().incomplete).toBe('the writer stopped early (guest image not found): readable up to chunk 2, event 249');
    r.close();
  });

  it('refuses use after close, bad chunk sizes and unwritable paths', () => {
    const file = path.join(dir, 'closed.trace');
    const w = createTrace(file, BASE_OPTS);
    w.close();
    expect(() => w.record(everyKind()[0]!)).toThrow(`${file}: writer is closed`);
    expect(() => w.close()).toThrow(`${file}: writer is already closed`);
    expect(() => createTrace(path.join(dir, 'c0.trace'), { ...BASE_OPTS, chunkEvents: 0 })).toThrow(
      /c0\.trace: chunkEvents must be an integer in 1\.\.1048576/,
    );
    expect(() => createTrace(path.join(dir, 'no/such/dir/x.trace'), BASE_OPTS)).toThrow(
      `${path.join(dir, 'no/such/dir/x.trace')}: directory ${path.join(dir, 'no/such/dir')} does not exist`,
    );
    expect(() => createTrace(path.join(dir, 'dup.trace'), { ...BASE_OPTS, devices: [...BOOT_MIX_DEVICES, BOOT_MIX_DEVICES[0]!] })).toThrow(
      /dup\.trace: device region gic-dist@8000000: UNIQUE constraint failed/,
    );
    expect(fs.existsSync(path.join(dir, 'dup.trace'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'c0.trace'))).toBe(false);
  });

  it('refuses to overwrite an existing trace unless asked', () => {
    const file = path.join(dir, 'exists.trace');
    writeEvents(file, everyKind());
    expect(() => createTrace(file, BASE_OPTS)).toThrow(`${file}: file exists (use --force to replace it)`);
    writeEvents(file, everyKind().slice(0, 2), { overwrite: true });
    const r = openTrace(file);
    expect(r.eventCount).toBe(2);
    r.close();
  });
});
