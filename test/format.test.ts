// The formatter's check, as CI runs it: every tracked TypeScript file is as Prettier writes it
// (.prettierrc.json). Fix with `npx prettier --write .` (or `npm run format`).

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as prettier from 'prettier';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

describe('formatting', () => {
  it('every tracked .ts/.tsx file is formatted as Prettier writes it', async () => {
    const files = execFileSync('git', ['ls-files', '*.ts', '*.tsx'], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n');
    const unformatted: string[] = [];
    for (const f of files) {
      const path = join(ROOT, f);
      const info = await prettier.getFileInfo(path, { ignorePath: join(ROOT, '.prettierignore') });
      if (info.ignored) continue;
      const options = await prettier.resolveConfig(path);
      const text = readFileSync(path, 'utf8');
      if (!(await prettier.check(text, { ...options, filepath: path }))) unformatted.push(f);
    }
    expect(unformatted, 'run `npx prettier --write .` on these').toEqual([]);
  });

  it('the check notices a file that is not formatted', async () => {
    const options = await prettier.resolveConfig(join(ROOT, 'cli/main.ts'));
    expect(await prettier.check('const  x = {a:1}\n', { ...options, filepath: 'x.ts' })).toBe(false);
    expect(await prettier.check('const x = { a: 1 };\n', { ...options, filepath: 'x.ts' })).toBe(true);
  });
});
