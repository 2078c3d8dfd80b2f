// Store benchmark: bytes per event, write and scan throughput, seek time, writer memory.
//
//   node bench/store.ts [--events 50000000] [--small 1000000] [--dir /tmp] [--json]
//   node bench/store.ts --trace FILE     scan/seek/size figures of an existing trace (e.g. an
//                                        imported QEMU log), no writing
//
// Events come from bench/boot-mix.ts (a Linux-boot-shaped mix: PL011 FR polls and DR writes
// dominate, then GIC and timer traffic). A pool of 256K events is generated once and replayed
// with advancing times, so the figures measure the store, not the generator. Each write runs
// in a child process so its peak memory is its own.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { createTrace, openTrace, runSql } from '../capture/store/index.ts';
import type { NewEvent } from '../capture/model.ts';
import { bootMixPool, BOOT_MIX_DEVICES } from './boot-mix.ts';

const POOL = 1 << 18;

interface WriteFigures {
  events: number;
  seconds: number;
  /** CPU seconds (user + system) of the writing loop: less sensitive to a busy machine. */
  cpuSeconds: number;
  /** RSS before the writer was created (the event pool and runtime). */
  baseRssMiB: number;
  bytes: number;
  peakRssMiB: number;
  peakHeapMiB: number;
  /** [events written, RSS MiB, V8 heap used MiB] at 0, 1M, 2M, 4M… events. */
  rssAtMiB: [number, number, number][];
}

/** Child mode: write n events, sampling memory every chunk. */
function writeChild(file: string, n: number): WriteFigures {
  const pool = bootMixPool(POOL);
  // Times advance across pool replays by the pool's span, so the trace stays monotonic.
  const span = pool[pool.length - 1]!.time + 1;
  global.gc?.();
  const w = createTrace(file, {
    overwrite: true,
    source: { type: 'synthetic', name: 'boot-mix', config: { bench: 'store', events: n } },
    clock: { kind: 'instructions', instructionsPerSecond: 1e9 },
    devices: BOOT_MIX_DEVICES,
  });
  const baseRss = process.memoryUsage().rss;
  let peakRss = 0;
  let peakHeap = 0;
  const rssAt: [number, number, number][] = [];
  const sample = (i: number) => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    if (rssAt.length === 0 || i >= Math.max(1, rssAt[rssAt.length - 1]![0]) * 2)
      rssAt.push([i, Math.round(m.rss / 2 ** 20), Math.round(m.heapUsed / 2 ** 20)]);
  };
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let off = 0;
  for (let i = 0; i < n; i++) {
    const j = i & (POOL - 1);
    if (j === 0 && i > 0) off += span;
    const e = pool[j]! as NewEvent & { time: number };
    const t = e.time;
    e.time = t + off;
    w.record(e);
    e.time = t;
    if ((i & 0xfffff) === 0) sample(i);
  }
  const res = w.close();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  sample(n);
  return {
    events: n,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    baseRssMiB: Math.round(baseRss / 2 ** 20),
    bytes: res.bytes,
    peakRssMiB: Math.round(peakRss / 2 ** 20),
    peakHeapMiB: Math.round(peakHeap / 2 ** 20),
    rssAtMiB: rssAt,
  };
}

function runWriteChild(file: string, n: number): WriteFigures {
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--disable-warning=ExperimentalWarning', import.meta.filename, '--child-write', file, '--events', String(n)],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) throw new Error(`write child failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as WriteFigures;
}

function scanFigures(file: string) {
  const r = openTrace(file);
  // Columnar scan: every chunk read, checked, decompressed and every column decoded.
  let best = Infinity;
  let bestCpu = Infinity;
  let n = 0;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    n = 0;
    for (const c of r.scan()) n += c.decodeAll().count;
    best = Math.min(best, performance.now() - t0);
    const cpu = process.cpuUsage(c0);
    bestCpu = Math.min(bestCpu, (cpu.user + cpu.system) / 1000);
  }
  // Event objects (what events() hands to analyzers): one pass.
  const t1 = performance.now();
  let m = 0;
  for (const _ of r.events()) m++;
  const objMs = performance.now() - t1;
  r.close();
  return {
    events: n,
    columnarPerSec: n / (best / 1000),
    columnarPerCpuSec: n / (bestCpu / 1000),
    objectsPerSec: m / (objMs / 1000),
  };
}

function seekFigures(file: string) {
  const t0 = performance.now();
  const r = openTrace(file);
  const openMs = performance.now() - t0;
  const first = r.chunks[0]!.timeMin;
  const last = r.chunks[r.chunks.length - 1]!.timeMax;
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let x = 42;
  for (let i = 0; i < 200; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const t = Math.floor(first + ((last - first) * x) / 2 ** 32);
    (r as unknown as { cache: unknown }).cache = undefined; // cold chunk each time
    const s = performance.now();
    const c0 = process.cpuUsage();
    const ev = r.seekTime(t);
    const c = process.cpuUsage(c0);
    times.push(performance.now() - s);
    cpuTimes.push((c.user + c.system) / 1000);
    if (!ev || ev.time < t) throw new Error(`seek to ${t} failed`);
  }
  times.sort((a, b) => a - b);
  cpuTimes.sort((a, b) => a - b);
  const s = performance.now();
  const info = r.info();
  const infoMs = performance.now() - s;
  const q = performance.now();
  const rows = runSql(
    r,
    `SELECT count(*) FROM events WHERE time >= ${Math.floor((first + last) / 2)} AND time < ${Math.floor((first + last) / 2) + 100000}`,
  ).rows;
  const sqlMs = performance.now() - q;
  r.close();
  return {
    openMs,
    seekMedianMs: times[times.length >> 1]!,
    seekP99Ms: times[Math.floor(times.length * 0.99)]!,
    seekMaxMs: times[times.length - 1]!,
    seekCpuMedianMs: cpuTimes[cpuTimes.length >> 1]!,
    seekCpuMaxMs: cpuTimes[cpuTimes.length - 1]!,
    infoMs,
    infoEvents: info.events,
    sqlWindowMs: sqlMs,
    sqlWindowRows: rows[0]![0] as number,
  };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '50000000' },
      small: { type: 'string', default: '1000000' },
      dir: { type: 'string', default: os.tmpdir() },
      json: { type: 'boolean', default: false },
      'child-write': { type: 'string' },
      trace: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  if (values['child-write']) {
    process.stdout.write(JSON.stringify(writeChild(values['child-write'], Number(values.events))));
    return;
  }
  if (values.trace) {
    const r = openTrace(values.trace);
    const info = r.info();
    r.close();
    const fig = {
      trace: values.trace,
      source: info.meta.source,
      bytesPerEvent: info.fileBytes / info.events,
      fileMiB: info.fileBytes / 2 ** 20,
      ...scanFigures(values.trace),
      ...seekFigures(values.trace),
    };
    process.stdout.write(JSON.stringify(fig, null, 1) + '\n');
    return;
  }
  const big = Number(values.events);
  const small = Number(values.small);
  const dir = fs.mkdtempSync(path.join(values.dir!, 'bootscope-bench-'));
  const log = (s: string) => values.json || process.stderr.write(s + '\n');
  const out: Record<string, unknown> = { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model };
  for (const [label, n] of [
    ['small', small],
    ['big', big],
  ] as const) {
    const file = path.join(dir, `${label}.trace`);
    log(`writing ${n} events…`);
    const w = runWriteChild(file, n);
    log(
      `  ${(w.events / w.seconds / 1e6).toFixed(2)} M events/s (${(w.events / w.cpuSeconds / 1e6).toFixed(2)} per CPU-s), ${(w.bytes / w.events).toFixed(3)} bytes/event, RSS ${w.baseRssMiB} → peak ${w.peakRssMiB} MiB`,
    );
    log('scanning…');
    const s = scanFigures(file);
    log(`  columnar ${(s.columnarPerSec / 1e6).toFixed(1)} M events/s, objects ${(s.objectsPerSec / 1e6).toFixed(2)} M events/s`);
    log('seeking…');
    const k = seekFigures(file);
    log(
      `  open ${k.openMs.toFixed(1)} ms, seek median ${k.seekMedianMs.toFixed(2)} ms (CPU ${k.seekCpuMedianMs.toFixed(2)}), max ${k.seekMaxMs.toFixed(2)} ms, info ${k.infoMs.toFixed(1)} ms`,
    );
    out[label] = {
      bytesPerEvent: w.bytes / w.events,
      fileMiB: w.bytes / 2 ** 20,
      writePerSec: w.events / w.seconds,
      writePerCpuSec: w.events / w.cpuSeconds,
      writerBaseRssMiB: w.baseRssMiB,
      writerPeakRssMiB: w.peakRssMiB,
      writerPeakHeapMiB: w.peakHeapMiB,
      writerRssAtMiB: w.rssAtMiB,
      ...s,
      ...k,
    };
    if (!values.keep) for (const f of fs.readdirSync(dir)) if (f.startsWith(label)) fs.rmSync(path.join(dir, f));
  }
  if (!values.keep) fs.rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
}

main();
