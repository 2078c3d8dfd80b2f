// The debugger's pauses change nothing: a run paused at many points (Scheduler.debugPoint: by
// instruction count, by a vCPU's retired count, by virtual time) with a watchpoint and a
// breakpoint set all along (interpreter, slow memory paths) records the same events as a run
// without them.
import { afterAll, describe, expect, it } from 'vitest';
import { DebugPoints, EVT_DEBUG, STOP } from '../../emu/cpu/state.ts';
import { runGuest, type RunConfig } from '../../emu/run.ts';
import { guestBinary } from '../helpers/qemu-runs.ts';
import { tempDir } from '../helpers/real-guests.ts';

const tmp = tempDir('bootscope-pause-');
afterAll(() => tmp.cleanup());

async function pausedRun(cfg: RunConfig, smp: number): Promise<{ digest: string | undefined; pauses: number; hits: number }> {
  let pauses = 0,
    hits = 0;
  const res = await runGuest({
    ...cfg,
    debugLoop: async (m, step) => {
      let seed = 12345;
      const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 5000) + 1;
      const dp = new DebugPoints();
      dp.watch.push({ start: 0x09000000n, end: 0x09000004n, kind: 'write' });
      dp.bp.set(0x40081360 | 0, [0]);
      for (const c of m.cpus) {
        c.dbg = dp;
        c.dbgEvt = EVT_DEBUG;
        c.evt |= EVT_DEBUG;
        c.flushTlb();
      }
      const s = m.scheduler;
      for (;;) {
        const k = rnd() % 3;
        const v = rnd() % smp;
        s.debugPoint =
          k === 0
            ? { executed: s.executed + rnd() }
            : k === 1
              ? { vcpu: v, instret: m.cpus[v]!.instret + rnd() }
              : { time: s.now() + rnd() };
        const stop = step(Infinity);
        if (stop) return stop;
        if (s.debugPaused < 0) continue;
        pauses++;
        const c = m.cpus[s.debugPaused]!;
        for (const x of m.cpus) x.dbgSkip = -1;
        if (c.dbgHit && c.stopReason === STOP.DEBUG) {
          hits++;
          c.dbgHit = undefined;
          c.dbgSkip = c.instret;
        }
      }
    },
  });
  return { digest: res.digest, pauses, hits };
}

describe('debugger pauses', () => {
  for (const [guest, smp, gic] of [
    ['smp', 4, 3],
    ['timer', 1, 2],
    ['uart', 1, 3],
  ] as const) {
    it(`${guest} (${smp} vCPU, GICv${gic}): paused hundreds of times, same events as without pauses`, async () => {
      const base: RunConfig = { kernel: guestBinary(guest), smp, gic, memBytes: 128 << 20 };
      const plain = await runGuest({ ...base, output: tmp.file(`${guest}-a.trace`) });
      const paused = await pausedRun({ ...base, output: tmp.file(`${guest}-b.trace`) }, smp);
      expect(paused.pauses).toBeGreaterThan(50);
      expect(paused.digest).toBe(plain.digest);
    });
  }
});
