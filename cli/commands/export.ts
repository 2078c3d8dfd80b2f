// `bootscope export TRACE… --format parquet|perfetto|jsonl -o OUT`: traces for the tools people
// already use (docs/export.md). Parquet: the `events` table exactly as `bootscope sql` shows it, one
// file for one trace, or with several traces (or --partition) a hive-style directory
// OUT/events/trace=NAME/part-0.parquet plus OUT/traces.parquet. Perfetto: one protobuf trace with a
// process per input. JSONL: the `events --json` objects, one per line. Everything is streamed; the
// output appears only when complete (a damaged input or an interrupt leaves nothing behind).

import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { eventToJson } from '../../capture/describe.ts';
import {
  writeEventsParquet,
  writeParquetTable,
  traceKeyValues,
  traceRow,
  traceRowValues,
  TRACES_COLUMNS,
} from '../../capture/export/parquet.ts';
import type { TraceReader } from '../../capture/store/index.ts';
import { writePerfetto } from '../../analyze/perfetto/writer.ts';
import { Damage, damageSummary } from '../damage.ts';
import { UserError } from '../errors.ts';
import { jsonSafe } from '../output.ts';
import { catchInterrupts, type Interrupts } from '../signals.ts';
import { Stdout } from '../stdout.ts';
import { openNew, pendingDir, pendingFile, traceNames, type PendingOutput } from '../export-output.ts';

const FORMATS = ['parquet', 'perfetto', 'jsonl'] as const;
type Format = (typeof FORMATS)[number];

interface ExportOptions {
  format: string;
  output: string;
  partition?: boolean;
  force?: boolean;
}

/** One input: its name in the export (the file name without .trace) and its reader. */
export interface Source {
  name: string;
  reader: TraceReader;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('export traces to Parquet (DuckDB, Spark, pandas), Perfetto (ui.perfetto.dev) or JSON lines; see docs/export.md')
    .argument('<traces...>', 'trace files')
    .requiredOption('--format <format>', `parquet, perfetto or jsonl`)
    .requiredOption(
      '-o, --output <path>',
      "output file (a directory for Parquet with several traces or --partition; '-' for jsonl on stdout)",
    )
    .option('--partition', 'parquet: write the hive-style directory even for one trace')
    .option('--force', 'replace an existing output (a directory only if it holds a previous export)')
    .action(async (paths: string[], opts: ExportOptions) => {
      const format = opts.format as Format;
      if (!FORMATS.includes(format)) throw new UserError(`--format: '${opts.format}' is not one of ${FORMATS.join(', ')}`);
      const names = traceNames(paths);
      if (opts.partition && format !== 'parquet') throw new UserError('--partition: only for --format parquet');
      // The output is checked before any input is read (a large trace's chunk check takes a while).
      if (!(format === 'jsonl' && opts.output === '-')) {
        const where = { force: !!opts.force, inputs: paths };
        (format === 'parquet' && (paths.length > 1 || opts.partition)
          ? pendingDir(opts.output, where)
          : pendingFile(opts.output, where)
        ).discard();
      }
      const damage = new Damage();
      const sources: Source[] = [];
      try {
        // Every input is opened and its stored chunks checked before anything is written.
        for (let i = 0; i < paths.length; i++) {
          const reader = damage.open(paths[i]!);
          sources.push({ name: names[i]!, reader });
          reader.checkStored();
          if (damage.any) throw damagedError(paths[i]!, reader);
        }
        await runExport(format, sources, opts, damage);
      } finally {
        for (const s of sources) s.reader.close();
      }
    });
}

function damagedError(file: string, reader: TraceReader): UserError {
  return new UserError(`${file}: damaged: ${damageSummary(reader.info().problems)}; nothing exported`);
}

async function runExport(format: Format, sources: Source[], opts: ExportOptions, damage: Damage): Promise<void> {
  const inputs = sources.map((s) => s.reader.path);
  if (format === 'jsonl' && opts.output === '-') {
    const out = new Stdout();
    await writeJsonl(
      sources,
      (s) => out.write(s),
      async () => true,
    );
    out.flush();
    raiseIfDamaged(sources, damage);
    return;
  }
  const dir = format === 'parquet' && (sources.length > 1 || !!opts.partition);
  if (opts.partition && format !== 'parquet') throw new UserError('--partition: only for --format parquet');
  const out = dir ? pendingDir(opts.output, { force: !!opts.force, inputs }) : pendingFile(opts.output, { force: !!opts.force, inputs });
  const interrupts = catchInterrupts('the export');
  let done = false;
  try {
    let finished: boolean;
    if (format === 'parquet') finished = dir ? await parquetDir(out, sources, interrupts) : await parquetFile(out, sources[0]!, interrupts);
    else if (format === 'perfetto') finished = await perfettoFile(out, sources, interrupts);
    else finished = await jsonlFile(out, sources, interrupts);
    if (!finished) {
      process.stderr.write(`bootscope: ${interrupts.reason()}: export stopped; nothing written to ${opts.output}\n`);
      process.exitCode = interrupts.exitCode() ?? 130;
      return;
    }
    raiseIfDamaged(sources, damage);
    out.commit();
    done = true;
  } finally {
    interrupts.dispose();
    if (!done) out.discard();
  }
}

function raiseIfDamaged(sources: Source[], damage: Damage): void {
  if (!damage.any) return;
  const bad = sources.find((s) => s.reader.info().problems.length > 0)!;
  throw new UserError(`${bad.reader.path}: damaged: ${damageSummary(bad.reader.info().problems)}; nothing exported`);
}

/** Between row groups: let a signal in, and say whether to go on. */
function goOn(interrupts: Interrupts): () => Promise<boolean> {
  return async () => {
    await new Promise((r) => setImmediate(r));
    return interrupts.reason() === undefined;
  };
}

async function parquetFile(out: PendingOutput, s: Source, interrupts: Interrupts): Promise<boolean> {
  const fd = openNew(out.tmp, out.path);
  try {
    const r = await writeEventsParquet(fd, s.reader, { kv: traceKeyValues(s.name, s.reader), onRowGroup: goOn(interrupts) });
    return !r.stopped;
  } finally {
    fs.closeSync(fd);
  }
}

async function parquetDir(out: PendingOutput, sources: Source[], interrupts: Interrupts): Promise<boolean> {
  for (const s of sources) {
    const part = path.join(out.tmp, 'events', `trace=${s.name}`);
    fs.mkdirSync(part, { recursive: true });
    const fd = openNew(path.join(part, 'part-0.parquet'), out.path);
    try {
      const r = await writeEventsParquet(fd, s.reader, { kv: traceKeyValues(s.name, s.reader), onRowGroup: goOn(interrupts) });
      if (r.stopped) return false;
    } finally {
      fs.closeSync(fd);
    }
  }
  const fd = openNew(path.join(out.tmp, 'traces.parquet'), out.path);
  try {
    await writeParquetTable(
      fd,
      TRACES_COLUMNS,
      sources.map((s) => traceRowValues(traceRow(s.name, s.reader))),
    );
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

async function perfettoFile(out: PendingOutput, sources: Source[], interrupts: Interrupts): Promise<boolean> {
  const fd = openNew(out.tmp, out.path);
  try {
    const sink = new Stdout(fd);
    const r = await writePerfetto(sources, (b) => sink.write(b), { onProgress: goOn(interrupts) });
    sink.flush();
    return !r.stopped;
  } finally {
    fs.closeSync(fd);
  }
}

async function jsonlFile(out: PendingOutput, sources: Source[], interrupts: Interrupts): Promise<boolean> {
  const fd = openNew(out.tmp, out.path);
  try {
    const sink = new Stdout(fd);
    const done = await writeJsonl(sources, (s) => sink.write(s), goOn(interrupts));
    sink.flush();
    return done;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * One `events --json` object per line. With several traces each object starts with a `trace` key
 * naming its trace; with one, the objects are exactly those of `events --json`.
 */
async function writeJsonl(sources: Source[], write: (s: string) => void, goOn: () => Promise<boolean>): Promise<boolean> {
  const several = sources.length > 1;
  let n = 0;
  for (const s of sources) {
    const prefix = several ? `{"trace":${JSON.stringify(s.name)},` : '';
    for (const e of s.reader.events()) {
      const line = jsonSafe(JSON.stringify(eventToJson(e)));
      write((several ? prefix + line.slice(1) : line) + '\n');
      if (++n % 65536 === 0 && !(await goOn())) return false;
    }
  }
  return true;
}
