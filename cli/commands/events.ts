// `bootscope events TRACE`: list events, filtered.

import type { Command } from 'commander';
import { eventToJson, formatEventLine } from '../../capture/describe.ts';
import { addFilterOptions, parseFilter, type FilterOptions } from '../filters.ts';
import { UserError } from '../errors.ts';
import { jsonSafe, terminalSafe } from '../output.ts';
import { Damage } from '../damage.ts';
import { Stdout } from '../stdout.ts';

export function registerEvents(program: Command): void {
  addFilterOptions(
    program
      .command('events')
      .description('list events, filtered by kind, device, register, vCPU, INTID and time or sequence range')
      .argument('<trace>', 'trace file'),
  )
    .option('--limit <n>', 'print at most n events')
    .option('--json', 'print a JSON array (one object per event)')
    .action((path: string, opts: FilterOptions & { limit?: string; json?: boolean }) => {
      const filter = parseFilter(opts);
      const limit = opts.limit === undefined ? Infinity : Number(opts.limit);
      if (!(limit >= 0)) throw new UserError(`--limit: '${opts.limit}' is not a number`);
      const damage = new Damage();
      const reader = damage.open(path);
      try {
        writeEvents(reader.events(filter), limit, !!opts.json);
      } finally {
        reader.close();
      }
      damage.raise();
    });
}

/** Streamed: memory stays flat however many events match, and `| head` ends it early. */
function writeEvents(events: Iterable<Parameters<typeof formatEventLine>[0]>, limit: number, json: boolean): void {
  const out = new Stdout();
  let n = 0;
  if (json) out.write('[');
  for (const e of events) {
    if (n >= limit) break;
    out.write(json ? (n ? ',\n' : '\n') + jsonSafe(JSON.stringify(eventToJson(e))) : terminalSafe(formatEventLine(e)) + '\n');
    n++;
  }
  if (json) out.write(n ? '\n]\n' : ']\n');
  out.flush();
}
