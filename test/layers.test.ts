// The layering rules (.dependency-cruiser.ts) hold for the source tree, and they catch what they are
// for: a small tree written here with one upward import and one cycle must fail with exactly those.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import { LAYERS, layerConfig } from '../.dependency-cruiser.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

/** Violations as "rule: from → to" lines, sorted. */
async function violations(baseDir: string, config: IConfiguration): Promise<string[]> {
  const dirs = Object.keys(LAYERS).filter((d) => fs.existsSync(path.join(baseDir, d)));
  const { output } = await cruise(dirs, { ...config.options, baseDir, validate: true, ruleSet: { forbidden: config.forbidden } });
  const result = output as ICruiseResult;
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
}

describe('layers', () => {
  it('the source tree imports only downward and has no cycles', async () => {
    expect(await violations(ROOT, layerConfig())).toEqual([]);
  });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-layers-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  };
  write('arch/regs.ts', `export const DR = 0;\n`);
  write('capture/model.ts', `import { DR } from '../arch/regs.ts';\nexport const first = DR;\n`);
  // Deliberate upward import: the store reaching into the emulator (a type-only import counts).
  write('capture/writer.ts', `import type { Machine } from '../emu/machine.ts';\nexport type W = Machine;\n`);
  write('emu/machine.ts', `import { first } from '../capture/model.ts';\nexport interface Machine { n: typeof first }\n`);
  // Deliberate upward import: an analyzer using the emulator.
  write('analyze/replay.ts', `import type { Machine } from '../emu/machine.ts';\nexport type R = Machine;\n`);
  // Deliberate cycle inside one layer.
  write('analyze/a.ts', `import { b } from './b.ts';\nexport const a = () => b();\n`);
  write('analyze/b.ts', `import { a } from './a.ts';\nexport const b = (): number => (a ? 1 : 0);\n`);

  it('fail on a deliberate upward import and a deliberate cycle', async () => {
    expect(await violations(dir, layerConfig())).toEqual([
      'layer-analyze: analyze/replay.ts → emu/machine.ts',
      'layer-capture: capture/writer.ts → emu/machine.ts',
      'no-circular: analyze/a.ts → analyze/b.ts',
    ]);
  });
});
