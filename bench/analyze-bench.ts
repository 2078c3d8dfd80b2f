// Analyzer benchmark: throughput of check + phases + latency in one replay pass over a large
// trace, memory over the pass, and `diff` time for two Linux-boot-sized traces.
//
//   node bench/analyze-bench.ts [--events 50000000] [--dir /tmp] [--keep] [--json]
//                               [--linux A.trace B.trace]   (diff two real Linux boot traces too)
//
// The large trace is written from bench/boot-mix.ts (a Linux-boot-shaped mix: PL011 FR polls and
// DR writes dominate, then timer ticks with the whole GIC acknowledge/EOI sequence, distributor
// set-up, WFIs, PSCI). Figures:
//   - replay: openTrace → replay(reader, [check, phases, latency]) → results, end to end (the
//     reader builds an event object per event, the engine updates its state models, then the
//     three analyses run);
//   - the same replay with the experimental decoding worker (openTrace(t, { decodeAhead: true }));
//   - reading alone: reader.forEachEvent over the same trace (decode and build every event);
//   - analyses only: the same three analyses over a pre-built pool of event objects with the
//     engine's state models (no decoding), i.e. what the analysis code itself costs;
//   - diff: diffTraces on two 1 M-event boot-mix traces (seeds 1 and 2; and one against itself),
//     plus real Linux boots when --linux is given.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createTrace, openTrace } from '../capture/store/index.ts';
import { KIND_CODE, type EventFilter, type NewEvent, type TraceEvent } from '../capture/model.ts';
import { replay } from '../analyze/engine.ts';
import { checkAnalysis } from '../analyze/check.ts';
import type { Analysis } from '../analyze/analysis.ts';
import { PhasesAnalysis } from '../analyze/phases.ts';
import { LatencyAnalysis } from '../analyze/latency.ts';
import { diffTraces, type DiffSource } from '../analyze/diff.ts';
import { bootMix, bootMixPool, BOOT_MIX_DEVICES } from './boot-mix.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '50000000' },
    dir: { type: 'string', default: os.tmpdir() },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    linux: { type: 'string', multiple: true },
    'diff-events': { type: 'string', default: '1000000' },
  },
});
const N = Number(args.events);
const DIFF_N = Number(args['diff-events']);
const log = (s: string) => {
  if (!args.json) process.stderr.write(s + '\n');
};
const mib = (b: number) => Math.round(b / 2 ** 20);

/** Writes n boot-mix events (seeded) to a new trace; returns seconds taken. */
function writeMix(file: string, n: number, seed: number): number {
  const t0 = performance.now();
  const w = createTrace(file, {
    overwrite: true,
    source: { type: 'synthetic', name: 'boot-mix', config: { bench: 'analyze', events: n, seed } },
    clock: { kind: 'instructions', instructionsPerSecond: 1e9, counterHz: 62_500_000 },
    devices: BOOT_MIX_DEVICES,
  });
  let i = 0;
  for (const e of bootMix({ seed })) {
    w.record(e);
    if (++i >= n) break;
  }
  w.close();
  return (performance.now() - t0) / 1000;
}

function analyses(): Analysis[] {
  return [checkAnalysis(), new PhasesAnalysis(), new LatencyAnalysis()];
}

interface ReplayFigures {
  events: number;
  seconds: number;
  cpuSeconds: number;
  eventsPerSec: number;
  eventsPerCpuSec: number;
  rssMiB: [number, number][];
  heapMiB: [number, number][];
  findings: number;
  phases: number;
  intids: number;
}

function replayFigures(file: string, decodeAhead = false): ReplayFigures {
  global.gc?.();
  const reader = openTrace(file, { decodeAhead });
  const rss: [number, number][] = [];
  const heap: [number, number][] = [];
  let next = 1;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const res = replay(reader, analyses(), {
    progressEvery: 1 << 20,
    onProgress: (n) => {
      if (n >= next * 1e6 || n === 1 << 20) {
        const m = process.memoryUsage();
        rss.push([n, mib(m.rss)]);
        heap.push([n, mib(m.heapUsed)]);
        next *= 2;
      }
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const events = reader.summary.eventCount;
  reader.close();
  const m = process.memoryUsage();
  rss.push([events, mib(m.rss)]);
  heap.push([events, mib(m.heapUsed)]);
  const check = res['check'] as { findings: unknown[] };
  const phases = res['phases'] as { phases: unknown[] };
  const latency = res['latency'] as { byIntid: unknown[] };
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return {
    events,
    seconds,
    cpuSeconds,
    eventsPerSec: events / seconds,
    eventsPerCpuSec: events / cpuSeconds,
    rssMiB: rss,
    heapMiB: heap,
    findings: check.findings.length,
    phases: phases.phases.length,
    intids: latency.byIntid.length,
  };
}

/** The reader alone: every event built and handed to a callback that does nothing with it. */
function readFigures(file: string): { events: number; seconds: number; cpuSeconds: number; eventsPerSec: number; eventsPerCpuSec: number } {
  global.gc?.();
  const reader = openTrace(file);
  let events = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  reader.forEachEvent({}, () => {
    events++;
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  reader.close();
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { events, seconds, cpuSeconds, eventsPerSec: events / seconds, eventsPerCpuSec: events / cpuSeconds };
}

/** The analyses (with the engine's state models) over pre-built event objects, repeated. */
function analysesOnly(
  poolSize: number,
  rounds: number,
  make: () => Analysis[] = analyses,
): { events: number; seconds: number; cpuSeconds: number; eventsPerSec: number; eventsPerCpuSec: number } {
  const pool = bootMixPool(poolSize).map((e, seq) => ({ ...e, seq }) as TraceEvent);
  const meta = {
    schemaVersion: 1,
    toolVersion: 'bench',
    createdAt: '',
    source: { type: 'synthetic' as const, name: 'boot-mix', config: {} },
    clock: { kind: 'instructions' as const, instructionsPerSecond: 1e9, counterHz: 62_500_000 },
    hashes: {},
    extra: {},
  };
  const span = pool[pool.length - 1]!.time + 1;
  const codes = pool.map((e) => KIND_CODE[e.kind]);
  // Both reads the engine knows; it uses forEachEvent (push-based, as TraceReader), like a real replay.
  const src = {
    meta,
    regions: BOOT_MIX_DEVICES,
    *events(): Iterable<TraceEvent> {
      let off = 0,
        seq = 0;
      for (let r = 0; r < rounds; r++) {
        for (const e of pool) {
          const t = e.time,
            s = e.seq;
          e.time = t + off;
          e.seq = seq++;
          yield e;
          e.time = t;
          e.seq = s;
        }
        off += span;
      }
    },
    forEachEvent(_f: EventFilter, cb: (e: TraceEvent, code: number) => void): void {
      let off = 0,
        seq = 0;
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < pool.length; i++) {
          const e = pool[i]!;
          const t = e.time,
            s = e.seq;
          e.time = t + off;
          e.seq = seq++;
          cb(e, codes[i]!);
          e.time = t;
          e.seq = s;
        }
        off += span;
      }
    },
  };
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  replay(src, make());
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const events = poolSize * rounds;
  return { events, seconds, cpuSeconds, eventsPerSec: events / seconds, eventsPerCpuSec: events / cpuSeconds };
}

function source(file: string): { src: DiffSource; close: () => void; events: number } {
  const r = openTrace(file);
  // The reader itself: diff reads through its push path (forEachEvent), as `bootscope diff` does.
  return { src: r, close: () => r.close(), events: r.summary.eventCount };
}

function diffFigures(a: string, b: string) {
  const A = source(a),
    B = source(b);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const d = diffTraces(A.src, B.src);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  A.close();
  B.close();
  return {
    a: path.basename(a),
    b: path.basename(b),
    eventsA: A.events,
    eventsB: B.events,
    seconds,
    cpuSeconds,
    identical: d.identical,
    runsA: d.vcpus.reduce((s, v) => s + v.runsA, 0),
    runsB: d.vcpus.reduce((s, v) => s + v.runsB, 0),
    hunks: d.vcpus.reduce((s, v) => s + v.deletedRuns + v.insertedRuns, 0),
    budgetExceeded: d.vcpus.some((v) => v.budgetExceeded),
    peakRssMiB: mib(process.memoryUsage().rss),
  };
}

const dir = fs.mkdtempSync(path.join(args.dir!, 'bootscope-analyze-bench-'));
const big = path.join(dir, 'big.trace');
log(`writing ${N.toLocaleString('en-US')} boot-mix events to ${big} …`);
const writeSeconds = writeMix(big, N, 1);
log(`  ${writeSeconds.toFixed(1)} s; replaying check + phases + latency …`);
const rep = replayFigures(big);
log(
  `  ${rep.seconds.toFixed(1)} s wall, ${rep.cpuSeconds.toFixed(1)} CPU-s: ${(rep.eventsPerSec / 1e6).toFixed(2)} M events/s (${(rep.eventsPerCpuSec / 1e6).toFixed(2)} per CPU-s); RSS ${rep.rssMiB.map(([n, r]) => `${(n / 1e6).toFixed(0)}M:${r}`).join(' ')}`,
);
const repAhead = replayFigures(big, true);
log(
  `  the same with the decoding worker (openTrace(t, { decodeAhead: true }), experimental): ${(repAhead.eventsPerSec / 1e6).toFixed(2)} M events/s (${(repAhead.eventsPerCpuSec / 1e6).toFixed(2)} per CPU-s); RSS ${repAhead.rssMiB.map(([n, r]) => `${(n / 1e6).toFixed(0)}M:${r}`).join(' ')}`,
);
const read = readFigures(big);
log(
  `  reading alone (reader.forEachEvent, events built, no engine): ${(read.eventsPerSec / 1e6).toFixed(2)} M events/s (${(read.eventsPerCpuSec / 1e6).toFixed(2)} per CPU-s)`,
);
const only = analysesOnly(1 << 18, 40);
log(
  `  analyses only (engine + check + phases + latency on event objects): ${(only.eventsPerSec / 1e6).toFixed(2)} M events/s (${(only.eventsPerCpuSec / 1e6).toFixed(2)} per CPU-s)`,
);
// Each analysis alone with the engine (the engine's state models with no analysis first).
const single: Record<string, number> = {};
for (const [name, make] of [
  ['engine alone', () => []],
  ['phases', () => [new PhasesAnalysis()]],
  ['latency', () => [new LatencyAnalysis()]],
  ['check', () => [checkAnalysis()]],
] as [string, () => Analysis[]][]) {
  single[name] = analysesOnly(1 << 18, 8, make).eventsPerCpuSec;
  log(`  ${name} (with the engine): ${(single[name]! / 1e6).toFixed(2)} M events per CPU-s`);
}
const d1 = path.join(dir, 'mix-1.trace'),
  d2 = path.join(dir, 'mix-2.trace');
writeMix(d1, DIFF_N, 1);
writeMix(d2, DIFF_N, 2);
const diffs = [diffFigures(d1, d1), diffFigures(d1, d2)];
const linux = args.linux ?? [];
if (linux.length === 2) diffs.push(diffFigures(linux[0]!, linux[1]!));
for (const d of diffs)
  log(
    `  diff ${d.a} (${d.eventsA}) vs ${d.b} (${d.eventsB}): ${d.seconds.toFixed(2)} s (${d.cpuSeconds.toFixed(2)} CPU-s), runs ${d.runsA}/${d.runsB}, differing runs ${d.hunks}${d.budgetExceeded ? ' (budget exceeded)' : ''}`,
  );
const out = {
  node: process.version,
  cpus: os.cpus().length,
  load: os.loadavg(),
  events: N,
  writeSeconds,
  replay: rep,
  replayDecodeAhead: repAhead,
  read,
  analysesOnly: only,
  single,
  diffs,
};
if (args.json) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
if (!args.keep) fs.rmSync(dir, { recursive: true, force: true });
