// Rows of the SQL `events` table built straight from decoded columns (no event objects):
// better-sqlite3's virtual tables cost ~0.5 µs a row on their own, so the JS side must not
// add much more. One generated filler per kind writes that kind's columns into the row array.

import { EVENT_KINDS, KIND_CODE, type EventFilter } from '../model.ts';
import { joinU64 } from './bytes.ts';
import type { DecodedChunk } from './chunk-decode.ts';
import { FIELD_STREAMS, FLAG_PC, FLAG_SRC_LINE, KIND_LAYOUTS } from './layout.ts';
import type { TraceReader } from './reader.ts';

/** Columns of the `events` table, in order: common fields, then every kind's fields. */
export const EVENTS_COLUMNS: readonly string[] = [
  'seq',
  'time',
  'vcpu',
  'kind',
  'pc',
  'src_line',
  ...new Set(KIND_LAYOUTS.flatMap((k) => k.fields.map((f) => f.name))),
];

const TWO32 = 4294967296;

/** A u64 (as halves) as SQLite sees it: INTEGER; values >= 2^63 as their two's-complement int64. */
export function sqlU64(lo: number, hi: number): number | bigint {
  if (hi < 0x200000) return hi * TWO32 + lo; // < 2^53: exact as a number
  return BigInt.asIntN(64, joinU64(lo, hi));
}

function u64List(list: bigint[]): string {
  let s = '[';
  for (let i = 0; i < list.length; i++) s += `${i ? ',' : ''}"0x${list[i]!.toString(16)}"`;
  return s + ']';
}

function blob(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

type Fill = (c: DecodedChunk, cur: Int32Array, row: unknown[], u64: typeof sqlU64, list: typeof u64List, bl: typeof blob) => void;

/** Generated per-kind fillers (same layout walk as the event constructors in chunk.ts). */
const FILLERS: Fill[] = KIND_LAYOUTS.map((k) => {
  const lines: string[] = [];
  const consts: string[] = [];
  for (const f of k.fields) {
    const si = f.stream.index;
    const col = EVENTS_COLUMNS.indexOf(f.name);
    lines.push(`{ const s = c.stream(${si}); const p = cur[${si}]++;`);
    switch (f.stream.enc) {
      case 'varint':
      case 'zigzag':
        lines.push(`row[${col}] = s.num[p]; }`);
        break;
      case 'numdict':
      case 'str':
        lines.push(`row[${col}] = s.entries[s.num[p]]; }`);
        break;
      case 'u64':
        lines.push(`row[${col}] = u64(s.u64[2 * p], s.u64[2 * p + 1]); }`);
        break;
      case 'u8':
        if (f.type === 'bool') lines.push(`row[${col}] = s.u8[p]; }`);
        else {
          consts.push(`const V_${f.name} = ${JSON.stringify(f.values)};`);
          lines.push(`row[${col}] = V_${f.name}[s.u8[p]]; }`);
        }
        break;
      case 'bytes':
        lines.push(`row[${col}] = bl(s.refs[p]); }`);
        break;
      case 'u64list':
        lines.push(`row[${col}] = list(s.refs[p]); }`);
        break;
    }
  }
  return new Function(
    `${consts.join('\n')}\nreturn function fill_${k.kind}(c, cur, row, u64, list, bl) {\n${lines.join('\n')}\n};`,
  )() as Fill;
});

/** Per kind: the column indexes of its fields (nulled when the next row is another kind). */
const FIELD_COLUMNS: readonly (readonly number[])[] = KIND_LAYOUTS.map((k) => k.fields.map((f) => EVENTS_COLUMNS.indexOf(f.name)));

/**
 * Rows for the events table: chunks pruned by the pushed-down filter, then rows by their cheap
 * columns (kind, time, seq, vCPU). Device/register/INTID terms prune chunks only; SQLite applies
 * the full WHERE anyway. The row array is reused: better-sqlite3 copies it on each yield.
 */
export function* eventRows(reader: TraceReader, f: EventFilter): Generator<unknown[]> {
  const row = new Array<unknown>(EVENTS_COLUMNS.length).fill(null);
  const kindMask = f.kinds ? f.kinds.reduce((m, k) => m | (1 << KIND_CODE[k]), 0) : -1;
  const fromSeq = f.fromSeq ?? -Infinity;
  const toSeq = f.toSeq ?? Infinity;
  const fromTime = f.fromTime ?? -Infinity;
  const toTime = f.toTime ?? Infinity;
  const vcpus = f.vcpus;
  let prevKind = -1;
  for (const info of reader.candidateChunks(f)) {
    // Decode every column up front, so a damaged stream is a reported, skipped chunk rather
    // than an error halfway through the rows.
    const c = reader.chunk(info, true);
    if (!c) continue;
    const cur = new Int32Array(FIELD_STREAMS.length);
    const pc = c.flags.some((x) => (x & FLAG_PC) !== 0) ? c.pc : undefined;
    const src = c.flags.some((x) => (x & FLAG_SRC_LINE) !== 0) ? c.srcLine : undefined;
    let pcAt = 0;
    let srcAt = 0;
    for (let i = 0; i < c.count; i++) {
      const k = c.kind[i]!;
      const fl = c.flags[i]!;
      const seq = c.seq[i]!;
      const t = c.time[i]!;
      if (seq >= toSeq) return;
      const wanted = ((1 << k) & kindMask) !== 0 && seq >= fromSeq && t >= fromTime && t < toTime && (!vcpus || vcpus.includes(c.vcpu[i]!));
      if (!wanted) {
        for (const f2 of KIND_LAYOUTS[k]!.fields) cur[f2.stream.index]!++;
        if (fl & FLAG_PC) pcAt++;
        if (fl & FLAG_SRC_LINE) srcAt++;
        continue;
      }
      if (k !== prevKind) {
        if (prevKind >= 0) for (const col of FIELD_COLUMNS[prevKind]!) row[col] = null;
        prevKind = k;
      }
      row[0] = seq;
      row[1] = t;
      row[2] = c.vcpu[i]!;
      row[3] = EVENT_KINDS[k]!;
      if (fl & FLAG_PC) {
        row[4] = sqlU64(pc![2 * pcAt]!, pc![2 * pcAt + 1]!);
        pcAt++;
      } else row[4] = null;
      row[5] = fl & FLAG_SRC_LINE ? src![srcAt++]! : null;
      FILLERS[k]!(c, cur, row, sqlU64, u64List, blob);
      yield row;
    }
  }
}
