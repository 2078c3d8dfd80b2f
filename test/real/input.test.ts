// `bootscope run --input FILE`: bytes for the guest UART at virtual times, recorded as `input`
// events; `bootscope replay` feeds them back and the trace is identical. The guest is
// test/real/echo-guest.S (polls the PL011, echoes, powers off on 'q').
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootscope, REPO_ROOT, tempDir } from '../helpers/real-guests.ts';

const tmp = tempDir('bootscope-real-input-');
let guest: string;
beforeAll(() => {
  const elf = tmp.file('echo.elf');
  execFileSync('aarch64-linux-gnu-gcc', [
    '-nostdlib',
    '-static',
    '-Wl,-Ttext=0x40080000',
    '-Wl,--build-id=none',
    '-o',
    elf,
    join(REPO_ROOT, 'test/real/echo-guest.S'),
  ]);
  guest = tmp.file('echo.bin');
  execFileSync('aarch64-linux-gnu-objcopy', ['-O', 'binary', elf, guest]);
});
afterAll(() => tmp.cleanup());

function inputFile(name: string, text: string | Buffer): string {
  const f = tmp.file(name);
  writeFileSync(f, text);
  return f;
}

/** Run the CLI on a pseudo-terminal (util-linux `script`), type `keys` once the guest's banner is out. */
function onTerminal(args: string[], keys: string): Promise<string> {
  const cmd = [process.execPath, '--disable-warning=ExperimentalWarning', join(REPO_ROOT, 'cli/main.ts'), ...args]
    .map((a) => `'${a}'`)
    .join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: tmp.dir, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    let typed = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (!typed && out.includes('echo>')) {
        typed = true;
        child.stdin.write(keys);
      }
    });
    child.on('error', reject);
    child.on('exit', () => resolve(out.replace(/\r/g, '')));
  });
}

/** The input events of a trace as [time, text]. */
async function inputEvents(trace: string): Promise<[number, string][]> {
  const r = await bootscope(tmp.dir, 'sql', trace, "select time, hex(bytes) as b from events where kind = 'input' order by seq", '--json');
  expect(r.err).toBe('');
  return (JSON.parse(r.out) as { time: number; b: string }[]).map((row) => [row.time, Buffer.from(row.b, 'hex').toString('latin1')]);
}

describe('bootscope run --input', () => {
  it('delivers timed lines at the first scheduler round at or after their time, records them, and replay is identical', async () => {
    const trace = tmp.file('echo.trace');
    const input = inputFile('echo.in', '# type, then quit\n@100000 hi\\n\n@+1e6 \\x71\n');
    const r = await bootscope(tmp.dir, 'run', '--kernel', guest, '--input', input, '-o', trace, '--json');
    expect(r.err).toBe('');
    const s = JSON.parse(r.out);
    expect(s).toMatchObject({ stop: 'system_off', console: 'echo>hi\nq' });
    // One vCPU, quantum 16384: rounds end at multiples of 16384.
    expect(await inputEvents(trace)).toEqual([
      [Math.ceil(100_000 / 16384) * 16384, 'hi\n'],
      [Math.ceil(1_100_000 / 16384) * 16384, 'q'],
    ]);
    const rep = await bootscope(tmp.dir, 'replay', trace);
    expect(rep.err).toBe('');
    expect(rep.out).toMatch(/^identical \([\d,]+ events\)\n$/);
  });

  it('durations with units and raw files', async () => {
    const t1 = tmp.file('units.trace');
    const r1 = await bootscope(
      tmp.dir,
      'run',
      '--kernel',
      guest,
      '--input',
      inputFile('units.in', '@1ms x\n@+0.5ms q\n'),
      '-o',
      t1,
      '--json',
    );
    expect(JSON.parse(r1.out).console).toBe('echo>xq');
    expect((await inputEvents(t1)).map(([t]) => t)).toEqual([1_015_808, 1_507_328]);
    const t2 = tmp.file('raw.trace');
    const r2 = await bootscope(
      tmp.dir,
      'run',
      '--kernel',
      guest,
      '--input',
      inputFile('raw.in', Buffer.from('ab\x00q')),
      '-o',
      t2,
      '--json',
    );
    expect(JSON.parse(r2.out).console).toBe('echo>ab\x00q');
    expect(await inputEvents(t2)).toEqual([[0, 'ab\x00q']]);
    expect((await bootscope(tmp.dir, 'replay', t2)).out).toMatch(/^identical/);
  });

  it('replay without the recorded input would differ: a changed input changes the trace', async () => {
    const a = tmp.file('a.trace'),
      b = tmp.file('b.trace');
    const ra = JSON.parse(
      (await bootscope(tmp.dir, 'run', '--kernel', guest, '--input', inputFile('a.in', '@0 q\n'), '-o', a, '--json')).out,
    );
    const rb = JSON.parse(
      (await bootscope(tmp.dir, 'run', '--kernel', guest, '--input', inputFile('b.in', '@50000 q\n'), '-o', b, '--json')).out,
    );
    expect(ra.digest).not.toBe(rb.digest);
    expect((await bootscope(tmp.dir, 'replay', b)).out).toMatch(/^identical/);
  });

  it('--interactive: keys typed on a terminal are delivered, recorded and replayed; Ctrl-A x stops', async () => {
    const trace = tmp.file('tty.trace');
    const out = await onTerminal(['run', '--kernel', guest, '--interactive', '-o', trace], 'abq');
    expect(out).toContain('echo>abq');
    expect(out).toMatch(/stopped {7}PSCI SYSTEM_OFF/);
    expect((await inputEvents(trace)).map(([, t]) => t).join('')).toBe('abq');
    expect((await bootscope(tmp.dir, 'replay', trace)).out).toMatch(/^identical/);
    const quit = tmp.file('quit.trace');
    const out2 = await onTerminal(['run', '--kernel', guest, '--interactive', '-o', quit], 'z\x01x');
    expect(out2).toContain('echo>z');
    expect(out2).toMatch(/stopped {7}stopped from the terminal \(Ctrl-A x\)/);
  });

  const bad: [string, string, RegExp][] = [
    ['not a line', '@100 a\nhello\n', /^bootscope: .*bad1\.in:2: expected '@<time> <text>' \(e\.g\. '@2e8 version\\n'\), got 'hello'\n$/],
    ['unknown escape', '@100 a\\q\n', /bad2\.in:1: unknown escape '\\q' \(known: \\n \\r \\t \\e \\0 \\\\ \\xHH\)/],
    ['time going back', '@100 a\n@50 b\n', /bad3\.in:2: time 50 is before the previous line's 100; times must not go back/],
    ['not a time', '@1.2.3 a\n', /bad4\.in:1: '1\.2\.3' is not a time/],
  ];
  it.each(bad)('bad input file (%s): one-line error, no trace', async (_what, text, msg) => {
    const n = bad.findIndex((b) => b[1] === text) + 1;
    const trace = tmp.file(`bad${n}.trace`);
    const r = await bootscope(tmp.dir, 'run', '--kernel', guest, '--input', inputFile(`bad${n}.in`, text), '-o', trace);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(msg);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it('missing input file, --interactive without a terminal, both at once', async () => {
    const o = tmp.file('x.trace');
    expect((await bootscope(tmp.dir, 'run', '--kernel', guest, '--input', 'nope.in', '-o', o)).err).toMatch(
      /nope\.in: input file not found/,
    );
    expect((await bootscope(tmp.dir, 'run', '--kernel', guest, '--interactive', '-o', o)).err).toMatch(
      /--interactive needs a terminal on stdin \(use --input FILE otherwise\)/,
    );
    expect((await bootscope(tmp.dir, 'run', '--kernel', guest, '--interactive', '--input', 'x', '-o', o)).err).toMatch(
      /use --input FILE or --interactive, not both/,
    );
  });
});
