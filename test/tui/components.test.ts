// The TUI's screens rendered with ink-testing-library over a real multi-chunk trace.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import { h } from '../../tui/ui.ts';
import { App } from '../../tui/app.ts';
import { TraceData, type Analyses, type Phase } from '../../tui/data.ts';
import { limits, pageBefore, pageFrom, parseFilter, parseJump } from '../../tui/event-window.ts';
import type { TraceEvent } from '../../capture/model.ts';
import { makeTrace } from './fixture.ts';
import { detailLines } from '../../tui/events.ts';
import type { Ctx } from '../../tui/state.ts';
import { IoLatencyAnalysis, type IoLatencyResult } from '../../analyze/io-latency.ts';
import { liteContext, syntheticMeta } from '../../analyze/standalone.ts';

let file: string;
let data: TraceData;

const tick = (ms = 40) => new Promise((r) => setTimeout(r, ms));
const DOWN = '\u001B[B';
const ENTER = '\r';

function phase(id: Phase['id'], title: string, start: number, end: number): Phase {
  const marker = { by: 'event' as const, what: title, seq: 0, time: start };
  return { id, title, start, end, duration: end - start, startNs: start, endNs: end, durationNs: end - start, marker };
}

/** Analyzer results with one finding whose evidence is events 120 and 121. */
function fakeAnalyses(): Analyses {
  return {
    findings: {
      available: true,
      value: [
        {
          rule: 'uart.lcr-while-enabled',
          severity: 'warning',
          clause: 'PL011 TRM 3.3.7',
          title: 't',
          message: 'LCR_H written while UARTEN set',
          count: 1,
          evidence: [
            { seq: 120, vcpu: 0, time: 1, text: '' },
            { seq: 121, vcpu: 0, time: 2, text: '' },
          ],
        },
        {
          rule: 'gic.eoi-not-active',
          severity: 'error',
          clause: 'GIC 4.1',
          title: 't',
          message: 'EOI of an inactive INTID',
          count: 1,
          evidence: [{ seq: 300, vcpu: 0, time: 1, text: '' }],
        },
      ],
    },
    phases: {
      available: true,
      value: [phase('kernel_entry', 'kernel entry', 0, 5000), phase('early_console', 'early console', 5000, 90000)],
    },
    latency: { available: false, why: 'test' },
    io: { available: false, why: 'test' },
  };
}

async function open(width = 80, height = 24, analyses: Analyses | undefined = fakeAnalyses()) {
  const r = render(h(App, { data, width, height, ...(analyses ? { analyses } : { noAnalyses: true }) }));
  await tick();
  const press = async (...keys: string[]) => {
    for (const k of keys) {
      const before = r.lastFrame();
      r.stdin.write(k);
      // Wait for the frame to change (keys that change nothing wait the full half second).
      for (let t = 0; t < 25 && r.lastFrame() === before; t++) await tick(20);
    }
    return r.lastFrame() ?? '';
  };
  const type = async (text: string) => press(...text.split(''));
  return { r, press, type, frame: () => r.lastFrame() ?? '' };
}

/** Sequence numbers of the event rows on screen. */
const rowSeqs = (frame: string) => [...frame.matchAll(/^[ *]#(\d+) t=/gm)].map((m) => Number(m[1]));

beforeAll(() => {
  file = makeTrace(20_000, 4096);
  data = new TraceData(file);
});
afterAll(() => data.close());

describe('event window (virtualized reads)', () => {
  const all = () => [...data.reader.events()];
  it('pages forward and backward like a full scan, with and without filters', () => {
    const every = all();
    expect(pageFrom(data.reader, {}, 4090, 10).map((e) => e.seq)).toEqual(every.slice(4090, 4100).map((e) => e.seq));
    expect(pageBefore(data.reader, {}, 4100, 10).map((e) => e.seq)).toEqual(every.slice(4090, 4100).map((e) => e.seq));
    const f = { kinds: ['irq_ack' as const], vcpus: [1] };
    const want = every.filter((e: TraceEvent) => e.kind === 'irq_ack' && e.vcpu === 1).map((e) => e.seq);
    const got = pageFrom(data.reader, f, 0, 1000).map((e) => e.seq);
    expect(got).toEqual(want.slice(0, 1000));
    const mid = want[Math.floor(want.length / 2)]!;
    expect(pageBefore(data.reader, f, mid, 5).map((e) => e.seq)).toEqual(want.slice(want.indexOf(mid) - 5, want.indexOf(mid)));
    const byReg = pageFrom(data.reader, { registers: ['GICC_EOIR'], devices: ['gic-cpu@8010000'] }, 0, 3);
    expect(byReg.every((e) => e.kind === 'mmio_write' && e.register === 'GICC_EOIR')).toBe(true);
    expect(
      pageFrom(data.reader, { intids: [27], kinds: ['irq_deliver'] }, 0, 3).every((e) => e.kind === 'irq_deliver' && e.intid === 27),
    ).toBe(true);
    expect(pageFrom(data.reader, { text: 'hvc #0x0 psci_cpu_on' }, 0, 5).map((e) => e.kind)).toEqual(['hypercall']);
  });

  it('parses filters and jumps, with messages for bad input', () => {
    expect(parseFilter('kind=mmio_write,irq_ack dev=pl011@9000000 reg=UARTDR cpu=0 intid=27')).toEqual({
      kinds: ['mmio_write', 'irq_ack'],
      devices: ['pl011@9000000'],
      registers: ['UARTDR'],
      vcpus: [0],
      intids: [27],
    });
    expect(parseFilter('kind=mmio')).toMatch(/^unknown kind "mmio" \(kinds: mmio_read/);
    expect(parseFilter('color=red')).toBe('unknown filter key "color" (keys: kind, dev, reg, cpu, intid)');
    expect(parseFilter('cpu=x')).toBe('vCPU must be a number, got "x"');
    expect(parseFilter('intid=-1')).toBe('INTID must be a number, got "-1"');
    expect(parseFilter('mmio')).toBe('expected key=value, got "mmio" (keys: kind, dev, reg, cpu, intid)');
    expect(parseJump('#42')).toEqual({ seq: 42 });
    expect(parseJump('t=1000')).toEqual({ time: 1000 });
    expect(parseJump('soon')).toBe('cannot jump to "soon": type #SEQ or t=TIME');
  });
});

describe('App', () => {
  it('shows the overview at 80x24 within the terminal size', async () => {
    const { r, frame } = await open(80, 24);
    const f = frame();
    expect(f).toContain('[o]verview');
    expect(f).toContain('events   20,000 in 5 chunks');
    expect(f).toContain('findings 1 errors, 1 warnings, 0 notes');
    expect(f).toContain('pl011@9000000');
    const lines = f.split('\n');
    expect(lines.length).toBeLessThanOrEqual(23);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    r.unmount();
  });

  it('uses a wide terminal: overview in two columns, events with a side detail pane', async () => {
    const { r, frame, press } = await open(160, 40);
    expect(frame()).toMatch(/events by kind\s+events by device/);
    const f = await press('e');
    expect(f).toContain('│#0 vcpu_state');
    expect(f.split('\n').length).toBeLessThanOrEqual(39);
    r.unmount();
  });

  it('switches screens with single keys, shows help, quits', async () => {
    const { r, press } = await open();
    expect(await press('t')).toContain('[t]imeline');
    expect(await press('e')).toContain('[e]vents');
    expect(await press('f')).toContain('[f]indings');
    expect(await press('l')).toContain('latency not available: test');
    expect(await press('c')).toContain('[c]onsole');
    expect(await press('?')).toContain('bootscope tui — keys');
    expect(await press('x')).toContain('[c]onsole');
    await press('q');
    r.unmount();
  });

  it('events: scrolls, filters, searches, jumps, shows the detail pane', async () => {
    const { r, press, type } = await open(100, 30);
    let f = await press('e');
    expect(rowSeqs(f)[0]).toBe(0);
    expect(f).toContain('#0 vcpu_state  time 0');
    f = await press(DOWN, DOWN);
    expect(f).toContain('#2 vcpu_state');
    f = await press('\u001B[6~'); // PgDn
    expect(rowSeqs(f)[0]).toBeGreaterThan(5);
    await press('F');
    await type('kind=irq_ack cpu=1');
    f = await press(ENTER);
    expect(f).toContain('filter: kind=irq_ack cpu=1');
    const rows = f.split('\n').filter((l) => /^[ *]#\d+ t=/.test(l));
    expect(rows.length).toBeGreaterThan(5);
    for (const row of rows) expect(row).toMatch(/cpu1 irq_ack/);
    await press('F');
    f = await press('k', 'i', 'n', 'd', '=', 'x', ENTER);
    expect(f).toMatch(/unknown kind "x"/);
    await press('x', ':');
    await type('#12345');
    f = await press(ENTER);
    expect(rowSeqs(f)[0]).toBe(12345);
    expect(f).toContain('#12345 ');
    expect(f).toMatch(/PC (0x[0-9a-f]+|\(not recorded\))/);
    await press(':');
    await type('#99999999');
    f = await press(ENTER);
    expect(f).toContain('no event #99999999: the trace has 20000 events');
    await press('/');
    await type('PSCI_CPU_ON');
    f = await press(ENTER);
    expect(rowSeqs(f)).toEqual([1, 2]); // the hypercall and the vcpu_state it caused
    r.unmount();
  });

  it('events: the detail pane of an emulator trace shows the bootscope debug command for the event', () => {
    const emu = new TraceData(makeTrace(500, 4096, 'emu run.trace', 'emulator'));
    try {
      const ev = emu.reader.event(123)!;
      const det = detailLines(ev, { data: emu } as unknown as Ctx).map((l) => l.text);
      expect(det[1]).toBe(`gdb: bootscope debug '${emu.path}' --gdb 1234 --at '#123'`);
      // an imported (here synthetic) trace cannot be replayed: no command
      expect(detailLines(data.reader.event(123)!, { data } as unknown as Ctx).some((l) => l.text.startsWith('gdb:'))).toBe(false);
    } finally {
      emu.close();
    }
  });

  it('events: a text search pauses after its budget and n carries on', async () => {
    const saved = limits.search;
    limits.search = 5000; // the first chunk (4096 events) and a second one per step
    try {
      const { r, press, type } = await open(100, 30);
      await press('e', '/');
      await type('Run /init');
      let f = await press(ENTER);
      // The line is written late in the trace: the first look stops early.
      expect(f).toMatch(/search paused after #\d+: press n to search further/);
      for (let i = 0; i < 10 && !/console .*Run \/init/.test(f); i++) f = await press('n');
      expect(f).toMatch(/^[ *]#\d+ t=\d+ cpu0 console +console pl011@9000000 "Run \/init/m);
      r.unmount();
    } finally {
      limits.search = saved;
    }
  });

  it('findings: Enter jumps to the evidence events, marked', async () => {
    const { r, press } = await open(100, 30);
    let f = await press('f');
    expect(f).toMatch(/ERROR\s+gic\.eoi-not-active/);
    f = await press(DOWN, ENTER);
    expect(f).toContain('[e]vents');
    expect(rowSeqs(f)[0]).toBe(120);
    expect(f).toMatch(/^\*#120 /m);
    expect(f).toMatch(/^\*#121 /m);
    expect(f).toContain('uart.lcr-while-enabled: evidence #120 #121');
    r.unmount();
  });

  it('console: lines with times; Enter shows the events that wrote the line', async () => {
    const { r, press } = await open(100, 30);
    let f = await press('c');
    expect(f).toMatch(/\[\s*\d+\] Booting Linux on physical CPU/);
    f = await press(DOWN, ENTER);
    expect(f).toContain('[e]vents');
    expect(f).toMatch(/filter: seq=\[\d+,\d+\)/);
    expect(f).toContain('UARTDR');
    r.unmount();
  });

  it('timeline: Gantt rows and density, zoom/pan, Enter filters events to the span', async () => {
    const { r, press } = await open(100, 30);
    let f = await press('t');
    expect(f).toMatch(/kernel entry\s+█/);
    expect(f).toMatch(/all events\s+[▁▂▃▄▅▆▇█]/);
    expect(f).toContain('pl011@9000000');
    f = await press('+', '+');
    expect(f).toMatch(/\(25\.0% of the trace\)/);
    f = await press('\u001B[C');
    const m = /view ([\d,]+) – ([\d,]+)/.exec(f)!;
    const from = Number(m[1]!.replace(/,/g, ''));
    const to = Number(m[2]!.replace(/,/g, ''));
    f = await press(ENTER);
    expect(f).toContain(`filter: time=[${from},${to})`);
    const times = [...f.matchAll(/^[ *]#\d+ t=(\d+)/gm)].map((x) => Number(x[1]));
    expect(times.length).toBeGreaterThan(0);
    for (const t of times) expect(t >= from && t < to).toBe(true);
    // Select a span: s at the centre, pan right, s again; Enter filters to it.
    await press('t', 's');
    f = await press('\u001B[C', 's');
    const sel = /selected \[(\d+), (\d+)\)/.exec(f)!;
    expect(sel).not.toBeNull();
    expect(f).toMatch(/selection\s+ *═+│?/);
    f = await press(ENTER);
    expect(f).toContain(`filter: time=[${sel[1]},${sel[2]})`);
    r.unmount();
  });

  it('says "not available" for missing analyzers and hides diff with one trace', async () => {
    const none: Analyses = {
      findings: { available: false, why: 'analyze/check.ts is not available' },
      phases: { available: false, why: 'x' },
      latency: { available: false, why: 'y' },
      io: { available: false, why: 'z' },
    };
    const { r, press, frame } = await open(80, 24, none);
    expect(frame()).toContain('findings not available (analyze/check.ts is not available)');
    expect(frame()).not.toContain(' d iff');
    expect(await press('f')).toContain('findings not available: analyze/check.ts is not available');
    expect(await press('d')).toContain('diff needs two traces');
    r.unmount();
  });

  it('devices screen: each queue with its requests, depth and submit → ack; the selected one over time and its histogram', async () => {
    // A disk queue (two requests in flight, one interrupt for both) and a NIC queue, over t = 0..1000.
    const io = new IoLatencyAnalysis({ from: 0, to: 1000, bins: 100 });
    const ev = (e: Record<string, unknown>) => io.onEvent({ seq: 0, vcpu: 0, ...e } as unknown as TraceEvent);
    const V = 'virtio-blk@00:02.0',
      N = 'virtio-net@00:01.0';
    for (const t of [100, 600]) {
      ev({ kind: 'mmio_write', time: t, device: V, register: 'BAR4+0x3000 notify.q0' });
      for (const r of [1, 2])
        ev({ kind: 'block_request', time: t, device: V, queue: 0, request: BigInt(r), op: 'read', sector: r, length: 512 });
      for (const r of [1, 2])
        ev({
          kind: 'block_complete',
          time: t + 150,
          device: V,
          queue: 0,
          request: BigInt(r),
          op: 'read',
          status: 'ok',
          length: 513,
          intid: 8192,
        });
      ev({ kind: 'irq_ack', time: t + 200, intid: 8192 });
    }
    ev({ kind: 'mmio_write', time: 900, device: N, register: 'BAR4+0x3004 notify.q1' });
    ev({ kind: 'net_frame', time: 900, device: N, queue: 1, direction: 'tx', length: 42, ethertype: 0x806, frame: new Uint8Array(42) });
    ev({ kind: 'msi', time: 900, device: N, addr: 0, msi_data: 0, intid: 8196 });
    ev({ kind: 'irq_ack', time: 930, intid: 8196 });
    const value: IoLatencyResult = io.finish(liteContext(syntheticMeta(), []));
    // In flight from bin 10 to bin 25: bins without events keep the depth.
    expect(value.queues[0]!.timeline!.depth.slice(9, 27)).toEqual([0, ...new Array<number>(16).fill(2), 0]);
    const { r, press, frame } = await open(100, 30, { ...fakeAnalyses(), io: { available: true, value } });
    expect(frame()).toContain(' de v ices');
    let f = await press('v');
    expect(f).toContain('de[v]ices');
    expect(f).toMatch(/virtio-blk@00:02\.0 q0 +block +4 +2 +0 +200 +200 +200/);
    expect(f).toMatch(/virtio-net@00:01\.0 q1 +net +1 +1 +0 +30 +30 +30/);
    expect(f).toContain('virtio-blk@00:02.0 q0 (block requests): read 4');
    expect(f).toMatch(/requests +[▁-█ ]+\n/);
    expect(f).toContain('most in one bin: 2 request(s), depth 2');
    expect(f).toMatch(/complete → ack +4 p50 +50 /);
    expect(f).toMatch(/128–256 +4 █+/);
    f = await press('j');
    expect(f).toContain('virtio-net@00:01.0 q1 (frames sent): tx 1');
    r.unmount();
  });

  it('diff screen with two traces', async () => {
    const other = new TraceData(makeTrace(5000, 4096, 'b.trace'));
    const r = render(h(App, { data, other, width: 120, height: 30, analyses: fakeAnalyses() }));
    await tick(300);
    r.stdin.write('d');
    await tick(300);
    const f = r.lastFrame() ?? '';
    expect(f).toContain('[d]iff');
    expect(f).toMatch(/A synthetic boot-mix\s+│B synthetic boot-mix/);
    expect(f).toMatch(/diff \(analyze\/diff\.ts\)|count differences only/);
    expect(f).toContain('i device layer');
    r.stdin.write('i');
    await tick(300);
    expect(r.lastFrame()).toContain('no block or network I/O on either side');
    r.unmount();
    other.close();
  });
});
