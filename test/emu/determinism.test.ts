// Determinism: the same guest and configuration give the same event stream (same digest), replay
// says identical, and a guest with one byte changed makes replay name the first divergent event.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { openTrace } from '../../capture/store/index.ts';
import { replayTrace } from '../../emu/machine/replay.ts';
import { GUEST_RUNS, guestBinary } from '../helpers/qemu-runs.ts';
import { runMatrixGuest, tempDir } from './helpers.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const matrix = (id: string) => GUEST_RUNS.find((r) => r.id === id)!;

describe('determinism', () => {
  for (const id of ['smp4-gicv3', 'timer-gicv2', 'exceptions']) {
    it(`${id}: two runs give the same digest and events`, async () => {
      const a = await runMatrixGuest(matrix(id), { output: tmp.file(`${id}-a.trace`) });
      const b = await runMatrixGuest(matrix(id), { output: tmp.file(`${id}-b.trace`) });
      expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(b.digest).toBe(a.digest);
      expect(b.events).toBe(a.events);
      expect(b.virtualTime).toBe(a.virtualTime);
      const r = openTrace(a.trace!);
      try {
        expect(r.complete).toBe(true);
        expect(r.meta.source).toMatchObject({
          type: 'emulator',
          name: 'kvm',
          config: { smp: matrix(id).smp, gic: matrix(id).gic, dtb: 'auto' },
        });
        expect(r.meta.clock).toEqual({ kind: 'instructions', counterHz: 62_500_000, instructionsPerSecond: 1e9 });
        expect(Object.keys(r.meta.hashes).sort()).toEqual(['dtb', 'kernel']);
        expect(r.meta.extra.stop).toBe('system_off');
        const dtb = Buffer.from(r.meta.extra.dtbBase64 as string, 'base64');
        expect(dtb.readUInt32BE(0)).toBe(0xd00dfeed);
        expect(r.eventCount).toBe(a.events);
      } finally {
        r.close();
      }
    });
  }

  it('replay of a recorded run is identical', async () => {
    const out = tmp.file('smp-replay.trace');
    await runMatrixGuest(matrix('smp-gicv3'), { output: out });
    const res = await replayTrace(out);
    expect(res.identical).toBe(true);
    expect(res.compared).toBe(res.recordedEvents);
    expect(res.divergence).toBeUndefined();
  });

  it('a run recorded without the block compiler replays identically with it, and the other way round', async () => {
    for (const [rec, rep] of [
      [false, true],
      [true, false],
    ]) {
      const out = tmp.file(`smp4-jit-${rec}.trace`);
      // eager compilation so that most of this short guest runs compiled code
      await runMatrixGuest(matrix('smp4-gicv3'), { output: out, jit: rec ? { threshold: 2 } : false });
      const res = await replayTrace(out, { jit: rep });
      expect(res.identical, `recorded jit ${rec}, replayed jit ${rep}`).toBe(true);
      expect(res.compared).toBe(res.recordedEvents);
    }
  });

  it('a guest with one byte changed: replay names the first divergent event', async () => {
    const run = matrix('uart');
    const changed = tmp.file('uart-changed.bin');
    const img = readFileSync(guestBinary('uart'));
    // The first character of the banner "bootscope guest uart" printed before anything else.
    const at = img.indexOf(Buffer.from('bootscope guest'));
    expect(at).toBeGreaterThan(0);
    img[at] = 'B'.charCodeAt(0);
    writeFileSync(changed, img);
    const out = tmp.file('uart-orig.trace');
    await runMatrixGuest(run, { output: out });
    const res = await replayTrace(out, { kernel: changed });
    expect(res.identical).toBe(false);
    const d = res.divergence!;
    expect(d.recorded?.kind).toBe('mmio_write');
    expect(d.replayed?.kind).toBe('mmio_write');
    if (d.recorded?.kind === 'mmio_write' && d.replayed?.kind === 'mmio_write') {
      expect(d.recorded.value).toBe(BigInt('b'.charCodeAt(0)));
      expect(d.replayed.value).toBe(BigInt('B'.charCodeAt(0)));
      expect(d.recorded.register).toBe('DR');
    }
    expect(res.compared).toBe(d.seq);
  });

  it('replay refuses a kernel that changed or disappeared since recording', async () => {
    const k = tmp.file('timer-copy.bin');
    copyFileSync(guestBinary('timer'), k);
    const out = tmp.file('timer-copy.trace');
    await runMatrixGuest(matrix('timer-gicv2'), { output: out }, k);
    const img = readFileSync(k);
    img[img.length - 1] ^= 0xff;
    writeFileSync(k, img);
    await expect(replayTrace(out)).rejects.toThrow(/the kernel .*timer-copy\.bin changed since it was recorded/);
    const gone = tmp.file('gone.trace');
    const k2 = tmp.file('gone.bin');
    copyFileSync(guestBinary('uart'), k2);
    await runMatrixGuest(matrix('uart'), { output: gone }, k2);
    writeFileSync(k2, ''); // still there but different
    await expect(replayTrace(gone)).rejects.toThrow(/changed since it was recorded/);
    const { rmSync } = await import('node:fs');
    rmSync(k2);
    await expect(replayTrace(gone)).rejects.toThrow(/the recorded kernel .*gone\.bin is missing/);
  });

  it('replay refuses an imported trace', async () => {
    const { importFile } = await import('../../capture/import/index.ts');
    const log = tmp.file('q.log');
    writeFileSync(log, 'pl011_write addr 0x00000000 value 0x00000041\n');
    const out = tmp.file('imported.trace');
    await importFile({ input: log, output: out, format: 'qemu-log' });
    await expect(replayTrace(out)).rejects.toThrow(/not an emulator trace/);
  });
});
