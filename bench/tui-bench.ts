// TUI benchmark: time to the first overview frame on a large trace, and the cost of the
// interactive operations (an Events page anywhere, the last page, a filtered page, the timeline).
//
//   node bench/tui-bench.ts [--events 10000000] [--trace FILE] [--runs 5] [--json] [--terminal]
//
// The trace is generated with bench/boot-mix.ts' generator through createTrace (kept in
// /tmp for later runs). Each "open" run is a fresh child process, timed from process start
// (module loading included) to the first rendered overview frame (ink-testing-library).
//
// --terminal also times what a user sees: `./bootscope tui TRACE` (launcher included) started in a
// fresh tmux session of 100x30, from the moment tmux is asked to start it until capture-pane shows
// the overview's "events by kind" table (polled every 5 ms). The first of those runs starts with
// an empty compile cache (cold).

import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import module from 'node:module';

const { values: opt } = parseArgs({
  options: {
    events: { type: 'string', default: '10000000' },
    trace: { type: 'string' },
    runs: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
    child: { type: 'string' },
    terminal: { type: 'boolean', default: false },
  },
});

/** Child mode: open the trace, render the overview once, print timings as JSON. */
async function child(file: string): Promise<void> {
  const t0 = performance.now(); // ms since process start
  // As `bootscope tui` does: compiled code (ink, React, our modules) is cached on disk.
  module.enableCompileCache?.(CACHE_DIR);
  const React = (await import('react')).default;
  const { render } = await import('ink-testing-library');
  const { App } = await import('../tui/app.ts');
  const { TraceData } = await import('../tui/data.ts');
  const tLoaded = performance.now();
  const data = new TraceData(file);
  const tOpened = performance.now();
  const r = render(React.createElement(App, { data, width: 120, height: 40, noAnalyses: true }));
  const frame = r.lastFrame() ?? '';
  const tFrame = performance.now();
  const cpu = process.cpuUsage();
  if (!frame.includes('events by kind')) throw new Error('overview not rendered:\n' + frame);
  r.unmount();
  // Interactive operations, timed in the same process.
  const { pageFrom, pageBefore } = await import('../tui/event-window.ts');
  const { viewDensity } = await import('../tui/timeline.ts');
  const n = data.eventCount;
  const time = (f: () => unknown, reps = 5) => {
    const ts: number[] = [];
    for (let i = 0; i < reps; i++) {
      const a = performance.now();
      f();
      ts.push(performance.now() - a);
    }
    return ts.sort((x, y) => x - y)[Math.floor(reps / 2)]!;
  };
  let k = 1;
  const page = time(() => pageFrom(data.reader, {}, Math.floor((n * (k++ % 7)) / 7), 40));
  const same = time(() => pageFrom(data.reader, {}, Math.floor(n / 2) + 1, 40));
  const last = time(() => pageBefore(data.reader, {}, Infinity, 40));
  const filtered = time(() => pageFrom(data.reader, { kinds: ['irq_ack'], vcpus: [1] }, Math.floor(n / 3), 40));
  const timeline = time(() => viewDensity(data, data.timeFirst, data.timeLast + 1, 100 + k++), 3);
  const span = (data.timeLast - data.timeFirst) / 64;
  const zoomed = time(() => viewDensity(data, data.timeFirst + span * k, data.timeFirst + span * (k++ + 1), 100), 3);
  data.close();
  process.stdout.write(
    JSON.stringify({
      loadMs: tLoaded - t0,
      startToLoadedMs: tLoaded,
      openMs: tOpened - tLoaded,
      renderMs: tFrame - tOpened,
      startToFrameMs: tFrame,
      // CPU time (user + system) from process start to the frame: less sensitive to a busy machine.
      cpuToFrameMs: (cpu.user + cpu.system) / 1000,
      pageMs: page,
      pageCachedMs: same,
      lastPageMs: last,
      filteredPageMs: filtered,
      timelineFullMs: timeline,
      timelineZoomedMs: zoomed,
    }) + '\n',
  );
}

async function generate(file: string, n: number): Promise<number> {
  // Imported here, so child processes (the timed opens) load only what the TUI loads.
  const { createTrace } = await import('../capture/store/index.ts');
  const { BOOT_MIX_DEVICES, bootMix } = await import('./boot-mix.ts');
  const t = performance.now();
  const w = createTrace(file, {
    source: { type: 'synthetic', name: 'boot-mix', config: { seed: 1, events: n } },
    clock: { kind: 'instructions', instructionsPerSecond: 1e9 },
    devices: BOOT_MIX_DEVICES,
    overwrite: true,
  });
  let i = 0;
  for (const e of bootMix()) {
    w.append(e);
    if (++i >= n) break;
  }
  w.close();
  return (performance.now() - t) / 1000;
}

const CACHE_DIR = path.join(os.tmpdir(), 'bootscope-tui-bench-compile-cache');

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** Milliseconds from asking tmux to start `bootscope tui FILE` until the overview is on screen. */
function terminalOpen(file: string, compileCache: string): number {
  const session = `bootscope-tui-bench-${process.pid}`;
  const tmux = (...a: string[]) => spawnSync('tmux', a, { encoding: 'utf8' });
  const launcher = path.join(import.meta.dirname, '..', 'bootscope');
  const t0 = performance.now();
  tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', `NODE_COMPILE_CACHE=${compileCache} ${launcher} tui ${file}; sleep 30`);
  try {
    for (;;) {
      const screen = tmux('capture-pane', '-p', '-t', session).stdout;
      if (screen.includes('events by kind')) return performance.now() - t0;
      if (performance.now() - t0 > 30_000) throw new Error(`the overview never appeared:\n${screen}`);
      Atomics.wait(PAUSE, 0, 0, 5); // 5 ms, without a process per poll
    }
  } finally {
    tmux('kill-session', '-t', session);
  }
}

function terminalRuns(file: string, runs: number): { cold: number; primed: number; median: number; best: number; all: number[] } {
  const cache = path.join(os.tmpdir(), 'bootscope-tui-bench-terminal-cache');
  // First start after an install: the launcher has primed the compile cache.
  fs.rmSync(cache, { recursive: true, force: true });
  const prime = path.join(import.meta.dirname, '..', 'scripts', 'prime-compile-cache.ts');
  // With the launcher's Node flags: V8 only reuses code cached under the same flags.
  spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--stack-size=4000', prime], {
    env: { ...process.env, NODE_COMPILE_CACHE: cache },
  });
  const primed = terminalOpen(file, cache);
  // First start with no compile cache at all.
  fs.rmSync(cache, { recursive: true, force: true });
  const cold = terminalOpen(file, cache);
  const all: number[] = [];
  for (let i = 0; i < runs; i++) all.push(terminalOpen(file, cache));
  return { cold, primed, median: median(all), best: Math.min(...all), all };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  if (opt.child) return child(opt.child);
  const n = Number(opt.events);
  let file = opt.trace;
  let genSeconds: number | undefined;
  if (!file) {
    file = path.join(os.tmpdir(), `bootscope-tui-bench-${n}.trace`);
    if (!fs.existsSync(file)) {
      process.stderr.write(`generating ${n} events into ${file}…\n`);
      genSeconds = await generate(file, n);
    }
  }
  const runChild = () => {
    const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', import.meta.filename, '--child', file], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, number>;
  };
  // The first run after clearing the compile cache is the "first ever" open.
  fs.rmSync(CACHE_DIR, { recursive: true, force: true });
  const cold = runChild();
  const runs: Record<string, number>[] = [];
  for (let i = 0; i < Number(opt.runs); i++) runs.push(runChild());
  const keys = Object.keys(runs[0]!);
  const med = Object.fromEntries(keys.map((k) => [k, median(runs.map((r) => r[k]!))]));
  const best = Object.fromEntries(keys.map((k) => [k, Math.min(...runs.map((r) => r[k]!))]));
  const terminal = opt.terminal ? terminalRuns(file, Number(opt.runs)) : undefined;
  const out = {
    trace: file,
    bytes: fs.statSync(file).size,
    events: n,
    genSeconds,
    runs: runs.length,
    cold,
    median: med,
    best,
    terminal,
    load: os.loadavg()[0],
    cpus: os.cpus().length,
  };
  if (opt.json) {
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return;
  }
  const f = (x: number) => `${x.toFixed(1)} ms`;
  process.stdout.write(`trace ${file} (${(out.bytes / 2 ** 20).toFixed(1)} MiB, ${n.toLocaleString('en-US')} events)\n`);
  process.stdout.write(
    `median of ${runs.length} fresh processes (best in parentheses; cold = first run, empty compile cache); load ${out.load.toFixed(1)} on ${out.cpus} CPUs:\n`,
  );
  for (const k of keys) process.stdout.write(`  ${k.padEnd(18)} ${f(med[k]!)} (${f(best[k]!)})  cold ${f(cold[k]!)}\n`);
  if (terminal) {
    process.stdout.write(
      `\`bootscope tui\` in a 100x30 tmux pane, launch → overview on screen (${runs.length} runs; first after install = compile cache primed as the launcher does; cold = empty cache):\n`,
    );
    process.stdout.write(
      `  median ${f(terminal.median)} (best ${f(terminal.best)})  first after install ${f(terminal.primed)}  cold ${f(terminal.cold)}  all ${terminal.all.map((x) => x.toFixed(0)).join(' ')} ms\n`,
    );
  }
}

await main();
