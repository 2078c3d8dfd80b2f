// SQL over many traces at once (`bootscope sql 'boots/*.trace' "…"`): an in-memory SQLite database
// whose `events` table is every trace's events one after the other, with a first column `trace`
// naming the trace, and whose `traces` table has one row per trace (the Parquet export's traces
// table). The same row builder and push-down as single-trace SQL (sql.ts), so a query reads only
// the chunks its WHERE can need, trace after trace.

import Database from 'better-sqlite3';
import { TRACES_COLUMNS, traceRow, traceRowValues } from '../export/parquet.ts';
import { TraceError } from './errors.ts';
import type { TraceReader } from './reader.ts';
import { analyzePushdown, type SqlStream } from './sql.ts';
import { EVENTS_COLUMNS, eventRows } from './sql-rows.ts';

export interface NamedTrace {
  name: string;
  reader: TraceReader;
}

/** The many-trace `events` columns: `trace`, then the single-trace table's. */
export const MANY_EVENTS_COLUMNS: readonly string[] = ['trace', ...EVENTS_COLUMNS];

/** A database over `traces`; close() it when done (the readers stay the caller's). */
export function manyTraceDb(traces: readonly NamedTrace[]): { db: Database.Database; stream(sql: string): SqlStream } {
  const db = new Database(':memory:');
  const state = { filter: {}, empty: false } as ReturnType<typeof analyzePushdown>;
  const n = EVENTS_COLUMNS.length;
  db.table('events', {
    columns: [...MANY_EVENTS_COLUMNS],
    parameters: [],
    *rows() {
      if (state.empty) return;
      const out = new Array<unknown>(n + 1);
      for (const t of traces) {
        out[0] = t.name;
        for (const row of eventRows(t.reader, state.filter)) {
          for (let i = 0; i < n; i++) out[i + 1] = row[i];
          yield out;
        }
      }
    },
  });
  db.exec(
    `CREATE TABLE traces (${TRACES_COLUMNS.map((c) => `"${c.name}" ${c.sql === 'BOOLEAN' ? 'INTEGER' : c.sql === 'DOUBLE' ? 'REAL' : c.sql}`).join(', ')})`,
  );
  const insert = db.prepare(`INSERT INTO traces VALUES (${TRACES_COLUMNS.map(() => '?').join(', ')})`);
  for (const t of traces) insert.run(traceRowValues(traceRow(t.name, t.reader)).map((v) => (typeof v === 'boolean' ? Number(v) : v)));
  const where = traces.length === 1 ? traces[0]!.reader.path : `${traces.length} traces`;
  return {
    db,
    stream(sql: string): SqlStream {
      Object.assign(state, analyzePushdown(sql));
      let stmt: Database.Statement;
      try {
        stmt = db.prepare(sql);
        if (!stmt.reader) throw new Error('only queries that return rows (SELECT, WITH, PRAGMA …) are allowed');
        stmt.safeIntegers(true);
        stmt.raw(true);
      } catch (err) {
        throw new TraceError(where, `SQL: ${(err as Error).message}`);
      }
      const columns = stmt.columns().map((c) => c.name);
      function* rows(): Generator<unknown[]> {
        const it = stmt.iterate() as IterableIterator<unknown[]>;
        try {
          for (;;) {
            let r: IteratorResult<unknown[]>;
            try {
              r = it.next();
            } catch (err) {
              throw err instanceof TraceError ? err : new TraceError(where, `SQL: ${(err as Error).message}`);
            }
            if (r.done) return;
            const row = r.value;
            for (let i = 0; i < row.length; i++) {
              const v = row[i];
              if (typeof v === 'bigint' && v >= MIN_SAFE && v <= MAX_SAFE) row[i] = Number(v);
            }
            yield row;
          }
        } finally {
          it.return?.();
        }
      }
      return { columns, rows: rows(), pushdown: state.filter };
    },
  };
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
