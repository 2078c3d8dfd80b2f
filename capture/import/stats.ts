// What an import saw, line by line: every line is parsed, unmapped (a known-format line whose
// event has no place in the model), blank, or bad (not understood). Nothing is dropped silently.

export interface BadLine {
  line: number;
  reason: string;
  text: string;
}

export interface ImportStats {
  /** Lines (or records, for binary formats) read. */
  lines: number;
  /** Lines understood and turned into events (or consumed as context, e.g. kvm_entry). */
  parsed: number;
  blank: number;
  /** Lines in the format that could not be understood. */
  bad: number;
  /** Header/comment lines of the format (ftrace '#' lines, trace-cmd header). */
  header: number;
  /** Well-formed lines whose event the model has no place for, per event name. */
  unmapped: Record<string, number>;
  /** First few bad lines, for the report. */
  badSamples: BadLine[];
  /** Events produced. */
  events: number;
  /** Pairs of lines describing one access that were stored as one MMIO event. */
  merged: number;
  /** Lines whose timestamp was earlier than the line before (their events keep the earlier time). */
  backwards: BackwardsTime;
}

/** Timestamps that went backwards: counted and reported, the event keeps the previous time. */
export interface BackwardsTime {
  lines: number;
  /** Largest step back, in ns, and the line where it happened. */
  maxStepNs: number;
  maxStepLine: number;
  /** First few lines, with how far back each went. */
  samples: { line: number; stepNs: number }[];
}

export const MAX_BAD_SAMPLES = 10;

export function newStats(): ImportStats {
  return {
    lines: 0,
    parsed: 0,
    blank: 0,
    bad: 0,
    header: 0,
    unmapped: {},
    badSamples: [],
    events: 0,
    merged: 0,
    backwards: { lines: 0, maxStepNs: 0, maxStepLine: 0, samples: [] },
  };
}

/** Record that `line`'s timestamp is `stepNs` before the previous one (the caller clamps). */
export function noteBackwards(s: ImportStats, line: number, stepNs: number): void {
  const b = s.backwards;
  b.lines++;
  if (stepNs > b.maxStepNs) {
    b.maxStepNs = stepNs;
    b.maxStepLine = line;
  }
  if (b.samples.length < MAX_BAD_SAMPLES) b.samples.push({ line, stepNs });
}

/** Distinct unmapped event names kept by name; more (hostile input) are counted under OTHER_UNMAPPED. */
export const MAX_UNMAPPED_NAMES = 500;
export const OTHER_UNMAPPED = '(other names)';

/** Count a well-formed line of an event the model has no place for. */
export function countUnmapped(s: ImportStats, name: string): void {
  const u = s.unmapped;
  if (u[name] === undefined && Object.keys(u).length >= MAX_UNMAPPED_NAMES) name = OTHER_UNMAPPED;
  u[name] = (u[name] ?? 0) + 1;
}

/** An event name as tracing systems spell them: [a-z0-9_], 2 to 128 characters. */
export function isEventName(t: string, p: number, e: number): boolean {
  if (e - p < 2 || e - p > 128) return false;
  for (let i = p; i < e; i++) {
    const c = t.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95)) return false;
  }
  return true;
}

export function unmappedTotal(s: ImportStats): number {
  let n = 0;
  for (const k in s.unmapped) n += s.unmapped[k]!;
  return n;
}
