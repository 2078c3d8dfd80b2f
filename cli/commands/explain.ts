// `bootscope explain uart TRACE [--json]`: why the guest has, or has no, UART console.

import type { Command } from 'commander';
import { Damage } from '../damage.ts';
import { explainUart, formatUartExplanation } from '../../analyze/explain-uart.ts';
import { startProgress, toJson } from '../output.ts';
import { UserError } from '../errors.ts';

const TOPICS = ['uart'];

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('explain a device from DT node to guest accesses and interrupts (topics: uart)')
    .argument('<topic>', 'what to explain: uart')
    .argument('<trace>', 'trace file')
    .option('--json', 'print JSON')
    .action((topic: string, path: string, opts: { json?: boolean }) => {
      if (!TOPICS.includes(topic)) throw new UserError(`explain: unknown topic '${topic}' (expected one of: ${TOPICS.join(', ')})`);
      const damage = new Damage();
      const reader = damage.open(path);
      const progress = startProgress('explaining', 'events', reader.eventCount);
      let x;
      try {
        x = explainUart(reader, { onProgress: (n) => progress.update(n), progressEvery: 250_000 });
      } finally {
        progress.stop();
        reader.close();
      }
      process.stdout.write(opts.json ? toJson({ trace: path, ...x }) + '\n' : formatUartExplanation(x));
      damage.raise();
    });
}
