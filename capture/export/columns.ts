// The SQL type of every column of the `events` table, derived from the trace model, so that the
// Parquet export has exactly the columns and types `bootscope sql` shows (docs/export.md).
//
// `bootscope sql` hands SQLite integers (u32, u53, i32, bool as 0/1, u64 as its two's-complement
// int64), text (str, enum, and u64[] lists as JSON text) and blobs (bytes). A field name shared by
// several kinds must map to one SQL type; a model change that broke this fails at load.

import { COMMON_FIELDS, KIND_FIELDS, type FieldType } from '../model.ts';
import { EVENTS_COLUMNS } from '../store/sql-rows.ts';

export type SqlType = 'INTEGER' | 'TEXT' | 'BLOB';

export interface EventsColumn {
  readonly name: string;
  readonly sql: SqlType;
  /** Every row has a value (seq, time, vcpu, kind); the other columns are NULL for kinds without them. */
  readonly required: boolean;
}

/** SQLite's storage class for a model field type, as the `events` virtual table hands it out. */
export function sqlTypeOf(t: FieldType): SqlType {
  switch (t) {
    case 'u32':
    case 'u53':
    case 'i32':
    case 'u64':
    case 'bool':
      return 'INTEGER';
    case 'str':
    case 'enum':
    case 'u64[]':
      return 'TEXT';
    case 'bytes':
      return 'BLOB';
  }
}

function buildColumns(): EventsColumn[] {
  const types = new Map<string, SqlType>();
  const put = (name: string, t: SqlType, where: string) => {
    const had = types.get(name);
    if (had && had !== t) throw new Error(`trace model: field '${name}' is ${had} in one kind and ${t} in ${where}`);
    types.set(name, t);
  };
  for (const [name, spec] of Object.entries(COMMON_FIELDS)) put(name, sqlTypeOf(spec.type), 'the common fields');
  put('kind', 'TEXT', 'the common fields');
  for (const [kind, fields] of Object.entries(KIND_FIELDS))
    for (const [name, spec] of Object.entries(fields as Record<string, { type: FieldType }>)) put(name, sqlTypeOf(spec.type), kind);
  const required = new Set(['seq', 'time', 'vcpu', 'kind']);
  return EVENTS_COLUMNS.map((name) => {
    const sql = types.get(name);
    if (!sql) throw new Error(`events column '${name}' has no field in the trace model`);
    return { name, sql, required: required.has(name) };
  });
}

/** The `events` table's columns in order (EVENTS_COLUMNS), each with its SQL type. */
export const EVENTS_COLUMN_TYPES: readonly EventsColumn[] = buildColumns();
