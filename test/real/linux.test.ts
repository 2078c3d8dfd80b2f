// Debian's 6.1 cloud kernel on the kvm machine to the VFS panic: every platform line matches what
// the same kernel printed on QEMU's virt machine with the same command line
// (test/real/expected/linux-qemu-gicv<G>-smp<N>.txt, from scripts/make-linux-expected.sh G N),
// and a replay of the recorded boot is identical (also with the WebAssembly block compiler). UPDATE_GOLDEN=1 first rewrites those files with
// the pinned kernel on QEMU (after moving the kernel pin: docs/inputs.md).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootscope,
  fetchGuests,
  gicLinesAsKvm,
  kernelLog,
  platformLines,
  REPO_ROOT,
  tempDir,
  type Guests,
} from '../helpers/real-guests.ts';

const APPEND = 'console=ttyAMA0 earlycon=pl011,0x9000000';
const tmp = tempDir('bootscope-real-linux-');
let guests: Guests;
beforeAll(() => {
  guests = fetchGuests();
});
afterAll(() => tmp.cleanup());

async function bootToPanic(gic: 2 | 3, smp: number, trace: string): Promise<string[]> {
  const r = await bootscope(
    tmp.dir,
    'run',
    '--machine',
    'kvm',
    '--kernel',
    guests.kernel,
    '--append',
    APPEND,
    '--smp',
    String(smp),
    '--gic',
    String(gic),
    '--mem',
    '512M',
    '--stop-on',
    'end Kernel panic',
    '-o',
    trace,
    '--json',
  );
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  const s = JSON.parse(r.out);
  expect(s.stop).toBe('stopped');
  expect(s.stopMessage).toBe('console printed "end Kernel panic"');
  return kernelLog(s.console);
}

/** QEMU's console for the configuration; with UPDATE_GOLDEN=1 made anew on QEMU first (asynchronous: vitest's RPC must not starve). */
async function qemuConsole(gic: 2 | 3, smp: number): Promise<string[]> {
  if (process.env.UPDATE_GOLDEN === '1')
    await promisify(execFile)(join(REPO_ROOT, 'scripts/make-linux-expected.sh'), [String(gic), String(smp)]);
  return readFileSync(join(REPO_ROOT, `test/real/expected/linux-qemu-gicv${gic}-smp${smp}.txt`), 'utf8').split('\n');
}

async function expectQemuPlatform(log: string[], gic: 2 | 3, smp: number): Promise<void> {
  const qemu = await qemuConsole(gic, smp);
  expect(log).toContain('Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)');
  // The same kernel release as the stored QEMU console (a moved kernel pin needs new ones: UPDATE_GOLDEN=1).
  expect(log[1]).toBe(qemu[1]);
  // The kvm machine's GICv3 identifies itself as KVM's vGICv3 does (docs/emulator.md, "Compared
  // with real KVM"); gicLinesAsKvm turns QEMU TCG's GIC lines into what Linux prints under KVM.
  const want = platformLines(gicLinesAsKvm(qemu));
  expect(want.length).toBeGreaterThan(20);
  expect(want).toContain('9000000.pl011: ttyAMA0 at MMIO 0x9000000 (irq = 13, base_baud = 0) is a PL011 rev1');
  expect(want).toContain(`SMP: Total of ${smp} processors activated.`);
  expect(platformLines(log)).toEqual(want);
}

describe('Debian Linux 6.1 on --machine kvm', () => {
  const trace = tmp.file('linux-v3.trace');

  it('boots to the VFS panic (1 vCPU, GICv3) with the platform lines QEMU virt prints', async () => {
    await expectQemuPlatform(await bootToPanic(3, 1, trace), 3, 1);
  });

  it('replay of that boot is identical', async () => {
    const r = await bootscope(tmp.dir, 'replay', trace);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^identical \([\d,]+ events\)\n$/);
  });

  it('replay of that boot with the WebAssembly block compiler (--jit wasm) is identical', async () => {
    const r = await bootscope(tmp.dir, 'replay', trace, '--jit', 'wasm');
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^identical \([\d,]+ events\)\n$/);
  });

  it('boots to the VFS panic (2 vCPUs, GICv2) with the platform lines QEMU virt prints', async () => {
    await expectQemuPlatform(await bootToPanic(2, 2, tmp.file('linux-v2.trace')), 2, 2);
  });

  it('replay of the 2-vCPU boot with --jit wasm is identical (exclusive monitors shared by the vCPUs)', async () => {
    const r = await bootscope(tmp.dir, 'replay', tmp.file('linux-v2.trace'), '--jit', 'wasm');
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^identical \([\d,]+ events\)\n$/);
  });
});
