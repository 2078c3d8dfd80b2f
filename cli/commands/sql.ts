// `bootscope sql TRACE "SELECT …"`: SQLite over the trace; decoded events appear as `events`.

import type { Command } from 'commander';
import { formatSqlResult, runSql } from '../../capture/store/index.ts';
import { Damage } from '../damage.ts';

export function registerSql(program: Command): void {
  program
    .command('sql')
    .description('run a read-only SQLite query; decoded events are the table `events` (see docs/trace-schema.md)')
    .argument('<trace>', 'trace file')
    .argument('<query>', 'SQL, e.g. "SELECT register, count(*) FROM events WHERE device = \'pl011@9000000\' GROUP BY 1"')
    .option('--json', 'print a JSON array of row objects')
    .action((path: string, query: string, opts: { json?: boolean }) => {
      const damage = new Damage();
      const reader = damage.open(path);
      try {
        process.stdout.write(formatSqlResult(runSql(reader, query), { json: opts.json }));
      } finally {
        reader.close();
      }
      damage.raise();
    });
}
