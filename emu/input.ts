// Bytes for the guest's UART: from an input file (`bootscope run --input FILE`), from the
// terminal (`--interactive`), or from a trace's recorded `input` events (`bootscope replay`).
//
// Delivery is deterministic: the run pauses at the first scheduler round boundary whose virtual
// time is at or after the step's time (an idle machine skips exactly to it), the bytes go into the
// UART's receive queue there, and the UART records one `input` event with that virtual time.
// Replaying those events at their recorded times delivers them at the same boundaries, so the
// replayed trace is identical.
//
// Input file format (docs/real-guests.md): when the file starts with `@` or `#`, every line is
//   @<time> <text>        deliver <text> at virtual time <time>
//   @+<delay> <text>      deliver <text> <delay> after the previous line's time
//   # comment / blank     ignored
// <time> is an instruction count (`250000000`, `2.5e8`, `250_000_000`) or a duration with a
// unit at the nominal 1e9 instructions per second (`250ms`, `1.5s`, `40us`). <text> is everything
// after the single space; escapes: \n \r \t \e (ESC) \0 \\ \xHH. Any other file is raw bytes,
// all delivered at time 0.

import { INSTRUCTIONS_PER_SECOND } from './machine/index.ts';

export interface InputStep {
  /** Virtual time (instructions) at which the bytes are due. */
  time: number;
  bytes: Uint8Array;
}

export class InputFormatError extends Error {}

const UNIT: Record<string, number> = {
  '': 1,
  s: INSTRUCTIONS_PER_SECOND,
  ms: INSTRUCTIONS_PER_SECOND / 1e3,
  us: INSTRUCTIONS_PER_SECOND / 1e6,
  ns: INSTRUCTIONS_PER_SECOND / 1e9,
};

/**
 * A virtual time as the input file writes it: an instruction count (`2.5e8`, `250_000_000`) or a
 * duration at the nominal rate (`250ms`, `1.5s`, `40us`); undefined when it is neither.
 */
export function parseVirtualTime(s: string): number | undefined {
  const m = /^([0-9][0-9_.eE+]*)(s|ms|us|ns)?$/.exec(s.trim());
  if (!m) return undefined;
  const n = Number(m[1]!.replace(/_/g, '')) * UNIT[m[2] ?? '']!;
  return Number.isFinite(n) && n >= 0 ? Math.round(n) : undefined;
}

/** Parse an input file (timed `@` lines, or raw bytes at time 0). */
export function parseInputFile(data: Uint8Array, name: string): InputStep[] {
  const timed = data.length > 0 && (data[0] === 0x40 /* @ */ || data[0] === 0x23); /* # */
  if (!timed) return data.length ? [{ time: 0, bytes: data.slice() }] : [];
  const text = Buffer.from(data).toString('utf8');
  const steps: InputStep[] = [];
  let prev = 0;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const where = `${name}:${i + 1}`;
    if (line.trim() === '' || line.startsWith('#')) return;
    const m = /^@(\+?)([0-9][0-9_.eE+]*(?:s|ms|us|ns)?)(?: (.*))?$/.exec(line);
    if (!m) throw new InputFormatError(`${where}: expected '@<time> <text>' (e.g. '@2e8 version\\n'), got '${line.slice(0, 40)}'`);
    const n = parseVirtualTime(m[2]!);
    if (n === undefined) throw new InputFormatError(`${where}: '${m[2]}' is not a time`);
    const time = m[1] ? prev + n : n;
    if (time < prev) throw new InputFormatError(`${where}: time ${time} is before the previous line's ${prev}; times must not go back`);
    prev = time;
    const bytes = unescape(m[3] ?? '', where);
    if (bytes.length) steps.push({ time, bytes });
  });
  return steps;
}

const SIMPLE_ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, e: 27, '0': 0, '\\': 92 };

function unescape(s: string, where: string): Uint8Array {
  const out: number[] = [];
  const utf8 = Buffer.from(s, 'utf8');
  for (let i = 0; i < utf8.length; i++) {
    const b = utf8[i]!;
    if (b !== 92) {
      out.push(b);
      continue;
    }
    const c = String.fromCharCode(utf8[i + 1] ?? 0);
    if (c in SIMPLE_ESCAPES) {
      out.push(SIMPLE_ESCAPES[c]!);
      i++;
    } else if (c === 'x' && /^[0-9a-fA-F]{2}$/.test(utf8.subarray(i + 2, i + 4).toString('latin1'))) {
      out.push(parseInt(utf8.subarray(i + 2, i + 4).toString('latin1'), 16));
      i += 3;
    } else {
      throw new InputFormatError(`${where}: unknown escape '\\${c === '\0' ? '' : c}' (known: \\n \\r \\t \\e \\0 \\\\ \\xHH)`);
    }
  }
  return Uint8Array.from(out);
}

/** A source of UART bytes, asked by runGuest() at deterministic pause points. */
export interface GuestInput {
  /** Virtual time of the next pause (a step due, or the next poll of the terminal); Infinity: none. */
  nextTime(now: number): number;
  /** Bytes to deliver at `now` (called when now >= nextTime()), or null. */
  take(now: number): Uint8Array | null;
  /** True when the host must get a chance to read the terminal at each pause. */
  readonly live: boolean;
  /** Called once the run ends. */
  close?(): void;
  /** Stop request from the user (interactive quit key); runGuest wires it to the scheduler. */
  onQuit?: (message: string) => void;
}

/** Steps from a file or a trace, delivered at their times. */
export class ScheduledInput implements GuestInput {
  readonly live = false;
  private readonly steps: InputStep[];
  private i = 0;

  constructor(steps: InputStep[]) {
    this.steps = steps.slice().sort((a, b) => a.time - b.time);
  }

  nextTime(): number {
    return this.i < this.steps.length ? this.steps[this.i]!.time : Infinity;
  }

  take(now: number): Uint8Array | null {
    const parts: Uint8Array[] = [];
    while (this.i < this.steps.length && this.steps[this.i]!.time <= now) parts.push(this.steps[this.i++]!.bytes);
    if (parts.length === 0) return null;
    return parts.length === 1 ? parts[0]! : Uint8Array.from(parts.flatMap((p) => [...p]));
  }
}

/** Virtual time between two looks at the terminal (1 ms at the nominal rate). */
export const TERMINAL_POLL = INSTRUCTIONS_PER_SECOND / 1000;
/** Ctrl-A then x ends an interactive run (as in QEMU's -nographic). */
const CTRL_A = 1;

/** Keys typed on a terminal (stdin in raw mode), delivered at the next poll point. */
export class TerminalInput implements GuestInput {
  readonly live = true;
  private pending: number[] = [];
  private readonly stdin: NodeJS.ReadStream;
  private readonly onData: (d: Buffer) => void;
  private ctrlA = false;
  /** Ctrl-A x seen: stop at the first poll after what was typed before it has been delivered. */
  private quitRequested = false;
  onQuit?: (message: string) => void;

  constructor(stdin: NodeJS.ReadStream = process.stdin) {
    this.stdin = stdin;
    this.onData = (d) => {
      for (const b of d) {
        if (this.ctrlA) {
          this.ctrlA = false;
          if (b === 0x78 /* x */) {
            this.quitRequested = true;
            continue;
          }
          if (b !== CTRL_A) this.pending.push(CTRL_A);
        } else if (b === CTRL_A) {
          this.ctrlA = true;
          continue;
        }
        this.pending.push(b);
      }
    };
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on('data', this.onData);
    stdin.resume();
  }

  nextTime(now: number): number {
    return (Math.floor(now / TERMINAL_POLL) + 1) * TERMINAL_POLL;
  }

  take(): Uint8Array | null {
    if (this.pending.length === 0) {
      if (this.quitRequested) this.onQuit?.('stopped from the terminal (Ctrl-A x)');
      return null;
    }
    const b = Uint8Array.from(this.pending);
    this.pending = [];
    return b;
  }

  close(): void {
    this.stdin.off('data', this.onData);
    if (this.stdin.isTTY) this.stdin.setRawMode(false);
    this.stdin.pause();
  }
}
