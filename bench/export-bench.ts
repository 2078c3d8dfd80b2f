// Export benchmark (issue 20): speed (events/s) and size (bytes/event) of the Parquet and Perfetto
// exports, with the exporter's RSS along the way, on a synthetic boot-mix trace and on real traces;
// then DuckDB over the hive export of N copies of a real boot against `bootscope sql` over the
// same traces (the many-trace SQLite engine).
//
//   ./bootscope node bench/export-bench.ts [--events 50000000] [--dir /tmp] [--trace FILE…]
//                                          [--boots 100 --boot-trace FILE] [--formats parquet,perfetto]
//
// Each export runs in a child process (`--child`), so its peak memory is its own; it samples RSS
// after every row group (Parquet) or every 65,536 events (Perfetto).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { createTrace, openTrace } from '../capture/store/index.ts';
import { manyTraceDb } from '../capture/store/sql-many.ts';
import type { NewEvent } from '../capture/model.ts';
import { writeEventsParquet, writeParquetTable, traceRow, traceRowValues, TRACES_COLUMNS } from '../capture/export/parquet.ts';
import { writePerfetto } from '../analyze/perfetto/writer.ts';
import { Stdout } from '../cli/stdout.ts';
import { bootMixPool, BOOT_MIX_DEVICES } from './boot-mix.ts';

const POOL = 1 << 18;

interface ExportFigures {
  format: string;
  trace: string;
  events: number;
  seconds: number;
  cpuSeconds: number;
  bytes: number;
  peakRssMiB: number;
  /** [events done, RSS MiB] at each doubling. */
  rssAtMiB: [number, number][];
  /** [events done, live JS heap MiB after a full GC] at each doubling (what the export holds). */
  heapAtMiB: [number, number][];
}

/** A synthetic boot-mix trace of n events (made once, kept in dir). */
function syntheticTrace(dir: string, n: number): string {
  const file = path.join(dir, `export-bench-${n}.trace`);
  if (fs.existsSync(file)) return file;
  const pool = bootMixPool(POOL);
  const span = pool[pool.length - 1]!.time + 1;
  const w = createTrace(file + '.tmp', {
    overwrite: true,
    source: { type: 'synthetic', name: 'boot-mix', config: { bench: 'export', events: n } },
    clock: { kind: 'instructions', instructionsPerSecond: 1e9 },
    devices: BOOT_MIX_DEVICES,
  });
  let off = 0;
  for (let i = 0; i < n; i++) {
    const j = i & (POOL - 1);
    if (j === 0 && i > 0) off += span;
    const e = pool[j]! as NewEvent & { time: number };
    const t = e.time;
    e.time = t + off;
    w.record(e);
    e.time = t;
  }
  w.close();
  fs.renameSync(file + '.tmp', file);
  return file;
}

/** Child mode: export one trace, sampling memory. */
async function child(format: string, trace: string, out: string): Promise<ExportFigures> {
  const reader = openTrace(trace);
  const events = reader.eventCount;
  const rssAt: [number, number][] = [];
  const heapAt: [number, number][] = [];
  let peak = 0;
  const gc = (globalThis as { gc?: () => void }).gc;
  const sample = (done: number) => {
    const rss = process.memoryUsage().rss;
    peak = Math.max(peak, rss);
    if (!rssAt.length || done >= Math.max(1, rssAt[rssAt.length - 1]![0]) * 2) {
      rssAt.push([done, Math.round(rss / 2 ** 20)]);
      // A full GC only at doublings (a dozen in a run): the live heap, not V8's lazy garbage.
      gc?.();
      heapAt.push([done, Math.round(process.memoryUsage().heapUsed / 2 ** 20)]);
    }
  };
  sample(0);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const fd = fs.openSync(out, 'w');
  if (format === 'parquet') {
    await writeEventsParquet(fd, reader, { onRowGroup: (n) => (sample(n), true) });
  } else {
    let done = 0;
    // The CLI's sink (cli/commands/export.ts writes through the same one).
    const sink = new Stdout(fd);
    await writePerfetto([{ name: path.basename(trace, '.trace'), reader }], (b) => sink.write(b), {
      onProgress: () => (sample((done += 1 << 16)), true),
    });
    sink.flush();
  }
  fs.closeSync(fd);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  sample(events);
  return {
    format,
    trace: path.basename(trace),
    events,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    bytes: fs.statSync(out).size,
    peakRssMiB: Math.round(peak / 2 ** 20),
    rssAtMiB: rssAt,
    heapAtMiB: heapAt,
  };
}

function runChild(format: string, trace: string, dir: string): ExportFigures {
  const out = path.join(dir, `export-bench-out.${format}`);
  const r = spawnSync(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', '--expose-gc', import.meta.filename, '--child', format, '--trace', trace, '--dir', out],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  fs.rmSync(out, { force: true });
  if (r.status !== 0) throw new Error(`export child failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ExportFigures;
}

/** DuckDB over the hive export of `boots` copies of a trace vs bootscope sql over the copies. */
async function fleetFigures(dir: string, trace: string, boots: number) {
  const fleet = path.join(dir, 'export-bench-fleet');
  fs.rmSync(fleet, { recursive: true, force: true });
  fs.mkdirSync(path.join(fleet, 'traces'), { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < boots; i++) {
    const f = path.join(fleet, 'traces', `boot-${String(i).padStart(3, '0')}.trace`);
    fs.copyFileSync(trace, f);
    files.push(f);
  }
  const readers = files.map((f) => ({ name: path.basename(f, '.trace'), reader: openTrace(f) }));
  const t0 = performance.now();
  for (const r of readers) {
    const part = path.join(fleet, 'export', 'events', `trace=${r.name}`);
    fs.mkdirSync(part, { recursive: true });
    const fd = fs.openSync(path.join(part, 'part-0.parquet'), 'w');
    await writeEventsParquet(fd, r.reader);
    fs.closeSync(fd);
  }
  const tfd = fs.openSync(path.join(fleet, 'export', 'traces.parquet'), 'w');
  await writeParquetTable(
    tfd,
    TRACES_COLUMNS,
    readers.map((r) => traceRowValues(traceRow(r.name, r.reader))),
  );
  fs.closeSync(tfd);
  const exportSeconds = (performance.now() - t0) / 1000;
  const events = readers.reduce((s, r) => s + r.reader.eventCount, 0);
  const queries: Record<string, string> = {
    'count per trace and kind': 'SELECT trace, kind, count(*) AS n FROM events GROUP BY trace, kind',
    'first GIC access per boot, slowest 5':
      "SELECT trace, min(time) AS gic FROM events WHERE kind = 'mmio_write' AND device LIKE 'gic%' GROUP BY trace ORDER BY gic DESC LIMIT 5",
    'console events per boot': "SELECT trace, count(*) AS n FROM events WHERE kind = 'console' GROUP BY trace",
  };
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  const events_ = `read_parquet('${fleet}/export/events/*/*.parquet', hive_partitioning = true)`;
  const many = manyTraceDb(readers);
  const out: Record<string, { duckdbSeconds: number; sqlSeconds: number; rows: number }> = {};
  for (const [name, q] of Object.entries(queries)) {
    let d = Infinity;
    let rows = 0;
    for (let rep = 0; rep < 3; rep++) {
      const t = performance.now();
      rows = (await duck.runAndReadAll(q.replace('FROM events', `FROM ${events_}`))).getRows().length;
      d = Math.min(d, (performance.now() - t) / 1000);
    }
    const t = performance.now();
    const s = many.stream(q);
    let n = 0;
    for (const _ of s.rows) n++;
    const sqlSeconds = (performance.now() - t) / 1000;
    if (n !== rows) throw new Error(`${name}: DuckDB ${rows} rows, bootscope sql ${n}`);
    out[name] = { duckdbSeconds: d, sqlSeconds, rows };
  }
  many.db.close();
  for (const r of readers) r.reader.close();
  fs.rmSync(fleet, { recursive: true, force: true });
  return { boots, events, exportSeconds, queries: out };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '1000000' },
      dir: { type: 'string', default: os.tmpdir() },
      trace: { type: 'string', multiple: true, default: [] },
      formats: { type: 'string', default: 'parquet,perfetto' },
      boots: { type: 'string', default: '0' },
      'boot-trace': { type: 'string' },
      child: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.child) {
    process.stdout.write(JSON.stringify(await child(values.child, values.trace[0]!, values.dir)));
    return;
  }
  const n = Number(values.events);
  const traces = [...(n > 0 ? [syntheticTrace(values.dir, n)] : []), ...values.trace];
  const results: ExportFigures[] = [];
  for (const t of traces)
    for (const f of values.formats.split(',')) {
      const r = runChild(f, t, values.dir);
      results.push(r);
      if (!values.json)
        console.log(
          `${r.format.padEnd(8)} ${r.trace.padEnd(28)} ${r.events.toLocaleString('en-US').padStart(12)} events  ` +
            `${(r.events / r.seconds / 1e3).toFixed(0).padStart(6)} k/s wall  ${(r.events / r.cpuSeconds / 1e3).toFixed(0).padStart(6)} k/CPU-s  ` +
            `${(r.bytes / r.events).toFixed(2).padStart(6)} B/event  peak RSS ${r.peakRssMiB} MiB  ` +
            `RSS ${r.rssAtMiB.map(([e, m]) => `${e >= 1e6 ? `${e / 1e6}M` : e}:${m}`).join(' ')}  ` +
            `heap ${r.heapAtMiB.map(([e, m]) => `${e >= 1e6 ? `${e / 1e6}M` : e}:${m}`).join(' ')}`,
        );
    }
  const boots = Number(values.boots);
  let fleet: Awaited<ReturnType<typeof fleetFigures>> | undefined;
  if (boots > 0) {
    fleet = await fleetFigures(values.dir, values['boot-trace'] ?? values.trace[0]!, boots);
    if (!values.json) {
      console.log(`fleet: ${boots} boots, ${fleet.events.toLocaleString('en-US')} events, exported in ${fleet.exportSeconds.toFixed(1)} s`);
      for (const [q, f] of Object.entries(fleet.queries))
        console.log(
          `  ${q.padEnd(40)} DuckDB ${(f.duckdbSeconds * 1000).toFixed(0).padStart(6)} ms   bootscope sql ${(f.sqlSeconds * 1000).toFixed(0).padStart(7)} ms   (${f.rows} rows)`,
        );
    }
  }
  if (values.json) console.log(JSON.stringify({ results, fleet }, null, 2));
  console.log(
    `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}

await main();
