// Ctrl-C (SIGINT) and SIGTERM during a command that writes a trace (run, import). The first signal
// asks the work to stop at its next safe point: what was recorded is committed, the trace is closed
// and says it was interrupted, and the command exits with 128 + the signal number (130, 143), as a
// shell expects of a process a signal stopped. A second signal exits at once; the trace is then as
// after a crash: readable up to its last committed chunk and reported as incomplete.

import { constants } from 'node:os';

const HANDLED = ['SIGINT', 'SIGTERM'] as const;
type Handled = (typeof HANDLED)[number];

export interface Interrupts {
  /** The signal that arrived ('SIGINT', 'SIGTERM'), or undefined. */
  reason(): string | undefined;
  /** The same for a worker thread: element 0 is 0, or the number of the signal that arrived. */
  readonly shared: Int32Array;
  /** The exit code for the signal that arrived (128 + its number), or undefined. */
  exitCode(): number | undefined;
  /** Stop listening (default signal behaviour again). */
  dispose(): void;
}

/** The name of a signal number shared through Interrupts.shared (undefined for 0). */
export function signalName(n: number): string | undefined {
  if (n === 0) return undefined;
  return HANDLED.find((s) => constants.signals[s] === n) ?? `signal ${n}`;
}

/** Listen for SIGINT and SIGTERM until dispose(); `what` says in messages what is being stopped. */
export function catchInterrupts(what: string): Interrupts {
  const shared = new Int32Array(new SharedArrayBuffer(4));
  let got: Handled | undefined;
  const on = (sig: Handled): void => {
    const code = 128 + constants.signals[sig];
    if (got !== undefined) {
      process.stderr.write(`\nbootscope: ${sig} again: stopping now; the trace is readable up to its last committed chunk\n`);
      process.exit(code);
    }
    got = sig;
    Atomics.store(shared, 0, constants.signals[sig]);
    process.stderr.write(`\nbootscope: ${sig}: stopping ${what} and closing the trace (again to stop at once)\n`);
  };
  const handlers = HANDLED.map((sig) => [sig, () => on(sig)] as const);
  for (const [sig, h] of handlers) process.on(sig, h);
  return {
    reason: () => got,
    shared,
    exitCode: () => (got === undefined ? undefined : 128 + constants.signals[got]),
    dispose: () => {
      for (const [sig, h] of handlers) process.off(sig, h);
    },
  };
}
