// The real `bootscope phases|latency|diff` commands: output, --json, and one-line errors.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, guestTrace, tmp } from './helpers.ts';

function bootscope(...args: string[]) {
  const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', join(ROOT, 'cli/main.ts'), ...args], {
    encoding: 'utf8',
    cwd: tmp,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('phases / latency / diff commands', () => {
  it('print text and JSON', async () => {
    const t = await guestTrace('timer', 1, 3);
    const p = bootscope('phases', t);
    expect(p.code).toBe(0);
    expect(p.out).toContain('timer init');
    expect(JSON.parse(bootscope('phases', t, '--json').out).phases.map((x: { id: string }) => x.id)).toContain('gic_init');
    const l = bootscope('latency', t);
    expect(l.out).toContain('vtimer');
    expect(JSON.parse(bootscope('latency', t, '--json').out).byRole.map((g: { role: string }) => g.role)).toEqual(['ptimer', 'vtimer']);
    const d = bootscope('diff', t, t, '--json');
    expect(d.code).toBe(0);
    expect(JSON.parse(d.out).identical).toBe(true);
  });

  it('give one-line errors for missing and non-trace files', () => {
    const missing = join(tmp, 'nope.trace');
    for (const cmd of [
      ['phases', missing],
      ['latency', missing],
      ['diff', missing, missing],
    ]) {
      const r = bootscope(...cmd);
      expect(r.code).toBe(1);
      expect(r.err).toBe(`bootscope: ${missing}: no such file\n`);
    }
    const text = join(tmp, 'notes.txt');
    writeFileSync(text, 'not a trace at all, just some words\n'.repeat(10));
    const r = bootscope('phases', text);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^bootscope: .*notes\.txt: .*\n$/);
    expect(r.err.split('\n')).toHaveLength(2);
  });
});
