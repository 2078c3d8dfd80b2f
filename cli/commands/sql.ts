// `bootscope sql TRACE "SELECT …"`: SQLite over the trace; decoded events appear as `events`.
// Rows are streamed (memory flat for millions of rows; `| head` ends the query early).

import type { Command } from 'commander';
import { streamSql, writeSqlResult } from '../../capture/store/index.ts';
import { Damage } from '../damage.ts';
import { jsonSafe, terminalSafe } from '../output.ts';
import { Stdout } from '../stdout.ts';

export function registerSql(program: Command): void {
  program
    .command('sql')
    .description('run a read-only SQLite query; decoded events are the table `events` (see docs/trace-schema.md)')
    .argument('<trace>', 'trace file')
    .argument('<query>', 'SQL, e.g. "SELECT register, count(*) FROM events WHERE device = \'pl011@9000000\' GROUP BY 1"')
    .option('--json', 'print a JSON array of row objects (one per line)')
    .action((path: string, query: string, opts: { json?: boolean }) => {
      const damage = new Damage();
      const reader = damage.open(path);
      const out = new Stdout();
      try {
        const res = streamSql(reader, query);
        // Text: column widths from the first 1000 rows; cells escaped for the terminal.
        if (opts.json) writeSqlResult(res, (s) => out.write(jsonSafe(s)), { json: true });
        else writeSqlResult(res, (s) => out.write(s), { cell: terminalSafe });
        out.flush();
      } finally {
        reader.close();
      }
      damage.raise();
    });
}
