// Parquet export: the `events` table exactly as `bootscope sql` shows it (same columns, same SQL
// types: INTEGER → INT64, TEXT → UTF8 byte arrays, BLOB → byte arrays), written row group by row
// group from the decoded chunks, so memory is bounded by one row group whatever the trace's length.
// Column chunks are zstd-compressed with the store's own codec. See docs/export.md.

import fs from 'node:fs';
import { ByteWriter } from 'hyparquet-writer';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import type { FileMetaData, KeyValue, RowGroup, SchemaElement } from 'hyparquet';
import { EVENT_KINDS, KIND_CODE, timeToNs, type EventFilter, type EventKind } from '../model.ts';
import { defaultCodec, type ZstdCodec } from '../store/codec.ts';
import { EVENTS_COLUMNS, eventRows } from '../store/sql-rows.ts';
import { KIND_LAYOUTS } from '../store/layout.ts';
import type { TraceReader } from '../store/reader.ts';
import { EVENTS_COLUMN_TYPES, type SqlType } from './columns.ts';
import { ColumnValues, flatElement, type FlatType } from './parquet-chunks.ts';

/** Rows per row group (a column buffers at most one group of values: a few MiB per filled column). */
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
  /** Send what is buffered to the file (after each row group: the file grows as the export goes). */
  drain(): void {
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

const PHYSICAL: Record<TableColumn['sql'], FlatType> = {
  INTEGER: 'INT64',
  TEXT: 'BYTE_ARRAY',
  BLOB: 'BYTE_ARRAY',
  BOOLEAN: 'BOOLEAN',
  DOUBLE: 'DOUBLE',
};

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
 * open file descriptor, one row group at a time: each column keeps only the group's non-NULL values
 * (parquet-chunks.ts), so a row costs its own columns, not the table's width.
 */
export async function writeParquetTable(
  fd: number,
  columns: readonly TableColumn[],
  rows: Iterable<readonly unknown[]>,
  opts: ParquetTableOptions = {},
): Promise<TableWritten> {
  const codec = opts.codec ?? defaultCodec();
  const compress = (input: Uint8Array) => codec.compress(input, ZSTD_LEVEL);
  const groupRows = opts.rowGroupRows ?? ROW_GROUP_ROWS;
  const cols = columns.map(
    (c) =>
      new ColumnValues(
        c.name,
        PHYSICAL[c.sql],
        !c.required,
        c.sql === 'TEXT',
        STATISTICS_COLUMNS.has(c.name),
        DELTA_COLUMNS.has(c.name),
        groupRows,
      ),
  );
  const schema: SchemaElement[] = [{ name: 'root', num_children: columns.length }, ...cols.map(flatElement)];
  const w = new FdWriter(fd);
  w.appendUint32(0x31524150); // 'PAR1'
  const groups: RowGroup[] = [];
  let n = 0;
  let inGroup = 0;
  const flush = async (): Promise<boolean> => {
    if (inGroup === 0) return true;
    const start = w.offset;
    let bytes = 0n;
    const chunks = cols.map((c) => {
      c.rows = inGroup;
      const r = c.write(w, compress);
      c.reset();
      bytes += BigInt(r.uncompressed);
      return r.chunk;
    });
    groups.push({ columns: chunks, num_rows: BigInt(inGroup), total_byte_size: bytes, total_compressed_size: BigInt(w.offset - start) });
    w.drain();
    inGroup = 0;
    return (await opts.onRowGroup?.(n)) ?? true;
  };
  const used = opts.columnsOf ?? (() => undefined);
  const all = ALL.slice(0, columns.length);
  for (const row of rows) {
    // Only the row's own columns (the rest stay NULL): a row has ~10 of the ~80 columns.
    const which = used(row) ?? all;
    for (let k = 0; k < which.length; k++) {
      const i = which[k]!;
      const v = row[i];
      if (v === null || v === undefined) {
        if (columns[i]!.required) throw new Error(`column ${columns[i]!.name} is required but row ${n} has no value`);
        continue;
      }
      cols[i]!.add(inGroup, v);
    }
    n++;
    if (++inGroup >= groupRows && !(await flush())) return { rows: n, rowGroups: groups.length, stopped: true };
  }
  if (!(await flush())) return { rows: n, rowGroups: groups.length, stopped: true };
  writeMetadata(w, {
    version: 2,
    created_by: 'bootscope',
    schema,
    num_rows: BigInt(n),
    row_groups: groups,
    ...(opts.kv ? { key_value_metadata: opts.kv } : {}),
  } as FileMetaData);
  w.appendUint32(0x31524150);
  w.finish();
  return { rows: n, rowGroups: groups.length, stopped: false };
}

const ALL: readonly number[] = Array.from({ length: 1024 }, (_, i) => i);
const STATISTICS_COLUMNS = new Set(['seq', 'time', 'vcpu', 'kind', 'device', 'register', 'intid', 'trace']);
/** Columns that rise steadily row by row: delta-encoded (seq by 1s, time by small steps). */
const DELTA_COLUMNS = new Set(['seq', 'time']);

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
