// `bootscope console TRACE`: the bytes the guest wrote to its console, reconstructed from events.

import type { Command } from 'commander';
import { Damage } from '../damage.ts';
import { consoleBytes, consoleLines } from '../../analyze/console.ts';
import { timeToNs } from '../../capture/model.ts';
import { toJson } from '../output.ts';

export function registerConsole(program: Command): void {
  program
    .command('console')
    .description('print what the guest wrote to its console, byte for byte')
    .argument('<trace>', 'trace file')
    .option('--port <name>', 'only this console device (default: all, in trace order)')
    .option('--times', 'prefix each line with its virtual time and sequence number')
    .option('--json', 'print lines with times as JSON')
    .action((path: string, opts: { port?: string; times?: boolean; json?: boolean }) => {
      const damage = new Damage();
      const reader = damage.open(path);
      try {
        const events = reader.events({ kinds: ['console'] });
        if (opts.json || opts.times) {
          const lines = [...consoleLines(events, opts.port)];
          if (opts.json) {
            const clock = reader.meta.clock;
            process.stdout.write(toJson(lines.map((l) => ({ ...l, ns: timeToNs(l.time, clock) }))) + '\n');
          } else {
            for (const l of lines) process.stdout.write(`[${String(l.time).padStart(12)} #${l.seq}] ${l.text}\n`);
          }
          return;
        }
        process.stdout.write(consoleBytes(events, opts.port));
      } finally {
        reader.close();
        damage.raise();
      }
    });
}
