// Decoding a chunk payload (format in chunk.ts) back into its field streams, as columns.

import {
  ByteReader,
  DecodeError,
  joinU64,
  readFixed,
  readFixedColumn,
  readU64Deltas,
  readVarint64s,
  readVarints,
  readZigzagDeltas,
  type IntColumn,
} from './bytes.ts';
import { FIELD_STREAMS, FLAG_PC, FLAG_SRC_LINE, KIND_LAYOUTS, type StreamSpec } from './layout.ts';
import { MAGIC } from './chunk.ts';

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
    const streams = this.decoded.map((d) =>
      d ? { spec: d.spec, n: d.n, num: d.num, u64: d.u64, u8: d.u8, refs: d.refs, entries: d.entries } : undefined,
    );
    return {
      count: this.count,
      firstSeq: this.firstSeq,
      kind: this.kind,
      flags: this.flags,
      seq: this.seq,
      time: this.time,
      vcpu: this.vcpu,
      pc: this.pc,
      srcLine: this.srcLine,
      wanted: this.wanted,
      streams,
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
