// Growable byte buffer and cursor with LEB128 varints, the building blocks of chunk streams.
//
// Numbers are JS doubles: varint() takes any integer in [0, 2^53); 64-bit values travel as
// (lo, hi) uint32 halves so no BigInt is touched on the hot path.

const TWO32 = 4294967296;

export class ByteWriter {
  buf: Uint8Array;
  pos = 0;

  constructor(initial = 1024) {
    this.buf = new Uint8Array(initial);
  }

  private grow(need: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  reset(): void {
    this.pos = 0;
  }

  /** Make room for n more bytes (then write through buf/pos directly). */
  reserve(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  u8(v: number): void {
    if (this.pos + 1 > this.buf.length) this.grow(1);
    this.buf[this.pos++] = v;
  }

  /** Unsigned varint of an integer in [0, 2^53). */
  varint(v: number): void {
    if (this.pos + 10 > this.buf.length) this.grow(10);
    const buf = this.buf;
    let pos = this.pos;
    if (v < 0x80000000) {
      while (v >= 0x80) {
        buf[pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      buf[pos++] = v;
    } else {
      while (v >= 0x80) {
        buf[pos++] = (v % 128) | 0x80;
        v = Math.floor(v / 128);
      }
      buf[pos++] = v;
    }
    this.pos = pos;
  }

  /** Signed integer (|v| < 2^52) as a zigzag varint. */
  zigzag(v: number): void {
    this.varint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  /** Unsigned 64-bit value given as uint32 halves, as one LEB128 varint. */
  varint64(lo: number, hi: number): void {
    if (hi === 0) {
      this.varint(lo);
      return;
    }
    if (this.pos + 10 > this.buf.length) this.grow(10);
    const buf = this.buf;
    let pos = this.pos;
    // 32 low bits need 5 groups (35 bits); the 5th group takes 4 bits of lo and 3 of hi.
    for (let i = 0; i < 4; i++) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    let rest = lo | ((hi & 0x7) << 4);
    hi >>>= 3;
    if (hi === 0) {
      buf[pos++] = rest;
      this.pos = pos;
      return;
    }
    buf[pos++] = rest | 0x80;
    while (hi >= 0x80) {
      buf[pos++] = (hi & 0x7f) | 0x80;
      hi >>>= 7;
    }
    buf[pos++] = hi;
    this.pos = pos;
  }

  bytes(b: Uint8Array): void {
    if (this.pos + b.length > this.buf.length) this.grow(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Length-prefixed UTF-8 string. */
  string(s: string): void {
    const b = textEncoder.encode(s);
    this.varint(b.length);
    this.bytes(b);
  }

  /** A view of what was written (valid until the next write). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

export const textEncoder = new TextEncoder();
export const textDecoder = new TextDecoder();

/** Thrown by ByteReader when a stream ends early or holds an impossible value. */
export class DecodeError extends Error {}

export class ByteReader {
  readonly buf: Uint8Array;
  pos: number;
  readonly end: number;
  /** High half of the last varint64() read. */
  hi = 0;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  u8(): number {
    if (this.pos >= this.end) throw new DecodeError('stream ends early');
    return this.buf[this.pos++]!;
  }

  varint(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos >= this.end) throw new DecodeError('stream ends early');
    let b = buf[pos++]!;
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let v = b & 0x7f;
    let mul = 128;
    for (;;) {
      if (pos >= this.end) throw new DecodeError('varint runs past the end of its stream');
      b = buf[pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
      if (mul > 2 ** 56) throw new DecodeError('varint longer than 8 bytes');
    }
    this.pos = pos;
    return v;
  }

  zigzag(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  /** Reads a 64-bit varint: returns the low 32 bits, leaves the high 32 bits in this.hi. */
  varint64(): number {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let shift = 0;
    let b = 0;
    // Low 28 bits: four groups.
    for (; shift < 28; shift += 7) {
      if (pos >= this.end) throw new DecodeError('varint runs past the end of its stream');
      b = buf[pos++]!;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        this.hi = 0;
        return lo >>> 0;
      }
    }
    if (pos >= this.end) throw new DecodeError('varint runs past the end of its stream');
    b = buf[pos++]!;
    lo |= (b & 0x0f) << 28;
    let hi = (b & 0x70) >>> 4;
    if (b >= 0x80) {
      shift = 3;
      for (;;) {
        if (pos >= this.end) throw new DecodeError('varint runs past the end of its stream');
        if (shift > 31) throw new DecodeError('varint longer than 64 bits');
        b = buf[pos++]!;
        hi |= (b & 0x7f) << shift;
        if (b < 0x80) break;
        shift += 7;
      }
    }
    this.pos = pos;
    this.hi = hi >>> 0;
    return lo >>> 0;
  }

  bytes(n: number): Uint8Array {
    if (this.pos + n > this.end) throw new DecodeError('byte field runs past the end of its stream');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string {
    return textDecoder.decode(this.bytes(this.varint()));
  }
}

/** Split a u64 (bigint or number) into uint32 halves, written to out[0] (lo) and out[1] (hi). */
const scratch64 = new BigUint64Array(1);
const scratch32 = new Uint32Array(scratch64.buffer);

export function splitU64(v: bigint | number, out: Uint32Array, at: number): void {
  if (typeof v === 'bigint') {
    scratch64[0] = v;
    out[at] = scratch32[0]!;
    out[at + 1] = scratch32[1]!;
  } else {
    out[at] = v >>> 0;
    out[at + 1] = Math.floor(v / TWO32) >>> 0;
  }
}

/** Join uint32 halves into a bigint. */
export function joinU64(lo: number, hi: number): bigint {
  if (hi === 0) return BigInt(lo);
  scratch32[0] = lo;
  scratch32[1] = hi;
  return scratch64[0]!;
}

// ---------------------------------------------------------------------------------------------
// Bulk column codecs: tight loops over a whole stream (the decode hot path).

/** Decode n unsigned varints into out. */
export function readVarints(r: ByteReader, out: Float64Array, n: number): void {
  const buf = r.buf;
  const end = r.end;
  let pos = r.pos;
  if (end - pos === n) {
    // One byte per value (common: dense seq gaps, small deltas): a plain copy.
    for (let i = 0; i < n; i++) {
      const b = buf[pos + i]!;
      if (b >= 0x80) throw new DecodeError('varint runs past the end of its stream');
      out[i] = b;
    }
    r.pos = pos + n;
    return;
  }
  for (let i = 0; i < n; i++) {
    if (pos >= end) throw new DecodeError('stream ends early');
    let b = buf[pos++]!;
    if (b < 0x80) {
      out[i] = b;
      continue;
    }
    let v = b & 0x7f;
    let mul = 128;
    for (;;) {
      if (pos >= end) throw new DecodeError('varint runs past the end of its stream');
      b = buf[pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
      if (mul > 2 ** 56) throw new DecodeError('varint longer than 8 bytes');
    }
    out[i] = v;
  }
  r.pos = pos;
}

/** Decode n zigzag deltas into running sums starting at base (out[i] = base + Σ deltas). */
export function readZigzagDeltas(r: ByteReader, out: Float64Array, n: number, base: number): void {
  readVarints(r, out, n);
  let acc = base;
  for (let i = 0; i < n; i++) {
    const z = out[i]!;
    // Small values (the usual case) take the integer path.
    acc += z < 0x80000000 ? (z >>> 1) ^ -(z & 1) : z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    out[i] = acc;
  }
}

/** Width (1, 2 or 4 bytes) of fixed-size unsigned values up to max. */
export function widthFor(max: number): 1 | 2 | 4 {
  return max < 0x100 ? 1 : max < 0x10000 ? 2 : 4;
}

/**
 * Write n small unsigned values (minus bias) as a width byte then fixed-size little-endian
 * values, or width 0 and one varint when all values are equal. Two copies (Float64Array,
 * Int32Array) keep each loop monomorphic: this runs over every column of every chunk.
 */
export function writeFixed(w: ByteWriter, vals: Float64Array, n: number, bias = 0): void {
  let max = 0;
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    const v = vals[i]!;
    if (v > max) max = v;
    if (v < min) min = v;
  }
  const width = putFixed(w, n, max - bias, min === max, n > 0 ? vals[0]! - bias : 0);
  if (width === 0) return;
  const bytes = w.buf;
  const at = w.pos;
  if (width === 1) for (let i = 0; i < n; i++) bytes[at + i] = vals[i]! - bias;
  else if (width === 2)
    for (let i = 0; i < n; i++) {
      const v = vals[i]! - bias;
      bytes[at + 2 * i] = v & 0xff;
      bytes[at + 2 * i + 1] = v >>> 8;
    }
  else {
    const dv = new DataView(bytes.buffer, bytes.byteOffset + at, n * 4);
    for (let i = 0; i < n; i++) dv.setUint32(4 * i, vals[i]! - bias, true);
  }
  w.pos = at + n * width;
}

export function writeFixedI32(w: ByteWriter, vals: Int32Array, n: number, bias = 0): void {
  let max = -0x80000000;
  let min = 0x7fffffff;
  for (let i = 0; i < n; i++) {
    const v = vals[i]!;
    if (v > max) max = v;
    if (v < min) min = v;
  }
  if (n === 0) max = min = 0;
  const width = putFixed(w, n, max - bias, min === max, n > 0 ? vals[0]! - bias : 0);
  if (width === 0) return;
  const bytes = w.buf;
  const at = w.pos;
  if (width === 1) for (let i = 0; i < n; i++) bytes[at + i] = vals[i]! - bias;
  else if (width === 2)
    for (let i = 0; i < n; i++) {
      const v = vals[i]! - bias;
      bytes[at + 2 * i] = v & 0xff;
      bytes[at + 2 * i + 1] = v >>> 8;
    }
  else {
    const dv = new DataView(bytes.buffer, bytes.byteOffset + at, n * 4);
    for (let i = 0; i < n; i++) dv.setUint32(4 * i, vals[i]! - bias, true);
  }
  w.pos = at + n * width;
}

/** Header of a fixed column (and the value of a constant one); returns the width, 0 if constant. */
function putFixed(w: ByteWriter, n: number, max: number, constant: boolean, first: number): number {
  if (constant) {
    w.u8(0);
    w.varint(first);
    return 0;
  }
  const width = widthFor(max);
  w.u8(width);
  w.reserve(n * width);
  return width;
}

/** Read what writeFixed wrote, adding bias back. */
export function readFixed(r: ByteReader, out: Float64Array | Int32Array, n: number, bias = 0): number {
  const width = r.u8();
  if (width === 0) {
    const v = r.varint();
    out.fill(v + bias, 0, n);
    return v;
  }
  if (width !== 1 && width !== 2 && width !== 4) throw new DecodeError(`bad fixed width ${width}`);
  const b = r.bytes(n * width);
  let max = 0;
  if (width === 1) {
    for (let i = 0; i < n; i++) {
      const v = b[i]!;
      if (v > max) max = v;
      out[i] = v + bias;
    }
  } else if (width === 2) {
    for (let i = 0; i < n; i++) {
      const v = b[2 * i]! | (b[2 * i + 1]! << 8);
      if (v > max) max = v;
      out[i] = v + bias;
    }
  } else {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < n; i++) {
      const v = dv.getUint32(4 * i, true);
      if (v > max) max = v;
      out[i] = v + bias;
    }
  }
  return max;
}

/** An integer column: typed array of whatever width the values needed. */
export type IntColumn = Float64Array | Uint32Array | Uint16Array | Uint8Array;

/**
 * Read what writeFixed wrote (bias 0) without widening: one-byte columns are views into the
 * payload (no copy), wider ones the matching typed array. Returns the column and its maximum.
 */
export function readFixedColumn(r: ByteReader, n: number): { col: IntColumn; max: number } {
  const width = r.u8();
  if (width === 0) {
    const v = r.varint();
    const col = v < 0x100 ? new Uint8Array(n) : v < 0x10000 ? new Uint16Array(n) : new Float64Array(n);
    col.fill(v);
    return { col, max: n > 0 ? v : 0 };
  }
  if (width !== 1 && width !== 2 && width !== 4) throw new DecodeError(`bad fixed width ${width}`);
  const b = r.bytes(n * width);
  let max = 0;
  if (width === 1) {
    for (let i = 0; i < n; i++) if (b[i]! > max) max = b[i]!;
    return { col: b, max };
  }
  if (width === 2) {
    const col = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      const v = b[2 * i]! | (b[2 * i + 1]! << 8);
      if (v > max) max = v;
      col[i] = v;
    }
    return { col, max };
  }
  const col = new Uint32Array(n);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < n; i++) {
    const v = dv.getUint32(4 * i, true);
    if (v > max) max = v;
    col[i] = v;
  }
  return { col, max };
}

/** 64-bit values as (hi, lo) int32 deltas from the previous value: PCs in loops cost ~2 bytes. */
export function writeU64Deltas(w: ByteWriter, halves: Uint32Array, n: number): void {
  w.reserve(n * 10);
  const buf = w.buf;
  let pos = w.pos;
  let plo = 0;
  let phi = 0;
  for (let i = 0; i < n; i++) {
    const lo = halves[2 * i]!;
    const hi = halves[2 * i + 1]!;
    const dhi = (hi - phi) | 0;
    const dlo = (lo - plo) | 0;
    // Zigzag in int32 arithmetic, then unsigned LEB128 (at most 5 bytes each).
    let z = ((dhi << 1) ^ (dhi >> 31)) >>> 0;
    while (z >= 0x80) {
      buf[pos++] = (z & 0x7f) | 0x80;
      z >>>= 7;
    }
    buf[pos++] = z;
    z = ((dlo << 1) ^ (dlo >> 31)) >>> 0;
    while (z >= 0x80) {
      buf[pos++] = (z & 0x7f) | 0x80;
      z >>>= 7;
    }
    buf[pos++] = z;
    plo = lo;
    phi = hi;
  }
  w.pos = pos;
}

export function readU64Deltas(r: ByteReader, out: Uint32Array, n: number): void {
  if (readU64DeltasShort(r, out, n)) return;
  const tmp = new Float64Array(2 * n);
  readVarints(r, tmp, 2 * n);
  let plo = 0;
  let phi = 0;
  for (let i = 0; i < n; i++) {
    // Zigzag of an int32 fits in a uint32, so integer ops are exact here.
    const zh = tmp[2 * i]! >>> 0;
    const zl = tmp[2 * i + 1]! >>> 0;
    phi = (phi + ((zh >>> 1) ^ -(zh & 1))) >>> 0;
    plo = (plo + ((zl >>> 1) ^ -(zl & 1))) >>> 0;
    out[2 * i] = plo;
    out[2 * i + 1] = phi;
  }
}

/**
 * readU64Deltas when every varint fits 32 bits (zigzagged int32 deltas always do), in int32
 * arithmetic with no temporary array. Returns false, consuming nothing, otherwise.
 */
function readU64DeltasShort(r: ByteReader, out: Uint32Array, n: number): boolean {
  const buf = r.buf;
  const end = r.end;
  let pos = r.pos;
  let plo = 0;
  let phi = 0;
  for (let i = 0; i < 2 * n; i++) {
    if (pos >= end) return false;
    let b = buf[pos++]!;
    let z = b & 0x7f;
    if (b >= 0x80) {
      if (pos >= end) return false;
      b = buf[pos++]!;
      z |= (b & 0x7f) << 7;
      if (b >= 0x80) {
        if (pos >= end) return false;
        b = buf[pos++]!;
        z |= (b & 0x7f) << 14;
        if (b >= 0x80) {
          if (pos >= end) return false;
          b = buf[pos++]!;
          z |= (b & 0x7f) << 21;
          if (b >= 0x80) {
            if (pos >= end) return false;
            b = buf[pos++]!;
            if (b > 0x0f) return false;
            z = (z | (b << 28)) >>> 0;
          }
        }
      }
    }
    // z < 2^32: zigzag-decode in int32, accumulate modulo 2^32.
    const d = (z >>> 1) ^ -(z & 1);
    if ((i & 1) === 0) phi = (phi + d) >>> 0;
    else {
      plo = (plo + d) >>> 0;
      out[i - 1] = plo;
      out[i] = phi;
    }
  }
  r.pos = pos;
  return true;
}

/** Decode n 64-bit varints into (lo, hi) pairs. */
export function readVarint64s(r: ByteReader, out: Uint32Array, n: number): void {
  const buf = r.buf;
  const end = r.end;
  let pos = r.pos;
  for (let i = 0; i < n; i++) {
    if (pos >= end) throw new DecodeError('stream ends early');
    let b = buf[pos++]!;
    if (b < 0x80) {
      out[2 * i] = b;
      out[2 * i + 1] = 0;
      continue;
    }
    // Up to 28 bits stay in int32 arithmetic; longer values take the general path.
    let lo = b & 0x7f;
    let shift = 7;
    while (shift < 28) {
      if (pos >= end) throw new DecodeError('varint runs past the end of its stream');
      b = buf[pos++]!;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7;
    }
    if (b < 0x80) {
      out[2 * i] = lo >>> 0;
      out[2 * i + 1] = 0;
      continue;
    }
    // Longer than 4 groups: re-read this value with the general reader.
    r.pos = pos - 4;
    out[2 * i] = r.varint64();
    out[2 * i + 1] = r.hi;
    pos = r.pos;
  }
  r.pos = pos;
}
