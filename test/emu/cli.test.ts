// `bootscope run` and `bootscope replay` as a user runs them: console on stdout, summary on
// stderr (or JSON), one-line errors, no trace file left behind on bad input.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { guestBinary, REPO_ROOT } from '../helpers/qemu-runs.ts';
import { tempDir } from './helpers.ts';

const tmp = tempDir('bootscope-emu-cli-');
afterAll(() => tmp.cleanup());

/** Asynchronous: a run of synchronous children would block the worker and starve vitest's RPC. */
function bootscope(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', join(REPO_ROOT, 'cli/main.ts'), ...args],
      { cwd: tmp.dir, encoding: 'buffer', maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        if (err && code === null && !('signal' in err && err.signal)) return reject(err);
        // The guest console is bytes (latin1 keeps them 1:1); messages are UTF-8.
        resolve({ code, out: stdout.toString('latin1'), err: stderr.toString('utf8') });
      },
    );
  });
}

const expected = (id: string) => readFileSync(join(REPO_ROOT, 'test/guests/expected', `${id}.txt`), 'latin1');

describe('bootscope run', () => {
  it('prints the guest console on stdout and a summary on stderr', async () => {
    const out = tmp.file('smp.trace');
    const r = await bootscope(
      'run',
      '--machine',
      'kvm',
      '--kernel',
      guestBinary('smp'),
      '--smp',
      '2',
      '--gic',
      '3',
      '--mem',
      '128M',
      '-o',
      out,
    );
    expect(r.code).toBe(0);
    expect(r.out).toBe(expected('smp-gicv3'));
    expect(r.err).toMatch(/^\nstopped {7}PSCI SYSTEM_OFF\ninstructions {2}[\d,]+ \(/);
    expect(r.err).toMatch(/\nvirtual time {2}[\d,]+ \(/);
    expect(r.err).toMatch(/\nevents {8}[\d,]+\n/);
    expect(r.err).toContain(`trace         ${out} sha256:`);
    const info = await bootscope('info', out);
    expect(info.out).toContain('source    emulator kvm');
  });

  it('--json prints one JSON summary (console included) and nothing else on stdout', async () => {
    const out = tmp.file('uart.trace');
    const r = await bootscope('run', '--kernel', guestBinary('uart'), '--gic', '2', '--mem', '128M', '-o', out, '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out);
    expect(s).toMatchObject({ trace: out, stop: 'system_off', stopMessage: 'PSCI SYSTEM_OFF', image: 'linux', entry: 0x40080000 });
    expect(s.console).toBe(expected('uart'));
    expect(s.instructions).toBeGreaterThan(100_000);
    expect(s.digest).toMatch(/^sha256:/);
    expect(s.config).toMatchObject({ smp: 1, gic: 2, mem: 128 << 20, dtb: 'auto' });
  });

  it('stops at --max-insns and says so', async () => {
    const r = await bootscope('run', '--kernel', guestBinary('workload'), '--max-insns', '1e6', '-o', tmp.file('limit.trace'), '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ stop: 'insn_limit', stopMessage: 'instruction limit (1000000)', instructions: 1_000_000 });
  });

  it('garbage guest image: one-line error, no trace file', async () => {
    const bad = tmp.file('bad.elf');
    writeFileSync(bad, Buffer.from('\x7fELF\x02\x01 this is not really an ELF file at all, just text......', 'latin1'));
    const out = tmp.file('bad.trace');
    const r = await bootscope('run', '--kernel', bad, '-o', out);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(`bootscope: ${bad}: truncated ELF header: 61 bytes, expected at least 64\n`);
    expect(existsSync(out)).toBe(false);
    const empty = tmp.file('empty.bin');
    writeFileSync(empty, '');
    expect((await bootscope('run', '--kernel', empty, '-o', out)).err).toBe(`bootscope: ${empty}: kernel file is empty\n`);
    const text = tmp.file('notes.txt');
    writeFileSync(text, 'These are my notes, not a kernel.\nSecond line of notes here.\n');
    const t = await bootscope('run', '--kernel', text, '-o', out);
    expect(t.code).toBe(1);
    expect(t.err).toMatch(
      /^bootscope: .*notes\.txt: looks like text \("These are my notes, not …"\), not a kernel image: expected an ELF, an arm64 Image or raw AArch64 code\n$/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('bad options: one-line errors', async () => {
    const o = ['-o', tmp.file('x.trace')];
    const k = ['--kernel', guestBinary('uart')];
    expect((await bootscope('run', ...o)).err).toBe('bootscope: run: --kernel FILE is required\n');
    expect((await bootscope('run', ...k)).err).toBe('bootscope: run: -o TRACE is required\n');
    expect((await bootscope('run', ...k, ...o, '--machine', 'hyperv')).err).toBe(
      "bootscope: --machine: unknown machine 'hyperv' (available: kvm, xen)\n",
    );
    expect((await bootscope('run', ...k, ...o, '--gic', '4')).err).toBe("bootscope: --gic must be 2 or 3, not '4'\n");
    expect((await bootscope('run', ...k, ...o, '--smp', '0')).err).toBe("bootscope: --smp: '0' is not a positive integer\n");
    expect((await bootscope('run', ...k, ...o, '--mem', 'lots')).err).toBe(
      "bootscope: --mem: cannot read 'lots' as a size (e.g. 512M, 1G)\n",
    );
    expect((await bootscope('run', ...k, ...o, '--mem', '3G')).err).toBe(
      'bootscope: --mem 3221225472: the emulator supports at most 2 GiB of RAM\n',
    );
    expect((await bootscope('run', ...k, ...o, '--smp', '9', '--gic', '2')).err).toBe(
      'bootscope: GICv2 supports at most 8 vCPUs (got --smp 9); use --gic 3\n',
    );
    expect((await bootscope('run', '--kernel', tmp.file('nope.bin'), ...o)).err).toBe(
      `bootscope: ${tmp.file('nope.bin')}: kernel file not found\n`,
    );
    expect((await bootscope('run', ...k, ...o, '--dtb', guestBinary('uart'))).err).toMatch(
      /^bootscope: .*uart\.bin: not a valid DTB: .*\n$/,
    );
    expect(existsSync(tmp.file('x.trace'))).toBe(false);
    const exists = tmp.file('exists.trace');
    writeFileSync(exists, 'x');
    expect((await bootscope('run', ...k, '-o', exists)).err).toBe(`bootscope: ${exists}: file exists (use --force to replace it)\n`);
    expect(readFileSync(exists, 'utf8')).toBe('x');
  });
});

describe('bootscope replay', () => {
  it('says identical for an unchanged guest', async () => {
    const out = tmp.file('timer.trace');
    expect((await bootscope('run', '--kernel', guestBinary('timer'), '--gic', '3', '-o', out, '--json')).code).toBe(0);
    const r = await bootscope('replay', out);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^identical \([\d,]+ events\)\n$/);
    expect(JSON.parse((await bootscope('replay', out, '--json')).out)).toMatchObject({ identical: true });
    // the block compiler is on by default; --no-jit (interpreter only) replays the same events
    const n = await bootscope('replay', out, '--no-jit');
    expect(n.code).toBe(0);
    expect(n.out).toBe(r.out);
    expect((await bootscope('replay', out, '--jit')).out).toBe(r.out);
  });

  it('--output writes the replayed run as a trace, and diff finds no difference from the recorded one', async () => {
    const out = tmp.file('smp-rec.trace');
    expect(
      (await bootscope('run', '--kernel', guestBinary('smp'), '--smp', '2', '--gic', '3', '--mem', '128M', '-o', out, '--json')).code,
    ).toBe(0);
    const again = tmp.file('smp-replayed.trace');
    const r = await bootscope('replay', out, '-o', again);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^identical \([\d,]+ events\)\n$/);
    expect((await bootscope('info', again)).out).toContain('source    emulator kvm');
    const d = await bootscope('diff', out, again);
    expect(d.code).toBe(0);
    expect(d.out).toMatch(/no difference \([\d,]+ aligned events\)/);
    // the same stream, so the same digest
    const digest = async (f: string) => /^digest +sha256:([0-9a-f]{64})$/m.exec((await bootscope('info', f)).out)?.[1];
    expect(await digest(again)).toBeDefined();
    expect(await digest(again)).toBe(await digest(out));
    // an existing file needs --force; the trace being replayed is never overwritten
    expect((await bootscope('replay', out, '-o', again)).err).toMatch(/^bootscope: .*smp-replayed\.trace.*exists.*\n$/);
    expect((await bootscope('replay', out, '-o', again, '--force')).code).toBe(0);
    const self = await bootscope('replay', out, '-o', out, '--force');
    expect(self.err).toBe(`bootscope: ${out}: the replay's --output cannot be the trace being replayed\n`);
    expect((await bootscope('replay', out)).code).toBe(0);
  });

  it('names the first divergent event for a changed guest, and refuses a changed kernel file', async () => {
    const k = tmp.file('uart-copy.bin');
    copyFileSync(guestBinary('uart'), k);
    const out = tmp.file('uart-copy.trace');
    expect((await bootscope('run', '--kernel', k, '--gic', '2', '-o', out, '--json')).code).toBe(0);
    const img = readFileSync(k);
    img[img.indexOf(Buffer.from('bootscope guest'))] = 'B'.charCodeAt(0);
    const changed = tmp.file('uart-changed.bin');
    writeFileSync(changed, img);
    const r = await bootscope('replay', out, '--kernel', changed);
    expect(r.code).toBe(1);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^diverged at event #(\d+) \(after [\d,]+ identical events\)$/);
    expect(lines[1]).toMatch(/^ {2}recorded: #\d+ t=\d+ cpu0 mmio_write +write pl011@9000000\.DR = 0x62 /);
    expect(lines[2]).toMatch(/^ {2}replayed: #\d+ t=\d+ cpu0 mmio_write +write pl011@9000000\.DR = 0x42 /);
    expect(r.err).toMatch(/^bootscope: replay: .*uart-copy\.trace diverged from the recorded run at event #\d+\n$/);
    writeFileSync(k, img);
    const c = await bootscope('replay', out);
    expect(c.code).toBe(1);
    expect(c.err).toMatch(
      /^bootscope: .*uart-copy\.trace: the kernel .*uart-copy\.bin changed since it was recorded \(sha256 [0-9a-f]{12}…, recorded [0-9a-f]{12}…\)\n$/,
    );
  });

  it('bad traces: one-line errors', async () => {
    expect((await bootscope('replay', tmp.file('none.trace'))).err).toBe(`bootscope: ${tmp.file('none.trace')}: no such file\n`);
    const notTrace = tmp.file('text.trace');
    writeFileSync(notTrace, 'hello');
    const r = await bootscope('replay', notTrace);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^bootscope: .*text\.trace: .*\n$/);
  });
});
