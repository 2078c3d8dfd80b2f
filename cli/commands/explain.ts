// `bootscope explain uart|disk TRACE [--json]`: why the guest has, or has no, UART console or root disk.

import type { Command } from 'commander';
import { Damage } from '../damage.ts';
import { explainUart, formatUartExplanation } from '../../analyze/explain-uart.ts';
import { explainDisk, formatDiskExplanation } from '../../analyze/explain-disk.ts';
import { startProgress, toJson } from '../output.ts';
import { UserError } from '../errors.ts';
import type { ReplayOptions } from '../../analyze/engine.ts';
import type { TraceReader } from '../../capture/store/index.ts';

interface TopicImpl {
  run(src: TraceReader, opts: ReplayOptions): object;
  format(x: object): string;
}

/** Each topic's analysis and its text form (the pair share one result type). */
function topic<T extends object>(run: (src: TraceReader, opts: ReplayOptions) => T, format: (x: T) => string): TopicImpl {
  return { run, format: (x) => format(x as T) };
}

const TOPICS: Record<'uart' | 'disk', TopicImpl> = {
  uart: topic(explainUart, formatUartExplanation),
  disk: topic(explainDisk, formatDiskExplanation),
};

type Topic = keyof typeof TOPICS;
const isTopic = (t: string): t is Topic => Object.hasOwn(TOPICS, t);

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description(
      'explain a device: uart (DT node to guest accesses and interrupts: why there is, or is no, console); disk (bus, device, driver, negotiation, I/O and root mount: why there is, or is no, root disk)',
    )
    .argument('<topic>', 'what to explain: uart or disk')
    .argument('<trace>', 'trace file')
    .option('--json', 'print JSON')
    .action((topic: string, path: string, opts: { json?: boolean }) => {
      if (!isTopic(topic)) throw new UserError(`explain: unknown topic '${topic}' (expected one of: ${Object.keys(TOPICS).join(', ')})`);
      const t = TOPICS[topic];
      const damage = new Damage();
      const reader = damage.open(path);
      const progress = startProgress('explaining', 'events', reader.eventCount);
      let x: object;
      try {
        x = t.run(reader, { onProgress: (n) => progress.update(n), progressEvery: 250_000 });
      } finally {
        progress.stop();
        reader.close();
      }
      process.stdout.write(opts.json ? toJson({ trace: path, ...x }) + '\n' : t.format(x));
      damage.raise();
    });
}
