// The real `bootscope phases|latency|diff` commands: output, --json, and one-line errors.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, guestTrace, tmp } from './helpers.ts';

/** Asynchronous: a run of synchronous children would block the worker and starve vitest's RPC. */
function bootscope(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', join(ROOT, 'cli/main.ts'), ...args],
      { encoding: 'utf8', cwd: tmp },
      (err, out, errText) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        if (err && code === null && !('signal' in err && err.signal)) return reject(err);
        resolve({ code, out, err: errText });
      },
    );
  });
}

describe('phases / latency / diff commands', () => {
  it('print text and JSON', async () => {
    const t = await guestTrace('timer', 1, 3);
    const p = await bootscope('phases', t);
    expect(p.code).toBe(0);
    expect(p.out).toContain('timer init');
    expect(JSON.parse((await bootscope('phases', t, '--json')).out).phases.map((x: { id: string }) => x.id)).toContain('gic_init');
    const l = await bootscope('latency', t);
    expect(l.out).toContain('vtimer');
    expect(JSON.parse((await bootscope('latency', t, '--json')).out).byRole.map((g: { role: string }) => g.role)).toEqual([
      'ptimer',
      'vtimer',
    ]);
    const d = await bootscope('diff', t, t, '--json');
    expect(d.code).toBe(0);
    expect(JSON.parse(d.out).identical).toBe(true);
  });

  it('give one-line errors for missing and non-trace files', async () => {
    const missing = join(tmp, 'nope.trace');
    for (const cmd of [
      ['phases', missing],
      ['latency', missing],
      ['diff', missing, missing],
    ]) {
      const r = await bootscope(...cmd);
      expect(r.code).toBe(1);
      expect(r.err).toBe(`bootscope: ${missing}: no such file\n`);
    }
    const text = join(tmp, 'notes.txt');
    writeFileSync(text, 'not a trace at all, just some words\n'.repeat(10));
    const r = await bootscope('phases', text);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^bootscope: .*notes\.txt: .*\n$/);
    expect(r.err.split('\n')).toHaveLength(2);
  });
});
