// Console reconstruction: the bytes the guest wrote to its console(s), from `console` events.

import type { EventOf, TraceEvent } from '../capture/model.ts';

export interface ConsoleLine {
  /** Time and sequence number of the event that wrote the line's first byte. */
  time: number;
  seq: number;
  /** Sequence numbers of the first and last console events in the line. */
  lastSeq: number;
  port: string;
  text: string;
}

export interface ConsoleOutput {
  /** Every console byte, in trace order, per port. */
  byPort: Map<string, Uint8Array>;
  /** The port that wrote the most bytes ('' when there was no output). */
  mainPort: string;
}

/** Collects console bytes from a stream of events (any order-preserving iterator). */
export function collectConsole(events: Iterable<TraceEvent>, port?: string): ConsoleOutput {
  const parts = new Map<string, Uint8Array[]>();
  for (const e of events) {
    if (e.kind !== 'console' || (port !== undefined && e.port !== port)) continue;
    let arr = parts.get(e.port);
    if (!arr) parts.set(e.port, (arr = []));
    arr.push(e.bytes);
  }
  const byPort = new Map<string, Uint8Array>();
  let mainPort = '';
  let most = -1;
  for (const [p, chunks] of parts) {
    const joined = Buffer.concat(chunks);
    byPort.set(p, joined);
    if (joined.length > most) {
      most = joined.length;
      mainPort = p;
    }
  }
  return { byPort, mainPort };
}

/** Every console byte in trace order (optionally of one port): what the guest's terminal showed. */
export function consoleBytes(events: Iterable<TraceEvent>, port?: string): Buffer {
  const chunks: Uint8Array[] = [];
  for (const e of events) if (e.kind === 'console' && (port === undefined || e.port === port)) chunks.push(e.bytes);
  return Buffer.concat(chunks);
}

/** Splits console events into lines, each with the time/seq of its first byte. */
export function* consoleLines(events: Iterable<TraceEvent>, port?: string): Generator<ConsoleLine> {
  const open = new Map<string, ConsoleLine>();
  for (const e of events) {
    if (e.kind !== 'console' || (port !== undefined && e.port !== port)) continue;
    yield* splitInto(open, e);
  }
  for (const line of open.values()) if (line.text.length) yield line;
}

function* splitInto(open: Map<string, ConsoleLine>, e: EventOf<'console'>): Generator<ConsoleLine> {
  for (let i = 0; i < e.bytes.length; i++) {
    const b = e.bytes[i]!;
    let line = open.get(e.port);
    if (!line) {
      line = { time: e.time, seq: e.seq, lastSeq: e.seq, port: e.port, text: '' };
      open.set(e.port, line);
    }
    line.lastSeq = e.seq;
    if (b === 0x0a) {
      open.delete(e.port);
      yield line;
    } else if (b !== 0x0d) {
      line.text += String.fromCharCode(b);
    }
  }
}
