// The trace reader: validates the file, loads the chunk index, and decodes only the chunks a
// request needs (by sequence number, time window or filter). Damaged chunks are reported as
// problems and skipped; the rest of the trace stays readable.

import fs from 'node:fs';
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import Database from 'better-sqlite3';
import {
  SCHEMA_VERSION,
  KIND_CODE,
  matchesFilter,
  type DeviceRegion,
  type DeviceRole,
  type EventFilter,
  type TraceEvent,
  type TraceMeta,
  timeToNs,
} from '../model.ts';
import { DecodedChunk, decodeChunk, internString } from './chunk-decode.ts';
import { ChunkCursor, forEachInChunk, type EventCallback } from './chunk-events.ts';
import { DecodeAhead } from './decode-ahead.ts';
import { DecodeError } from './bytes.ts';
import { defaultCodec, MAX_CHUNK_RAW_BYTES, type ZstdCodec } from './codec.ts';
import { errnoText } from '../output.ts';
import { TraceError, describeProblem, type TraceProblem } from './errors.ts';
import { FORMAT_ID, META_KEYS } from './schema.ts';
import { Summary } from './summary.ts';

export interface ChunkInfo {
  id: number;
  seqFirst: number;
  seqLast: number;
  timeFirst: number;
  timeMin: number;
  timeMax: number;
  count: number;
  /** Bit (1 << kind code) per kind present. */
  kinds: number;
  vcpus: number[];
  devices: string[];
  registers: string[];
  intids: number[];
  rawBytes: number;
  zstBytes: number;
  crc32: number;
}

export interface CountRows {
  kinds: Record<string, number>;
  devices: { device: string; kind: string; count: number }[];
  registers: { device: string; register: string; kind: string; count: number }[];
  intids: { intid: number; kind: string; count: number }[];
  hypercalls: { conduit: string; func: number; name: string; subop: string; count: number }[];
  vcpus: { vcpu: number; kind: string; count: number }[];
  /** 'stored': summary tables written at close; 'scanned': computed now (incomplete trace). */
  origin: 'stored' | 'scanned';
}

export interface TraceInfo {
  path: string;
  fileBytes: number;
  complete: boolean;
  /** Why the trace is incomplete, when it is. */
  incomplete?: string;
  /** The producer was stopped by the user (e.g. 'SIGINT'); the trace ends there. */
  interrupted?: string;
  meta: TraceMeta;
  events: number;
  chunks: number;
  timeFirst: number;
  timeLast: number;
  /** timeLast - timeFirst in the trace's clock, and in nanoseconds. */
  duration: number;
  durationNs: number;
  digest?: string;
  bytesPerEvent: number;
  regions: DeviceRegion[];
  counts: CountRows;
  /** Damaged chunks met so far (TraceReader.checkStored/verify look for them). */
  problems: TraceProblem[];
  /** What a full verification checked, when one ran and found nothing. */
  verified?: string;
}

export interface TraceSummary {
  eventCount: number;
  firstTime: number;
  lastTime: number;
  /** Digest of the canonical event stream; absent when the trace is incomplete. */
  digest?: string;
  byKind: Record<string, number>;
  /** Events per device (deviceOf: MMIO region, IRQ source, console port). */
  byDevice: Record<string, number>;
  /** Hypercalls per decoded name ('name/subop'; hex function id when unnamed). */
  byHypercall: Record<string, number>;
  counts: CountRows;
}

export interface ReaderOptions {
  /** zstd implementation (default: Node's built-in, else zstd-codec); see loadCodec(). */
  codec?: ZstdCodec;
  /** Called once per damaged chunk, when it is first met. */
  onProblem?: (p: TraceProblem, text: string) => void;
  /**
   * Experimental, off by default: forEachEvent reads (whole chunks, no per-event filter) decode
   * chunks ahead on a worker thread (capture/store/decode-worker.ts) while this thread builds
   * events. Not with a given codec. On the shared 2-CPU development machine it cost ~2× the CPU of
   * decoding in-thread and ~100 MiB more RSS, for no wall-clock gain (docs/benchmarks.md).
   */
  decodeAhead?: boolean;
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/** Checks the SQLite header before SQLite sees the file, for clear messages. */
function checkFile(path: string): number {
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch {
    throw new TraceError(path, 'no such file');
  }
  if (st.isDirectory()) throw new TraceError(path, 'is a directory, not a trace file');
  if (st.size === 0) throw new TraceError(path, 'empty file, not a bootscope trace');
  const head = Buffer.alloc(100);
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    throw new TraceError(path, `cannot read: ${errnoText(err)}`);
  }
  let got: number;
  try {
    got = fs.readSync(fd, head, 0, 100, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (got < 16 || !head.subarray(0, 16).equals(SQLITE_MAGIC))
    throw new TraceError(path, 'not a SQLite database (no SQLite header at offset 0), so not a bootscope trace');
  if (got < 100) throw new TraceError(path, `truncated: ${got} bytes, shorter than the 100-byte SQLite header`);
  const rawPage = head.readUInt16BE(16);
  const pageSize = rawPage === 1 ? 65536 : rawPage;
  const pages = head.readUInt32BE(28);
  const headerValid = head.readUInt32BE(24) === head.readUInt32BE(92);
  if (headerValid && pages > 0 && st.size < pageSize * pages)
    throw new TraceError(path, `truncated: the SQLite header says ${pageSize * pages} bytes, the file has ${st.size}`);
  if (st.size % pageSize !== 0) throw new TraceError(path, `truncated: ${st.size} bytes is not a whole number of ${pageSize}-byte pages`);
  return st.size;
}

function sqliteMessage(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e.message ?? String(err);
}

export class TraceReader {
  readonly path: string;
  readonly meta: TraceMeta;
  readonly complete: boolean;
  readonly digest: string | undefined;
  /** Why the writer stopped early, when it said so (TraceWriter.abandon). */
  readonly abandoned: string | undefined;
  /** Why the producer stopped early on the user's request (e.g. 'SIGINT'), when it did. */
  readonly interrupted: string | undefined;
  readonly regions: DeviceRegion[];
  readonly chunks: ChunkInfo[];
  /** Damaged chunks met so far (they are found when read; see verify()). */
  readonly problemDetails: TraceProblem[] = [];
  readonly fileBytes: number;
  /** The open SQLite connection (read-only), for SQL over the trace. */
  readonly db: Database.Database;
  private readonly codec: ZstdCodec;
  private readonly onProblem: ((p: TraceProblem, text: string) => void) | undefined;
  private readonly badChunks = new Set<number>();
  private readonly getData: Database.Statement;
  private cache: { id: number; chunk: DecodedChunk } | undefined;
  /** ReaderOptions.decodeAhead (only with the default codec: the worker uses its own). */
  private readonly decodeAhead: boolean;

  private constructor(path: string, db: Database.Database, codec: ZstdCodec, fileBytes: number, opts: ReaderOptions) {
    this.path = path;
    this.db = db;
    this.codec = codec;
    this.fileBytes = fileBytes;
    this.onProblem = opts.onProblem;
    this.decodeAhead = opts.decodeAhead === true && opts.codec === undefined;
    const tables = new Set(
      (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name),
    );
    if (!tables.has('meta')) throw new TraceError(path, 'SQLite database, but not a bootscope trace (no meta table)');
    const metaRows = db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[];
    const m = new Map<string, unknown>();
    for (const r of metaRows) {
      try {
        m.set(r.key, JSON.parse(r.value));
      } catch {
        throw new TraceError(path, `meta value '${r.key}' is not valid JSON`);
      }
    }
    if (m.get(META_KEYS.format) !== FORMAT_ID)
      throw new TraceError(
        path,
        `SQLite database, but not a bootscope trace (meta format is ${JSON.stringify(m.get(META_KEYS.format) ?? null)})`,
      );
    const version = m.get(META_KEYS.schemaVersion);
    if (typeof version !== 'number') throw new TraceError(path, 'trace has no schema version');
    if (version > SCHEMA_VERSION)
      throw new TraceError(
        path,
        `trace schema version ${version} is newer than this bootscope supports (${SCHEMA_VERSION}); upgrade bootscope`,
      );
    for (const t of ['chunks', 'chunk_data', 'devices'])
      if (!tables.has(t)) throw new TraceError(path, `bootscope trace without a ${t} table (damaged)`);
    this.meta = {
      schemaVersion: version,
      toolVersion: String(m.get(META_KEYS.toolVersion) ?? ''),
      createdAt: String(m.get(META_KEYS.createdAt) ?? ''),
      source: (m.get(META_KEYS.source) as TraceMeta['source']) ?? { type: 'synthetic', name: 'unknown', config: {} },
      clock: (m.get(META_KEYS.clock) as TraceMeta['clock']) ?? { kind: 'ns' },
      hashes: (m.get(META_KEYS.hashes) as Record<string, string>) ?? {},
      extra: (m.get(META_KEYS.extra) as Record<string, unknown>) ?? {},
    };
    this.complete = m.get(META_KEYS.complete) === true;
    this.abandoned = typeof m.get(META_KEYS.abandoned) === 'string' ? (m.get(META_KEYS.abandoned) as string) : undefined;
    this.interrupted = typeof m.get(META_KEYS.interrupted) === 'string' ? (m.get(META_KEYS.interrupted) as string) : undefined;
    this.digest = typeof m.get(META_KEYS.digest) === 'string' ? (m.get(META_KEYS.digest) as string) : undefined;
    // Names, models and roles internalized: analyses compare them with literals per event.
    this.regions = (db.prepare('SELECT * FROM devices ORDER BY base').all() as Record<string, unknown>[]).map((r) => ({
      name: internString(r['name'] as string),
      model: internString(r['model'] as string),
      role: internString(r['role'] as string) as DeviceRole,
      base: r['base'] as number,
      size: r['size'] as number,
      ...(r['intid'] !== null ? { intid: r['intid'] as number } : {}),
      ...(r['compatible'] !== null ? { compatible: JSON.parse(r['compatible'] as string) as string[] } : {}),
    }));
    this.chunks = (db.prepare('SELECT * FROM chunks ORDER BY id').all() as Record<string, number | string>[]).map((r) => ({
      id: r['id'] as number,
      seqFirst: r['seq_first'] as number,
      seqLast: r['seq_last'] as number,
      timeFirst: r['time_first'] as number,
      timeMin: r['time_min'] as number,
      timeMax: r['time_max'] as number,
      count: r['count'] as number,
      kinds: r['kinds'] as number,
      vcpus: JSON.parse(r['vcpus'] as string) as number[],
      devices: JSON.parse(r['devices'] as string) as string[],
      registers: JSON.parse(r['registers'] as string) as string[],
      intids: JSON.parse(r['intids'] as string) as number[],
      rawBytes: r['raw_bytes'] as number,
      zstBytes: r['zst_bytes'] as number,
      crc32: r['crc32'] as number,
    }));
    this.getData = db.prepare('SELECT data FROM chunk_data WHERE id = ?');
    const count = m.get(META_KEYS.eventCount);
    this.checkIndex(typeof count === 'number' ? count : undefined);
  }

  /**
   * What the chunk index alone shows (nothing decoded): the writer numbers chunks 0, 1, 2…, so a
   * missing id is a chunk whose row was lost; and it records the event count with every chunk, so
   * events past the last chunk were lost too.
   */
  private checkIndex(eventCount: number | undefined): void {
    let prev: ChunkInfo | undefined;
    for (const c of this.chunks) {
      const expected = prev ? prev.id + 1 : 0;
      if (c.id > expected) {
        const n = c.id - expected;
        this.problem({
          chunk: expected,
          seqFirst: prev ? prev.seqLast + 1 : 0,
          seqLast: c.seqFirst - 1,
          message: `missing from the chunk index${n === 1 ? '' : n === 2 ? `, and so is chunk ${c.id - 1}` : `, and so are chunks ${expected + 1}..${c.id - 1}`}`,
        });
      }
      prev = c;
    }
    const next = prev ? prev.seqLast + 1 : 0;
    if (eventCount !== undefined && eventCount > next)
      this.problem({
        chunk: prev ? prev.id + 1 : 0,
        seqFirst: next,
        seqLast: eventCount - 1,
        message: `missing from the chunk index (the trace says it holds ${eventCount} events)`,
      });
  }

  /** Open a trace for reading. Throws TraceError (one line, names the file) on bad input. */
  static open(path: string, opts: ReaderOptions = {}): TraceReader {
    const size = checkFile(path);
    const codec = opts.codec ?? defaultCodec();
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
    } catch (err) {
      throw new TraceError(path, `cannot open as SQLite: ${sqliteMessage(err)}`);
    }
    try {
      return new TraceReader(path, db, codec, size, opts);
    } catch (err) {
      db.close();
      if (err instanceof TraceError) throw err;
      throw new TraceError(path, `damaged SQLite file: ${sqliteMessage(err)}`);
    }
  }

  private sqlConn: Database.Database | undefined;

  /**
   * A second read-only connection for user SQL: the events table decodes chunks through the
   * main connection while the user's statement is running on this one.
   */
  get sqlDb(): Database.Database {
    this.sqlConn ??= new Database(this.path, { readonly: true, fileMustExist: true });
    return this.sqlConn;
  }

  close(): void {
    this.sqlConn?.close();
    this.db.close();
  }

  /** One line per damaged chunk met so far ("FILE: chunk N: what (events a..b) skipped"). */
  get problems(): string[] {
    return this.problemDetails.map((p) => describeProblem(this.path, p));
  }

  /**
   * Read every chunk's stored bytes and check their size and CRC (nothing inflated: cheap enough
   * for `info`); returns the problems found, with those met before.
   */
  checkStored(): TraceProblem[] {
    for (const info of this.chunks) {
      if (this.badChunks.has(info.id)) continue;
      this.stored(info);
    }
    return this.problemDetails;
  }

  /**
   * Read and check every chunk: checksum, decompression, decoding of every column, event count and
   * first sequence number, and on a complete trace the digest of the event stream. Returns the
   * problems found (a digest mismatch is a problem of chunk -1).
   */
  verify(): TraceProblem[] {
    const h = createHash('sha256');
    let whole = this.problemDetails.length === 0;
    for (const info of this.chunks) {
      const raw = this.badChunks.has(info.id) ? undefined : this.payload(info);
      if (raw === undefined || this.decode(info, raw, true) === undefined) {
        whole = false;
        continue;
      }
      h.update(raw);
    }
    if (whole && this.complete && this.digest) {
      const got = `sha256:${h.digest('hex')}`;
      if (got !== this.digest)
        this.problem({ chunk: -1, message: `digest mismatch: the events hash to ${got}, the trace says ${this.digest}` });
    }
    return this.problemDetails;
  }

  /** Headline numbers and simple per-name counts (instant on complete traces). */
  get summary(): TraceSummary {
    const counts = this.counts();
    const byDevice: Record<string, number> = {};
    for (const r of counts.devices) byDevice[r.device] = (byDevice[r.device] ?? 0) + r.count;
    const byHypercall: Record<string, number> = {};
    for (const r of counts.hypercalls) {
      const name = r.name || `0x${r.func.toString(16)}`;
      const key = r.subop ? `${name}/${r.subop}` : name;
      byHypercall[key] = (byHypercall[key] ?? 0) + r.count;
    }
    const out: TraceSummary = {
      eventCount: this.eventCount,
      firstTime: this.timeRange()[0],
      lastTime: this.timeRange()[1],
      byKind: counts.kinds,
      byDevice,
      byHypercall,
      counts,
    };
    if (this.digest) out.digest = this.digest;
    return out;
  }

  /** Earliest and latest time in the chunk index ([0, 0] when empty); a loop, not Math.min(...all). */
  private timeRange(): [number, number] {
    if (!this.chunks.length) return [0, 0];
    let lo = Infinity;
    let hi = -Infinity;
    for (const c of this.chunks) {
      if (c.timeMin < lo) lo = c.timeMin;
      if (c.timeMax > hi) hi = c.timeMax;
    }
    return [lo, hi];
  }

  /** Events in the readable chunks. */
  get eventCount(): number {
    let n = 0;
    for (const c of this.chunks) n += c.count;
    return n;
  }

  private problem(p: TraceProblem): void {
    if (this.badChunks.has(p.chunk)) return;
    this.badChunks.add(p.chunk);
    this.problemDetails.push(p);
    this.onProblem?.(p, describeProblem(this.path, p));
  }

  /** Decode one chunk; undefined (and a problem reported) when it is damaged. */
  chunk(info: ChunkInfo, full = false): DecodedChunk | undefined {
    if (this.cache?.id === info.id && !full) return this.cache.chunk;
    if (this.badChunks.has(info.id)) return undefined;
    const raw = this.payload(info);
    if (raw === undefined) return undefined;
    const decoded = this.decode(info, raw, full);
    if (decoded) this.cache = { id: info.id, chunk: decoded };
    return decoded;
  }

  private bad(info: ChunkInfo, message: string): undefined {
    this.problem({ chunk: info.id, seqFirst: info.seqFirst, seqLast: info.seqLast, message });
    return undefined;
  }

  /** A chunk's stored bytes, when present with the size and CRC the index records. */
  private stored(info: ChunkInfo): Buffer | undefined {
    let data: Buffer;
    try {
      const row = this.getData.get(info.id) as { data: Buffer } | undefined;
      if (!row) return this.bad(info, 'chunk data is missing');
      data = row.data;
    } catch (err) {
      return this.bad(info, `unreadable: ${sqliteMessage(err)}`);
    }
    if (data.length !== info.zstBytes || zlib.crc32(data) !== info.crc32) return this.bad(info, 'checksum mismatch (chunk is corrupt)');
    return data;
  }

  /** A chunk's payload: stored bytes checked, then inflated to exactly the size the index says. */
  private payload(info: ChunkInfo): Uint8Array | undefined {
    const data = this.stored(info);
    if (data === undefined) return undefined;
    if (!(info.rawBytes >= 0 && info.rawBytes <= MAX_CHUNK_RAW_BYTES))
      return this.bad(info, `the index says it holds ${info.rawBytes} bytes, more than a chunk can (${MAX_CHUNK_RAW_BYTES})`);
    try {
      return this.codec.decompress(data, info.rawBytes);
    } catch (err) {
      return this.bad(info, `cannot decompress: ${(err as Error).message}`);
    }
  }

  private decode(info: ChunkInfo, raw: Uint8Array, full: boolean): DecodedChunk | undefined {
    let decoded: DecodedChunk;
    try {
      decoded = decodeChunk(raw);
      if (full) decoded.decodeAll();
    } catch (err) {
      return this.bad(info, `cannot decode: ${(err as Error).message}`);
    }
    if (decoded.count !== info.count || (decoded.count > 0 && decoded.seq[0] !== info.seqFirst))
      return this.bad(info, `holds ${decoded.count} events from seq ${decoded.seq[0]}, the index says ${info.count} from ${info.seqFirst}`);
    return decoded;
  }

  /** Chunks that may hold events passing the filter (by the chunk index; nothing decoded). */
  candidateChunks(f: EventFilter = {}): ChunkInfo[] {
    const kindMask = f.kinds ? f.kinds.reduce((m, k) => m | (1 << KIND_CODE[k]), 0) : -1;
    const devices = f.devices && !f.devices.includes('') ? f.devices : undefined;
    const registers = f.registers && !f.registers.includes('') ? f.registers : undefined;
    return this.chunks.filter(
      (c) =>
        (f.fromSeq === undefined || c.seqLast >= f.fromSeq) &&
        (f.toSeq === undefined || c.seqFirst < f.toSeq) &&
        (f.fromTime === undefined || c.timeMax >= f.fromTime) &&
        (f.toTime === undefined || c.timeMin < f.toTime) &&
        (c.kinds & kindMask) !== 0 &&
        (!devices || devices.some((d) => c.devices.includes(d))) &&
        (!registers || registers.some((r) => c.registers.includes(r))) &&
        (!f.vcpus || f.vcpus.some((v) => c.vcpus.includes(v))) &&
        (!f.intids || f.intids.some((i) => c.intids.includes(i))),
    );
  }

  /** Decoded chunks that may hold matching events, in order (columnar fast path). */
  *scan(f: EventFilter = {}): Generator<DecodedChunk> {
    for (const info of this.candidateChunks(f)) {
      const c = this.chunk(info);
      if (c) yield c;
    }
  }

  /** Every event passing the filter, in sequence order. */
  *events(f: EventFilter = {}): Generator<TraceEvent> {
    for (const info of this.candidateChunks(f)) {
      const c = this.chunk(info);
      if (!c) continue;
      const evs = this.eventsOrProblem(info, c, f);
      if (evs) yield* evs;
      if (f.toSeq !== undefined && info.seqLast >= f.toSeq) return;
    }
  }

  /**
   * Every event passing the filter, in sequence order, pushed to cb(event, kindCode) — the same
   * events as events(f), without a generator per event (the replay engine's fast path).
   * A damaged chunk is reported and skipped whole, as events() does.
   */
  forEachEvent(f: EventFilter, cb: EventCallback): void {
    const simple = isSimpleFilter(f);
    const infos = this.candidateChunks(f);
    // Large reads decode ahead on a second thread while this one builds events.
    const ahead = simple && this.decodeAhead && infos.length > 0 ? DecodeAhead.start(this.path, infos) : undefined;
    try {
      this.forEachIn(infos, f, simple, cb, ahead);
    } finally {
      ahead?.stop();
    }
  }

  private forEachIn(infos: ChunkInfo[], f: EventFilter, simple: boolean, cb: EventCallback, ahead: DecodeAhead | undefined): void {
    for (let k = 0; k < infos.length; k++) {
      const info = infos[k]!;
      let c: DecodedChunk | undefined;
      if (ahead) {
        const got = ahead.take(k);
        if (got === undefined)
          c = this.chunk(info); // decoded here: the worker had not claimed it
        else if (got.type === 'ok') {
          c = new DecodedChunk(got.columns);
          this.cache = { id: info.id, chunk: c };
        } else if (got.type === 'bad') {
          this.problem({ chunk: info.id, seqFirst: info.seqFirst, seqLast: info.seqLast, message: got.message });
          continue;
        } else if (got.type === 'undecodable') {
          if (!this.badChunks.has(info.id)) this.decodeProblem(info, new DecodeError(got.message));
          continue;
        } else c = this.chunk(info);
      } else c = this.chunk(info);
      if (!c) continue;
      if (simple) {
        const from = f.fromSeq !== undefined && info.seqFirst < f.fromSeq ? lowerBound(c.seq, f.fromSeq, c.count) : 0;
        const to = f.toSeq !== undefined && info.seqLast >= f.toSeq ? lowerBound(c.seq, f.toSeq, c.count) : c.count;
        try {
          c.decodeAll();
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
          this.decodeProblem(info, err);
          continue;
        }
        forEachInChunk(c, from, to, cb);
      } else {
        const evs = this.eventsOrProblem(info, c, f);
        if (evs) for (let i = 0; i < evs.length; i++) cb(evs[i]!, KIND_CODE[evs[i]!.kind]);
      }
      if (f.toSeq !== undefined && info.seqLast >= f.toSeq) return;
    }
  }

  /** The chunk's events passing f; undefined (and a problem reported) when a field stream is
   *  damaged: streams decode lazily, so that surfaces here and the chunk is skipped. */
  private eventsOrProblem(info: ChunkInfo, c: DecodedChunk, f: EventFilter): TraceEvent[] | undefined {
    try {
      return this.chunkEvents(info, c, f);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.decodeProblem(info, err);
      return undefined;
    }
  }

  private decodeProblem(info: ChunkInfo, err: DecodeError): void {
    this.cache = undefined;
    this.problem({ chunk: info.id, seqFirst: info.seqFirst, seqLast: info.seqLast, message: `cannot decode: ${err.message}` });
  }

  /** The events of one decoded chunk that pass the filter. */
  private chunkEvents(info: ChunkInfo, c: DecodedChunk, f: EventFilter): TraceEvent[] {
    const out: TraceEvent[] = [];
    const simple = isSimpleFilter(f);
    if (simple) {
      // One generated loop over the chunk (decodes every stream first, so it fails before any event).
      const from = f.fromSeq !== undefined && info.seqFirst < f.fromSeq ? lowerBound(c.seq, f.fromSeq, c.count) : 0;
      const to = f.toSeq !== undefined ? lowerBound(c.seq, f.toSeq, c.count) : c.count;
      forEachInChunk(c, from, to, (e) => {
        out.push(e);
      });
      return out;
    }
    const kindMask = f.kinds ? f.kinds.reduce((m, k) => m | (1 << KIND_CODE[k]), 0) : -1;
    const cur = new ChunkCursor(c);
    let start = 0;
    if (f.fromSeq !== undefined && info.seqFirst < f.fromSeq) start = lowerBound(c.seq, f.fromSeq, c.count);
    while (cur.i < start) cur.skip();
    for (let i = start; i < c.count; i++) {
      if (f.toSeq !== undefined && c.seq[i]! >= f.toSeq) break;
      if (simple) {
        out.push(cur.next());
        continue;
      }
      // Cheap column tests first; the rest on the built event.
      const t = c.time[i]!;
      if (
        ((1 << c.kind[i]!) & kindMask) === 0 ||
        (f.fromTime !== undefined && t < f.fromTime) ||
        (f.toTime !== undefined && t >= f.toTime) ||
        (f.vcpus !== undefined && !f.vcpus.includes(c.vcpu[i]!))
      ) {
        cur.skip();
        continue;
      }
      const ev = cur.next();
      if (matchesFilter(ev, f)) out.push(ev);
    }
    return out;
  }

  /** The event with sequence number seq, or undefined. */
  event(seq: number): TraceEvent | undefined {
    const info = this.chunkForSeq(seq);
    if (!info) return undefined;
    const c = this.chunk(info);
    if (!c) return undefined;
    const i = lowerBound(c.seq, seq, c.count);
    if (i >= c.count || c.seq[i] !== seq) return undefined;
    const cur = new ChunkCursor(c);
    while (cur.i < i) cur.skip();
    return cur.next();
  }

  private chunkForSeq(seq: number): ChunkInfo | undefined {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = this.chunks[mid]!;
      if (seq < c.seqFirst) hi = mid - 1;
      else if (seq > c.seqLast) lo = mid + 1;
      else return c;
    }
    return undefined;
  }

  /** The first event (in sequence order) whose time is >= t, or undefined. */
  seekTime(t: number): TraceEvent | undefined {
    for (const info of this.chunks) {
      if (info.timeMax < t) continue;
      const c = this.chunk(info);
      if (!c) continue;
      const cur = new ChunkCursor(c);
      for (let i = 0; i < c.count; i++) {
        if (c.time[i]! >= t) return cur.next();
        cur.skip();
      }
    }
    return undefined;
  }

  /** Counts per kind/device/register/INTID/hypercall/vCPU: stored at close, or computed now. */
  counts(): CountRows {
    if (this.complete) {
      try {
        return this.storedCounts();
      } catch {
        // Summary tables unreadable: fall back to a scan.
      }
    }
    return this.scannedCounts();
  }

  private storedCounts(): CountRows {
    const all = <T>(sql: string) => this.db.prepare(sql).all() as T[];
    const kinds: Record<string, number> = {};
    for (const r of all<{ kind: string; count: number }>('SELECT kind, count FROM kind_counts ORDER BY count DESC'))
      kinds[r.kind] = r.count;
    return {
      kinds,
      devices: all('SELECT device, kind, count FROM device_counts ORDER BY count DESC'),
      registers: all('SELECT device, register, kind, count FROM register_counts ORDER BY count DESC'),
      intids: all('SELECT intid, kind, count FROM intid_counts ORDER BY intid, kind'),
      hypercalls: all('SELECT conduit, func, name, subop, count FROM hypercall_counts ORDER BY count DESC'),
      vcpus: all('SELECT vcpu, kind, count FROM vcpu_counts ORDER BY vcpu, kind'),
      origin: 'stored',
    };
  }

  private scannedCounts(): CountRows {
    const s = new Summary();
    for (const c of this.scan()) {
      s.add({ count: c.count, kind: c.kind, vcpu: c.vcpu, time: c.time, stream: (i) => c.stream(i) });
    }
    const rows = (m: Map<string, number>) =>
      [...m].map(([k, count]) => ({ parts: k.split('\0'), count })).sort((a, b) => b.count - a.count);
    return {
      kinds: Object.fromEntries([...s.kinds].sort((a, b) => b[1] - a[1])),
      devices: rows(s.devices).map(({ parts: [device, kind], count }) => ({ device: device!, kind: kind!, count })),
      registers: rows(s.registers).map(({ parts: [device, register, kind], count }) => ({
        device: device!,
        register: register!,
        kind: kind!,
        count,
      })),
      intids: rows(s.intids)
        .map(({ parts: [intid, kind], count }) => ({ intid: Number(intid), kind: kind!, count }))
        .sort((a, b) => a.intid - b.intid || a.kind.localeCompare(b.kind)),
      hypercalls: rows(s.hypercalls).map(({ parts: [conduit, func, name, subop], count }) => ({
        conduit: conduit!,
        func: Number(func),
        name: name!,
        subop: subop!,
        count,
      })),
      vcpus: rows(s.vcpus)
        .map(({ parts: [vcpu, kind], count }) => ({ vcpu: Number(vcpu), kind: kind!, count }))
        .sort((a, b) => a.vcpu - b.vcpu || a.kind.localeCompare(b.kind)),
      origin: 'scanned',
    };
  }

  /** Everything `bootscope info` shows. */
  info(): TraceInfo {
    const counts = this.counts();
    const events = this.eventCount;
    const [timeFirst, timeLast] = this.timeRange();
    const last = this.chunks[this.chunks.length - 1];
    const out: TraceInfo = {
      path: this.path,
      fileBytes: this.fileBytes,
      complete: this.complete,
      meta: this.meta,
      events,
      chunks: this.chunks.length,
      timeFirst,
      timeLast,
      duration: timeLast - timeFirst,
      durationNs: timeToNs(timeLast - timeFirst, this.meta.clock),
      bytesPerEvent: events ? this.fileBytes / events : 0,
      regions: this.regions,
      counts,
      problems: this.problemDetails,
    };
    if (this.digest) out.digest = this.digest;
    if (this.interrupted) out.interrupted = this.interrupted;
    if (!this.complete) {
      const why = this.abandoned ? `stopped early (${this.abandoned})` : 'did not finish (killed or crashed)';
      out.incomplete = last
        ? `the writer ${why}: readable up to chunk ${last.id}, event ${last.seqLast}`
        : `the writer ${why} before its first chunk`;
    }
    return out;
  }
}

/** A filter the chunk walker handles by index range alone (no per-event tests). */
function isSimpleFilter(f: EventFilter): boolean {
  return !f.kinds && !f.devices && !f.registers && !f.vcpus && !f.intids && f.fromTime === undefined && f.toTime === undefined;
}

/** First index i in sorted a[0..n) with a[i] >= x. */
function lowerBound(a: Float64Array, x: number, n: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Open a trace for reading. Throws TraceError (one line, names the file) on bad input. */
export function openTrace(path: string, opts: ReaderOptions = {}): TraceReader {
  return TraceReader.open(path, opts);
}
