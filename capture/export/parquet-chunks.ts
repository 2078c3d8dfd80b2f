// Column chunks of flat Parquet tables, built a row group at a time from the values rows put in.
//
// hyparquet-writer's ParquetWriter takes whole JS arrays per column and walks every value of
// every column several times (levels, range checks, dictionary sampling, statistics, page
// splitting). The events table has ~80 columns of which a row fills ~10, so that per-value work
// on NULLs was most of the export's time. Here each column keeps only its non-NULL values, in
// typed arrays, plus a definition-level byte per row; a column no row filled is one cached
// all-NULL page. Pages, levels and the footer are still hyparquet-writer's (writePageHeader,
// writeRleBitPackedHybrid, writeMetadata); only the value bytes are laid out here, as the Parquet
// format specifies them (apache/parquet-format, Encodings.md: PLAIN, RLE_DICTIONARY), except
// DELTA_BINARY_PACKED, which is hyparquet-writer's deltaBinaryPack.

import type { ColumnChunk, CompressionCodec, Encoding, SchemaElement, Statistics } from 'hyparquet';
import { ByteWriter } from 'hyparquet-writer';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { writeRleBitPackedHybrid } from 'hyparquet-writer/src/encoding.js';
import { deltaBinaryPack } from 'hyparquet-writer/src/delta.js';

/** Physical types of the columns we write. */
export type FlatType = 'INT64' | 'BYTE_ARRAY' | 'DOUBLE' | 'BOOLEAN';

const TWO32 = 4294967296;
const CODEC: CompressionCodec = 'ZSTD';

/** Bytes: a page's values compressed (the writer's codec). */
export type Compress = (input: Uint8Array) => Uint8Array;

/** What writing one column chunk gives the file's footer. */
export interface ChunkWritten {
  chunk: ColumnChunk;
  uncompressed: number;
}

/** Values of one column for the current row group. */
export class ColumnValues {
  readonly name: string;
  readonly type: FlatType;
  readonly optional: boolean;
  /** UTF-8 text: dictionary-encoded when that is smaller. */
  readonly text: boolean;
  /** Keep min/max statistics (readers prune row groups with them). */
  readonly stats: boolean;
  /** INT64 values that grow steadily (seq, time): DELTA_BINARY_PACKED, ~0 bytes for seq. */
  readonly delta: boolean;
  /** A delta column's values as numbers, while every one has been a number. */
  private nums: Float64Array;
  private allNumbers = true;
  /** Rows in the group so far (set by the table before each add). */
  rows = 0;
  /** Non-NULL values in the group. */
  count = 0;
  /** Definition level per row (1 = a value), for optional columns. */
  private def: Uint8Array;
  private u32: Uint32Array; // INT64 as (lo, hi) pairs
  private f64: Float64Array; // DOUBLE
  private u8: Uint8Array; // BOOLEAN
  private idx: Int32Array; // BYTE_ARRAY text: dictionary indices
  private dict = new Map<string, number>();
  private words: string[] = [];
  private blobs: Uint8Array[] = []; // BYTE_ARRAY non-text
  private min: number | bigint | string | undefined;
  private max: number | bigint | string | undefined;

  constructor(name: string, type: FlatType, optional: boolean, text: boolean, stats: boolean, delta: boolean, groupRows: number) {
    this.name = name;
    this.delta = delta && type === 'INT64';
    this.nums = new Float64Array(this.delta ? groupRows : 0);
    this.type = type;
    this.optional = optional;
    this.text = text;
    this.stats = stats;
    this.def = new Uint8Array(optional ? groupRows : 0);
    this.u32 = new Uint32Array(type === 'INT64' ? 2 * groupRows : 0);
    this.f64 = new Float64Array(type === 'DOUBLE' ? groupRows : 0);
    this.u8 = new Uint8Array(type === 'BOOLEAN' ? groupRows : 0);
    this.idx = new Int32Array(type === 'BYTE_ARRAY' && text ? groupRows : 0);
  }

  /** The value of row `row` (rows are added in order; rows not added are NULL). */
  add(row: number, v: unknown): void {
    if (this.optional) this.def[row] = 1;
    const j = this.count++;
    switch (this.type) {
      case 'INT64':
        this.int64(j, v as number | bigint);
        break;
      case 'BYTE_ARRAY':
        if (this.text) this.string(j, v as string);
        else this.blobs.push(v as Uint8Array);
        break;
      case 'DOUBLE':
        this.f64[j] = v as number;
        this.minMax(v as number);
        break;
      case 'BOOLEAN':
        this.u8[j] = v ? 1 : 0;
        break;
    }
  }

  private int64(j: number, v: number | bigint): void {
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new Error(`column ${this.name}: ${v} is not an integer`);
      const hi = Math.floor(v / TWO32);
      this.u32[2 * j] = (v - hi * TWO32) >>> 0;
      this.u32[2 * j + 1] = hi >>> 0;
      if (this.delta) this.nums[j] = v;
    } else {
      this.allNumbers = false;
      const u = BigInt.asUintN(64, v);
      this.u32[2 * j] = Number(u & 0xffffffffn);
      this.u32[2 * j + 1] = Number(u >> 32n);
    }
    if (this.stats) this.minMax(v);
  }

  private string(j: number, s: string): void {
    let k = this.dict.get(s);
    if (k === undefined) {
      k = this.words.length;
      this.words.push(s);
      this.dict.set(s, k);
      if (this.stats) this.minMax(s);
    }
    this.idx[j] = k;
  }

  private minMax(v: number | bigint | string): void {
    // Strings compare by UTF-16 code units here; our text (names, hex) is ASCII, where that is byte order.
    if (this.min === undefined || v < this.min) this.min = v;
    if (this.max === undefined || v > this.max) this.max = v;
  }

  /** Forget the group's values (arrays are kept for the next group). */
  reset(): void {
    if (this.optional && this.count > 0) this.def.fill(0, 0, this.rows);
    this.rows = 0;
    this.count = 0;
    this.dict.clear();
    this.words = [];
    this.blobs = [];
    this.min = this.max = undefined;
    this.allNumbers = true;
  }

  /** Write the group's column chunk (an optional dictionary page, then one data page v2). */
  write(w: ByteWriter, compress: Compress): ChunkWritten {
    const start = w.offset;
    let uncompressed = 0;
    const encodings: Encoding[] = [];
    let dictionaryOffset: bigint | undefined;
    let encoding: Encoding = 'PLAIN';
    let body: Uint8Array;
    const useDict = this.text && this.count > 0 && this.words.length * 2 <= this.count;
    if (useDict) {
      dictionaryOffset = BigInt(w.offset);
      uncompressed += writePage(w, compress, plainStrings(this.words, this.words.length, identity), 'DICTIONARY_PAGE', this.words.length);
      encodings.push('PLAIN');
      encoding = 'RLE_DICTIONARY';
      body = dictionaryIndices(this.idx.subarray(0, this.count), this.words.length);
    } else if (this.delta && this.allNumbers && this.count > 0) {
      encoding = 'DELTA_BINARY_PACKED';
      const bw = new ByteWriter(this.count + 64);
      deltaBinaryPack(bw, this.nums.subarray(0, this.count), 'INT64');
      body = bw.getBytes();
    } else body = this.plain();
    encodings.push(encoding);
    const dataOffset = BigInt(w.offset);
    const levels = this.optional ? definitionLevels(this.def, this.rows, this.count) : EMPTY;
    uncompressed += writeDataPage(w, compress, body, levels, encoding, this.rows, this.rows - this.count);
    const statistics: Statistics = { null_count: BigInt(this.rows - this.count) };
    if (this.stats && this.min !== undefined) {
      statistics.min_value = typeof this.min === 'number' && this.type === 'INT64' ? BigInt(this.min) : this.min;
      statistics.max_value = typeof this.max === 'number' && this.type === 'INT64' ? BigInt(this.max) : this.max;
    }
    return {
      uncompressed,
      chunk: {
        file_offset: BigInt(start),
        meta_data: {
          type: this.type,
          encodings,
          path_in_schema: [this.name],
          codec: CODEC,
          num_values: BigInt(this.rows),
          total_uncompressed_size: BigInt(uncompressed),
          total_compressed_size: BigInt(w.offset - start),
          data_page_offset: dataOffset,
          ...(dictionaryOffset !== undefined ? { dictionary_page_offset: dictionaryOffset } : {}),
          statistics,
        },
      },
    };
  }

  /** The non-NULL values, PLAIN-encoded. */
  private plain(): Uint8Array {
    const n = this.count;
    switch (this.type) {
      case 'INT64':
        return littleEndian(this.u32, 2 * n);
      case 'DOUBLE':
        return new Uint8Array(this.f64.buffer, 0, 8 * n);
      case 'BOOLEAN': {
        const out = new Uint8Array((n + 7) >> 3);
        for (let i = 0; i < n; i++) if (this.u8[i]) out[i >> 3]! |= 1 << (i & 7);
        return out;
      }
      case 'BYTE_ARRAY':
        return this.text ? plainStrings(this.idx, n, (k) => this.words[k]!) : plainBytes(this.blobs);
    }
  }
}

const EMPTY = new Uint8Array(0);
const identity = <T>(x: T) => x;
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** 32-bit words as little-endian bytes (a view on little-endian machines). */
function littleEndian(words: Uint32Array, n: number): Uint8Array {
  if (LITTLE) return new Uint8Array(words.buffer, 0, 4 * n);
  const out = new Uint8Array(4 * n);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i++) dv.setUint32(4 * i, words[i]!, true);
  return out;
}

/** PLAIN BYTE_ARRAY: each value as a u32 length then its UTF-8 bytes. */
function plainStrings<T>(items: ArrayLike<T>, n: number, str: (x: T) => string): Uint8Array {
  let size = 0;
  for (let i = 0; i < n; i++) size += 4 + Buffer.byteLength(str(items[i]!), 'utf8');
  const out = Buffer.allocUnsafe(size);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const s = str(items[i]!);
    const len = out.write(s, p + 4, 'utf8');
    out.writeUInt32LE(len, p);
    p += 4 + len;
  }
  return out;
}

function plainBytes(items: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const b of items) size += 4 + b.length;
  const out = Buffer.allocUnsafe(size);
  let p = 0;
  for (const b of items) {
    out.writeUInt32LE(b.length, p);
    out.set(b, p + 4);
    p += 4 + b.length;
  }
  return out;
}

/** RLE_DICTIONARY data: the index bit width, then the indices RLE/bit-packed. */
function dictionaryIndices(idx: Int32Array, size: number): Uint8Array {
  const bitWidth = size <= 1 ? 0 : 32 - Math.clz32(size - 1);
  const bw = new ByteWriter(idx.length + 16);
  bw.appendUint8(bitWidth);
  writeRleBitPackedHybrid(bw, idx, bitWidth);
  return bw.getBytes();
}

/** Definition levels (bit width 1), RLE/bit-packed; a whole-NULL or no-NULL group is one run. */
const RUNS = new Map<string, Uint8Array>();
function definitionLevels(def: Uint8Array, rows: number, count: number): Uint8Array {
  if (count === 0 || count === rows) {
    const key = `${count ? 1 : 0}:${rows}`;
    let run = RUNS.get(key);
    if (!run) {
      const bw = new ByteWriter(16);
      bw.appendVarInt(rows * 2); // an RLE run: header (count << 1), then the value in one byte
      bw.appendUint8(count ? 1 : 0);
      run = bw.getBytes().slice();
      RUNS.set(key, run);
    }
    return run;
  }
  const bw = new ByteWriter((rows >> 3) + 16);
  writeRleBitPackedHybrid(bw, def.subarray(0, rows), 1);
  return bw.getBytes();
}

/** Compressed empty page bodies, per codec function. */
const EMPTY_BODY = new WeakMap<Compress, Uint8Array>();

/** A DATA_PAGE_V2: header, levels (never compressed in v2), compressed values. Returns its uncompressed size. */
function writeDataPage(
  w: ByteWriter,
  compress: Compress,
  body: Uint8Array,
  levels: Uint8Array,
  encoding: Encoding,
  rows: number,
  nulls: number,
): number {
  let packed: Uint8Array;
  if (body.length === 0) {
    packed = EMPTY_BODY.get(compress) ?? compress(EMPTY);
    EMPTY_BODY.set(compress, packed);
  } else packed = compress(body);
  const headerStart = w.offset;
  writePageHeader(w, {
    type: 'DATA_PAGE_V2',
    uncompressed_page_size: levels.length + body.length,
    compressed_page_size: levels.length + packed.length,
    data_page_header_v2: {
      num_values: rows,
      num_nulls: nulls,
      num_rows: rows,
      encoding,
      definition_levels_byte_length: levels.length,
      repetition_levels_byte_length: 0,
      is_compressed: true,
    },
  });
  const header = w.offset - headerStart;
  w.appendBytes(levels);
  w.appendBytes(packed);
  return header + levels.length + body.length;
}

/** A DICTIONARY_PAGE of PLAIN values. Returns its uncompressed size. */
function writePage(w: ByteWriter, compress: Compress, body: Uint8Array, type: 'DICTIONARY_PAGE', values: number): number {
  const packed = compress(body);
  const headerStart = w.offset;
  writePageHeader(w, {
    type,
    uncompressed_page_size: body.length,
    compressed_page_size: packed.length,
    dictionary_page_header: { num_values: values, encoding: 'PLAIN' },
  });
  const header = w.offset - headerStart;
  w.appendBytes(packed);
  return header + body.length;
}

/** The schema element of a flat column. */
export function flatElement(c: ColumnValues): SchemaElement {
  return {
    name: c.name,
    type: c.type,
    repetition_type: c.optional ? 'OPTIONAL' : 'REQUIRED',
    ...(c.text ? { converted_type: 'UTF8' as const } : {}),
  };
}
