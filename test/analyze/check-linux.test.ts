// Golden `check` output and `explain uart` for Debian's 6.1 cloud kernel booted on the emulator
// under kvm (PL011) and xen (SBSA vUART), 2 vCPUs, GICv3, to the "no root fs" panic. The kernel is
// not in the repository: scripts/fetch-guests.sh fetches the version guests/inputs.lock pins; the
// golden files name that kernel. A moved pin without new goldens fails (UPDATE_GOLDEN=1 writes
// them; docs/inputs.md).
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { check, formatCheck } from '../../analyze/check.ts';
import { explainUart } from '../../analyze/explain-uart.ts';
import { openTrace } from '../../capture/store/index.ts';
import { runGuest, type RunConfig } from '../../emu/run.ts';
import { tmpTraces } from './engine-helpers.ts';
import { golden } from './helpers.ts';
import { fetchGuests } from '../helpers/real-guests.ts';

// Debian's kernel as pinned, fetched and cached (scripts/fetch-guests.sh).
const kernelPath = fetchGuests().kernel;
const version = path.basename(kernelPath).replace(/^vmlinuz-/, '');
const tmp = tmpTraces();
afterAll(() => tmp.cleanup());

const MACHINES: Record<'kvm' | 'xen', Partial<RunConfig>> = {
  kvm: { machine: 'kvm', append: 'console=ttyAMA0' },
  xen: { machine: 'xen', vuart: 'sbsa', append: 'console=ttyAMA0' },
};

describe(`check on Debian ${version}`, () => {
  for (const which of ['kvm', 'xen'] as const) {
    it(`${which}: check matches the golden file and explain uart finds a working UART`, async () => {
      const out = tmp.file(`linux-${which}.trace`);
      await runGuest({
        kernel: kernelPath,
        smp: 2,
        gic: 3,
        memBytes: 256 * 2 ** 20,
        output: out,
        stopOn: 'end Kernel panic',
        maxInsns: 1.5e9,
        ...MACHINES[which],
      });
      const r = openTrace(out);
      const text = formatCheck(check(r));
      const x = explainUart(r);
      r.close();
      const g = golden(`check-linux-${which}-${version}.txt`, text);
      expect(g.actual).toBe(g.expected);
      expect(x.verdict).toBe(which === 'kvm' ? 'working-pl011' : 'working-sbsa');
    });
  }
});
