// `bootscope sql TRACE "SELECT …"`: SQLite over the trace; decoded events appear as `events`.
// `bootscope sql 'boots/*.trace' "…"`: one query over every trace the pattern names; `events` has a
// first column `trace`, and `traces` one row per trace (as in the Parquet export).
// Rows are streamed (memory flat for millions of rows; `| head` ends the query early).

import fs from 'node:fs';
import type { Command } from 'commander';
import { streamSql, writeSqlResult, type SqlStream, type TraceReader } from '../../capture/store/index.ts';
import { manyTraceDb } from '../../capture/store/sql-many.ts';
import { Damage } from '../damage.ts';
import { UserError } from '../errors.ts';
import { traceNames } from '../export-output.ts';
import { jsonSafe, terminalSafe } from '../output.ts';
import { Stdout } from '../stdout.ts';

export function registerSql(program: Command): void {
  program
    .command('sql')
    .description('run a read-only SQLite query; decoded events are the table `events` (see docs/trace-schema.md, docs/export.md)')
    .argument('<trace>', "trace file, or a quoted pattern ('boots/*.trace') for one query over many traces")
    .argument('<query>', 'SQL, e.g. "SELECT register, count(*) FROM events WHERE device = \'pl011@9000000\' GROUP BY 1"')
    .option('--json', 'print a JSON array of row objects (one per line)')
    .action((path: string, query: string, opts: { json?: boolean }) => {
      const damage = new Damage();
      const many = expandPattern(path);
      const readers: TraceReader[] = [];
      const out = new Stdout();
      try {
        let res: SqlStream;
        let close = () => {};
        if (many) {
          const names = traceNames(many);
          for (const p of many) readers.push(damage.open(p));
          const m = manyTraceDb(readers.map((reader, i) => ({ name: names[i]!, reader })));
          close = () => m.db.close();
          res = m.stream(query);
        } else {
          readers.push(damage.open(path));
          res = streamSql(readers[0]!, query);
        }
        try {
          // Text: column widths from the first 1000 rows; cells escaped for the terminal.
          if (opts.json) writeSqlResult(res, (s) => out.write(jsonSafe(s)), { json: true });
          else writeSqlResult(res, (s) => out.write(s), { cell: terminalSafe });
          out.flush();
        } finally {
          close();
        }
      } finally {
        for (const r of readers) r.close();
      }
      damage.raise();
    });
}

/** The traces a glob pattern names (sorted), or undefined when `path` is not a pattern. */
export function expandPattern(path: string): string[] | undefined {
  if (!/[*?[{]/.test(path) || fs.existsSync(path)) return undefined;
  const hits = fs
    .globSync(path)
    .filter((p) => fs.statSync(p, { throwIfNoEntry: false })?.isFile())
    .sort();
  if (!hits.length) throw new UserError(`${path}: no trace file matches this pattern`);
  return hits;
}
