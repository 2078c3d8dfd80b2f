// Events from a decoded chunk's columns: generated per-kind constructors (random access and
// filtered reads through ChunkCursor) and the push-based walker the readers use.

import type { EventKind, TraceEvent } from '../model.ts';
import { KIND_BY_CODE } from '../model.ts';
import { joinU64, textDecoder } from './bytes.ts';
import { FIELD_STREAMS, FLAG_PC, FLAG_SRC_LINE, KIND_LAYOUTS, type KindLayout } from './layout.ts';
import type { DecodedChunk, DecodedStream } from './chunk-decode.ts';

/**
 * 64-bit values as bigints without allocating one per event: small values come from a table,
 * others from a direct-mapped cache of recent values (the PCs of a polling loop, register values
 * that repeat). Bigints are immutable primitives, so sharing one between events is invisible.
 */
const SMALL_BIGINTS: readonly bigint[] = Array.from({ length: 1024 }, (_, i) => BigInt(i));
const BIG_CACHE_BITS = 9;
const bigLo = new Uint32Array(1 << BIG_CACHE_BITS);
const bigHi = new Uint32Array(1 << BIG_CACHE_BITS);
const bigVal: bigint[] = new Array<bigint>(1 << BIG_CACHE_BITS).fill(0n); // (0, 0) ↔ 0n: consistent

/** The bigint with uint32 halves lo/hi (same value as joinU64). */
export function bigU64(lo: number, hi: number): bigint {
  if (hi === 0 && lo < 1024) return SMALL_BIGINTS[lo]!;
  const h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> (32 - BIG_CACHE_BITS);
  if (bigLo[h] === lo && bigHi[h] === hi) return bigVal[h]!;
  const v = joinU64(lo, hi);
  bigLo[h] = lo;
  bigHi[h] = hi;
  bigVal[h] = v;
  return v;
}

type MakeFn = (c: DecodedChunk, i: number, cur: Int32Array, fl: number, pc: bigint | undefined, src: number) => TraceEvent;

/** The value expression of one field, reading stream si at cursor expression `p`. */
function fieldExpr(
  k: KindLayout,
  f: KindLayout['fields'][number],
  num: string,
  ent: string,
  u64: string,
  u8: string,
  refs: string,
  p: string,
): string {
  switch (f.stream.enc) {
    case 'varint':
    case 'zigzag':
      return `${num}[${p}]`;
    case 'numdict':
    case 'str':
      return `${ent}[${num}[${p}]]`;
    case 'u64':
      return `big(${u64}[2 * ${p}], ${u64}[2 * ${p} + 1])`;
    case 'u8':
      return f.type === 'bool' ? `${u8}[${p}] === 1` : `VALUES_${k.code}_${f.name}[${u8}[${p}]]`;
    default:
      return `${refs}[${p}]`;
  }
}

/**
 * Object literals for one kind, one per combination of the optional common fields, so an event
 * never changes shape after it is built (adding `pc` later would allocate a property store).
 * Key order matches what JSON output has always shown: common fields, kind fields, pc, src_line.
 */
function literalVariants(k: KindLayout, values: string[], seq: string, time: string, vcpu: string): [string, string, string, string] {
  const base = `seq: ${seq}, time: ${time}, vcpu: ${vcpu}, kind: ${JSON.stringify(k.kind)}${k.fields.map((f, j) => `, ${JSON.stringify(f.name)}: ${values[j]}`).join('')}`;
  return [`{ ${base} }`, `{ ${base}, pc: pc }`, `{ ${base}, src_line: src }`, `{ ${base}, pc: pc, src_line: src }`];
}

function enumConsts(): string {
  const out: string[] = [];
  for (const k of KIND_LAYOUTS)
    for (const f of k.fields) if (f.values) out.push(`const VALUES_${k.code}_${f.name} = ${JSON.stringify(f.values)};`);
  return out.join('\n');
}

/** Generated per-kind constructors (ChunkCursor: random access and filtered reads). */
function compileMakers(): MakeFn[] {
  return KIND_LAYOUTS.map((k: KindLayout) => {
    const pre: string[] = [];
    const values: string[] = [];
    for (const f of k.fields) {
      const si = f.stream.index;
      pre.push(`const s${si} = c.stream(${si}); const p${si} = cur[${si}]++;`);
      values.push(fieldExpr(k, f, `s${si}.num`, `s${si}.entries`, `s${si}.u64`, `s${si}.u8`, `s${si}.refs`, `p${si}`));
    }
    const [v0, v1, v2, v3] = literalVariants(k, values, 'c.seq[i]', 'c.time[i]', 'c.vcpu[i]');
    const body = `${enumConsts()}
return function make_${k.kind}(c, i, cur, fl, pc, src) {
  ${pre.join('\n  ')}
  switch (fl & 3) {
    case 0: return ${v0};
    case 1: return ${v1};
    case 2: return ${v2};
    default: return ${v3};
  }
};`;
    return new Function('big', body)(bigU64) as MakeFn;
  });
}

const MAKERS = compileMakers();

/** Callback of the push-based readers: the event and its kind code (KIND_CODE[e.kind]). */
export type EventCallback = (e: TraceEvent, kindCode: number) => void;

type WalkFn = (c: DecodedChunk, from: number, to: number, cur: Int32Array, pcAt: number, srcAt: number, cb: EventCallback) => void;

/**
 * One generated loop over a decoded chunk that builds every event in [from, to) and hands it to
 * a callback: the columns, stream cursors and kind dispatch all live in locals, which makes it
 * several times cheaper than a cursor or generator per event. Streams must be decoded already
 * (DecodedChunk.decodeAll), so the loop itself cannot fail.
 */
function compileWalker(withSrcLine: boolean): WalkFn {
  const pro: string[] = [];
  for (const s of FIELD_STREAMS) {
    const i = s.index;
    pro.push(`const s${i} = c.stream(${i}); let p${i} = cur[${i}];`);
    switch (s.enc) {
      case 'varint':
      case 'zigzag':
        pro.push(`const n${i} = s${i} === undefined ? NONE_NUM : s${i}.num;`);
        break;
      case 'numdict':
      case 'str':
        pro.push(
          `const n${i} = s${i} === undefined ? NONE_NUM : s${i}.num; const d${i} = s${i} === undefined ? NONE_REFS : s${i}.entries;`,
        );
        break;
      case 'u64':
        pro.push(`const u${i} = s${i} === undefined ? NONE_U32 : s${i}.u64;`);
        break;
      case 'u8':
        pro.push(`const b${i} = s${i} === undefined ? NONE_U8 : s${i}.u8;`);
        break;
      default:
        pro.push(`const r${i} = s${i} === undefined ? NONE_REFS : s${i}.refs;`);
    }
  }
  const cases: string[] = [];
  for (const k of KIND_LAYOUTS) {
    const lines: string[] = [];
    const values: string[] = [];
    k.fields.forEach((f, j) => {
      const i = f.stream.index;
      if (f.stream.enc === 'u64') lines.push(`let f${j}; ${inlineBig(`f${j}`, `u${i}[2 * p${i}]`, `u${i}[2 * p${i} + 1]`)} p${i}++;`);
      else lines.push(`const f${j} = ${fieldExpr(k, f, `n${i}`, `d${i}`, `u${i}`, `b${i}`, `r${i}`, `p${i}`)}; p${i}++;`);
      values.push(`f${j}`);
    });
    const [v0, v1, v2, v3] = literalVariants(k, values, 'SEQ[i]', 'TIME[i]', 'VCPU[i]');
    const build = withSrcLine
      ? `switch (FLAGS[i] & 3) {
        case 0: cb(${v0}, ${k.code}); break;
        case 1: { let pc; ${inlineBig('pc', 'PC[2 * pcAt]', 'PC[2 * pcAt + 1]')} pcAt++; cb(${v1}, ${k.code}); break; }
        case 2: { const src = SRC[srcAt++]; cb(${v2}, ${k.code}); break; }
        default: { let pc; ${inlineBig('pc', 'PC[2 * pcAt]', 'PC[2 * pcAt + 1]')} pcAt++; const src = SRC[srcAt++]; cb(${v3}, ${k.code}); }
      }`
      : `if ((FLAGS[i] & 1) === 0) cb(${v0}, ${k.code});
      else { let pc; ${inlineBig('pc', 'PC[2 * pcAt]', 'PC[2 * pcAt + 1]')} pcAt++; cb(${v1}, ${k.code}); }`;
    cases.push(`case ${k.code}: {
      ${lines.join('\n      ')}
      ${build}
      break;
    }`);
  }
  const body = `${enumConsts()}
const NONE_NUM = new Float64Array(0), NONE_U32 = new Uint32Array(0), NONE_U8 = new Uint8Array(0), NONE_REFS = [];
return function ${withSrcLine ? 'walkChunkSrc' : 'walkChunk'}(c, from, to, cur, pcAt, srcAt, cb) {
  const KIND = c.kind, FLAGS = c.flags, SEQ = c.seq, TIME = c.time, VCPU = c.vcpu, PC = c.pc, SRC = c.srcLine;
  ${pro.join('\n  ')}
  for (let i = from; i < to; i++) {
    switch (KIND[i]) {
    ${cases.join('\n    ')}
    }
  }
};`;
  return new Function('big', 'SMALL', 'BLO', 'BHI', 'BVAL', body)(bigU64, SMALL_BIGINTS, bigLo, bigHi, bigVal) as WalkFn;
}

/** `target = bigU64(lo, hi)` as statements, table and cache hits inline (the walker is too big for V8 to inline bigU64). */
function inlineBig(target: string, lo: string, hi: string): string {
  return `{ const lo = ${lo}, hi = ${hi}; if (hi === 0 && lo < 1024) ${target} = SMALL[lo]; else { const h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> ${32 - BIG_CACHE_BITS}; ${target} = BLO[h] === lo && BHI[h] === hi ? BVAL[h] : big(lo, hi); } }`;
}

// Two walkers: chunks without source lines (emulator traces) get one half the size, which V8
// optimizes sooner; imports (a source line per event) get the one with all four shapes per kind.
const WALK = compileWalker(false);
const WALK_SRC = compileWalker(true);

/**
 * Calls cb(event, kindCode) for events [from, to) of a chunk, in order (all kinds). Decodes
 * every stream first: a damaged chunk throws DecodeError before any event is delivered.
 */
export function forEachInChunk(c: DecodedChunk, from: number, to: number, cb: EventCallback): void {
  c.decodeAll();
  const cur = new ChunkCursor(c);
  while (cur.i < from) cur.skip();
  (c.srcLine.length === 0 ? WALK : WALK_SRC)(c, from, Math.min(to, c.count), cur.positions, cur.pcPosition, cur.srcPosition, cb);
}

/**
 * Walks a decoded chunk's events in order, building event objects. Stream cursors advance
 * with every event, so reading event i needs events 0..i-1 walked (use skipTo for that).
 */
export class ChunkCursor {
  readonly chunk: DecodedChunk;
  i = 0;
  private readonly cur = new Int32Array(FIELD_STREAMS.length);
  private pcAt = 0;
  private srcAt = 0;

  constructor(chunk: DecodedChunk) {
    this.chunk = chunk;
  }

  get done(): boolean {
    return this.i >= this.chunk.count;
  }

  /** Stream positions of the current event (for forEachInChunk). */
  get positions(): Int32Array {
    return this.cur;
  }

  get pcPosition(): number {
    return this.pcAt;
  }

  get srcPosition(): number {
    return this.srcAt;
  }

  /** Advance over the current event without building it. */
  skip(): void {
    const c = this.chunk;
    const k = c.kind[this.i]!;
    for (const f of KIND_LAYOUTS[k]!.fields) this.cur[f.stream.index]!++;
    const fl = c.flags[this.i]!;
    if (fl & FLAG_PC) this.pcAt++;
    if (fl & FLAG_SRC_LINE) this.srcAt++;
    this.i++;
  }

  /** Build the current event and advance. */
  next(): TraceEvent {
    const c = this.chunk;
    const i = this.i;
    const fl = c.flags[i]!;
    let pc: bigint | undefined;
    let src = 0;
    if (fl & FLAG_PC) {
      pc = bigU64(c.pc[2 * this.pcAt]!, c.pc[2 * this.pcAt + 1]!);
      this.pcAt++;
    }
    if (fl & FLAG_SRC_LINE) src = c.srcLine[this.srcAt++]!;
    const ev = MAKERS[c.kind[i]!]!(c, i, this.cur, fl, pc, src);
    this.i = i + 1;
    return ev;
  }
}

/** Kind of event i of a decoded chunk. */
export function kindAt(c: DecodedChunk, i: number): EventKind {
  return KIND_BY_CODE[c.kind[i]!]!;
}

/** Text of a dictionary-coded string stream value (for fast scans that avoid objects). */
export function streamString(s: DecodedStream, pos: number): string {
  return s.entries[s.num[pos]!] as string;
}

export { textDecoder };
