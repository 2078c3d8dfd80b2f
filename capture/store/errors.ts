// Errors the store raises: one line, naming the file and what was wrong.

/** A problem with a trace file that the user must see (bad input, not a bug). */
export class TraceError extends Error {
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'TraceError';
    this.file = file;
  }
}

/** A part of a trace that could not be read; reading continues past it. */
export interface TraceProblem {
  /** Chunk id, or -1 for problems not tied to one chunk. */
  chunk: number;
  /** Sequence range the problem hides (inclusive), when known. */
  seqFirst?: number;
  seqLast?: number;
  message: string;
}

export function describeProblem(file: string, p: TraceProblem): string {
  const where = p.chunk >= 0 ? `chunk ${p.chunk}` : 'trace';
  const range = p.seqFirst !== undefined ? ` (events ${p.seqFirst}..${p.seqLast}) skipped` : '';
  return `${file}: ${where}: ${p.message}${range}`;
}

/** "2 chunks could not be read (4,000 events)", or the trace-level problem when no chunk is named. */
export function damageSummary(problems: readonly TraceProblem[]): string {
  const chunks = problems.filter((p) => p.chunk >= 0);
  if (!chunks.length) return problems.map((p) => p.message).join('; ');
  let events = 0;
  let known = true;
  for (const p of chunks) {
    if (p.seqFirst === undefined || p.seqLast === undefined) known = false;
    else events += p.seqLast - p.seqFirst + 1;
  }
  const rest =
    problems.length > chunks.length
      ? `; ${problems
          .filter((p) => p.chunk < 0)
          .map((p) => p.message)
          .join('; ')}`
      : '';
  return `${chunks.length} chunk${chunks.length === 1 ? '' : 's'} could not be read${known ? ` (${events} events)` : ''}${rest}`;
}
