// Interrupt latency on hand-made streams: every stage, QEMU-style partial stages, timers, SGIs,
// and the bounded-memory distribution.
import { describe, expect, it } from 'vitest';
import type { DeviceRegion, TraceEvent } from '../../capture/model.ts';
import { Distribution, EXACT_CAP, latencyOf, sgi1rTargets, sgirTargets } from '../../analyze/latency.ts';
import { liteContext, syntheticMeta } from '../../analyze/standalone.ts';

const REGIONS: DeviceRegion[] = [{ name: 'uart0', model: 'pl011', role: 'uart', base: 0x09000000, size: 0x1000, intid: 33 }];
const ctx = liteContext(syntheticMeta(), REGIONS);
type E = Omit<TraceEvent, 'seq'>;
const seqd = (items: E[]) => items.map((e, seq) => ({ ...e, seq }) as TraceEvent);
const line = (time: number, intid: number, level: number, vcpu = 0, source = 'uart0'): E =>
  ({ kind: 'irq_line', time, vcpu, intid, level, trigger: 'level', source }) as E;
const deliver = (time: number, intid: number, vcpu = 0): E => ({ kind: 'irq_deliver', time, vcpu, intid, exception: 'irq' }) as E;
const ack = (time: number, intid: number, vcpu = 0): E => ({ kind: 'irq_ack', time, vcpu, intid, source_cpu: 0, via: 'gicc_mmio' }) as E;
const eoi = (time: number, intid: number, vcpu = 0): E => ({ kind: 'irq_eoi', time, vcpu, intid, via: 'gicc_mmio' }) as E;
const deact = (time: number, intid: number, vcpu = 0): E => ({ kind: 'irq_deactivate', time, vcpu, intid, via: 'gicc_mmio' }) as E;

describe('Distribution', () => {
  it('gives exact nearest-rank percentiles while under the cap', () => {
    const d = new Distribution();
    for (let v = 1; v <= 100; v++) d.add(v);
    expect([d.quantile(0.5), d.quantile(0.9), d.quantile(0.99), d.max]).toEqual([50, 90, 99, 100]);
    expect(d.exactValues).toBe(true);
  });

  it('switches to the histogram past the cap, within 1/32 of the true value', () => {
    const d = new Distribution();
    const n = EXACT_CAP * 10;
    for (let i = 1; i <= n; i++) d.add(i * 7);
    expect(d.exactValues).toBe(false);
    for (const q of [0.5, 0.9, 0.99]) {
      const truth = Math.ceil(q * n) * 7;
      expect(Math.abs(d.quantile(q) - truth) / truth).toBeLessThanOrEqual(1 / 32);
    }
    expect(d.max).toBe(n * 7);
    expect(d.count).toBe(n);
  });

  it('merges exact and histogram distributions', () => {
    const a = new Distribution(10),
      b = new Distribution(10);
    for (let i = 0; i < 5; i++) a.add(10);
    for (let i = 0; i < 50; i++) b.add(1000);
    const m = Distribution.merge([a, b]);
    expect(m.count).toBe(55);
    expect(m.quantile(0.05)).toBe(10);
    expect(m.max).toBe(1000);
  });
});

describe('latency', () => {
  it('measures every stage of an interrupt and groups by INTID and role', () => {
    const r = latencyOf(seqd([line(100, 33, 1), deliver(103, 33), ack(110, 33), line(111, 33, 0), eoi(150, 33), deact(160, 33)]), ctx);
    expect(r.byIntid).toHaveLength(1);
    const g = r.byIntid[0]!;
    expect(g).toMatchObject({ intid: 33, role: 'uart', interrupts: 1 });
    const by = Object.fromEntries(g.stages.map((s) => [s.stage, s.max]));
    expect(by).toEqual({
      assert_to_deliver: 3,
      deliver_to_ack: 7,
      assert_to_ack: 10,
      ack_to_eoi: 40,
      eoi_to_deactivate: 10,
      assert_to_deactivate: 60,
    });
    expect(r.byRole.map((x) => x.role)).toEqual(['uart']);
    expect(r.unacknowledged).toEqual([]);
  });

  it('uses what a QEMU log has: repeated level-1 calls are one interrupt, ack → EOI without deactivate', () => {
    const r = latencyOf(
      seqd([line(100, 27, 1, 0, 'timer_virt'), line(105, 27, 1, 0, 'timer_virt'), ack(120, 27), eoi(130, 27), line(200, 33, 1)]),
      ctx,
    );
    const t = r.byIntid.find((g) => g.intid === 27)!;
    expect(t.role).toBe('vtimer');
    expect(Object.fromEntries(t.stages.map((s) => [s.stage, s.max]))).toEqual({ assert_to_ack: 20, ack_to_eoi: 10 });
    expect(r.unacknowledged).toEqual([{ intid: 33, count: 1 }]);
    expect(r.notes.join()).toContain('no irq_deliver');
  });

  it('follows an LPI (an MSI through the ITS) as an SPI: assert → deliver → ack → EOI, no active state; the spurious INTID is skipped', () => {
    const lpi = (time: number): E =>
      ({ kind: 'irq_line', time, vcpu: -1, intid: 8196, level: 1, trigger: 'edge', source: 'gicv3-its' }) as E;
    const r = latencyOf(
      seqd([
        lpi(100),
        deliver(100, 8196),
        ack(130, 8196),
        eoi(700, 8196),
        lpi(900),
        deliver(901, 8196),
        ack(1031, 8196),
        eoi(1100, 8196),
        ack(1200, 1023),
      ]),
      ctx,
    );
    expect(r.byIntid.map((g) => [g.intid, g.interrupts])).toEqual([[8196, 2]]);
    const by = Object.fromEntries(r.byIntid[0]!.stages.map((s) => [s.stage, [s.count, s.max]]));
    expect(by).toEqual({ assert_to_deliver: [2, 1], deliver_to_ack: [2, 130], assert_to_ack: [2, 131], ack_to_eoi: [2, 570] });
    expect(r.unacknowledged).toEqual([]);
  });

  it('keeps PPIs of different vCPUs apart', () => {
    const r = latencyOf(seqd([line(10, 27, 1, 0, 'timer:virt'), line(12, 27, 1, 1, 'timer:virt'), ack(20, 27, 1), ack(40, 27, 0)]), ctx);
    const s = r.byIntid[0]!.stages.find((x) => x.stage === 'assert_to_ack')!;
    expect([s.count, s.p50, s.max]).toEqual([2, 8, 30]);
  });

  it('measures timer deadline → assert (TVAL relative to the counter, instruction clock of 16 per tick)', () => {
    const ictx = liteContext(syntheticMeta({ kind: 'instructions', counterHz: 62_500_000, instructionsPerSecond: 1e9 }), []);
    const r = latencyOf(
      seqd([
        { kind: 'timer', time: 160, vcpu: 0, timer: 'virt', op: 'tval', value: 100n } as E,
        { kind: 'timer', time: 161, vcpu: 0, timer: 'virt', op: 'ctl', value: 1n } as E,
        line(160 + 1600 + 5, 27, 1, 0, 'timer:virt'),
      ]),
      ictx,
    );
    const s = r.byIntid[0]!.stages.find((x) => x.stage === 'deadline_to_assert')!;
    expect(s.max).toBe(5);
  });

  it('treats an SGI send as its assert and decodes SGI target lists', () => {
    const send: E = {
      kind: 'sysreg',
      time: 50,
      vcpu: 0,
      name: 'ICC_SGI1R_EL1',
      encoding: 0,
      write: true,
      value: (1n << 24n) | 0b10n,
      outcome: 'handled',
    } as E;
    const r = latencyOf(seqd([send, deliver(80, 1, 1), ack(90, 1, 1), eoi(95, 1, 1)]), ctx);
    const s = Object.fromEntries(r.byIntid[0]!.stages.map((x) => [x.stage, x.max]));
    expect(s).toMatchObject({ assert_to_deliver: 30, assert_to_ack: 40 });
    expect(r.byIntid[0]!.role).toBe('sgi');
    expect(sgi1rTargets((1n << 16n) | 0b101n, 0)).toEqual([16, 18]);
    expect(sgirTargets(2n << 24n, 3)).toEqual([3]);
    expect(sgirTargets((0b110n << 16n) | 5n, 0)).toEqual([1, 2]);
  });

  it('reports a trace without interrupts', () => {
    expect(latencyOf([], ctx).notes).toContain('no interrupts in this trace');
  });
});
