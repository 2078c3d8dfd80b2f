import { afterAll, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../capture/model.ts';
import type { Analysis, ReplayContext, StateChange } from '../../analyze/analysis.ts';
import { replay } from '../../analyze/engine.ts';
import { at, GICD3, GICR3, mmio, PL011, tmpTraces, writeTrace } from './engine-helpers.ts';

const tmp = tmpTraces();
afterAll(() => tmp.cleanup());

/** Records what the engine shows it, bounded. */
function probe(): Analysis<{
  kinds: string[];
  crBefore: number[];
  crAfter: number[];
  changes: string[];
  stackAtEnd: number;
  awake: boolean;
  enabled33: number;
  regionAt: string;
  byRole: number;
  dtb: boolean;
}> {
  const kinds: string[] = [];
  const crBefore: number[] = [];
  const crAfter: number[] = [];
  const changes: string[] = [];
  return {
    name: 'probe',
    onEvent(e: TraceEvent, ctx: ReplayContext) {
      kinds.push(e.kind);
      if (e.kind === 'mmio_write' && e.register === 'CR') crBefore.push(ctx.state.uart.get(PL011.name)!.cr);
    },
    afterEvent(e: TraceEvent, ctx: ReplayContext) {
      if (e.kind === 'mmio_write' && e.register === 'CR') crAfter.push(ctx.state.uart.get(PL011.name)!.cr);
    },
    onChange(c: StateChange) {
      changes.push(`${c.what}:${String(c.key)}:${String(c.from)}->${String(c.to)}@${c.event.seq}`);
    },
    finish(ctx: ReplayContext) {
      return {
        kinds,
        crBefore,
        crAfter,
        changes,
        stackAtEnd: ctx.state.gic.cpu(0).stack.length,
        awake: ctx.state.gic.cpu(0).awake,
        enabled33: ctx.state.gic.enabled[33]!,
        regionAt: ctx.regionAt(0x9000ff0)?.name ?? '',
        byRole: ctx.regionsByRole('uart').length,
        dtb: ctx.blob('dtb') !== undefined,
      };
    },
  };
}

describe('replay engine', () => {
  it('feeds analyses in order with the state before and after each event, and reports state changes', () => {
    const r = writeTrace(
      tmp.file('engine.trace'),
      [GICD3, GICR3, PL011],
      [
        mmio('mmio_write', PL011, 0x30, 0x301, 'CR'),
        mmio('mmio_read', GICR3, 0x14, 6, 'GICR_WAKER'),
        mmio('mmio_write', GICR3, 0x14, 4, 'GICR_WAKER'),
        mmio('mmio_read', GICR3, 0x14, 0, 'GICR_WAKER'),
        mmio('mmio_write', GICD3, 0x104, 2, 'GICD_ISENABLER1'),
        { kind: 'irq_line', time: at(), vcpu: -1, intid: 33, level: 1, trigger: 'level', source: PL011.name },
        { kind: 'irq_ack', time: at(), vcpu: 0, intid: 33, source_cpu: 0, via: 'icc_sysreg' },
        { kind: 'irq_eoi', time: at(), vcpu: 0, intid: 33, via: 'icc_sysreg' },
        { kind: 'irq_deactivate', time: at(), vcpu: 0, intid: 33, via: 'icc_sysreg' },
      ],
      { extra: { dtbBase64: Buffer.from([0xd0, 0x0d, 0xfe, 0xed]).toString('base64'), dtbSize: 8 } },
    );
    const out = replay(r, [probe()])['probe'] as ReturnType<ReturnType<typeof probe>['finish']>;
    r.close();
    expect(out.kinds).toEqual([
      'mmio_write',
      'mmio_read',
      'mmio_write',
      'mmio_read',
      'mmio_write',
      'irq_line',
      'irq_ack',
      'irq_eoi',
      'irq_deactivate',
    ]);
    expect(out.crBefore).toEqual([0x300]);
    expect(out.crAfter).toEqual([0x301]);
    expect(out.changes).toEqual([
      'uart.cr:pl011@9000000:768->769@0',
      'uart.enabled:pl011@9000000:false->true@0',
      'gic.enabled:33:0->1@4',
      'gic.pending:33:0->1@5',
      'gic.active:33:0->1@6',
      'gic.active:33:1->0@8',
    ]);
    expect(out.stackAtEnd).toBe(0);
    expect(out.awake).toBe(true);
    expect(out.enabled33).toBe(1);
    expect(out.regionAt).toBe(PL011.name);
    expect(out.byRole).toBe(1);
    expect(out.dtb).toBe(true);
  });

  it('dispatches only the kinds an analysis asks for and returns every result by name', () => {
    const r = writeTrace(
      tmp.file('kinds.trace'),
      [PL011],
      [
        mmio('mmio_write', PL011, 0, 0x41, 'DR'),
        { kind: 'console', time: at(), vcpu: -1, port: PL011.name, bytes: new Uint8Array([0x41]) },
      ],
    );
    let seen = 0;
    const a: Analysis<number> = { name: 'a', kinds: ['console'], onEvent: () => void seen++, finish: () => seen };
    const b: Analysis<string> = { name: 'b', onEvent: () => {}, finish: (ctx) => `${ctx.eventsSeen}` };
    const res = replay(r, [a, b]);
    r.close();
    expect(res).toEqual({ a: 1, b: '2' });
  });

  it('keeps GIC state bounded when a guest acknowledges without ever EOIing', () => {
    const evs = [];
    for (let i = 0; i < 500; i++)
      evs.push({ kind: 'irq_ack' as const, time: at(), vcpu: 0, intid: 40, source_cpu: 0, via: 'icc_sysreg' as const });
    const r = writeTrace(tmp.file('bounded.trace'), [GICD3, GICR3], evs);
    const out = replay(r, [probe()])['probe'] as { stackAtEnd: number };
    r.close();
    expect(out.stackAtEnd).toBeLessThanOrEqual(64);
  });
});
