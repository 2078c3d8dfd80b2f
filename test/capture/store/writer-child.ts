// Child process for the killed-writer tests: writes a trace and is killed with SIGKILL by
// the parent. Mode 'pause': write N events then wait forever; 'stream': write until killed.

import { createTrace } from '../../../capture/store/index.ts';
import { bootMix, BOOT_MIX_DEVICES } from '../../../bench/boot-mix.ts';

const [file, mode, nArg] = process.argv.slice(2);
const w = createTrace(file!, {
  source: { type: 'synthetic', name: 'killed-writer', config: {} },
  clock: { kind: 'instructions' },
  devices: BOOT_MIX_DEVICES,
  chunkEvents: 1000,
});
const n = Number(nArg);
let i = 0;
for (const ev of bootMix()) {
  w.record(ev);
  i++;
  if (mode === 'pause' && i === n) break;
  if (mode === 'stream' && i === n) process.stdout.write('streaming\n');
}
process.stdout.write('paused\n');
setInterval(() => {}, 1000);
