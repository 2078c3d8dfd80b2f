// Parquet export: the `events` table exactly as `bootscope sql` shows it (same columns, same SQL
// types: INTEGER → INT64, TEXT → UTF8 byte arrays, BLOB → byte arrays), written row group by row
// group from the decoded chunks, so memory is bounded by one row group whatever the trace's length.
// Column chunks are zstd-compressed with the store's own codec. See docs/export.md.

import fs from 'node:fs';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { KeyValue, SchemaElement } from 'hyparquet';
import { EVENT_KINDS, KIND_CODE, timeToNs, type EventFilter, type EventKind } from '../model.ts';
import { defaultCodec, type ZstdCodec } from '../store/codec.ts';
import { EVENTS_COLUMNS, eventRows } from '../store/sql-rows.ts';
import { KIND_LAYOUTS } from '../store/layout.ts';
import type { TraceReader } from '../store/reader.ts';
import { EVENTS_COLUMN_TYPES, type SqlType } from './columns.ts';

/** Rows per row group: ~65 k rows of ~60 mostly-NULL columns keep the writer near 100 MiB. */
export const ROW_GROUP_ROWS = 65536;
/** zstd level for column chunks (the store's default). */
const ZSTD_LEVEL = 3;
/** The writer's buffer goes to the file past this many bytes. */
const FLUSH_BYTES = 1 << 20;

/** A hyparquet Writer that sends its bytes to a file descriptor as they come. */
class FdWriter extends ByteWriter {
  private readonly fd: number;
  constructor(fd: number) {
    super(FLUSH_BYTES * 2);
    this.fd = fd;
  }
  override ensure(size: number): void {
    if (this.index > FLUSH_BYTES) this.drain();
    super.ensure(size);
  }
  private drain(): void {
    const bytes = new Uint8Array(this.buffer, 0, this.index);
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(this.fd, bytes, done, bytes.length - done);
    this.index = 0;
  }
  override finish(): void {
    this.drain();
  }
}

/** A column of a table we write: its name, SQL type and whether every row has a value. */
export interface TableColumn {
  readonly name: string;
  readonly sql: SqlType | 'BOOLEAN' | 'DOUBLE';
  readonly required: boolean;
}

function schemaOf(columns: readonly TableColumn[]): SchemaElement[] {
  const root: SchemaElement = { name: 'root', num_children: columns.length };
  return [
    root,
    ...columns.map((c): SchemaElement => {
      const repetition_type = c.required ? 'REQUIRED' : 'OPTIONAL';
      switch (c.sql) {
        case 'INTEGER':
          return { name: c.name, type: 'INT64', repetition_type };
        case 'TEXT':
          return { name: c.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type };
        case 'BLOB':
          return { name: c.name, type: 'BYTE_ARRAY', repetition_type };
        case 'BOOLEAN':
          return { name: c.name, type: 'BOOLEAN', repetition_type };
        case 'DOUBLE':
          return { name: c.name, type: 'DOUBLE', repetition_type };
      }
    }),
  ];
}

export interface ParquetTableOptions {
  codec?: ZstdCodec;
  /** Key/value file metadata (the trace's metadata). */
  kv?: KeyValue[];
  rowGroupRows?: number;
  /** Called after each row group; an async pause here lets signals in. Return false to stop. */
  onRowGroup?: (rows: number) => boolean | Promise<boolean>;
  /** The column indexes a row fills (default: all); the others are NULL. */
  columnsOf?: (row: readonly unknown[]) => readonly number[] | undefined;
}

/** What a table write did. */
export interface TableWritten {
  rows: number;
  rowGroups: number;
  /** The write was stopped by onRowGroup (the file is not finished). */
  stopped: boolean;
}

/**
 * Write rows (arrays in column order; the producer may reuse its array) as a Parquet table to an
 * open file descriptor. Rows are gathered into columns one row group at a time.
 */
export async function writeParquetTable(
  fd: number,
  columns: readonly TableColumn[],
  rows: Iterable<readonly unknown[]>,
  opts: ParquetTableOptions = {},
): Promise<TableWritten> {
  const codec = opts.codec ?? defaultCodec();
  const writer = new ParquetWriter({
    writer: new FdWriter(fd),
    schema: schemaOf(columns),
    codec: 'ZSTD',
    compressors: { ZSTD: (input: Uint8Array) => codec.compress(input, ZSTD_LEVEL) },
    ...(opts.kv ? { kvMetadata: opts.kv } : {}),
    createdBy: 'bootscope',
  });
  const groupRows = opts.rowGroupRows ?? ROW_GROUP_ROWS;
  const data: unknown[][] = columns.map(() => new Array<unknown>(groupRows).fill(null));
  const sqls = columns.map((c) => c.sql);
  // Columns no row of the group filled are handed over as one shared all-NULL array.
  const dirty = new Uint8Array(columns.length);
  const nulls = new Array<unknown>(groupRows).fill(null);
  let n = 0;
  let groups = 0;
  let inGroup = 0;
  const flush = async (): Promise<boolean> => {
    if (inGroup === 0) return true;
    const r = writer.write({
      columnData: columns.map((c, i) => ({
        name: c.name,
        data: (inGroup === groupRows ? (dirty[i] ? data[i]! : nulls) : (dirty[i] ? data[i]! : nulls).slice(0, inGroup)) as never,
        // Min/max statistics only where readers prune with them (time, seq, kind, device…).
        statistics: STATISTICS_COLUMNS.has(c.name),
      })),
      rowGroupSize: inGroup,
    });
    if (r) await r;
    for (let i = 0; i < data.length; i++) if (dirty[i]) data[i]!.fill(null);
    dirty.fill(0);
    inGroup = 0;
    groups++;
    return (await opts.onRowGroup?.(n)) ?? true;
  };
  const used = opts.columnsOf ?? (() => undefined);
  for (const row of rows) {
    // Only the row's own columns (the rest stay NULL): a row has ~10 of the ~80 columns.
    const cols = used(row) ?? ALL.slice(0, columns.length);
    for (let k = 0; k < cols.length; k++) {
      const i = cols[k]!;
      const v = row[i];
      if (v === null || v === undefined) continue;
      data[i]![inGroup] = sqls[i] === 'INTEGER' && typeof v !== 'bigint' ? BigInt(v as number) : v;
      dirty[i] = 1;
    }
    n++;
    if (++inGroup >= groupRows && !(await flush())) return { rows: n, rowGroups: groups, stopped: true };
  }
  if (!(await flush())) return { rows: n, rowGroups: groups, stopped: true };
  const r = writer.finish();
  if (r) await r;
  return { rows: n, rowGroups: groups, stopped: false };
}

const ALL: readonly number[] = Array.from({ length: 1024 }, (_, i) => i);
const STATISTICS_COLUMNS = new Set(['seq', 'time', 'vcpu', 'kind', 'device', 'register', 'intid', 'trace']);

/** Per kind code: the events-table columns a row of that kind fills (common ones first). */
const KIND_COLUMNS: readonly (readonly number[])[] = KIND_LAYOUTS.map((k) => [
  0,
  1,
  2,
  3,
  4,
  5,
  ...k.fields.map((f) => EVENTS_COLUMNS.indexOf(f.name)),
]);

/** The `events` table of one trace (optionally filtered), as Parquet, to an open file. */
export function writeEventsParquet(fd: number, reader: TraceReader, opts: ParquetTableOptions & { filter?: EventFilter } = {}) {
  return writeParquetTable(fd, EVENTS_COLUMN_TYPES, eventRows(reader, opts.filter ?? {}), {
    ...opts,
    columnsOf: (row) => KIND_COLUMNS[KIND_CODE[row[3] as EventKind]],
  });
}

// ---------------------------------------------------------------------------------------------
// The `traces` table: one row per exported trace.

/** Columns of the `traces` table (docs/export.md), then one event count per kind. */
export const TRACES_COLUMNS: readonly TableColumn[] = [
  { name: 'trace', sql: 'TEXT', required: true },
  { name: 'path', sql: 'TEXT', required: true },
  { name: 'source_type', sql: 'TEXT', required: true },
  { name: 'source_name', sql: 'TEXT', required: true },
  { name: 'machine', sql: 'TEXT', required: true },
  { name: 'kernel_sha256', sql: 'TEXT', required: false },
  { name: 'input_sha256', sql: 'TEXT', required: false },
  { name: 'digest', sql: 'TEXT', required: false },
  { name: 'complete', sql: 'BOOLEAN', required: true },
  { name: 'clock', sql: 'TEXT', required: true },
  { name: 'events', sql: 'INTEGER', required: true },
  { name: 'time_first', sql: 'INTEGER', required: true },
  { name: 'time_last', sql: 'INTEGER', required: true },
  { name: 'duration', sql: 'INTEGER', required: true },
  { name: 'duration_ns', sql: 'DOUBLE', required: true },
  { name: 'ns_per_time', sql: 'DOUBLE', required: true },
  { name: 'created_at', sql: 'TEXT', required: true },
  { name: 'tool_version', sql: 'TEXT', required: true },
  ...EVENT_KINDS.map((k): TableColumn => ({ name: `n_${k}`, sql: 'INTEGER', required: true })),
];

/** The traces-table row of a trace, by column name. */
export function traceRow(name: string, reader: TraceReader): Record<string, unknown> {
  const info = reader.info();
  const m = info.meta;
  const machine = m.source.type === 'emulator' ? m.source.name : String(m.source.config['machine'] ?? m.source.name);
  const row: Record<string, unknown> = {
    trace: name,
    path: info.path,
    source_type: m.source.type,
    source_name: m.source.name,
    machine,
    kernel_sha256: m.hashes['kernel'] ?? null,
    input_sha256: m.hashes['input'] ?? null,
    digest: info.digest ?? null,
    complete: info.complete,
    clock: m.clock.kind,
    events: info.events,
    time_first: info.timeFirst,
    time_last: info.timeLast,
    duration: info.duration,
    duration_ns: info.durationNs,
    // events.time × ns_per_time = nanoseconds (instruction clocks: 1e9 / instructions per second).
    ns_per_time: timeToNs(1, m.clock),
    created_at: m.createdAt,
    tool_version: m.toolVersion,
  };
  for (const k of EVENT_KINDS) row[`n_${k}`] = info.counts.kinds[k] ?? 0;
  return row;
}

/** A traces-table row as an array in TRACES_COLUMNS order. */
export function traceRowValues(row: Record<string, unknown>): unknown[] {
  return TRACES_COLUMNS.map((c) => row[c.name] ?? null);
}

/** The trace's metadata as Parquet key/value file metadata (JSON values; bigints as hex). */
export function traceKeyValues(name: string, reader: TraceReader): KeyValue[] {
  const json = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? '0x' + x.toString(16) : x));
  const row = traceRow(name, reader);
  return [
    { key: 'bootscope.trace', value: json(row) },
    { key: 'bootscope.meta', value: json(reader.meta) },
    { key: 'bootscope.regions', value: json(reader.regions) },
  ];
}
