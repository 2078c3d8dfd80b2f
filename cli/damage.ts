// Damaged traces, as every reading command reports them: each damaged chunk is named on stderr when
// it is met (which chunk, which events), the command prints what it could read, and then fails with
// one line saying the output is incomplete (exit status 1). Nothing is skipped silently.

import { damageSummary, openTrace, type ReaderOptions, type TraceProblem, type TraceReader } from '../capture/store/index.ts';

export { damageSummary };
import { UserError } from './errors.ts';

/** The output is incomplete because a trace is damaged (exit status 1, like any error). */
export class DamagedTraceError extends UserError {
  override name = 'DamagedTraceError';
}

export class Damage {
  private readonly seen: { path: string; problem: TraceProblem }[] = [];

  /** Open a trace whose damaged chunks are reported on stderr as they are met, and remembered. */
  open(path: string, opts: Omit<ReaderOptions, 'onProblem'> = {}): TraceReader {
    return openTrace(path, { ...opts, onProblem: this.listener(path) });
  }

  /** The `onProblem` callback for a reader of `path` opened elsewhere (e.g. by the replay). */
  listener(path: string): NonNullable<ReaderOptions['onProblem']> {
    return (problem, text) => {
      // A second pass over the same chunk (e.g. a filtered re-read) is the same damage.
      if (problem.chunk >= 0 && this.seen.some((s) => s.path === path && s.problem.chunk === problem.chunk)) return;
      this.seen.push({ path, problem });
      process.stderr.write(`bootscope: ${text}\n`);
    };
  }

  get any(): boolean {
    return this.seen.length > 0;
  }

  /** Throw the one-line error when anything was damaged; call it after printing the output. */
  raise(): void {
    if (!this.seen.length) return;
    const paths = [...new Set(this.seen.map((s) => s.path))];
    const first = paths[0]!;
    const mine = this.seen.filter((s) => s.path === first).map((s) => s.problem);
    const also = paths.length > 1 ? `; ${paths.slice(1).join(', ')} damaged too` : '';
    throw new DamagedTraceError(`${first}: damaged: ${damageSummary(mine)}; the output above is incomplete${also}`);
  }
}
