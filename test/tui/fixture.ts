// A small multi-chunk trace from the boot-mix generator, written through the real store.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTrace } from '../../capture/store/index.ts';
import { BOOT_MIX_DEVICES, bootMix } from '../../bench/boot-mix.ts';

export function makeTrace(n = 20_000, chunkEvents = 4096, name = 'mix.trace', sourceType: 'synthetic' | 'emulator' = 'synthetic'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-tui-'));
  const file = path.join(dir, name);
  const w = createTrace(file, {
    source: { type: sourceType, name: 'boot-mix', config: { seed: 1 } },
    clock: { kind: 'instructions', instructionsPerSecond: 1e9 },
    devices: BOOT_MIX_DEVICES,
    chunkEvents,
  });
  let i = 0;
  for (const e of bootMix()) {
    w.append(e);
    if (++i >= n) break;
  }
  w.close();
  return file;
}
