// Golden `check` output and `explain uart` for Debian's 6.1 cloud kernel booted on the emulator
// under kvm (PL011) and xen (SBSA vUART), 2 vCPUs, GICv3, to the "no root fs" panic. The kernel is
// not in the repository: scripts/fetch-guests.sh fetches it by package name; the golden files name
// the kernel they were made with, and with another kernel version the tests are skipped.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { check, formatCheck } from '../../analyze/check.ts';
import { explainUart } from '../../analyze/explain-uart.ts';
import { openTrace } from '../../capture/store/index.ts';
import { runGuest, type RunConfig } from '../../emu/run.ts';
import { tmpTraces } from './engine-helpers.ts';
import { fetchGuests } from '../real/helpers.ts';

const GOLDEN = path.join(import.meta.dirname, 'golden');
// Debian's kernel, fetched by package name and cached (scripts/fetch-guests.sh).
const kernelPath = fetchGuests().kernel;
const dir = path.dirname(kernelPath);
const vmlinuz: string | undefined = path.basename(kernelPath);
const version = vmlinuz?.replace(/^vmlinuz-/, '') ?? '';
const haveGolden = !!vmlinuz && (!!process.env['UPDATE_GOLDEN'] || existsSync(path.join(GOLDEN, `check-linux-kvm-${version}.txt`)));
const tmp = tmpTraces();
afterAll(() => tmp.cleanup());

const MACHINES: Record<'kvm' | 'xen', Partial<RunConfig>> = {
  kvm: { machine: 'kvm', append: 'console=ttyAMA0' },
  xen: { machine: 'xen', vuart: 'sbsa', append: 'console=ttyAMA0' },
};

describe.skipIf(!haveGolden)(`check on Debian ${version}`, () => {
  for (const which of ['kvm', 'xen'] as const) {
    it(`${which}: check matches the golden file and explain uart finds a working UART`, async () => {
      const out = tmp.file(`linux-${which}.trace`);
      await runGuest({ kernel: path.join(dir, vmlinuz!), smp: 2, gic: 3, memBytes: 256 * 2 ** 20, output: out, stopOn: 'end Kernel panic', maxInsns: 1.5e9, ...MACHINES[which] });
      const r = openTrace(out);
      const text = formatCheck(check(r));
      const x = explainUart(r);
      r.close();
      const file = path.join(GOLDEN, `check-linux-${which}-${version}.txt`);
      if (process.env['UPDATE_GOLDEN']) writeFileSync(file, text);
      expect(text).toBe(readFileSync(file, 'utf8'));
      expect(x.verdict).toBe(which === 'kvm' ? 'working-pl011' : 'working-sbsa');
    });
  }
});
