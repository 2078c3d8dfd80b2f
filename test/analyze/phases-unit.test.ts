// Phases from hand-made event streams: Linux log lines, firmware, bare-metal events, panics.
import { describe, expect, it } from 'vitest';
import type { DeviceRegion, TraceEvent } from '../../capture/model.ts';
import { PHASES, phasesOf } from '../../analyze/phases.ts';
import { liteContext, syntheticMeta } from '../../analyze/standalone.ts';
import { ganttBar } from '../../cli/commands/phases.ts';

const REGIONS: DeviceRegion[] = [
  { name: 'gicd', model: 'gicv2-dist', role: 'gic_dist', base: 0x08000000, size: 0x10000 },
  { name: 'uart0', model: 'pl011', role: 'uart', base: 0x09000000, size: 0x1000, intid: 33 },
];
const ctx = liteContext(syntheticMeta(), REGIONS);

/** Builds events with dense seq numbers. */
function stream(items: Omit<TraceEvent, 'seq'>[]): TraceEvent[] {
  return items.map((e, seq) => ({ ...e, seq }) as TraceEvent);
}
const line = (time: number, text: string): Omit<TraceEvent, 'seq'> =>
  ({ kind: 'console', time, vcpu: 0, port: 'uart0', bytes: Buffer.from(text + '\r\n', 'latin1') }) as Omit<TraceEvent, 'seq'>;
const gicd = (time: number): Omit<TraceEvent, 'seq'> =>
  ({ kind: 'mmio_write', time, vcpu: 0, addr: 0x08000000, size: 4, value: 1n, device: 'gicd', register: 'GICD_CTLR', outcome: 'handled' }) as Omit<TraceEvent, 'seq'>;

describe('phases', () => {
  it('finds every Linux phase from kernel log lines, in order, each ending where the next (non-milestone) starts', () => {
    const ev = stream([
      line(10, '[    0.000000] Booting Linux on physical CPU 0x0000000000'),
      line(20, '[    0.000000] earlycon: pl11 at MMIO 0x0000000009000000'),
      line(30, '[    0.000000] GICv3: 224 SPIs implemented'),
      line(40, '[    0.000000] arch_timer: cp15 timer(s) running at 62.50MHz (virt).'),
      line(50, '[    0.010000] smp: Bringing up secondary CPUs ...'),
      line(60, '[    0.200000] Serial: AMBA PL011 UART driver'),
      line(70, '[    0.210000] printk: console [ttyAMA0] enabled'),
      line(80, '[    0.900000] Run /init as init process'),
      line(100, '[    1.000000] done'),
    ]);
    const r = phasesOf(ev, ctx);
    expect(r.guest).toBe('linux');
    expect(r.phases.map((p) => [p.id, p.start, p.end])).toEqual([
      // the first console output is the early console (Linux prints nothing before earlycon)
      ['kernel_entry', 10, 10], ['early_console', 10, 30], ['gic_init', 30, 40], ['timer_init', 40, 50],
      // console handover is a milestone: no duration, and driver probe runs on through it
      ['smp_bringup', 50, 60], ['driver_probe', 60, 80], ['console_handover', 70, 70], ['rootfs_init', 80, 100],
    ]);
    expect(r.missing).toEqual(['firmware', 'panic']);
    expect(r.phases[0]!.marker).toMatchObject({ by: 'event', seq: 0 });
  });

  it('with firmware first, events before the kernel belong to the firmware and the kernel starts at "Starting kernel"', () => {
    const ev = stream([
      gicd(1),
      line(5, 'U-Boot 2023.01+dfsg-2 (Jan 01 2023 - 00:00:00 +0000)'),
      gicd(7),
      line(20, 'Starting kernel ...'),
      gicd(30),
      line(40, '[    0.000000] Kernel panic - not syncing: VFS: Unable to mount root fs'),
      gicd(50),
    ]);
    const r = phasesOf(ev, ctx);
    expect(r.guest).toBe('firmware+linux');
    expect(r.phases.map((p) => [p.id, p.start, p.end])).toEqual([
      ['firmware', 1, 20], ['kernel_entry', 20, 30], ['gic_init', 30, 40], ['early_console', 40, 40], ['panic', 40, 50],
    ]);
    expect(r.phases.find((p) => p.id === 'kernel_entry')!.marker.by).toBe('line');
  });

  it('says when the guest is not Linux and uses events only', () => {
    const ev = stream([
      { kind: 'vcpu_state', time: 0, vcpu: -1, state: 'on', target: 0, entry: 0x40080000n, context: 0n, reason: 'boot' },
      line(100, 'hello from a bare-metal guest'),
      gicd(200),
      { kind: 'timer', time: 300, vcpu: 0, timer: 'virt', op: 'ctl', value: 1n },
      { kind: 'hypercall', time: 400, vcpu: 0, conduit: 'hvc', imm: 0, func: 0xc4000003, name: 'PSCI_CPU_ON', subop: '', args: [1n], results: [0n] },
      { kind: 'wfx', time: 500, vcpu: 0, wfe: false, wake: 'irq', slept: 10 },
    ] as Omit<TraceEvent, 'seq'>[]);
    const r = phasesOf(ev, ctx);
    expect(r.guest).toBe('other');
    expect(r.banner).toBe('hello from a bare-metal guest');
    expect(r.phases.map((p) => p.id)).toEqual(['kernel_entry', 'early_console', 'gic_init', 'timer_init', 'smp_bringup']);
    expect(r.phases.at(-1)!.end).toBe(500);
    expect(r.notes[0]).toContain('not a Linux boot');
  });

  it('handles an empty stream and a line split over several console events', () => {
    const empty = phasesOf([], ctx);
    expect(empty.phases).toEqual([]);
    expect(empty.notes[0]).toContain('no console output');
    const parts = ['[    0.0] GIC', 'v2: 256 SPIs\n'].map((t, i) => ({ kind: 'console', time: 10 + i, vcpu: 0, seq: i, port: 'uart0', bytes: Buffer.from(t) }) as TraceEvent);
    const r = phasesOf(parts, ctx);
    expect(r.phases.find((p) => p.id === 'gic_init')).toMatchObject({ start: 10, marker: { by: 'line', what: 'GICv2: 256 SPIs' } });
  });

  it('has one spec per phase id and a Gantt bar that spans the scale', () => {
    expect(new Set(PHASES.map((p) => p.id)).size).toBe(PHASES.length);
    expect(ganttBar(0, 100, 0, 100, 10)).toBe('|##########|');
    expect(ganttBar(50, 60, 0, 100, 10)).toBe('|     #    |');
    expect(ganttBar(100, 100, 0, 100, 10)).toBe('|         #|');
  });
});
