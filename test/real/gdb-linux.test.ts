// gdb on Debian's 6.1 kernel (nokaslr, two vCPUs), one boot: a hardware breakpoint at a kernel
// address stops there, and backtraces work on both vCPUs. Debian ships no symbols, so the
// addresses are the pinned kernel's (guests/inputs.lock), read off a recorded boot's events:
// `bootscope events T --kind hypercall` gives the PSCI calls' return address (after the HVC), the
// PL011 FBRD write of the console set-up is the first kernel address where both vCPUs are up.
// A second boot, replayed by `bootscope debug` with snapshots, goes back across several of them.
import { afterAll, describe, expect, it } from 'vitest';
import { openTrace } from '../../capture/store/index.ts';
import { gdb, reg, serve } from '../helpers/gdb.ts';
import { bootscope, fetchGuests, tempDir } from '../helpers/real-guests.ts';

const tmp = tempDir('bootscope-gdb-linux-');
afterAll(() => tmp.cleanup());

const PSCI_HVC = '0xffff8000080280ac';
const PL011_FBRD_WRITE = '0xffff800008804e08';
/** Just after the HVC of SMCCC_ARCH_FEATURES(0x80007fff) (its return address), made once, 21.9 M instructions into the boot. */
const ARCH_FEATURES_HVC = 0xffff80000802859cn;
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

  it('debug with snapshots every 10 M instructions: reverse-continue from 90 M back to just after an HVC at 21.9 M crosses six or more of them; the replay stays identical to the recording', async () => {
    const guests = fetchGuests();
    const trace = tmp.file('linux-debug.trace');
    const rec = await bootscope(
      tmp.dir,
      'run',
      '--kernel',
      guests.kernel,
      '--append',
      'console=ttyAMA0 earlycon=pl011,0x9000000 nokaslr',
      '--smp',
      '2',
      '--max-insns',
      '120000000',
      '-o',
      trace,
    );
    expect(rec.code).toBe(0);
    const rd = openTrace(trace);
    const events = [...rd.events()];
    rd.close();
    // before cpu1 comes up (at 91.6 M; it runs the same code, and would be the last hit)
    const late = events.filter((e) => e.time < 90_000_000).at(-1)!;
    const hvc = events.find((e) => e.kind === 'hypercall' && e.pc === ARCH_FEATURES_HVC)!;
    expect(hvc.time).toBeLessThan(30_000_000);
    const s = await serve('debug', trace, '--snapshot-every', '10000000');
    const g = await gdb('', s.port, [
      'set remotetimeout 600',
      `monitor event ${late.seq}`,
      `hbreak *0x${ARCH_FEATURES_HVC.toString(16)}`,
      'reverse-continue',
      'info registers pc x0 x1',
      'monitor where',
      'detach',
    ]);
    const r = await s.done;
    expect(r.code).toBe(0);
    expect(reg(g, 'pc')).toBe(ARCH_FEATURES_HVC);
    // the call's answers, as recorded: NOT_SUPPORTED (-1) in x0, x1 zeroed
    expect(reg(g, 'x0')).toBe(0xffffffffffffffffn);
    expect(reg(g, 'x1')).toBe(0n);
    expect(g).toContain(`at event #${hvc.seq + 1} next`);
    const sn = /snapshots: (\d+) kept .*, (\d+) taken, (\d+) restored/.exec(g)!;
    expect(Number(sn[2])).toBeGreaterThanOrEqual(7);
    expect(Number(sn[3])).toBeGreaterThanOrEqual(6);
    expect(r.err).toContain(`identical to the recording (${events.length.toLocaleString('en-US')} events)`);
  });
});
