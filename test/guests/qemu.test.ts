// Our own guests on Debian's real QEMU (TCG): each run prints its PASS line and powers off with
// PSCI SYSTEM_OFF, and its console matches the recorded baseline in expected/<id>.txt, which is
// what the emulator's console must reproduce.
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GUEST_NAMES, GUEST_RUNS, REPO_ROOT, guestBinary, runOnQemu } from '../helpers/qemu-runs.ts';

const EXPECTED_DIR = path.join(REPO_ROOT, 'test', 'guests', 'expected');

describe('guest binaries', () => {
  it.each(GUEST_NAMES.map((g) => [g]))('%s.bin carries an arm64 Image header and stays small', (guest) => {
    const img = readFileSync(guestBinary(guest));
    expect(img.readUInt32LE(0x38)).toBe(0x644d5241); // "ARM\x64"
    expect(img.readBigUInt64LE(0x08)).toBe(0x80000n); // text_offset: loaded at RAM base + 0x80000
    const imageSize = Number(img.readBigUInt64LE(0x10));
    expect(imageSize).toBeGreaterThanOrEqual(img.length); // covers BSS and stacks too
    expect(img.readBigUInt64LE(0x18)).toBe(2n); // LE, 4K pages, 2 MiB-aligned base
    expect(img.length).toBeLessThan(64 * 1024);
  });

  it('guests/build.sh rebuilds the committed binaries byte for byte', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'bootscope-guests-'));
    try {
      // Asynchronous: a build that blocks the worker for a minute would starve vitest's RPC.
      await promisify(execFile)(path.join(REPO_ROOT, 'guests', 'build.sh'), [], {
        env: { ...process.env, BIN: path.join(tmp, 'bin'), OUT: path.join(tmp, 'obj') },
      });
      for (const g of GUEST_NAMES) {
        const rebuilt = readFileSync(path.join(tmp, 'bin', `${g}.bin`));
        expect(rebuilt.equals(readFileSync(guestBinary(g))), `${g}.bin differs from a fresh build`).toBe(true);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('guests on real QEMU', () => {
  it.each(GUEST_RUNS.map((r) => [r.id, r]))('%s passes and powers off', async (_id, run) => {
    const res = await runOnQemu(run);
    expect(res.timedOut, `QEMU was killed; console so far:\n${res.stdout}`).toBe(false);
    expect(res.stdout).toContain(`bootscope guest ${run.guest}\n`);
    expect(res.stdout, res.stdout).not.toMatch(/^FAIL /m);
    expect(res.stdout).toMatch(new RegExp(`^PASS ${run.guest}$`, 'm'));
    expect(res.stdout.endsWith(`PASS ${run.guest}\n`)).toBe(true); // nothing after the power-off
    expect(res.code).toBe(0);
    const expectedFile = path.join(EXPECTED_DIR, `${run.id}.txt`);
    expect(existsSync(expectedFile), `missing baseline ${expectedFile}`).toBe(true);
    expect(res.stdout).toBe(readFileSync(expectedFile, 'latin1'));
  });

  it("the uart guest programs the PL011 in the Linux driver's order (QEMU's pl011 trace)", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bootscope-pl011-'));
    try {
      const log = path.join(dir, 'pl011.log');
      const res = await runOnQemu(GUEST_RUNS[0]!, { extraArgs: ['-trace', 'pl011_write', '-D', log] });
      expect(res.code).toBe(0);
      const writes = [...readFileSync(log, 'utf8').matchAll(/^pl011_write addr 0x([0-9a-f]+) value 0x([0-9a-f]+)$/gm)]
        .map((m) => [parseInt(m[1]!, 16), parseInt(m[2]!, 16)] as const)
        .filter(([off]) => off !== 0x000); // DR: console bytes
      const seq = writes.map(([off, v]) => `${off.toString(16)}=${v.toString(16)}`);
      // registration, startup, then set_termios: CR off, divisors, LCR_H (latches them), CR on
      const expected = ['38=0', '44=ffff', '44=7d0', '38=50', '34=12', '30=0', '24=d', '28=1', '2c=70', '30=301'];
      expect(seq.slice(0, expected.length)).toEqual(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the timer guest sees the GIC version QEMU was given', async () => {
    for (const run of GUEST_RUNS.filter((r) => r.guest === 'timer')) {
      const res = await runOnQemu(run);
      expect(res.stdout).toContain(`timer: GICv${run.gic}, distributor 0x8000000`);
    }
  });

  it('the smp guest brings every CPU up in MPIDR order', async () => {
    const run = GUEST_RUNS.find((r) => r.id === 'smp4-gicv3')!;
    const res = await runOnQemu(run);
    const ups = [...res.stdout.matchAll(/^smp: cpu(\d) up/gm)].map((m) => Number(m[1]));
    expect(ups).toEqual([0, 1, 2, 3]);
  });

  it('a missing guest image makes QEMU exit with its error, not hang', async () => {
    const res = await runOnQemu({ id: 'missing', guest: 'uart', gic: 2, smp: 1 }, { kernel: '/nonexistent/guest.bin' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("could not load kernel '/nonexistent/guest.bin'");
  });

  it('a guest reports FAIL when the platform lacks what it needs (smp on one CPU)', async () => {
    const res = await runOnQemu({ id: 'smp-1cpu', guest: 'smp', gic: 2, smp: 1 });
    expect(res.stdout).toContain('FAIL smp: needs at least 2 CPUs, the DTB lists 1\n');
    expect(res.code).toBe(0); // still powers off cleanly
  });
});
