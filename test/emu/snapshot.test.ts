// Machine snapshots (emu/snapshot): a run that keeps going back to earlier snapshots and running
// forward again leaves the same trace (digest) as a run that never did, on guests that exercise
// several vCPUs, both GIC versions, the timer, the MMU and exceptions; every snapshot checks that
// the copy-on-write tracking saw every write to guest memory.
import { afterAll, describe, expect, it } from 'vitest';
import { Snapshots } from '../../emu/snapshot/index.ts';
import type { StopInfo } from '../../emu/scheduler.ts';
import { GUEST_RUNS } from '../helpers/qemu-runs.ts';
import { runMatrixGuest, tempDir } from './helpers.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const matrix = (id: string) => GUEST_RUNS.find((r) => r.id === id)!;

describe('machine snapshots', () => {
  for (const id of ['smp4-gicv3', 'timer-gicv2', 'mmu', 'exceptions']) {
    it(`${id}: going back to earlier snapshots and on again gives the digest of a plain run`, async () => {
      // short slices: many round boundaries, where snapshots are taken
      const plain = await runMatrixGuest(matrix(id), { output: tmp.file(`${id}-plain.trace`), quantum: 1000 });
      let restores = 0;
      let taken = 0;
      const res = await runMatrixGuest(matrix(id), {
        output: tmp.file(`${id}-snap.trace`),
        quantum: 1000,
        debugLoop: async (m, step, state): Promise<StopInfo> => {
          const sn = new Snapshots(m, { every: 3000, roots: state, verify: true });
          let back = 0;
          for (;;) {
            const stop = step(sn.nextAt());
            if (stop) return stop;
            if (!sn.due()) continue;
            sn.take();
            // every third snapshot: back to a moment two intervals ago (up to 40 times)
            if (sn.stats().taken % 3 === 0 && back < 40) {
              back++;
              sn.restoreBefore({ executed: m.scheduler.executed - 5000 });
            }
            await new Promise((r) => setImmediate(r));
            restores = sn.stats().restored;
            taken = sn.stats().taken;
          }
        },
      });
      expect(restores).toBeGreaterThan(3);
      expect(taken).toBeGreaterThan(10);
      expect(res.events).toBe(plain.events);
      expect(res.digest).toBe(plain.digest);
    });
  }

  it('smp4-gicv3 within a 2 MiB budget: snapshots are thinned to fit, going back still gives the plain run', async () => {
    const plain = await runMatrixGuest(matrix('smp4-gicv3'), { output: tmp.file('budget-plain.trace'), quantum: 1000 });
    const budget = 2 * 2 ** 20;
    let worst = 0;
    let last = { count: 0, thinned: 0, restored: 0 };
    const res = await runMatrixGuest(matrix('smp4-gicv3'), {
      output: tmp.file('budget-snap.trace'),
      quantum: 1000,
      debugLoop: async (m, step, state): Promise<StopInfo> => {
        const sn = new Snapshots(m, { every: 2000, budget, roots: state, verify: true });
        for (;;) {
          const stop = step(sn.nextAt());
          if (stop) return stop;
          if (!sn.due()) continue;
          sn.take();
          worst = Math.max(worst, sn.stats().bytes);
          if (sn.stats().taken % 4 === 0 && sn.stats().restored < 20) sn.restoreBefore({ executed: m.scheduler.executed - 7000 });
          last = sn.stats();
          await new Promise((r) => setImmediate(r));
        }
      },
    });
    expect(last.thinned).toBeGreaterThan(0);
    expect(last.count).toBeGreaterThanOrEqual(2);
    expect(worst).toBeLessThanOrEqual(budget);
    expect(res.digest).toBe(plain.digest);
  });
});
