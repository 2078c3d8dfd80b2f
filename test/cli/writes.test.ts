// Every command that writes a file, run as a user runs it, against the "Writing" cases of the
// hostile-input checklist: an existing output, an output that is one of the inputs, an output that
// is a directory or cannot be written, unreadable inputs (EACCES), images larger than RAM, Ctrl-C
// and SIGTERM midway, and kill -9 midway.

import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { openTrace } from '../../capture/store/index.ts';
import { assemble } from '../emu/helpers.ts';
import { guestBinary } from '../helpers/qemu-runs.ts';

const ROOT = path.join(import.meta.dirname, '../..');
const MAIN = path.join(ROOT, 'cli/main.ts');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-writes-'));
// The EACCES cases run the CLI as an unprivileged user (root reads everything): it must reach here.
fs.chmodSync(dir, 0o755);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const at = (name: string): string => path.join(dir, name);

/** When the tests run as root, the permission cases run the CLI as nobody (root bypasses permissions). */
const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

/** Asynchronous: a run of synchronous children would block the worker and starve vitest's RPC. */
function bootscope(args: string[], opts: { user?: boolean } = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', MAIN, ...args],
      { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20, ...(opts.user ? asUser : {}) },
      (err, out, errText) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        if (err && code === null && !('signal' in err && err.signal)) return reject(err);
        resolve({ code, out, err: errText });
      },
    );
  });
}

/** A one-line error, nothing on stdout, exit status 1. */
function failsWith(r: { code: number | null; out: string; err: string }, err: string): void {
  expect(r.err).toBe(`bootscope: ${err}\n`);
  expect(r.code).toBe(1);
}

/** Names in the test directory that start with `base` (a file and anything left next to it). */
const leftovers = (base: string): string[] =>
  fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(base))
    .sort();

/** Children still running when a test ends (it failed midway) are stopped, never left behind. */
const running = new Set<ChildProcess>();
afterEach(() => {
  for (const c of running) c.kill('SIGKILL');
  running.clear();
});

type Cli = ChildProcess & { done: Promise<{ code: number | null; signal: string | null; out: string; err: string }> };

function spawnCli(args: string[]): Cli {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  running.add(child);
  const done = new Promise<{ code: number | null; signal: string | null; out: string; err: string }>((resolve) =>
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, out, err });
    }),
  );
  return Object.assign(child, { done });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fails (instead of waiting forever) when the command ended before what a test waits for. */
function alive(child: Cli, what: string): void {
  if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the command ended before ${what}`);
}

/** Wait until `file` is a trace with at least `events` committed events (polling a reader). */
async function committed(child: Cli, file: string, events: number): Promise<number> {
  for (;;) {
    alive(child, `${file} had ${events} events`);
    try {
      const r = openTrace(file);
      const n = r.eventCount;
      r.close();
      if (n >= events) return n;
    } catch {
      // not created yet, or its schema not committed yet
    }
    await pause(20);
  }
}

/** A reader on the trace being written (kept open across the writer's close by the caller). */
async function openLive(child: Cli, file: string): Promise<ReturnType<typeof openTrace>> {
  for (;;) {
    alive(child, `${file} could be opened`);
    try {
      return openTrace(file);
    } catch {
      await pause(10);
    }
  }
}

async function exists(child: Cli, file: string): Promise<void> {
  while (!fs.existsSync(file)) {
    alive(child, `${file} existed`);
    await pause(10);
  }
}

const log = at('boot.log');
const trace = at('boot.trace');
/** ~1.25 M lines (no timestamps): an import that runs for seconds. */
const bigLog = at('big.log');
/** A guest that reads the PL011 flag register forever: one mmio_read every two instructions. */
const loop = at('loop.bin');

beforeAll(async () => {
  const text = gunzipSync(fs.readFileSync(path.join(ROOT, 'test/fixtures/qemu/linux-gicv3-smp2.prefix.log.gz')));
  fs.writeFileSync(log, text);
  const block = text.toString('latin1').replace(/^\d+@[\d.]+:/gm, '');
  const fd = fs.openSync(bigLog, 'w');
  for (let i = 0; i < 25; i++) fs.writeSync(fd, block, null, 'latin1');
  fs.closeSync(fd);
  fs.writeFileSync(loop, assemble('movz x1, #0x0900, lsl #16\n1: ldr w0, [x1, #0x18]\n b 1b'));
  const r = await bootscope(['import', log, '-o', trace, '--json']);
  expect(r.code).toBe(0);
});

describe('import -o', () => {
  it('an existing file: refused without --force; --force replaces it; a failed --force import leaves it as it was', async () => {
    const before = fs.readFileSync(trace);
    failsWith(await bootscope(['import', log, '-o', trace]), `${trace}: file exists (use --force to replace it)`);
    expect(fs.readFileSync(trace).equals(before)).toBe(true);
    const bad = at('bad.log');
    fs.writeFileSync(bad, 'pl011_write addr 0x00000000 value 0x00000041\npl011_write addr zzz\n');
    const r = await bootscope(['import', bad, '-o', trace, '--strict', '--force']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^bootscope: .*bad\.log:2: /);
    expect(fs.readFileSync(trace).equals(before)).toBe(true);
    expect(leftovers('boot.trace')).toEqual(['boot.trace']);
    const copy = at('copy.trace');
    fs.copyFileSync(trace, copy);
    const ok = await bootscope(['import', bad, '-o', copy, '--force', '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ events: 2, bad: 1 });
    expect(leftovers('copy.trace')).toEqual(['copy.trace']);
  });

  it('its own input: refused, even with --force, by path or through a hard or symbolic link', async () => {
    const input = at('self.log');
    fs.copyFileSync(log, input);
    const before = fs.readFileSync(input);
    for (const force of [[], ['--force']]) {
      failsWith(
        await bootscope(['import', input, '-o', input, ...force]),
        `${input}: is also an input of this command; choose another output file`,
      );
      failsWith(
        await bootscope(['import', 'self.log', '-o', input, ...force]),
        `${input}: is also an input of this command; choose another output file`,
      );
    }
    const hard = at('self-hard.trace');
    fs.linkSync(input, hard);
    const soft = at('self-soft.trace');
    fs.symlinkSync(input, soft);
    for (const link of [hard, soft])
      failsWith(
        await bootscope(['import', input, '-o', link, '--force']),
        `${link}: is the same file as the input ${input} (a link to it); choose another output file`,
      );
    expect(fs.readFileSync(input).equals(before)).toBe(true);
  });

  it('a directory, a missing directory, a file as directory: one line, nothing left', async () => {
    const d = at('outdir');
    fs.mkdirSync(d);
    failsWith(await bootscope(['import', log, '-o', d]), `${d}: is a directory; give a file name for the output`);
    failsWith(await bootscope(['import', log, '-o', d, '--force']), `${d}: is a directory; give a file name for the output`);
    expect(leftovers('outdir')).toEqual(['outdir']);
    expect(fs.readdirSync(d)).toEqual([]);
    failsWith(await bootscope(['import', log, '-o', 'nodir/x.trace']), `nodir/x.trace: directory ${at('nodir')} does not exist`);
    failsWith(await bootscope(['import', log, '-o', `${log}/x.trace`]), `${log}/x.trace: ${log} is not a directory`);
    expect(leftovers('nodir')).toEqual([]);
  });
});

describe('demo -o', () => {
  it('a file where the demo wants its directory: one line, the file untouched', async () => {
    const f = at('demo-file');
    fs.writeFileSync(f, 'mine');
    failsWith(
      await bootscope(['demo', '-o', f, '--json']),
      `${f}: exists and is not a directory (the demo writes its traces into a directory)`,
    );
    expect(fs.readFileSync(f, 'utf8')).toBe('mine');
  });
});

describe('report -o', () => {
  it('an existing file needs --force; the input trace is never replaced', async () => {
    const html = at('r.html');
    fs.writeFileSync(html, 'old');
    failsWith(await bootscope(['report', trace, '-o', html]), `${html}: file exists (use --force to replace it)`);
    expect(fs.readFileSync(html, 'utf8')).toBe('old');
    const r = await bootscope(['report', trace, '-o', html, '--force']);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(html, 'utf8')).toMatch(/^<!DOCTYPE html>/);
    expect(leftovers('r.html')).toEqual(['r.html']);
    const before = fs.readFileSync(trace);
    failsWith(
      await bootscope(['report', trace, '-o', trace, '--force']),
      `${trace}: is also an input of this command; choose another output file`,
    );
    failsWith(
      await bootscope(['report', log, trace, '-o', trace]),
      `${log}: not a SQLite database (no SQLite header at offset 0), so not a bootscope trace`,
    );
    expect(fs.readFileSync(trace).equals(before)).toBe(true);
    const d = at('report-dir');
    fs.mkdirSync(d);
    failsWith(await bootscope(['report', trace, '-o', d]), `${d}: is a directory; give a file name for the output`);
  });
});

describe('run -o and replay -o', () => {
  it('an output that is an input (kernel, --initrd, --input, --disk, or a link to one) is refused, even with --force', async () => {
    const kernel = at('k.bin');
    fs.copyFileSync(guestBinary('uart'), kernel);
    const before = fs.readFileSync(kernel);
    failsWith(
      await bootscope(['run', '--kernel', kernel, '-o', kernel, '--force']),
      `${kernel}: is also an input of this command; choose another output file`,
    );
    const link = at('k-link.trace');
    fs.linkSync(kernel, link);
    failsWith(
      await bootscope(['run', '--kernel', kernel, '-o', link, '--force']),
      `${link}: is the same file as the input ${kernel} (a link to it); choose another output file`,
    );
    const initrd = at('initrd.img');
    fs.writeFileSync(initrd, Buffer.alloc(4096, 1));
    failsWith(
      await bootscope(['run', '--kernel', kernel, '--initrd', initrd, '-o', initrd, '--force']),
      `${initrd}: is also an input of this command; choose another output file`,
    );
    const input = at('typed.txt');
    fs.writeFileSync(input, '@0 hello\n');
    failsWith(
      await bootscope(['run', '--kernel', kernel, '--input', input, '-o', input, '--force']),
      `${input}: is also an input of this command; choose another output file`,
    );
    const disk = at('disk.img');
    fs.writeFileSync(disk, Buffer.alloc(65536, 2));
    failsWith(
      await bootscope(['run', '--kernel', kernel, '--disk', `${disk},rw`, '-o', disk, '--force']),
      `${disk}: is also an input of this command; choose another output file`,
    );
    expect(fs.readFileSync(disk).equals(Buffer.alloc(65536, 2))).toBe(true);
    expect(fs.readFileSync(kernel).equals(before)).toBe(true);
    expect(fs.readFileSync(initrd).equals(Buffer.alloc(4096, 1))).toBe(true);
    const d = at('run-dir');
    fs.mkdirSync(d);
    failsWith(await bootscope(['run', '--kernel', kernel, '-o', d, '--force']), `${d}: is a directory; give a file name for the output`);
  });

  it('replay -o: the recorded trace, or a hard link to it, is never replaced', async () => {
    const rec = at('rec.trace');
    expect((await bootscope(['run', '--kernel', guestBinary('uart'), '--mem', '128M', '-o', rec, '--json'])).code).toBe(0);
    const before = fs.readFileSync(rec);
    const link = at('rec-link.trace');
    fs.linkSync(rec, link);
    failsWith(
      await bootscope(['replay', rec, '-o', link, '--force']),
      `${link}: is the same file as the input ${rec} (a link to it); choose another output file`,
    );
    expect(fs.readFileSync(rec).equals(before)).toBe(true);
    const again = at('rec-again.trace');
    expect((await bootscope(['replay', rec, '-o', again])).code).toBe(0);
    failsWith(await bootscope(['replay', rec, '-o', again]), `${again}: file exists (use --force to replace it)`);
  });

  it("images larger than RAM (and import's DTB or events file larger than they can be) are refused before they are read (a sparse 100 GiB file)", async () => {
    const huge = at('huge.img');
    fs.closeSync(fs.openSync(huge, 'w'));
    fs.truncateSync(huge, 100 * 2 ** 30);
    const out = at('huge.trace');
    const k = guestBinary('uart');
    const big = '100 GiB (107,374,182,400 bytes)';
    failsWith(
      await bootscope(['run', '--kernel', k, '--initrd', huge, '-o', out]),
      `${huge}: initrd is ${big}, larger than the guest's RAM (512 MiB (536,870,912 bytes)); it cannot be loaded`,
    );
    failsWith(
      await bootscope(['run', '--kernel', huge, '--mem', '128M', '-o', out]),
      `${huge}: kernel is ${big}, larger than the guest's RAM (128 MiB (134,217,728 bytes)); it cannot be loaded`,
    );
    failsWith(
      await bootscope(['run', '--kernel', k, '--dtb', huge, '-o', out]),
      `${huge}: DTB is ${big}, larger than the guest's RAM (512 MiB (536,870,912 bytes)); it cannot be loaded`,
    );
    failsWith(
      await bootscope(['import', log, '--dtb', huge, '-o', out]),
      `${huge}: 107374182400 bytes: a DTB for an arm64 guest is at most 2 MiB (Linux, Documentation/arch/arm64/booting.rst)`,
    );
    failsWith(
      await bootscope(['import', log, '--events', huge, '-o', out]),
      `${huge}: 107374182400 bytes: too large for a trace-events-all file (QEMU 7.2's is 455 KB; at most 64 MiB)`,
    );
    expect(leftovers('huge.trace')).toEqual([]);
  });
});

describe('files the user may not read or write (EACCES)', () => {
  it('unreadable inputs and unwritable output directories: one line naming the file, not an internal error', async () => {
    const secret = at('secret.log');
    fs.copyFileSync(log, secret);
    fs.chmodSync(secret, 0o600);
    const secretTrace = at('secret.trace');
    fs.copyFileSync(trace, secretTrace);
    fs.chmodSync(secretTrace, 0o600);
    const locked = at('locked');
    fs.mkdirSync(locked);
    fs.chmodSync(locked, 0o555);
    const kernel = at('secret-kernel.bin');
    fs.copyFileSync(guestBinary('uart'), kernel);
    fs.chmodSync(kernel, 0o600);
    const user = { user: true };
    const pub = at('pub');
    fs.mkdirSync(pub);
    fs.chmodSync(pub, 0o777);
    const never = path.join(pub, 'never.trace');
    failsWith(await bootscope(['import', secret, '-o', never], user), `${secret}: cannot read: permission denied`);
    failsWith(
      await bootscope(['import', log, '-o', path.join(locked, 'x.trace')], user),
      `${path.join(locked, 'x.trace')}: cannot write in ${locked}: permission denied`,
    );
    for (const cmd of ['info', 'events', 'console', 'check'])
      failsWith(await bootscope([cmd, secretTrace], user), `${secretTrace}: cannot read: permission denied`);
    failsWith(await bootscope(['run', '--kernel', kernel, '-o', never], user), `${kernel}: cannot read the kernel: permission denied`);
    failsWith(
      await bootscope(['run', '--kernel', guestBinary('uart'), '-o', path.join(locked, 'x.trace')], user),
      `${path.join(locked, 'x.trace')}: cannot write in ${locked}: permission denied`,
    );
    failsWith(
      await bootscope(['report', trace, '-o', path.join(locked, 'r.html')], user),
      `${path.join(locked, 'r.html')}: cannot write in ${locked}: permission denied`,
    );
    failsWith(
      await bootscope(['demo', '-o', path.join(locked, 'demo'), '--json'], user),
      `${path.join(locked, 'demo')}: permission denied`,
    );
    expect(fs.readdirSync(pub)).toEqual([]);
    expect(fs.readdirSync(locked)).toEqual([]);
  });
});

describe('Ctrl-C (SIGINT) and SIGTERM midway', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`run: ${signal} commits what was recorded, closes the trace, marks it interrupted, exits ${code}`, async () => {
      const out = at(`run-${signal}.trace`);
      const child = spawnCli(['run', '--kernel', loop, '--mem', '128M', '-o', out, '--json']);
      // A reader holds the trace open while the run closes it (e.g. `bootscope tui` on a live run).
      const live = await openLive(child, out);
      child.kill(signal);
      const r = await child.done;
      live.close();
      expect(r.code).toBe(code);
      expect(r.err).toContain(`${signal}: stopping the guest`);
      const s = JSON.parse(r.out);
      expect(s.stop).toBe('interrupted');
      expect(s.stopMessage).toMatch(new RegExp(`^interrupted by ${signal} after \\d+ instructions$`));
      expect(leftovers(`run-${signal}.trace`)).toEqual([`run-${signal}.trace`]);
      const t = openTrace(out);
      expect(t.complete).toBe(true);
      expect(t.interrupted).toBe(signal);
      // Every event up to the stop is there: the boot, then one flag-register read per loop
      // iteration (instructions 2, 4, 6… are the reads).
      expect(t.eventCount).toBe(s.events);
      expect(t.info().counts.kinds).toEqual({ vcpu_state: 1, mmio_read: Math.floor(s.instructions / 2) });
      expect(t.eventCount % 65536).not.toBe(0);
      t.close();
      expect((await bootscope(['info', out])).out).toContain(
        `status    INTERRUPTED by ${signal}: the recording stopped early; all ${s.events.toLocaleString('en-US')} events recorded up to then are in the trace`,
      );
    });
  }

  it('import: SIGINT keeps the lines read so far, closes the trace, marks it interrupted, exits 130', async () => {
    const out = at('import-int.trace');
    const child = spawnCli(['import', bigLog, '-o', out, '--json']);
    const live = await openLive(child, out);
    child.kill('SIGINT');
    const r = await child.done;
    live.close();
    expect(r.code).toBe(130);
    const s = JSON.parse(r.out);
    expect(s.interrupted).toBe('SIGINT');
    expect(s.lines).toBeGreaterThan(0);
    expect(s.lines).toBeLessThan(1_250_000);
    expect(s.events).toBeGreaterThan(0);
    expect(leftovers('import-int.trace')).toEqual(['import-int.trace']);
    const t = openTrace(out);
    expect(t.complete).toBe(true);
    expect(t.interrupted).toBe('SIGINT');
    expect(t.eventCount).toBe(s.events);
    expect(t.meta.extra.importLines).toMatchObject({ total: s.lines });
    t.close();
    expect((await bootscope(['info', out])).out).toContain('status    INTERRUPTED by SIGINT');
  });

  it('import --force: SIGTERM replaces the old file with the interrupted trace, exits 143', async () => {
    const out = at('import-term.trace');
    fs.copyFileSync(trace, out);
    const child = spawnCli(['import', bigLog, '-o', out, '--force', '--json']);
    await exists(child, `${out}.partial-${child.pid}`);
    child.kill('SIGTERM');
    const r = await child.done;
    expect(r.code).toBe(143);
    expect(JSON.parse(r.out).interrupted).toBe('SIGTERM');
    expect(leftovers('import-term.trace')).toEqual(['import-term.trace']);
    const t = openTrace(out);
    expect(t.interrupted).toBe('SIGTERM');
    t.close();
  });
});

describe('replay: Ctrl-C midway, and replaying an interrupted recording', () => {
  it('an interrupted recording replays identical up to where it stopped; SIGINT stops a replay, its -o trace says so, exit 130', async () => {
    const rec = at('loop-rec.trace');
    const child = spawnCli(['run', '--kernel', loop, '--mem', '128M', '-o', rec, '--json']);
    // Past two run slices (4 M instructions each), so that a replay interrupted after its first one stops early.
    await committed(child, rec, 2_500_000);
    child.kill('SIGINT');
    expect((await child.done).code).toBe(130);
    const same = await bootscope(['replay', rec, '--json']);
    expect(same.code).toBe(0);
    const recorded = openTrace(rec);
    expect(JSON.parse(same.out)).toMatchObject({ identical: true, compared: recorded.eventCount });
    recorded.close();
    const out = at('loop-replayed.trace');
    const r = spawnCli(['replay', rec, '-o', out, '--json']);
    await exists(r, out);
    r.kill('SIGINT');
    const res = await r.done;
    expect(res.code).toBe(130);
    const j = JSON.parse(res.out);
    expect(j).toMatchObject({ identical: true, interrupted: 'SIGINT' });
    expect(j.compared).toBeLessThan(j.recordedEvents);
    const t = openTrace(out);
    expect(t.interrupted).toBe('SIGINT');
    expect(t.eventCount).toBe(j.compared);
    t.close();
  });
});

describe('kill -9 midway', () => {
  it('run: the trace is readable up to its last committed chunk and says incomplete', async () => {
    const out = at('run-killed.trace');
    const child = spawnCli(['run', '--kernel', loop, '--mem', '128M', '-o', out, '--json']);
    await committed(child, out, 65536);
    child.kill('SIGKILL');
    expect((await child.done).signal).toBe('SIGKILL');
    const t = openTrace(out);
    expect(t.complete).toBe(false);
    const n = t.eventCount;
    expect(n % 65536).toBe(0);
    expect(n).toBeGreaterThanOrEqual(65536);
    let seq = 0;
    for (const e of t.events()) expect(e.seq).toBe(seq++);
    expect(seq).toBe(n);
    t.close();
    const info = await bootscope(['info', out]);
    expect(info.code).toBe(0);
    expect(info.out).toMatch(/status {4}INCOMPLETE: the writer did not finish \(killed or crashed\): readable up to chunk \d+, event \d+/);
  });

  it('import: the output path has a trace readable up to its last committed chunk, reported incomplete', async () => {
    const out = at('import-killed.trace');
    const child = spawnCli(['import', bigLog, '-o', out, '--json']);
    await committed(child, out, 65536);
    child.kill('SIGKILL');
    expect((await child.done).signal).toBe('SIGKILL');
    const t = openTrace(out);
    expect(t.complete).toBe(false);
    expect(t.eventCount % 65536).toBe(0);
    expect([...t.events()].length).toBe(t.eventCount);
    expect(t.info().incomplete).toMatch(/^the writer did not finish \(killed or crashed\): readable up to chunk \d+, event \d+$/);
    t.close();
  });

  it('run --force: the old trace survives; the partial one is next to it, readable and incomplete', async () => {
    const out = at('run-force-killed.trace');
    fs.copyFileSync(trace, out);
    const before = fs.readFileSync(out);
    const child = spawnCli(['run', '--kernel', loop, '--mem', '128M', '-o', out, '--force', '--json']);
    const partial = `${out}.partial-${child.pid}`;
    const replaced = (): boolean => !fs.existsSync(out) || !fs.readFileSync(out).equals(before);
    while (!fs.existsSync(partial) && !replaced()) await pause(10);
    expect(replaced()).toBe(false);
    await committed(child, partial, 65536);
    child.kill('SIGKILL');
    await child.done;
    expect(fs.readFileSync(out).equals(before)).toBe(true);
    const t = openTrace(partial);
    expect(t.complete).toBe(false);
    expect(t.eventCount).toBeGreaterThanOrEqual(65536);
    t.close();
  });
});
