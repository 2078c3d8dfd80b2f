// Worker thread for `bootscope import`: the importers parse synchronously, so the import runs here
// and the main thread stays free to hear SIGINT/SIGTERM (cli/signals.ts). The signal arrives as a
// number in shared memory, which the import reads between buffers (ImportOptions.interrupt).

import { parentPort, workerData } from 'node:worker_threads';
import { importFile, type ImportOptions } from '../capture/import/index.ts';
import { signalName } from './signals.ts';

export type WorkerImportOptions = Omit<ImportOptions, 'interrupt' | 'onProgress'>;

/** What the worker posts: progress, then the result or the error (by name, for the one-line message). */
export type ImportWorkerMessage =
  | { type: 'progress'; done: number; total: number }
  | { type: 'done'; result: Awaited<ReturnType<typeof importFile>> }
  | { type: 'error'; name: string; message: string; stack?: string; code?: string; path?: string };

const { opts, shared } = workerData as { opts: WorkerImportOptions; shared: Int32Array };
const port = parentPort!;
const post = (m: ImportWorkerMessage): void => port.postMessage(m);

try {
  const result = await importFile({
    ...opts,
    interrupt: () => signalName(Atomics.load(shared, 0)),
    onProgress: (done, total) => post({ type: 'progress', done, total }),
  });
  post({ type: 'done', result });
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  // A system error keeps its code and path: the CLI prints those in one line (cli/errors.ts).
  const { code, path } = e as NodeJS.ErrnoException;
  post({
    type: 'error',
    name: e.name,
    message: e.message,
    ...(e.stack ? { stack: e.stack } : {}),
    ...(code ? { code } : {}),
    ...(path ? { path } : {}),
  });
}
