// Fills Node's on-disk compile cache (NODE_COMPILE_CACHE, set by the launcher) right after the
// npm dependencies are installed, so the first `bootscope tui` or `bootscope demo` starts as fast
// as later ones: compiling ink, React, d3 and our modules is most of a cold start.
//
// V8 caches the functions that have run, so importing is not enough: this draws the TUI's
// overview once, off screen, on a small trace, as `bootscope tui` would.

import fs from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';

module.enableCompileCache?.();
// Ink decides at load time whether it renders interactively (as `bootscope tui` does).
delete process.env.CI;
delete process.env.CONTINUOUS_INTEGRATION;

const commands = new URL('../cli/commands/', import.meta.url);
for (const f of fs.readdirSync(commands)) if (f.endsWith('.ts')) await import(new URL(f, commands).href);

const { createTrace } = await import('../capture/store/index.ts');
const { BOOT_MIX_DEVICES, bootMix } = await import('../bench/boot-mix.ts');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-prime-'));
try {
  const file = path.join(dir, 'prime.trace');
  const w = createTrace(file, {
    source: { type: 'synthetic', name: 'boot-mix', config: { seed: 1 } },
    clock: { kind: 'instructions', instructionsPerSecond: 1e9 },
    devices: BOOT_MIX_DEVICES,
  });
  let n = 0;
  for (const e of bootMix()) {
    w.append(e);
    if (++n >= 2000) break;
  }
  w.close();

  const React = (await import('react')).default;
  const { render } = await import('ink');
  const { App } = await import('../tui/app.ts');
  const { TraceData } = await import('../tui/data.ts');
  // A terminal that nobody sees: 100x30, raw mode accepted.
  const stdout = Object.assign(new PassThrough(), { isTTY: true, columns: 100, rows: 30 });
  const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => stdin, ref: () => stdin, unref: () => stdin });
  stdout.resume();
  const data = new TraceData(file);
  const inst = render(React.createElement(App, { data, noAnalyses: true }), {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  await new Promise((r) => setTimeout(r, 50));
  inst.unmount();
  data.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
module.flushCompileCache?.();
