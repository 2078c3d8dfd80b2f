// `bootscope console TRACE`: the bytes the guest wrote to its console, reconstructed from events.
// Streamed: memory stays flat however much the guest printed, and `| head` ends it early.

import type { Command } from 'commander';
import { Damage } from '../damage.ts';
import { consoleLines } from '../../analyze/console.ts';
import { timeToNs } from '../../capture/model.ts';
import { jsonSafe, terminalSafe } from '../output.ts';
import { Stdout } from '../stdout.ts';

export function registerConsole(program: Command): void {
  program
    .command('console')
    .description('print what the guest wrote to its console, byte for byte')
    .argument('<trace>', 'trace file')
    .option('--port <name>', 'only this console device (default: all, in trace order)')
    .option('--times', 'prefix each line with its virtual time and sequence number (control characters shown as \\xNN)')
    .option('--json', 'print lines with times as a JSON array (one object per line)')
    .action((path: string, opts: { port?: string; times?: boolean; json?: boolean }) => {
      const damage = new Damage();
      const reader = damage.open(path);
      const out = new Stdout();
      try {
        const events = reader.events({ kinds: ['console'] });
        if (opts.json) {
          const clock = reader.meta.clock;
          let n = 0;
          for (const l of consoleLines(events, opts.port))
            out.write((n++ ? ',\n' : '[\n') + jsonSafe(JSON.stringify({ ...l, ns: timeToNs(l.time, clock) })));
          out.write(n ? '\n]\n' : '[]\n');
        } else if (opts.times) {
          for (const l of consoleLines(events, opts.port))
            out.write(`[${String(l.time).padStart(12)} #${l.seq}] ${terminalSafe(l.text)}\n`);
        } else {
          // Byte for byte, escape sequences included: that is what the guest's terminal showed.
          for (const e of events) if (e.kind === 'console' && (opts.port === undefined || e.port === opts.port)) out.write(e.bytes);
        }
        out.flush();
      } finally {
        reader.close();
      }
      damage.raise();
    });
}
