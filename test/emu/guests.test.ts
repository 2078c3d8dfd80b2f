// Every guest run of the QEMU matrix boots on the emulator and prints exactly what QEMU 7.2
// printed (test/guests/expected/<id>.txt), then powers off with PSCI SYSTEM_OFF.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GUEST_RUNS, REPO_ROOT } from '../helpers/qemu-runs.ts';
import { runMatrixGuest } from './helpers.ts';

describe('guests on the emulator match QEMU consoles', () => {
  for (const run of GUEST_RUNS) {
    it(`${run.id} (${run.guest}, GICv${run.gic}, ${run.smp} vCPU${run.smp > 1 ? 's' : ''})`, async () => {
      const want = readFileSync(path.join(REPO_ROOT, 'test/guests/expected', `${run.id}.txt`), 'latin1');
      const r = await runMatrixGuest(run, { maxInsns: 400_000_000 });
      expect(Buffer.from(r.console).toString('latin1')).toBe(want);
      expect(r.stop).toEqual({ kind: 'system_off', message: 'PSCI SYSTEM_OFF' });
    });
  }
});
