// Golden `phases` and `latency` output for our guests on the emulator and the imported QEMU
// Linux boot. Regenerate (after reviewing the output) with UPDATE_GOLDEN=1.
import { describe, expect, it } from 'vitest';
import { phasesOfTrace, renderPhases } from '../../cli/commands/phases.ts';
import { latencyOfTrace, renderLatency } from '../../cli/commands/latency.ts';
import { GOLDEN_GUESTS, golden, guestTrace, qemuFixtureTrace, qemuLinuxTrace } from './helpers.ts';

describe('golden phases and latency', () => {
  for (const g of GOLDEN_GUESTS) {
    it(`${g.id} guest (emulator, ${g.smp} vCPU, GICv${g.gic})`, async () => {
      const trace = await guestTrace(g.guest, g.smp, g.gic, g.extra);
      const p = golden(`phases-${g.id}.txt`, renderPhases(phasesOfTrace(trace)));
      expect(p.actual).toBe(p.expected);
      const l = golden(`latency-${g.id}.txt`, renderLatency(latencyOfTrace(trace)));
      expect(l.actual).toBe(l.expected);
    });
  }

  it('imported QEMU Linux boot (GICv3, 2 vCPUs, boot prefix)', async () => {
    const trace = await qemuLinuxTrace();
    const phases = phasesOfTrace(trace);
    expect(phases.guest).toBe('linux');
    expect(phases.phases.map((p) => p.id)).toEqual(['kernel_entry', 'early_console', 'gic_init', 'timer_init', 'smp_bringup']);
    const p = golden('phases-qemu-linux.txt', renderPhases(phases));
    expect(p.actual).toBe(p.expected);
    const l = golden('latency-qemu-linux.txt', renderLatency(latencyOfTrace(trace)));
    expect(l.actual).toBe(l.expected);
  });
});

describe('golden phases and latency: U-Boot', () => {
  it('imported QEMU U-Boot run (GICv2, 1 vCPU, no kernel): firmware only', async () => {
    const trace = await qemuFixtureTrace('uboot-gicv2-smp1');
    const phases = phasesOfTrace(trace);
    expect(phases.guest).toBe('firmware');
    expect(phases.phases.map((p) => p.id)).toEqual(['firmware']);
    const p = golden('phases-qemu-uboot.txt', renderPhases(phases));
    expect(p.actual).toBe(p.expected);
    const l = golden('latency-qemu-uboot.txt', renderLatency(latencyOfTrace(trace)));
    expect(l.actual).toBe(l.expected);
  });
});

describe('under the replay engine', () => {
  it('phases and latency give the same results in one engine pass as standalone', async () => {
    const { replay } = await import('../../analyze/engine.ts');
    const { openTrace } = await import('../../capture/store/index.ts');
    const { PhasesAnalysis } = await import('../../analyze/phases.ts');
    const { LatencyAnalysis } = await import('../../analyze/latency.ts');
    const { IoLatencyAnalysis } = await import('../../analyze/io-latency.ts');
    const trace = await guestTrace('timer', 1, 3);
    const reader = openTrace(trace);
    try {
      const r = replay(reader, [new PhasesAnalysis(), new LatencyAnalysis(), new IoLatencyAnalysis()]);
      expect(r['phases']).toEqual(phasesOfTrace(trace));
      const { io, ...interrupts } = latencyOfTrace(trace);
      expect(r['latency']).toEqual(interrupts);
      expect(r['io_latency']).toEqual(io);
    } finally {
      reader.close();
    }
  });
});
