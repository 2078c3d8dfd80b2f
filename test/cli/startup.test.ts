// Ink decides at import time whether it runs in CI (then it renders only its last frame), so the
// CLI must not load ink before `bootscope tui` has prepared the environment.

import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');

describe('CLI start-up', () => {
  it('does not load ink or React until the TUI starts', () => {
    const probe = `
      const { registerHooks } = await import('node:module');
      const loaded = [];
      registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); if (/node_modules\\/(ink|react)\\//.test(r.url)) loaded.push(r.url); return r; } });
      process.argv = [process.argv[0], 'bootscope', '--version'];
      await import(${JSON.stringify(join(ROOT, 'cli/main.ts'))});
      console.log(JSON.stringify(loaded));
    `;
    const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', probe], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(JSON.parse(lines[lines.length - 1]!)).toEqual([]);
  });
});
