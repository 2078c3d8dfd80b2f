// One chunk of events: built column by column in typed arrays while events arrive, and encoded
// into named streams (delta-coded seq/time, dictionary-coded strings and addresses, varints)
// when full. chunk-decode.ts reads a payload back into columns, chunk-events.ts turns columns
// into event objects.
//
// Chunk payload (before zstd):
//   "BSC2" | varint count | varint firstSeq | varint firstTime | varint nStreams |
//   nStreams × (string name | varint byteLength | bytes)

import type { NewEvent } from '../model.ts';
import { ByteWriter, splitU64, writeFixed, writeFixedI32, writeU64Deltas } from './bytes.ts';
import { FIELD_STREAMS, FLAG_PC, FLAG_SRC_LINE, KIND_LAYOUTS, type StreamSpec } from './layout.ts';

export const MAGIC = [0x42, 0x53, 0x43, 0x32]; // "BSC2"

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
          lines.push(
            `if (!Array.isArray(v)) ${miss}; for (const x of v) if (typeof x !== 'bigint' || x < 0n || x > 0xffffffffffffffffn) ${bad}; c.refs[c.n++] = v; b.refBytes += v.length * 8;`,
          );
          break;
      }
      lines.push('}');
    }
    lines.push('break; }');
  }
  lines.push('default: b.badKind(ev); }');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function('split', `return function append(ev, b, i) {\n${lines.join('\n')}\n};`) as (split: typeof splitU64) => AppendFn;
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
    const range =
      spec.type === 'u64' || spec.type === 'u64[]'
        ? '0 to 2^64-1 (as bigints)'
        : spec.type === 'i32'
          ? 'a 32-bit integer'
          : 'an integer from 0 to 2^53-1';
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
