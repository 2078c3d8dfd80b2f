// The trace writer: streams events into chunks, commits each chunk in its own transaction
// (WAL), and writes summaries, the digest and the "complete" mark at close. Memory is bounded
// by one chunk whatever the trace length.

import fs from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { SCHEMA_VERSION, type ClockInfo, type DeviceRegion, type NewEvent, type Recorder, type TraceSource } from '../model.ts';
import { ByteWriter } from './bytes.ts';
import { ChunkBuilder, EventError, type StreamColumn } from './chunk.ts';
import { defaultCodec, DEFAULT_LEVEL, type ZstdCodec } from './codec.ts';
import { TraceError } from './errors.ts';
import { checkOutput, errnoText, finishOutput, type OutputPlan } from '../output.ts';
import { DDL, FORMAT_ID, META_KEYS } from './schema.ts';
import { Summary, type ColumnView } from './summary.ts';
import { TOOL_VERSION } from './version.ts';

/** Events per chunk: tens of thousands keeps seeks cheap and compression good. */
export const DEFAULT_CHUNK_EVENTS = 65536;
/** Flush early when console bytes / hypercall arguments held in a chunk pass this. */
const MAX_HELD_BYTES = 1 << 20;

export interface WriterOptions {
  source: TraceSource;
  clock: ClockInfo;
  devices?: DeviceRegion[];
  hashes?: Record<string, string>;
  extra?: Record<string, unknown>;
  /**
   * Replace an existing file (default: refuse). The new trace is written next to it and renamed
   * over it by close(), so the old file survives a producer that fails or is killed.
   */
  overwrite?: boolean;
  /** Files the producer reads: the trace may never replace one of them (see checkOutput). */
  inputs?: readonly (string | undefined)[];
  chunkEvents?: number;
  /** zstd implementation (default: Node's built-in, else zstd-codec); see loadCodec(). */
  codec?: ZstdCodec;
  level?: number;
}

/** How close() ends the trace. */
export interface CloseOptions {
  /**
   * The producer was stopped by the user (e.g. 'SIGINT'): everything recorded so far is committed
   * and the trace is finished as usual, with meta.interrupted saying why it ends early.
   */
  interrupted?: string;
}

/** What close() reports. */
export interface WriteResult {
  path: string;
  events: number;
  chunks: number;
  bytes: number;
  digest: string;
}

export class TraceWriter implements Recorder {
  readonly enabled = true;
  /** The trace's path (where it is once closed). */
  readonly path: string;
  /** Where the trace is written until close(): `path`, or a temporary sibling when replacing a file. */
  readonly writePath: string;
  private readonly plan: OutputPlan;
  private readonly db: Database.Database;
  private readonly codec: ZstdCodec;
  private readonly level: number;
  private readonly builder: ChunkBuilder;
  private readonly out = new ByteWriter(1 << 20);
  private readonly summary = new Summary();
  private readonly digest: Hash = createHash('sha256');
  private readonly insertChunk: Database.Statement;
  private readonly insertData: Database.Statement;
  private readonly setMetaStmt: Database.Statement;
  private nextSeq = 0;
  private chunkId = 0;
  private timeFirst: number | undefined;
  private timeLast = 0;
  private closed = false;
  private readonly columnView: ColumnView;

  private constructor(plan: OutputPlan, db: Database.Database, codec: ZstdCodec, opts: WriterOptions) {
    this.plan = plan;
    this.path = plan.path;
    this.writePath = plan.writePath;
    this.db = db;
    this.codec = codec;
    this.level = opts.level ?? DEFAULT_LEVEL;
    const chunkEvents = opts.chunkEvents ?? DEFAULT_CHUNK_EVENTS;
    this.builder = new ChunkBuilder(chunkEvents);
    this.insertChunk = db.prepare(
      `INSERT INTO chunks (id, seq_first, seq_last, time_first, time_min, time_max, count, kinds, vcpus,
         devices, registers, intids, raw_bytes, zst_bytes, crc32)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertData = db.prepare('INSERT INTO chunk_data (id, data) VALUES (?, ?)');
    this.setMetaStmt = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    const b = this.builder;
    this.columnView = {
      get count() {
        return b.n;
      },
      kind: b.kind,
      vcpu: b.vcpu,
      time: b.time,
      stream: (i: number): StreamColumn | undefined => b.cols[i],
    };
  }

  /** Create a new trace file. */
  static create(path: string, opts: WriterOptions): TraceWriter {
    const codec = opts.codec ?? defaultCodec();
    const chunkEvents = opts.chunkEvents ?? DEFAULT_CHUNK_EVENTS;
    if (!Number.isInteger(chunkEvents) || chunkEvents < 1 || chunkEvents > 1 << 20)
      throw new TraceError(path, `chunkEvents must be an integer in 1..${1 << 20}`);
    const plan = checkOutput(path, { overwrite: !!opts.overwrite, inputs: opts.inputs ?? [] });
    const file = plan.writePath;
    // No database goes with these names (the file itself does not exist): a stale WAL left by a
    // crashed writer must not be applied to the new file.
    const companions = [file, `${file}-wal`, `${file}-shm`, `${file}-journal`];
    for (const p of companions.slice(1)) fs.rmSync(p, { force: true });
    let db: Database.Database;
    try {
      fs.closeSync(fs.openSync(file, 'wx')); // exclusive: never open a file someone else just created
    } catch (err) {
      throw new TraceError(path, `cannot create: ${errnoText(err)}`);
    }
    try {
      db = new Database(file);
    } catch (err) {
      fs.rmSync(file, { force: true });
      throw new TraceError(path, `cannot create: ${errnoText(err)}`);
    }
    try {
      db.pragma('page_size = 4096');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec(DDL);
      const w = new TraceWriter(plan, db, codec, opts);
      db.transaction(() => {
        const meta: Record<string, unknown> = {
          [META_KEYS.format]: FORMAT_ID,
          [META_KEYS.schemaVersion]: SCHEMA_VERSION,
          [META_KEYS.toolVersion]: TOOL_VERSION,
          [META_KEYS.createdAt]: new Date().toISOString(),
          [META_KEYS.source]: opts.source,
          [META_KEYS.clock]: opts.clock,
          [META_KEYS.hashes]: opts.hashes ?? {},
          [META_KEYS.extra]: opts.extra ?? {},
          [META_KEYS.chunkEvents]: chunkEvents,
          [META_KEYS.codec]: codec.name,
          [META_KEYS.complete]: false,
          [META_KEYS.eventCount]: 0,
        };
        for (const [k, v] of Object.entries(meta)) w.setMetaStmt.run(k, JSON.stringify(v));
        w.insertDevices(opts.devices ?? []);
      })();
      return w;
    } catch (err) {
      // Leave nothing behind that could pass for a trace.
      db.close();
      for (const p of companions) fs.rmSync(p, { force: true });
      if (err instanceof TraceError) throw err;
      throw new TraceError(path, `cannot create: ${errnoText(err)}`);
    }
  }

  /** Number of events recorded so far. */
  get count(): number {
    return this.nextSeq;
  }

  /** Recorder: store one event (seq assigned here unless the producer gave one). */
  record(ev: NewEvent): void {
    this.append(ev);
  }

  /** Store one event; returns its sequence number. */
  append(ev: NewEvent): number {
    if (this.closed) throw new TraceError(this.path, 'writer is closed');
    let seq = this.nextSeq;
    if (ev.seq !== undefined && ev.seq !== seq) {
      if (!Number.isInteger(ev.seq) || ev.seq < seq)
        throw new TraceError(this.path, `event seq ${ev.seq} is not after the previous one (${seq - 1})`);
      seq = ev.seq;
    }
    const b = this.builder;
    try {
      b.append(ev, seq);
    } catch (err) {
      if (err instanceof EventError || err instanceof TypeError) throw new TraceError(this.path, `event ${seq}: ${err.message}`);
      throw err;
    }
    this.nextSeq = seq + 1;
    if (this.timeFirst === undefined) this.timeFirst = ev.time;
    this.timeLast = ev.time;
    if (b.n >= b.cap || b.refBytes > MAX_HELD_BYTES) this.flush();
    return seq;
  }

  /** Add device regions (names must be unique). */
  addDevices(regions: DeviceRegion[]): void {
    this.db.transaction(() => this.insertDevices(regions))();
  }

  /** Replace or add metadata known only later (image hashes, stop reason…). */
  setMeta(update: { hashes?: Record<string, string>; extra?: Record<string, unknown> }): void {
    const get = (k: string): Record<string, unknown> =>
      JSON.parse((this.db.prepare('SELECT value FROM meta WHERE key = ?').get(k) as { value: string }).value);
    if (update.hashes) this.setMetaStmt.run(META_KEYS.hashes, JSON.stringify({ ...get(META_KEYS.hashes), ...update.hashes }));
    if (update.extra) this.setMetaStmt.run(META_KEYS.extra, JSON.stringify({ ...get(META_KEYS.extra), ...update.extra }));
  }

  private insertDevices(regions: DeviceRegion[]): void {
    const st = this.db.prepare('INSERT INTO devices (name, model, role, base, size, intid, compatible) VALUES (?, ?, ?, ?, ?, ?, ?)');
    for (const r of regions) {
      try {
        st.run(r.name, r.model, r.role, r.base, r.size, r.intid ?? null, r.compatible ? JSON.stringify(r.compatible) : null);
      } catch (err) {
        throw new TraceError(this.path, `device region ${r.name}: ${(err as Error).message}`);
      }
    }
  }

  /** Encode, compress and commit the events collected so far as one chunk. */
  private flush(): void {
    const b = this.builder;
    if (b.n === 0) return;
    const facts = this.summary.add(this.columnView);
    const raw = b.encode(this.out);
    this.digest.update(raw);
    const zst = this.codec.compress(raw, this.level);
    const crc = zlib.crc32(zst);
    const id = this.chunkId++;
    this.write(() => {
      this.insertChunk.run(
        id,
        b.seq[0]!,
        b.seq[b.n - 1]!,
        b.time[0]!,
        facts.timeMin,
        facts.timeMax,
        b.n,
        facts.kinds,
        JSON.stringify(facts.vcpus),
        JSON.stringify(facts.devices),
        JSON.stringify(facts.registers),
        JSON.stringify(facts.intids),
        raw.length,
        zst.length,
        crc,
      );
      this.insertData.run(id, zst);
      this.setMetaStmt.run(META_KEYS.eventCount, JSON.stringify(this.nextSeq));
    });
    b.reset();
  }

  /**
   * Finish the trace: last chunk, summaries, digest, complete mark (and `interrupted` when the user
   * stopped the producer); leaves one self-contained file at `path`, even while readers have it open.
   */
  close(opts: CloseOptions = {}): WriteResult {
    if (this.closed) throw new TraceError(this.path, 'writer is already closed');
    this.flush();
    this.closed = true;
    const digest = `sha256:${this.digest.digest('hex')}`;
    const s = this.summary;
    const db = this.db;
    this.write(() => {
      const put = (sql: string, rows: Iterable<unknown[]>): void => {
        const st = db.prepare(sql);
        for (const r of rows) st.run(...r);
      };
      const split = (m: Map<string, number>) => [...m].map(([k, c]) => [...k.split('\0'), c]);
      put('INSERT INTO kind_counts VALUES (?, ?)', [...s.kinds]);
      put('INSERT INTO device_counts VALUES (?, ?, ?)', split(s.devices));
      put('INSERT INTO register_counts VALUES (?, ?, ?, ?)', split(s.registers));
      put(
        'INSERT INTO intid_counts VALUES (?, ?, ?)',
        split(s.intids).map(([i, k, c]) => [Number(i), k, c]),
      );
      put(
        'INSERT INTO hypercall_counts VALUES (?, ?, ?, ?, ?)',
        split(s.hypercalls).map(([co, f, n, so, c]) => [co, Number(f), n, so, c]),
      );
      put(
        'INSERT INTO vcpu_counts VALUES (?, ?, ?)',
        split(s.vcpus).map(([v, k, c]) => [Number(v), k, c]),
      );
      const meta: Record<string, unknown> = {
        [META_KEYS.eventCount]: this.nextSeq,
        [META_KEYS.digest]: digest,
        [META_KEYS.timeFirst]: this.timeFirst ?? 0,
        [META_KEYS.timeLast]: this.timeLast,
        [META_KEYS.closedAt]: new Date().toISOString(),
        [META_KEYS.complete]: true,
        ...(opts.interrupted !== undefined ? { [META_KEYS.interrupted]: opts.interrupted } : {}),
      };
      for (const [k, v] of Object.entries(meta)) this.setMetaStmt.run(k, JSON.stringify(v));
    });
    this.finishFile();
    return { path: this.path, events: this.nextSeq, chunks: this.chunkId, bytes: fs.statSync(this.path).size, digest };
  }

  /**
   * Stop without finishing (e.g. the producer failed). A new file stays, readable and reported as
   * incomplete with the reason; a replacement is dropped instead, so the file it was to replace
   * survives the failure unchanged.
   */
  abandon(reason = 'abandoned'): void {
    if (this.closed) return;
    if (this.plan.replaces) {
      this.discard();
      return;
    }
    this.closed = true;
    try {
      this.flush();
      this.setMetaStmt.run(META_KEYS.abandoned, JSON.stringify(reason));
    } finally {
      this.finishFile();
    }
  }

  /** Stop and remove what was written (a producer whose partial output is of no use). */
  discard(): void {
    if (this.db.open) this.db.close();
    this.closed = true;
    for (const p of [this.writePath, `${this.writePath}-wal`, `${this.writePath}-shm`, `${this.writePath}-journal`])
      fs.rmSync(p, { force: true });
  }

  /** Run one write transaction; SQLite's failures (disk full, I/O error) become a TraceError naming the file. */
  private write(fn: () => void): void {
    try {
      this.db.transaction(fn)();
    } catch (err) {
      if (err instanceof TraceError) throw err;
      throw new TraceError(this.path, `cannot write: ${errnoText(err)}`);
    }
  }

  /**
   * Leave the trace as one file in rollback-journal mode (readable from read-only media, copied as
   * one file) and put it at `path`. Leaving WAL mode needs the only connection to the file, and a
   * reader in WAL mode holds a shared lock for as long as it is open; so when readers are present,
   * the finished trace is copied into a fresh rollback-mode file (VACUUM INTO) that replaces the
   * one they hold: they keep reading the old file, new readers open the new one.
   */
  private finishFile(): void {
    const db = this.db;
    const file = this.writePath;
    let switched = false;
    try {
      switched = String(db.pragma('journal_mode = DELETE', { simple: true })).toLowerCase() === 'delete';
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY') {
        db.close();
        throw new TraceError(this.path, `cannot finish: ${errnoText(err)}`);
      }
    }
    if (switched) {
      db.close();
    } else {
      const copy = `${file}.closing-${process.pid}`;
      fs.rmSync(copy, { force: true });
      try {
        // Copy the WAL's frames into the file first: a reader that opens it before the rename sees it all.
        db.pragma('wal_checkpoint(PASSIVE)');
        db.prepare('VACUUM INTO ?').run(copy);
      } catch (err) {
        db.close();
        fs.rmSync(copy, { force: true });
        throw new TraceError(this.path, `cannot finish while readers have it open: ${errnoText(err)}`);
      }
      db.close();
      // The readers hold these open; new readers must not find them next to the new file.
      for (const p of [`${file}-wal`, `${file}-shm`]) fs.rmSync(p, { force: true });
      fs.renameSync(copy, file);
    }
    finishOutput(this.plan);
  }
}

/** Create a new trace file for writing (see TraceWriter). */
export function createTrace(path: string, opts: WriterOptions): TraceWriter {
  return TraceWriter.create(path, opts);
}
