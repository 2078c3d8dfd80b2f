// One chunk of events: built column by column in typed arrays while events arrive, encoded
// into named streams (delta-coded seq/time, dictionary-coded strings and addresses, varints)
// when full, and decoded back into columns and event objects.
//
// Chunk payload (before zstd):
//   "BSC2" | varint count | varint firstSeq | varint firstTime | varint nStreams |
//   nStreams × (string name | varint byteLength | bytes)

import type { NewEvent, TraceEvent, EventKind } from '../model.ts';
import { KIND_BY_CODE } from '../model.ts';
import {
  ByteReader,
  ByteWriter,
  DecodeError,
  splitU64,
  joinU64,
  textDecoder,
  readVarints,
  readZigzagDeltas,
  writeFixed,
  writeFixedI32,
  readFixed,
  readFixedColumn,
  type IntColumn,
  writeU64Deltas,
  readU64Deltas,
  readVarint64s,
} from './bytes.ts';
import {
  FIELD_STREAMS,
  KIND_LAYOUTS,
  STREAM_BY_KEY,
  FLAG_PC,
  FLAG_SRC_LINE,
  type StreamSpec,
  type KindLayout,
} from './layout.ts';

const MAGIC = [0x42, 0x53, 0x43, 0x32]; // "BSC2"

/** Column storage of one field stream while a chunk fills. */
export class StreamColumn {
  readonly spec: StreamSpec;
  n = 0;
  /** varint/zigzag values, or dictionary indices for numdict/str. */
  num: Float64Array;
  /** u64 halves (lo at 2i, hi at 2i+1). */
  u64: Uint32Array;
  /** bool / enum index. */
  u8: Uint8Array;
  /** bytes and u64list values (rare kinds: kept as references). */
  refs: unknown[] = [];
  /** numdict / str dictionaries, in first-seen order. */
  dictNum = new Map<number, number>();
  dictStr = new Map<string, number>();
  entries: (string | number)[] = [];
  lastStr: string | undefined = undefined;
  lastStrIdx = 0;

  constructor(spec: StreamSpec, cap: number) {
    this.spec = spec;
    const e = spec.enc;
    this.num = new Float64Array(e === 'varint' || e === 'zigzag' || e === 'numdict' || e === 'str' ? cap : 0);
    this.u64 = new Uint32Array(e === 'u64' ? cap * 2 : 0);
    this.u8 = new Uint8Array(e === 'u8' ? cap : 0);
  }

  reset(): void {
    this.n = 0;
    this.refs.length = 0;
    this.dictNum.clear();
    this.dictStr.clear();
    this.entries.length = 0;
    this.lastStr = undefined;
    this.lastNum = -1;
  }

  strIndex(s: string): number {
    if (s === this.lastStr) return this.lastStrIdx;
    let i = this.dictStr.get(s);
    if (i === undefined) {
      if (typeof s !== 'string') throw new TypeError(`field ${this.spec.field} must be a string`);
      i = this.entries.length;
      this.dictStr.set(s, i);
      this.entries.push(s);
    }
    this.lastStr = s;
    this.lastStrIdx = i;
    return i;
  }

  lastNum = -1;
  lastNumIdx = 0;

  numIndex(v: number): number {
    if (v === this.lastNum) return this.lastNumIdx;
    let i = this.dictNum.get(v);
    if (i === undefined) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > Number.MAX_SAFE_INTEGER)
        throw new EventError(`field '${this.spec.field}' is ${String(v)}, expected an integer from 0 to 2^53-1`);
      i = this.entries.length;
      this.dictNum.set(v, i);
      this.entries.push(v);
    }
    this.lastNum = v;
    this.lastNumIdx = i;
    return i;
  }
}

/** Raised for events the writer cannot store (missing or mistyped fields). */
export class EventError extends Error {}

type AppendFn = (ev: NewEvent, b: ChunkBuilder, i: number) => void;

/**
 * Generates one append function with a case per kind. Generated code gives each field a direct
 * property access and a fixed column, which is what lets the writer take millions of events a
 * second (a generic loop over field descriptors is several times slower).
 */
function compileAppend(): AppendFn {
  const lines: string[] = ['switch (ev.kind) {'];
  for (const k of KIND_LAYOUTS) {
    lines.push(`case ${JSON.stringify(k.kind)}: {`, `b.kind[i] = ${k.code};`);
    for (const f of k.fields) {
      const s = `b.cols[${f.stream.index}]`;
      const v = `ev[${JSON.stringify(f.name)}]`;
      const miss = `b.missing(ev, ${JSON.stringify(f.name)})`;
      const bad = `b.outOfRange(ev, ${JSON.stringify(f.name)})`;
      lines.push(`{ const v = ${v}; const c = ${s};`);
      switch (f.stream.enc) {
        // Numbers must be in range: a larger double would be stored as garbage varints and spoil
        // the whole chunk; a bad value is an error, never a damaged chunk. (A fraction would only
        // be truncated, so that costlier test is left to the producers.)
        case 'varint':
          lines.push(`if (typeof v !== 'number') ${miss}; if (!(v >= 0 && v <= ${Number.MAX_SAFE_INTEGER})) ${bad}; c.num[c.n++] = v;`);
          break;
        case 'zigzag':
          lines.push(`if (typeof v !== 'number') ${miss}; if (!(v >= -2147483648 && v <= 4294967295)) ${bad}; c.num[c.n++] = v;`);
          break;
        case 'numdict':
          lines.push(`if (v === undefined) ${miss}; c.num[c.n++] = c.numIndex(v);`);
          break;
        case 'str':
          lines.push(`if (v === undefined) ${miss}; c.num[c.n++] = c.strIndex(v);`);
          break;
        case 'u64':
          lines.push(`if (typeof v !== 'bigint') ${miss}; split(v, c.u64, c.n * 2); c.n++;`);
          break;
        case 'u8':
          if (f.type === 'bool') lines.push(`if (typeof v !== 'boolean') ${miss}; c.u8[c.n++] = v ? 1 : 0;`);
          else {
            const map = `b.enums[${k.code}][${JSON.stringify(f.name)}]`;
            lines.push(`const x = ${map}.get(v); if (x === undefined) b.badEnum(ev, ${JSON.stringify(f.name)}); c.u8[c.n++] = x;`);
          }
          break;
        case 'bytes':
          lines.push(`if (!(v instanceof Uint8Array)) ${miss}; c.refs[c.n++] = v; b.refBytes += v.length;`);
          break;
        case 'u64list':
          lines.push(`if (!Array.isArray(v)) ${miss}; for (const x of v) if (typeof x !== 'bigint' || x < 0n || x > 0xffffffffffffffffn) ${bad}; c.refs[c.n++] = v; b.refBytes += v.length * 8;`);
          break;
      }
      lines.push('}');
    }
    lines.push('break; }');
  }
  lines.push('default: b.badKind(ev); }');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function('split', `return function append(ev, b, i) {\n${lines.join('\n')}\n};`) as (
    split: typeof splitU64,
  ) => AppendFn;
  return make(splitU64);
}

const appendByKind = compileAppend();

const ENUM_MAPS: Record<string, Map<string, number>>[] = KIND_LAYOUTS.map((k) => {
  const out: Record<string, Map<string, number>> = {};
  for (const f of k.fields) if (f.values) out[f.name] = new Map(f.values.map((v, i) => [v, i]));
  return out;
});

/** Collects up to `cap` events in columns. */
export class ChunkBuilder {
  readonly cap: number;
  n = 0;
  readonly kind: Uint8Array;
  readonly seq: Float64Array;
  readonly time: Float64Array;
  readonly vcpu: Int32Array;
  readonly flags: Uint8Array;
  readonly pc: Uint32Array;
  nPc = 0;
  readonly srcLine: Float64Array;
  nSrc = 0;
  readonly cols: StreamColumn[];
  readonly enums = ENUM_MAPS;
  /** Bytes held by variable-size values (console bytes, hypercall args). */
  refBytes = 0;

  constructor(cap: number) {
    this.cap = cap;
    this.kind = new Uint8Array(cap);
    this.seq = new Float64Array(cap);
    this.time = new Float64Array(cap);
    this.vcpu = new Int32Array(cap);
    this.flags = new Uint8Array(cap);
    this.pc = new Uint32Array(cap * 2);
    this.srcLine = new Float64Array(cap);
    this.cols = FIELD_STREAMS.map((s) => new StreamColumn(s, cap));
  }

  reset(): void {
    this.n = 0;
    this.nPc = 0;
    this.nSrc = 0;
    this.refBytes = 0;
    for (const c of this.cols) c.reset();
  }

  get full(): boolean {
    return this.n >= this.cap;
  }


  /** Append one event with its final sequence number. Throws EventError for bad events. */
  append(ev: NewEvent, seq: number): void {
    const i = this.n;
    const time = ev.time;
    if (typeof time !== 'number' || !(time >= 0) || !Number.isInteger(time))
      throw new EventError(`event ${seq} (${ev.kind}): time must be a non-negative integer, got ${String(time)}`);
    if (time > Number.MAX_SAFE_INTEGER) throw new EventError(`event ${seq} (${ev.kind}): time must be below 2^53, got ${String(time)}`);
    this.seq[i] = seq;
    this.time[i] = time;
    const vcpu = ev.vcpu === undefined ? -1 : ev.vcpu;
    if (!(vcpu >= -1 && vcpu <= 0xfffe) || (vcpu | 0) !== vcpu)
      throw new EventError(`event ${seq} (${ev.kind}): vcpu must be an integer from -1 (unknown) to 65534, got ${String(vcpu)}`);
    this.vcpu[i] = vcpu;
    let flags = 0;
    if (ev.pc !== undefined) {
      flags |= FLAG_PC;
      splitU64(ev.pc, this.pc, this.nPc * 2);
      this.nPc++;
    }
    if (ev.src_line !== undefined) {
      if (!(ev.src_line >= 0 && ev.src_line <= Number.MAX_SAFE_INTEGER) || !Number.isInteger(ev.src_line))
        throw new EventError(`event ${seq} (${ev.kind}): src_line must be an integer from 0 to 2^53-1, got ${String(ev.src_line)}`);
      flags |= FLAG_SRC_LINE;
      this.srcLine[this.nSrc++] = ev.src_line;
    }
    this.flags[i] = flags;
    // Remember stream positions so a failed append leaves the chunk unchanged.
    try {
      appendByKind(ev, this, i);
    } catch (err) {
      this.rollback(i);
      throw err;
    }
    this.n = i + 1;
  }

  private rollback(i: number): void {
    // Recount each stream's length from the events kept (cheap: only on bad input).
    const counts = new Array<number>(this.cols.length).fill(0);
    let pcs = 0;
    let srcs = 0;
    for (let j = 0; j < i; j++) {
      for (const f of KIND_LAYOUTS[this.kind[j]!]!.fields) counts[f.stream.index]!++;
      if (this.flags[j]! & FLAG_PC) pcs++;
      if (this.flags[j]! & FLAG_SRC_LINE) srcs++;
    }
    this.cols.forEach((c, k) => {
      c.n = counts[k]!;
      c.refs.length = Math.min(c.refs.length, c.n);
    });
    this.nPc = pcs;
    this.nSrc = srcs;
  }

  missing(ev: NewEvent, field: string): never {
    const v = (ev as unknown as Record<string, unknown>)[field];
    const what = v === undefined ? 'is missing' : `has the wrong type (${typeof v})`;
    throw new EventError(`${ev.kind} event: field '${field}' ${what}`);
  }

  outOfRange(ev: NewEvent, field: string): never {
    const v = (ev as unknown as Record<string, unknown>)[field];
    const spec = KIND_LAYOUTS.find((k) => k.kind === ev.kind)!.fields.find((f) => f.name === field)!;
    const range = spec.type === 'u64' || spec.type === 'u64[]' ? '0 to 2^64-1 (as bigints)' : spec.type === 'i32' ? 'a 32-bit integer' : 'an integer from 0 to 2^53-1';
    throw new EventError(`${ev.kind} event: field '${field}' is ${String(v)}, expected ${range}`);
  }

  badEnum(ev: NewEvent, field: string): never {
    const v = (ev as unknown as Record<string, unknown>)[field];
    const allowed = KIND_LAYOUTS.find((k) => k.kind === ev.kind)!.fields.find((f) => f.name === field)!.values!;
    throw new EventError(`${ev.kind} event: field '${field}' is ${JSON.stringify(v)}, expected one of ${allowed.join(', ')}`);
  }

  badKind(ev: NewEvent): never {
    throw new EventError(`unknown event kind ${JSON.stringify((ev as { kind?: unknown }).kind)}`);
  }

  /** Encode the collected events into a chunk payload. */
  encode(out: ByteWriter): Uint8Array {
    const n = this.n;
    out.reset();
    out.bytes(Uint8Array.from(MAGIC));
    out.varint(n);
    const firstSeq = n ? this.seq[0]! : 0;
    const firstTime = n ? this.time[0]! : 0;
    out.varint(firstSeq);
    out.varint(firstTime);
    const used = this.cols.filter((c) => c.n > 0);
    out.varint(7 + used.length);
    const tmp = scratchWriter;

    writeStream(out, '@kind', tmp, (w) => w.bytes(this.kind.subarray(0, n)));
    writeStream(out, '@flags', tmp, (w) => w.bytes(this.flags.subarray(0, n)));
    writeStream(out, '@seq', tmp, (w) => {
      // Dense sequence numbers (the usual case) leave the stream empty.
      if (n === 0 || this.seq[n - 1]! - firstSeq === n - 1) return;
      let prev = firstSeq - 1;
      for (let i = 0; i < n; i++) {
        const s = this.seq[i]!;
        w.varint(s - prev - 1);
        prev = s;
      }
    });
    writeStream(out, '@time', tmp, (w) => {
      let prev = firstTime;
      for (let i = 0; i < n; i++) {
        const t = this.time[i]!;
        w.zigzag(t - prev);
        prev = t;
      }
    });
    writeStream(out, '@vcpu', tmp, (w) => writeFixedI32(w, this.vcpu, n, -1));
    writeStream(out, '@pc', tmp, (w) => writeU64Deltas(w, this.pc, this.nPc));
    writeStream(out, '@src_line', tmp, (w) => {
      let prev = 0;
      for (let i = 0; i < this.nSrc; i++) {
        const v = this.srcLine[i]!;
        w.zigzag(v - prev);
        prev = v;
      }
    });
    for (const c of used) writeStream(out, c.spec.key, tmp, (w) => encodeColumn(c, w));
    return out.view();
  }
}

const scratchWriter = new ByteWriter(1 << 16);

function writeStream(out: ByteWriter, name: string, tmp: ByteWriter, fill: (w: ByteWriter) => void): void {
  tmp.reset();
  fill(tmp);
  out.string(name);
  out.varint(tmp.pos);
  out.bytes(tmp.view());
}

function encodeColumn(c: StreamColumn, w: ByteWriter): void {
  const n = c.n;
  switch (c.spec.enc) {
    case 'varint':
      for (let i = 0; i < n; i++) w.varint(c.num[i]!);
      break;
    case 'zigzag':
      for (let i = 0; i < n; i++) w.zigzag(c.num[i]!);
      break;
    case 'numdict':
      w.varint(c.entries.length);
      for (const e of c.entries) w.varint(e as number);
      writeFixed(w, c.num, n);
      break;
    case 'str':
      w.varint(c.entries.length);
      for (const e of c.entries) w.string(e as string);
      writeFixed(w, c.num, n);
      break;
    case 'u64':
      for (let i = 0; i < n; i++) w.varint64(c.u64[2 * i]!, c.u64[2 * i + 1]!);
      break;
    case 'u8':
      w.bytes(c.u8.subarray(0, n));
      break;
    case 'bytes':
      for (let i = 0; i < n; i++) {
        const b = c.refs[i] as Uint8Array;
        w.varint(b.length);
        w.bytes(b);
      }
      break;
    case 'u64list': {
      const pair = new Uint32Array(2);
      for (let i = 0; i < n; i++) {
        const list = c.refs[i] as (bigint | number)[];
        w.varint(list.length);
        for (const v of list) {
          splitU64(v, pair, 0);
          w.varint64(pair[0]!, pair[1]!);
        }
      }
      break;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** A decoded field stream. */
export interface DecodedStream {
  readonly spec: StreamSpec;
  readonly n: number;
  /** varint/zigzag values, or dictionary indices. */
  readonly num: IntColumn;
  readonly u64: Uint32Array;
  readonly u8: Uint8Array;
  readonly refs: unknown[];
  readonly entries: (string | number)[];
}

/** A fully decoded chunk as plain data (structured-cloneable; see DecodedChunk.columns()). */
export interface ChunkColumns {
  count: number;
  firstSeq: number;
  kind: Uint8Array;
  flags: Uint8Array;
  seq: Float64Array;
  time: Float64Array;
  vcpu: Int32Array;
  pc: Uint32Array;
  srcLine: Float64Array;
  wanted: Int32Array;
  streams: (DecodedStream | undefined)[];
}

/**
 * A chunk decoded into columns: the fast path for scans and aggregation. The common columns
 * (kind, flags, seq, time, vcpu) are decoded at once; PCs, source lines and field streams on
 * first use, so a seek or a kind-filtered scan only pays for what it reads.
 */
export class DecodedChunk {
  readonly count: number;
  readonly firstSeq: number;
  readonly kind: Uint8Array;
  readonly seq: Float64Array;
  readonly time: Float64Array;
  readonly vcpu: Int32Array;
  readonly flags: Uint8Array;
  private readonly readers: Map<string, ByteReader>;
  private readonly wanted: Int32Array;
  private readonly nPc: number;
  private readonly nSrc: number;
  private pcCol: Uint32Array | undefined;
  private srcCol: Float64Array | undefined;
  private readonly decoded: (DecodedStream | undefined)[];

  constructor(payload: Uint8Array | ChunkColumns) {
    if (!(payload instanceof Uint8Array)) {
      // Columns decoded elsewhere (a decoding worker): everything is decoded already.
      const c = payload;
      this.readers = new Map();
      this.count = c.count;
      this.firstSeq = c.firstSeq;
      this.kind = c.kind;
      this.flags = c.flags;
      this.seq = c.seq;
      this.time = c.time;
      this.vcpu = c.vcpu;
      this.wanted = c.wanted;
      this.nPc = c.pc.length / 2;
      this.nSrc = c.srcLine.length;
      this.pcCol = c.pc;
      this.srcCol = c.srcLine;
      this.decoded = c.streams.map((d) =>
        d && d.spec.enc === 'str' ? { ...d, entries: d.entries.map((x) => internString(x as string)) } : d,
      );
      return;
    }
    const { count: n, firstSeq, firstTime, streams } = readStreamTable(payload);
    this.readers = streams;
    this.count = n;
    this.firstSeq = firstSeq;
    // Views into the payload (which the chunk owns): no copies.
    this.kind = this.need('@kind').bytes(n);
    this.flags = this.need('@flags').bytes(n);
    const seq = new Float64Array(n);
    const seqR = this.need('@seq');
    if (seqR.done) {
      for (let i = 0; i < n; i++) seq[i] = firstSeq + i;
    } else {
      readVarints(seqR, seq, n);
      let prev = firstSeq - 1;
      for (let i = 0; i < n; i++) seq[i] = prev = prev + 1 + seq[i]!;
    }
    this.seq = seq;
    this.time = new Float64Array(n);
    readZigzagDeltas(this.need('@time'), this.time, n, firstTime);
    this.vcpu = new Int32Array(n);
    readFixed(this.need('@vcpu'), this.vcpu, n, -1);
    // How many values each stream must hold, from the kinds present.
    const perKind = new Int32Array(KIND_LAYOUTS.length);
    let nPc = 0;
    let nSrc = 0;
    for (let i = 0; i < n; i++) {
      const k = this.kind[i]!;
      if (k >= KIND_LAYOUTS.length) throw new DecodeError(`event ${seq[i]} has unknown kind code ${k}`);
      perKind[k]!++;
      const fl = this.flags[i]!;
      if (fl & FLAG_PC) nPc++;
      if (fl & FLAG_SRC_LINE) nSrc++;
    }
    this.nPc = nPc;
    this.nSrc = nSrc;
    this.wanted = new Int32Array(FIELD_STREAMS.length);
    KIND_LAYOUTS.forEach((k, code) => {
      for (const f of k.fields) this.wanted[f.stream.index]! += perKind[code]!;
    });
    for (const spec of FIELD_STREAMS) if (this.wanted[spec.index]! > 0) this.need(spec.key);
    this.need('@pc');
    this.need('@src_line');
    this.decoded = new Array(FIELD_STREAMS.length).fill(undefined);
  }

  private need(name: string): ByteReader {
    const s = this.readers.get(name);
    if (!s) throw new DecodeError(`chunk has no ${name} stream`);
    return s;
  }

  /** PCs of the events that have one, in order (lo/hi pairs). */
  get pc(): Uint32Array {
    if (!this.pcCol) {
      const pc = new Uint32Array(this.nPc * 2);
      readU64Deltas(this.need('@pc'), pc, this.nPc);
      this.pcCol = pc;
    }
    return this.pcCol;
  }

  get srcLine(): Float64Array {
    if (!this.srcCol) {
      const src = new Float64Array(this.nSrc);
      readZigzagDeltas(this.need('@src_line'), src, this.nSrc, 0);
      this.srcCol = src;
    }
    return this.srcCol;
  }

  /** Field stream by StreamSpec.index (undefined when no event in the chunk uses it). */
  stream(index: number): DecodedStream | undefined {
    let d = this.decoded[index];
    if (d === undefined && this.wanted[index]! > 0) {
      const spec = FIELD_STREAMS[index]!;
      const r = this.need(spec.key);
      d = decodeColumn(spec, new ByteReader(r.buf, r.pos, r.end), this.wanted[index]!);
      this.decoded[index] = d;
    }
    return d;
  }

  /** Decode every column now (full scans, verification). */
  decodeAll(): this {
    void this.pc;
    void this.srcLine;
    for (let i = 0; i < FIELD_STREAMS.length; i++) this.stream(i);
    return this;
  }

  /**
   * Every column, decoded (for posting to another thread; `new DecodedChunk(columns)` there).
   * Throws DecodeError like decodeAll().
   */
  columns(): ChunkColumns {
    this.decodeAll();
    const streams = this.decoded.map((d) => (d ? { spec: d.spec, n: d.n, num: d.num, u64: d.u64, u8: d.u8, refs: d.refs, entries: d.entries } : undefined));
    return {
      count: this.count, firstSeq: this.firstSeq, kind: this.kind, flags: this.flags, seq: this.seq, time: this.time,
      vcpu: this.vcpu, pc: this.pc, srcLine: this.srcLine, wanted: this.wanted, streams,
    };
  }
}

function readStreamTable(payload: Uint8Array): {
  count: number;
  firstSeq: number;
  firstTime: number;
  streams: Map<string, ByteReader>;
} {
  const r = new ByteReader(payload);
  for (const m of MAGIC) if (r.u8() !== m) throw new DecodeError('not a bootscope chunk (bad magic)');
  const count = r.varint();
  const firstSeq = r.varint();
  const firstTime = r.varint();
  const nStreams = r.varint();
  const streams = new Map<string, ByteReader>();
  for (let i = 0; i < nStreams; i++) {
    const name = r.string();
    const len = r.varint();
    if (r.pos + len > payload.length) throw new DecodeError(`stream ${name} runs past the end of the chunk`);
    streams.set(name, new ByteReader(payload, r.pos, r.pos + len));
    r.pos += len;
  }
  return { count, firstSeq, firstTime, streams };
}

/**
 * Decode a chunk payload. Throws DecodeError on a malformed header or common columns; field
 * streams decode on first use (decodeAll() forces them).
 */
export function decodeChunk(data: Uint8Array): DecodedChunk {
  // A plain Uint8Array view, so slice() copies even when data is a Buffer.
  return new DecodedChunk(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/**
 * The internalized copy of a string (V8 keeps one copy of every property name). Dictionary
 * strings (device, register, port names…) are compared with literals on every event by the
 * analyses: internalized strings compare by pointer, others by content. Same value either way.
 */
export function internString(s: string): string {
  const o: Record<string, number> = {};
  o[s] = 0;
  for (const k in o) return k;
  return s;
}

const EMPTY_F64 = new Float64Array(0);
const EMPTY_U32 = new Uint32Array(0);
const EMPTY_U8 = new Uint8Array(0);

function decodeColumn(spec: StreamSpec, r: ByteReader, n: number): DecodedStream {
  let num: IntColumn = EMPTY_F64;
  let u64 = EMPTY_U32;
  let u8: Uint8Array = EMPTY_U8;
  const refs: unknown[] = [];
  const entries: (string | number)[] = [];
  switch (spec.enc) {
    case 'varint':
      num = new Float64Array(n);
      readVarints(r, num, n);
      break;
    case 'zigzag':
      num = new Float64Array(n);
      readVarints(r, num, n);
      for (let i = 0; i < n; i++) {
        const z = num[i]!;
        num[i] = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      }
      break;
    case 'numdict':
    case 'str': {
      const size = r.varint();
      for (let i = 0; i < size; i++) entries.push(spec.enc === 'str' ? internString(r.string()) : r.varint());
      const { col, max } = readFixedColumn(r, n);
      num = col;
      if (n > 0 && max >= size) throw new DecodeError(`${spec.key}: dictionary index ${max} out of range`);
      break;
    }
    case 'u64':
      u64 = new Uint32Array(n * 2);
      readVarint64s(r, u64, n);
      break;
    case 'u8':
      u8 = r.bytes(n); // a view: the chunk owns its payload
      break;
    case 'bytes':
      for (let i = 0; i < n; i++) refs.push(r.bytes(r.varint()).slice());
      break;
    case 'u64list':
      for (let i = 0; i < n; i++) {
        const len = r.varint();
        const list: bigint[] = [];
        for (let j = 0; j < len; j++) {
          const lo = r.varint64();
          list.push(joinU64(lo, r.hi));
        }
        refs.push(list);
      }
      break;
  }
  return { spec, n, num, u64, u8, refs, entries };
}

// ---------------------------------------------------------------------------------------------
// Events from columns

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
function fieldExpr(k: KindLayout, f: KindLayout['fields'][number], num: string, ent: string, u64: string, u8: string, refs: string, p: string): string {
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
        pro.push(`const n${i} = s${i} === undefined ? NONE_NUM : s${i}.num; const d${i} = s${i} === undefined ? NONE_REFS : s${i}.entries;`);
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
