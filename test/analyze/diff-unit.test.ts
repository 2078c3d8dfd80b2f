// The aligner against a brute-force LCS, and diff on hand-made traces: identity, a UART and GIC
// relocated (Xen's layout vs KVM's) lined up by role, hypercalls and findings on one side only.
import { describe, expect, it } from 'vitest';
import type { DeviceRegion, TraceEvent, TraceMeta } from '../../capture/model.ts';
import { diffTraces, myersDiff, type DiffSource } from '../../analyze/diff.ts';
import { renderDiff } from '../../analyze/diff-text.ts';
import { syntheticMeta } from '../../analyze/standalone.ts';

function lcs(a: number[], b: number[]): number {
  const dp = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      dp[i]![j] = a[i - 1] === b[j - 1] ? dp[i - 1]![j - 1]! + 1 : Math.max(dp[i - 1]![j]!, dp[i]![j - 1]!);
  return dp[a.length]![b.length]!;
}

describe('myersDiff', () => {
  it('produces a valid, minimal edit script (2,000 random pairs against a brute-force LCS)', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let t = 0; t < 2000; t++) {
      const a = Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 4));
      const b = Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 4));
      const { edits, exceeded } = myersDiff(a, b);
      expect(exceeded).toBe(false);
      let ai = 0,
        bi = 0,
        same = 0;
      for (const e of edits) {
        if (e.op === 0) {
          expect([e.a, e.b]).toEqual([ai, bi]);
          for (let k = 0; k < e.len; k++) expect(a[ai + k]).toBe(b[bi + k]);
          ai += e.len;
          bi += e.len;
          same += e.len;
        } else if (e.op === 1) {
          expect(e.a).toBe(ai);
          ai += e.len;
        } else {
          expect(e.b).toBe(bi);
          bi += e.len;
        }
      }
      expect([ai, bi]).toEqual([a.length, b.length]);
      expect(same).toBe(lcs(a, b));
    }
  });

  it('scales to long sequences with few differences and stays bounded with a tiny budget', () => {
    const a = Array.from({ length: 300_000 }, (_, i) => i % 1000);
    const b = a.slice();
    b.splice(150_000, 3, 5000, 5001);
    const { edits } = myersDiff(a, b);
    expect(edits.filter((e) => e.op !== 0).map((e) => [e.op, e.len])).toEqual([
      [1, 3],
      [2, 2],
    ]);
    const x = Array.from({ length: 2000 }, (_, i) => i),
      y = Array.from({ length: 2000 }, (_, i) => 2000 + ((i * 7919) % 2000));
    const r = myersDiff(x, y, 1000);
    // past the budget a region counts as replaced wholesale (here that is also the right answer)
    expect(r.exceeded).toBe(true);
    expect(r.edits.map((e) => [e.op, e.len])).toEqual([
      [1, 2000],
      [2, 2000],
    ]);
    const z = x.map((v, i) => (i % 3 ? v : -v - 1));
    const r2 = myersDiff(x, z, 100);
    expect(r2.exceeded).toBe(true);
  });
});

type E = Omit<TraceEvent, 'seq'>;
function source(meta: TraceMeta, regions: DeviceRegion[], items: E[]): DiffSource {
  const events = items.map((e, seq) => ({ ...e, seq }) as TraceEvent);
  return { meta, regions, events: () => events };
}
const KVM: DeviceRegion[] = [
  { name: 'gicv3-dist@8000000', model: 'gicv3-dist', role: 'gic_dist', base: 0x08000000, size: 0x10000 },
  { name: 'pl011@9000000', model: 'pl011', role: 'uart', base: 0x09000000, size: 0x1000, intid: 33 },
];
const XEN: DeviceRegion[] = [
  { name: 'gicv3-dist@3001000', model: 'gicv3-dist', role: 'gic_dist', base: 0x03001000, size: 0x10000 },
  { name: 'vpl011@22000000', model: 'sbsa-uart', role: 'uart', base: 0x22000000, size: 0x1000, intid: 32 },
];
function boot(regions: DeviceRegion[], extra: E[] = [], text = 'hi'): E[] {
  const [gicd, uart] = [regions[0]!, regions[1]!];
  const ev: E[] = [
    {
      kind: 'mmio_write',
      time: 1,
      vcpu: 0,
      addr: gicd.base,
      size: 4,
      value: 0x13n,
      device: gicd.name,
      register: 'GICD_CTLR',
      outcome: 'handled',
    } as E,
  ];
  for (const ch of text) {
    for (let i = 0; i < 3; i++)
      ev.push({
        kind: 'mmio_read',
        time: 2,
        vcpu: 0,
        addr: uart.base + 0x18,
        size: 4,
        value: 0x90n,
        device: uart.name,
        register: 'FR',
        outcome: 'handled',
      } as E);
    ev.push({
      kind: 'mmio_write',
      time: 3,
      vcpu: 0,
      addr: uart.base,
      size: 4,
      value: BigInt(ch.charCodeAt(0)),
      device: uart.name,
      register: 'DR',
      outcome: 'handled',
    } as E);
    ev.push({ kind: 'console', time: 3, vcpu: 0, port: uart.name, bytes: Buffer.from(ch) } as E);
  }
  ev.push(...extra);
  ev.push({
    kind: 'hypercall',
    time: 9,
    vcpu: 0,
    conduit: 'hvc',
    imm: 0,
    func: 0x84000008,
    name: 'PSCI_SYSTEM_OFF',
    subop: '',
    args: [],
    results: [],
  } as E);
  return ev;
}

describe('diffTraces', () => {
  it('finds no difference between a trace and itself', () => {
    const s = source(syntheticMeta(), KVM, boot(KVM));
    const d = diffTraces(s, s);
    expect(d.identical).toBe(true);
    expect(d.firstDivergence).toBeNull();
    expect(d.hunks).toEqual([]);
  });

  it('is not identical when only the block or network stream differs (same kinds, same counts, same vCPU streams)', () => {
    const VBLK = 'virtio-blk@00:01.0';
    const req = (sector: number): E =>
      ({ kind: 'block_request', time: 4, vcpu: 0, device: VBLK, queue: 0, request: 1n, op: 'read', sector, length: 4096 }) as E;
    const frame = (length: number): E =>
      ({
        kind: 'net_frame',
        time: 4,
        vcpu: 0,
        device: 'virtio-net@00:02.0',
        queue: 1,
        direction: 'tx',
        length,
        ethertype: 0x0806,
        frame: new Uint8Array(length),
      }) as E;
    const same = source(syntheticMeta(), KVM, boot(KVM, [req(0), req(8), frame(42)]));
    expect(diffTraces(same, same).identical).toBe(true);
    const otherSector = source(syntheticMeta(), KVM, boot(KVM, [req(0), req(16), frame(42)]));
    const d = diffTraces(same, otherSector);
    expect(d.kinds.every((r) => r.a === r.b)).toBe(true);
    expect(d.identical).toBe(false);
    expect(d.io.streams[0]!.firstDivergence?.row).toBe(1);
    expect(renderDiff(d)).toContain('first divergence at row 2: A #');
    const swapped = source(syntheticMeta(), KVM, boot(KVM, [req(8), req(0), frame(42)]));
    expect(diffTraces(same, swapped).identical).toBe(false);
    const otherFrame = source(syntheticMeta(), KVM, boot(KVM, [req(0), req(8), frame(60)]));
    const n = diffTraces(same, otherFrame);
    expect(n.identical).toBe(false);
    expect(n.io.streams.map((s) => [s.stream, s.matched])).toEqual([
      ['block', 2],
      ['net', 0],
    ]);
  });

  it('lines up a relocated UART and GIC by role and reports hypercalls and findings on one side only', () => {
    const xenOnly: E[] = [
      {
        kind: 'hypercall',
        time: 5,
        vcpu: 0,
        conduit: 'hvc',
        imm: 0xea1,
        func: 18,
        name: 'xen_console_io',
        subop: 'write',
        args: [],
        results: [],
      } as E,
    ];
    const a = source(syntheticMeta({ kind: 'ns' }, 'kvm'), KVM, boot(KVM));
    const b = source(syntheticMeta({ kind: 'ns' }, 'xen'), XEN, boot(XEN, xenOnly));
    const d = diffTraces(a, b, { findings: [[{ rule: 'uart.ok' }], [{ rule: 'uart.ok' }, { rule: 'xen.imm' }]] });
    expect(d.identical).toBe(false);
    expect(d.equivalences.map((e) => e.role)).toEqual(['gic_dist', 'uart']);
    expect(d.equivalences[1]!.b[0]).toContain('0x22000000');
    // Same accesses by role: the only aligned difference is Xen's console hypercall.
    expect(d.hunks).toHaveLength(1);
    expect(d.hunks[0]!.a).toEqual([]);
    expect(d.hunks[0]!.b.map((r) => r.token)).toEqual(['hvc xen_console_io.write']);
    // the transmit loop (3 FR polls, a DR write, per byte) is one periodic run
    expect(d.firstDivergence!.before.at(-1)).toMatchObject({ token: '(read uart.FR -> 0x90; write uart.DR)', count: 2, events: 8 });
    expect(d.hypercallsOnlyIn).toEqual({ a: [], b: ['xen_console_io'] });
    expect(d.devices.every((r) => r.a === r.b)).toBe(true);
    expect(d.findings).toEqual({ onlyA: [], onlyB: ['xen.imm'], both: ['uart.ok'] });
    expect(d.console.same).toBe(true);
  });

  it('reports console, repeat-count and per-vCPU differences', () => {
    const a = source(syntheticMeta(), KVM, boot(KVM, [], 'hi'));
    const bEvents = boot(KVM, [], 'ho');
    bEvents.splice(1, 0, {
      kind: 'mmio_read',
      time: 2,
      vcpu: 0,
      addr: 0x09000018,
      size: 4,
      value: 0x90n,
      device: 'pl011@9000000',
      register: 'FR',
      outcome: 'handled',
    } as E);
    bEvents.push({
      kind: 'mmio_read',
      time: 10,
      vcpu: 1,
      addr: 0x08000004,
      size: 4,
      value: 0n,
      device: 'gicv3-dist@8000000',
      register: 'GICD_TYPER',
      outcome: 'handled',
    } as E);
    const d = diffTraces(a, source(syntheticMeta(), KVM, bEvents));
    expect(d.console.firstDifference).toEqual({ line: 1, a: 'hi', b: 'ho' });
    expect(d.vcpus.find((v) => v.vcpu === 0)!.repeatDifferences).toBe(1);
    expect(d.vcpus.find((v) => v.vcpu === 1)).toMatchObject({ eventsA: 0, eventsB: 1, insertedRuns: 1 });
    // bytes sent are compared as text, not as aligned tokens
    expect(d.hunks.every((h) => h.vcpu === 1)).toBe(true);
  });

  it('compares the console port with the most lines on each side, lines not garbled by other ports', () => {
    const con = (time: number, port: string, text: string): E => ({ kind: 'console', time, vcpu: 0, port, bytes: Buffer.from(text) }) as E;
    const a = source(syntheticMeta(), KVM, [
      con(1, 'pl011@9000000', 'one\ntw'),
      con(2, 'xen_console_io', 'X'),
      con(3, 'pl011@9000000', 'o\n'),
    ]);
    const b = source(syntheticMeta(), XEN, [con(1, 'vpl011@22000000', 'one\ntwo\n')]);
    const d = diffTraces(a, b);
    expect(d.console).toMatchObject({ same: true, portA: 'pl011@9000000', portB: 'vpl011@22000000', linesA: 2 });
  });
});
