// The GDB server (emu/gdb, docs/gdb.md) driven by Debian's gdb-multiarch in batch mode against
// our bare-metal guests built with symbols: breakpoints, stepping, reverse execution, a
// watchpoint on the PL011 data register, monitor commands tied to the trace, the replayed
// digest after a session, and what the server does with bad packets and extra or vanishing clients.
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTrace } from '../../capture/store/index.ts';
import type { TraceEvent } from '../../capture/model.ts';
import { runGuest } from '../../emu/run.ts';
import { frame } from '../../emu/gdb/packets.ts';
import type { Machine } from '../../emu/machine/index.ts';
import { buildGuests, gdb, RawClient, reg, serve } from '../helpers/gdb.ts';
import { bootscope, tempDir } from '../helpers/real-guests.ts';

// every snapshot checks all of guest memory for writes its tracking missed (emu/snapshot/ram.ts)
process.env.BOOTSCOPE_SNAPSHOT_CHECK = '1';

const tmp = tempDir('bootscope-gdb-');
afterAll(() => tmp.cleanup());
const elf = tmp.file('uart.elf');
const bin = tmp.file('uart.bin');
const recorded = tmp.file('uart.trace');
let digest = '';
let events: TraceEvent[] = [];

beforeAll(async () => {
  await buildGuests(tmp.dir, ['uart', 'smp']);
  const r = await bootscope(tmp.dir, 'run', '--kernel', bin, '-o', recorded, '--json');
  expect(r.code).toBe(0);
  digest = (JSON.parse(r.out) as { digest: string }).digest;
  const rd = openTrace(recorded);
  events = [...rd.events()];
  rd.close();
});

const GPRS = [...Array.from({ length: 31 }, (_, i) => `x${i}`), 'sp', 'pc', 'cpsr'];
const DR = 0x09000000;
type MmioWrite = Extract<TraceEvent, { kind: 'mmio_write' }>;
const drWrites = (): MmioWrite[] => events.filter((e): e is MmioWrite => e.kind === 'mmio_write' && e.addr === DR);

/** The interpreter's registers after `n` instructions (no debugger, no block compiler). */
async function interpreterAt(n: number): Promise<{ regs: Map<string, bigint>; mem: (addr: bigint, len: number) => Buffer }> {
  let m: Machine | undefined;
  await runGuest({ kernel: bin, maxInsns: n, jit: false, onReady: (x) => (m = x) });
  const c = m!.cpus[0]!;
  const regs = new Map<string, bigint>();
  for (let i = 0; i < 31; i++) regs.set(`x${i}`, c.getX(i));
  regs.set('sp', c.sp);
  regs.set('pc', c.pc);
  regs.set('cpsr', BigInt(c.pstate));
  const mem = (addr: bigint, len: number): Buffer => {
    const off = m!.bus.memOffset(Number(addr));
    return Buffer.from(m!.bus.mem.subarray(off, off + len));
  };
  return { regs, mem };
}

describe('gdb server (bootscope run --gdb)', () => {
  it('breaks at a function, steps; registers and memory equal the interpreter at the same instruction count; the trace is the one of a run without gdb', async () => {
    const out = tmp.file('run-gdb.trace');
    const s = await serve('run', '--kernel', bin, '-o', out);
    const g = await gdb(elf, s.port, [
      'break putc_',
      'continue',
      'stepi',
      'stepi',
      'info registers',
      'x/4xg $sp',
      'monitor where',
      'delete',
      'continue',
    ]);
    const r = await s.done;
    expect(r.code).toBe(0);
    // with line information gdb names the function and its arguments (and putc_ has an inlined copy: 1.1)
    expect(g).toMatch(/Breakpoint 1(\.\d+)?, (0x[0-9a-f]+ in )?putc_ /);
    const executed = Number(/(\d+) instructions executed/.exec(g)![1]);
    const ref = await interpreterAt(executed);
    for (const name of GPRS) expect(reg(g, name), name).toBe(ref.regs.get(name));
    const words = [...g.matchAll(/^0x[0-9a-f]+(?: <[^>]*>)?:\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)$/gm)].flatMap((m) => [
      BigInt(m[1]!),
      BigInt(m[2]!),
    ]);
    expect(words).toHaveLength(4);
    const mem = ref.mem(ref.regs.get('sp')!, 32);
    expect(words).toEqual([0, 8, 16, 24].map((o) => mem.readBigUInt64LE(o)));
    expect(g).toMatch(/exited normally/);
    const rd = openTrace(out);
    expect(rd.meta).toBeDefined();
    rd.close();
    const j = await bootscope(tmp.dir, 'info', out, '--json');
    expect((JSON.parse(j.out) as { digest: string }).digest).toBe(digest);
  });

  it('a watchpoint on the PL011 data register stops at the first DR write', async () => {
    const s = await serve('run', '--kernel', bin, '-o', tmp.file('watch.trace'));
    const g = await gdb(elf, s.port, [
      'watch *(volatile unsigned char *)0x09000000',
      'continue',
      'info registers pc',
      'monitor where',
      'kill',
    ]);
    await s.done;
    const first = drWrites()[0]!;
    expect(g).toContain(`New value = ${Number(first.value)} `);
    // gdb steps over the store (AArch64 watchpoints stop before the access): pc is the next instruction
    expect(reg(g, 'pc')).toBe(first.pc! + 4n);
    expect(g).toMatch(new RegExp(`at event #${first.seq + 2} next`)); // the DR write and the console byte it made
  });

  it('two vCPUs are two threads', async () => {
    const s = await serve('run', '--kernel', tmp.file('smp.bin'), '--smp', '2', '-o', tmp.file('smp.trace'));
    const g = await gdb(tmp.file('smp.elf'), s.port, [
      'break rt_secondary',
      'continue',
      'info threads',
      'thread 1',
      'info registers pc',
      'kill',
    ]);
    await s.done;
    expect(g).toMatch(/Thread 2 .*hit Breakpoint 1, (0x[0-9a-f]+ in )?rt_secondary/);
    expect(g).toMatch(/^\*? +1 +Thread 1 \(cpu0/m);
    expect(g).toMatch(/^\* +2 +Thread 2 \(cpu1 run EL1\)/m);
  });
});

describe('gdb server (bootscope debug TRACE --gdb)', () => {
  it('reverse-stepi comes back to the breakpoint with the same registers; reverse-continue on the DR watchpoint stops at the previous write; the replayed digest is unchanged', async () => {
    const out = tmp.file('debug-out.trace');
    const s = await serve('debug', recorded, '-o', out);
    const g = await gdb(elf, s.port, [
      'break putc_',
      'continue',
      'info registers',
      'stepi 3',
      'reverse-stepi',
      'reverse-stepi',
      'reverse-stepi',
      'info registers',
      'delete',
      'awatch *(volatile unsigned char *)0x09000000',
      'continue',
      'continue',
      'continue',
      'stepi 4',
      'reverse-continue',
      'monitor where',
      'detach',
    ]);
    const r = await s.done;
    expect(r.code).toBe(0);
    for (const name of GPRS) expect(reg(g, name, 1), name).toBe(reg(g, name, 0));
    // after three DR writes and a few steps, reverse-continue stops before the third write
    const third = drWrites()[2]!;
    expect(g).toMatch(new RegExp(`→ #${third.seq} t=${third.time} cpu0 mmio_write`));
    expect(r.err).toMatch(/identical to the recording \(([\d,]+) events\)/);
    expect(r.err).toContain(digest);
  });

  it('with snapshots at every slice, reverse-continue scans back across all of them to the one call of fdt_scan; moves back and forth leave registers and the replayed digest as without snapshots', async () => {
    const out = tmp.file('debug-snap.trace');
    // the guest spends its first 135,000 instructions in fdt_scan: one snapshot per 16,384-instruction slice
    const s = await serve('debug', recorded, '-o', out, '--snapshot-every', '5000');
    const late = drWrites()[20]!;
    const early = drWrites()[2]!;
    const g = await gdb(elf, s.port, [
      'break fdt_scan',
      'continue',
      'info registers',
      'delete',
      `monitor event ${late.seq}`, // forward, past every snapshot
      'maint flush register-cache',
      'info registers pc',
      'break fdt_scan',
      'reverse-continue', // back across every snapshot interval to the first one
      'info registers',
      'delete',
      `monitor event ${early.seq}`,
      'maint flush register-cache',
      'info registers pc',
      'reverse-stepi',
      'stepi',
      'info registers pc',
      'monitor where',
      'detach',
    ]);
    const r = await s.done;
    expect(r.code).toBe(0);
    // the full register dumps at fdt_scan, going forwards and coming back (pc is also printed alone)
    for (const name of GPRS) expect(reg(g, name, name === 'pc' ? 2 : 1), name).toBe(reg(g, name, 0));
    expect(reg(g, 'pc', 1)).toBe(late.pc);
    expect(reg(g, 'pc', 3)).toBe(early.pc);
    expect(reg(g, 'pc', 4)).toBe(early.pc);
    const sn = /snapshots: (\d+) kept .*, (\d+) taken, (\d+) restored/.exec(g)!;
    expect(Number(sn[1])).toBeGreaterThanOrEqual(8);
    expect(Number(sn[3])).toBeGreaterThanOrEqual(8);
    expect(r.err).toMatch(/identical to the recording \(([\d,]+) events\)/);
    expect(r.err).toContain(digest);
  });

  it('monitor event N then info registers pc (with the gdb script bootscope debug --gdb-script prints) gives the pc recorded with event N; --at starts there', async () => {
    const e = drWrites()[5]!;
    const script = await bootscope(tmp.dir, 'debug', '--gdb-script');
    writeFileSync(tmp.file('bootscope.gdb'), script.out);
    const s = await serve('debug', recorded);
    const g = await gdb(elf, s.port, [`source ${tmp.file('bootscope.gdb')}`, `monitor event ${e.seq}`, 'info registers pc', 'kill']);
    await s.done;
    expect(reg(g, 'pc')).toBe(e.pc);
    const s2 = await serve('debug', recorded, '--at', `#${e.seq}`);
    const g2 = await gdb(elf, s2.port, ['info registers pc', 'monitor where', 'kill']);
    await s2.done;
    expect(reg(g2, 'pc')).toBe(e.pc);
    expect(g2).toContain(`at event #${e.seq} next`);
  });

  it('reverse-finish goes back to the call site; monitor next-event goes to the next recorded event of a kind', async () => {
    const s = await serve('debug', recorded);
    const g = await gdb(elf, s.port, [
      'break putc_',
      'continue',
      'continue',
      'info registers x30',
      'reverse-finish',
      'info registers pc',
      'monitor next-event mmio_write',
      'maint flush register-cache',
      'info registers pc',
      'monitor where',
      'kill',
    ]);
    await s.done;
    // putc_'s caller: the return address minus the BL
    expect(reg(g, 'pc')).toBe(reg(g, 'x30') - 4n);
    const at = Number(/at event #(\d+) next/.exec(g)![1]);
    const next = events[at]!;
    expect(next.kind).toBe('mmio_write');
    expect(reg(g, 'pc', 1)).toBe(next.pc);
  });

  it('reverse-next comes back over a call to the line before (line information from the ELF); reverse-finish runs back to the call', async () => {
    const s = await serve('debug', recorded, '--snapshot-every', '5000');
    const where = ['echo @@\n', 'frame', 'info registers pc'];
    const g = await gdb(elf, s.port, [
      'break uart.c:131', // pl011_bringup's first printf_
      'continue',
      ...where,
      'next',
      ...where,
      'next',
      ...where,
      'reverse-next',
      ...where,
      'reverse-next',
      ...where,
      'echo @@\n',
      'break putc_',
      'continue',
      'info registers x30',
      'reverse-finish',
      'info registers pc',
      'kill',
    ]);
    await s.done;
    // each stop: the frame's line in uart.c and the pc
    const stops = g
      .split('@@\n')
      .slice(1, 6)
      .map((part) => [reg(part, 'pc'), Number(/uart\.c:(\d+)/.exec(part)?.[1] ?? -1)]);
    // forward: line 131, then two more lines; backward: the second, then 131 again, at the same pcs
    expect(stops[0]![1]).toBe(131);
    expect(stops[3]).toEqual(stops[1]);
    expect(stops[4]).toEqual(stops[0]);
    expect(stops[2]![0]).not.toBe(stops[1]![0]);
    // reverse-finish from putc_: back in its caller, at the BL (putc_'s return address minus 4)
    const last = g.split('@@\n').at(-1)!;
    expect(last).toMatch(/^0x[0-9a-f]+ in vprintf_ /m);
    expect(reg(last, 'pc')).toBe(reg(last, 'x30') - 4n);
  });

  it('writes are refused unless --allow-writes', async () => {
    const s = await serve('debug', recorded);
    const g = await gdb(elf, s.port, ['set var $x1 = 5', 'kill']);
    await s.done;
    expect(g).toContain('writes are refused');
  });
});

describe('gdb server protocol errors', () => {
  it('bad packets, unknown queries, a second client, a client that goes away: clear answers, the run goes on to its end', async () => {
    const out = tmp.file('raw.trace');
    const s = await serve('run', '--kernel', bin, '-o', out);
    const c = await RawClient.connect(s.port);
    c.write('$qSupported#00'); // wrong checksum
    await c.expect(/^-$/);
    c.packet('qNoSuchQuery');
    expect(await c.expect(/\$#00$/)).toBe('+$#00');
    c.packet('m40080000,4');
    expect(await c.expect(/#[0-9a-f]{2}$/)).toMatch(/^\+\$[0-9a-f]{8}#/);
    c.packet('Zq,1,2');
    expect(await c.expect(/#[0-9a-f]{2}$/)).toBe('+$E01#a6');
    // continue, and stop (0x03) right behind it: the guest stops at once with SIGINT
    c.write(frame('vCont;c') + '\x03'); // one write: the stop is read with the continue
    expect(await c.expect(/#[0-9a-f]{2}$/)).toMatch(/^\+\$T02thread:1;#/);
    const second = await RawClient.connect(s.port);
    second.packet('qSupported');
    expect(await second.expect(/#[0-9a-f]{2}$/)).toContain('another gdb is already attached');
    await second.closed;
    c.destroy();
    const r = await s.done;
    expect(r.code).toBe(0);
    expect(r.err).toContain('refused a second client');
    expect(r.err).toContain('client went away; the run continues');
    const j = await bootscope(tmp.dir, 'info', out, '--json');
    expect((JSON.parse(j.out) as { digest: string }).digest).toBe(digest);
  });

  it('command errors are one line: --gdb missing or malformed, a port in use, --at past the end, an --output that exists, a bad --snapshot-every, no trace', async () => {
    const e1 = await bootscope(tmp.dir, 'debug', recorded);
    expect(e1.err.trim()).toBe('bootscope: debug: --gdb [HOST:]PORT is required (where gdb connects: target remote HOST:PORT)');
    const e2 = await bootscope(tmp.dir, 'debug', recorded, '--gdb', '99999');
    expect(e2.err.trim()).toBe("bootscope: --gdb: '99999' is not [HOST:]PORT (e.g. 1234 or 0.0.0.0:1234)");
    const e3 = await bootscope(tmp.dir, 'debug', recorded, '--gdb', '0', '--at', '#99999');
    expect(e3.err.trim()).toBe(`bootscope: --at: the trace has ${events.length} events (#0 to #${events.length - 1}): no event #99999`);
    const e4 = await bootscope(tmp.dir, 'debug', recorded, '--gdb', '0', '-o', recorded);
    expect(e4.err.trim()).toMatch(/^bootscope: .*uart\.trace: /);
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as net.AddressInfo).port;
    const e5 = await bootscope(tmp.dir, 'run', '--kernel', bin, '-o', tmp.file('busy.trace'), '--gdb', String(port));
    busy.close();
    expect(e5.err.trim()).toBe(`bootscope: --gdb 127.0.0.1:${port}: cannot listen (the port is in use)`);
    const e6 = await bootscope(tmp.dir, 'debug', recorded, '--gdb', '0', '--snapshot-every', 'often');
    expect(e6.err.trim()).toBe("bootscope: --snapshot-every: 'often' is not a number of instructions (e.g. 10000000; 0: no snapshots)");
    const e7 = await bootscope(tmp.dir, 'debug', '--gdb', '0');
    expect(e7.err.trim()).toBe('bootscope: debug: a trace is required (bootscope debug TRACE --gdb PORT)');
    for (const e of [e1, e2, e3, e4, e5, e6, e7]) expect(e.code).toBe(1);
  });
});
