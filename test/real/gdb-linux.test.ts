// gdb on Debian's 6.1 kernel (nokaslr, two vCPUs), one boot: a hardware breakpoint at a kernel
// address stops there, and backtraces work on both vCPUs. Debian ships no symbols, so the
// addresses are the pinned kernel's (guests/inputs.lock), read off a recorded boot's events:
// `bootscope events T --kind hypercall` gives the PSCI calls' return address (after the HVC), the
// PL011 FBRD write of the console set-up is the first kernel address where both vCPUs are up.
import { afterAll, describe, expect, it } from 'vitest';
import { gdb, serve } from '../helpers/gdb.ts';
import { fetchGuests, tempDir } from '../helpers/real-guests.ts';

const tmp = tempDir('bootscope-gdb-linux-');
afterAll(() => tmp.cleanup());

const PSCI_HVC = '0xffff8000080280ac';
const PL011_FBRD_WRITE = '0xffff800008804e08';
const KERNEL_TEXT = /^#1 +0x(ffff8000[0-9a-f]{8}) in \?\? \(\)$/m;

describe('gdb on Linux 6.1', () => {
  it('hbreak at a kernel address stops there; backtraces with two vCPUs', async () => {
    const guests = fetchGuests();
    const s = await serve(
      'run',
      '--kernel',
      guests.kernel,
      '--append',
      'console=ttyAMA0 earlycon=pl011,0x9000000 nokaslr',
      '--smp',
      '2',
      '-o',
      tmp.file('linux.trace'),
    );
    const g = await gdb('', s.port, [
      `hbreak *${PSCI_HVC}`,
      'continue',
      'info registers pc x0',
      'bt 3',
      'delete',
      `hbreak *${PL011_FBRD_WRITE}`,
      'continue',
      'info threads',
      'thread 2',
      'bt 3',
      'monitor where',
      'kill',
    ]);
    const r = await s.done;
    expect(r.code).toBe(0);
    // just after the first PSCI call's HVC: x0 holds PSCI_VERSION's answer, 1.1
    expect(g).toMatch(new RegExp(`hit Breakpoint 1, ${PSCI_HVC} in`));
    expect(g).toMatch(/^x0 +0x10001 /m);
    expect(g).toMatch(new RegExp(`Thread 1 hit Breakpoint 2, ${PL011_FBRD_WRITE}`));
    expect(g).toMatch(/Thread 1 \(cpu0 run EL1\)/);
    expect(g).toMatch(/Thread 2 \(cpu1 (run|wfi|wfe) EL1\)/);
    // frame #1 of each backtrace is a return address in the kernel's text
    const callers = [...g.matchAll(new RegExp(KERNEL_TEXT.source, 'gm'))];
    expect(callers.length).toBeGreaterThanOrEqual(2);
    expect(g).toMatch(/cpu1 (run|wfi|wfe) pc=0xffff8000[0-9a-f]{8} EL1/);
  });
});
