// The writer's file handling: closing with readers present, replacing a file only when asked and
// only once the new trace is complete, never replacing an input, and the "interrupted" mark.

import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createTrace, openTrace } from '../../../capture/store/index.ts';
import { bootMixPool } from '../../../bench/boot-mix.ts';
import { BASE_OPTS, tmpDir, writeEvents } from './helpers.ts';

const dir = tmpDir();
const ROOT = path.join(import.meta.dirname, '../../..');

/** Files in the test directory whose name starts with `base` (the trace and any companion). */
const companions = (file: string): string[] =>
  fs
    .readdirSync(path.dirname(file))
    .filter((f) => f.startsWith(path.basename(file)))
    .sort();

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('closing while readers have the trace open', () => {
  it('a reader in the same process: close succeeds, one file is left, both readers see every event', () => {
    const f = path.join(dir, 'reader-same.trace');
    const w = createTrace(f, { ...BASE_OPTS, chunkEvents: 1000 });
    for (const e of bootMixPool(5500)) w.record(e);
    const early = openTrace(f);
    expect(early.eventCount).toBe(5000);
    const res = w.close();
    expect(res.events).toBe(5500);
    expect(companions(f)).toEqual([path.basename(f)]);
    const late = openTrace(f);
    expect(late.complete).toBe(true);
    expect(late.digest).toBe(res.digest);
    expect([...late.events()].length).toBe(5500);
    expect([...early.events()].length).toBe(5000); // its snapshot of the file it opened
    early.close();
    late.close();
    expect(companions(f)).toEqual([path.basename(f)]);
  });

  it('another process inside a read transaction: close succeeds and leaves one complete file', async () => {
    const f = path.join(dir, 'reader-other.trace');
    const w = createTrace(f, { ...BASE_OPTS, chunkEvents: 1000 });
    for (const e of bootMixPool(3000)) w.record(e);
    // A second process opens the live trace and stays inside a read transaction until told to stop.
    const script = `
      import Database from 'better-sqlite3';
      const db = new Database(process.argv[1], { readonly: true, fileMustExist: true });
      db.exec('BEGIN');
      const n = () => db.prepare('SELECT count(*) AS n FROM chunks').get().n;
      console.log('holding ' + n());
      process.stdin.on('data', () => { console.log('still ' + n()); db.exec('COMMIT'); db.close(); process.exit(0); });
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, f], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => ((out += d.toString()), out.includes('\n') && resolve())));
    expect(out).toBe('holding 3\n');
    for (const e of bootMixPool(2000)) w.record(e);
    const res = w.close();
    expect(res.events).toBe(5000);
    const r = openTrace(f);
    expect(r.complete).toBe(true);
    expect(r.eventCount).toBe(5000);
    r.close();
    child.stdin.write('go\n');
    await new Promise<void>((resolve) => child.on('exit', () => resolve()));
    expect(out).toBe('holding 3\nstill 3\n');
    expect(companions(f)).toEqual([path.basename(f)]);
    expect(openTrace(f).complete).toBe(true);
  });

  it('abandon() with a reader open also leaves one readable file', () => {
    const f = path.join(dir, 'reader-abandon.trace');
    const w = createTrace(f, { ...BASE_OPTS, chunkEvents: 1000 });
    for (const e of bootMixPool(2500)) w.record(e);
    const r = openTrace(f);
    w.abandon('guest failed');
    r.close();
    expect(companions(f)).toEqual([path.basename(f)]);
    const again = openTrace(f);
    expect(again.complete).toBe(false);
    expect(again.eventCount).toBe(2500);
    expect(again.info().incomplete).toBe('the writer stopped early (guest failed): readable up to chunk 2, event 2499');
    again.close();
  });
});

describe('replacing a file', () => {
  const old = (name: string): string => {
    const f = path.join(dir, name);
    writeEvents(f, bootMixPool(100));
    return f;
  };
  const count = (f: string): number => {
    const r = openTrace(f);
    try {
      return r.eventCount;
    } finally {
      r.close();
    }
  };

  it('without overwrite: refused, the file untouched', () => {
    const f = old('keep.trace');
    const before = fs.readFileSync(f);
    expect(thrown(() => createTrace(f, BASE_OPTS)).message).toBe(`${f}: file exists (use --force to replace it)`);
    expect(fs.readFileSync(f).equals(before)).toBe(true);
  });

  it('with overwrite: the old trace stays in place until the new one is closed', () => {
    const f = old('replace.trace');
    const w = createTrace(f, { ...BASE_OPTS, overwrite: true, chunkEvents: 100 });
    for (const e of bootMixPool(500)) w.record(e);
    expect(count(f)).toBe(100);
    w.close();
    expect(count(f)).toBe(500);
    expect(companions(f)).toEqual([path.basename(f)]);
  });

  it('with overwrite, a producer that fails (abandon) or is dropped (discard) leaves the old trace as it was', () => {
    const f = old('survive.trace');
    const before = fs.readFileSync(f);
    const w = createTrace(f, { ...BASE_OPTS, overwrite: true, chunkEvents: 100 });
    for (const e of bootMixPool(500)) w.record(e);
    w.abandon('guest image not found');
    expect(fs.readFileSync(f).equals(before)).toBe(true);
    expect(companions(f)).toEqual([path.basename(f)]);
    const d = createTrace(f, { ...BASE_OPTS, overwrite: true });
    d.record(bootMixPool(1)[0]!);
    d.discard();
    expect(fs.readFileSync(f).equals(before)).toBe(true);
    expect(companions(f)).toEqual([path.basename(f)]);
  });

  it('an input is never replaced, even with overwrite: same path, hard link, symbolic link', () => {
    const input = path.join(dir, 'input.log');
    fs.writeFileSync(input, 'pl011_write addr 0x00000000 value 0x00000041\n');
    const hard = path.join(dir, 'input-hard.trace');
    fs.linkSync(input, hard);
    const soft = path.join(dir, 'input-soft.trace');
    fs.symlinkSync(input, soft);
    const opts = { ...BASE_OPTS, overwrite: true, inputs: [input] };
    expect(thrown(() => createTrace(input, opts)).message).toBe(`${input}: is also an input of this command; choose another output file`);
    expect(thrown(() => createTrace(path.join(dir, '.', 'input.log'), opts)).message).toMatch(/is also an input of this command/);
    for (const link of [hard, soft])
      expect(thrown(() => createTrace(link, opts)).message).toBe(
        `${link}: is the same file as the input ${input} (a link to it); choose another output file`,
      );
    expect(fs.readFileSync(input, 'utf8')).toBe('pl011_write addr 0x00000000 value 0x00000041\n');
    expect(fs.lstatSync(soft).isSymbolicLink()).toBe(true);
  });
});

describe('output paths that cannot be written', () => {
  it('a directory, a missing directory, a parent that is a file: one line, nothing created', () => {
    const sub = path.join(dir, 'a-dir');
    fs.mkdirSync(sub);
    expect(thrown(() => createTrace(sub, { ...BASE_OPTS, overwrite: true })).message).toBe(
      `${sub}: is a directory; give a file name for the output`,
    );
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('a-dir'))).toEqual(['a-dir']);
    const missing = path.join(dir, 'no-such-dir', 'x.trace');
    expect(thrown(() => createTrace(missing, BASE_OPTS)).message).toBe(`${missing}: directory ${path.dirname(missing)} does not exist`);
    const file = path.join(dir, 'plain-file');
    fs.writeFileSync(file, '');
    const under = path.join(file, 'x.trace');
    expect(thrown(() => createTrace(under, BASE_OPTS)).message).toBe(`${under}: ${file} is not a directory`);
  });
});

describe('an interrupted producer', () => {
  it('close({ interrupted }) finishes the trace and marks it', () => {
    const f = path.join(dir, 'interrupted.trace');
    const w = createTrace(f, { ...BASE_OPTS, chunkEvents: 1000 });
    for (const e of bootMixPool(1234)) w.record(e);
    w.close({ interrupted: 'SIGINT' });
    const r = openTrace(f);
    expect(r.complete).toBe(true);
    expect(r.interrupted).toBe('SIGINT');
    expect(r.eventCount).toBe(1234);
    expect(r.info().interrupted).toBe('SIGINT');
    r.close();
    const plain = path.join(dir, 'not-interrupted.trace');
    writeEvents(plain, bootMixPool(10));
    const p = openTrace(plain);
    expect(p.interrupted).toBeUndefined();
    expect(p.info().interrupted).toBeUndefined();
    p.close();
  });
});
