// QEMU "simple" trace backend (binary, format version 4). Records are decoded with the argument
// layouts of a trace-events-all file, rendered with the event's format string exactly as the
// log backend prints it, and fed to the log importer: one mapping onto the model for both.
//
//   header  u64 0xFFFFFFFFFFFFFFFF, u64 magic 0xF2B177CB0AA429B4, u64 version (4)
//   record  u64 type; type 0 (mapping): u64 id, u32 len, name
//                     type 1 (event):   u64 id, u64 ns, u32 length (incl. these 24 bytes), u32 pid, args
//   args    u64 each, or u32 length + bytes for strings; id 0xFFFFFFFFFFFFFFFE = dropped (u64 count)
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { DeviceRegion, NewEvent } from '../model.ts';
import { SIMPLE_HEADER_EVENT_ID, SIMPLE_MAGIC } from './detect.ts';
import { ImportError } from './errors.ts';
import { QemuLogImporter } from './qemu-log.ts';
import type { ImportStats } from './stats.ts';
import { DEFAULT_TRACE_EVENTS, formatEvent, loadTraceEvents, type TraceEventDef } from './trace-events.ts';

export const SIMPLE_VERSION = 4;
export const SIMPLE_DROPPED_EVENT_ID = 0xfffffffffffffffen;
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);
const MAX_RECORD_ARG_BYTES = 1 << 20;

export interface SimpleOptions {
  file: string;
  eventsFile?: string;
  strict?: boolean;
  emit(ev: NewEvent): void;
  regions?: DeviceRegion[];
  onRegions?(regions: DeviceRegion[]): void;
  onProgress?(done: number, total: number): void;
  /** Asked every 65,536 records: true stops the import there (the user interrupted it). */
  shouldStop?(): boolean;
}

/** Buffered little-endian reader over a file descriptor. */
class BinReader {
  private buf = Buffer.alloc(1 << 20);
  private start = 0;
  private end = 0;
  /** File offset of buf[0]. */
  private base = 0;
  private eof = false;
  private readonly fd: number;
  constructor(fd: number) {
    this.fd = fd;
  }
  get offset(): number {
    return this.base + this.start;
  }
  /** Make `n` bytes available; false at a clean end of file (0 bytes left when n requested). */
  ensure(n: number): number {
    while (this.end - this.start < n && !this.eof) {
      if (this.start > 0) {
        this.buf.copy(this.buf, 0, this.start, this.end);
        this.base += this.start;
        this.end -= this.start;
        this.start = 0;
      }
      if (this.buf.length - this.end < n) {
        const nb = Buffer.alloc(Math.max(this.buf.length * 2, n));
        this.buf.copy(nb, 0, 0, this.end);
        this.buf = nb;
      }
      const r = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null);
      if (r === 0) this.eof = true;
      this.end += r;
    }
    return this.end - this.start;
  }
  u64(): bigint {
    const v = this.buf.readBigUInt64LE(this.start);
    this.start += 8;
    return v;
  }
  u32(): number {
    const v = this.buf.readUInt32LE(this.start);
    this.start += 4;
    return v;
  }
  bytes(n: number): Buffer {
    const v = this.buf.subarray(this.start, this.start + n);
    this.start += n;
    return v;
  }
}

export function importSimpleTrace(opts: SimpleOptions): { stats: ImportStats; extra: Record<string, unknown> } {
  const file = opts.file;
  const defs = loadTraceEvents(opts.eventsFile ?? DEFAULT_TRACE_EVENTS);
  const fd = openSync(file, 'r');
  try {
    const total = fstatSync(fd).size;
    const r = new BinReader(fd);
    if (r.ensure(24) < 24) throw new ImportError(file, 0, `too short for a simpletrace header (${total} bytes, need 24)`);
    const hdr = r.u64();
    const magic = r.u64();
    const version = r.u64();
    if (hdr !== SIMPLE_HEADER_EVENT_ID || magic !== SIMPLE_MAGIC)
      throw new ImportError(file, 0, 'not a QEMU simpletrace file (bad header magic)');
    if (version !== BigInt(SIMPLE_VERSION))
      throw new ImportError(
        file,
        0,
        `simpletrace format version ${version} is not supported (only version ${SIMPLE_VERSION}; convert with the matching QEMU's simpletrace.py)`,
      );

    const imp = new QemuLogImporter({ file, regions: opts.regions, strict: opts.strict, emit: opts.emit, onRegions: opts.onRegions });
    const names = new Map<bigint, string>();
    let firstNs: bigint | undefined;
    let dropped = 0n;
    let record = 0;
    const fail = (msg: string): never => {
      throw new ImportError(file, record, `${msg} (byte offset ${r.offset})`, 'record');
    };
    for (;;) {
      const have = r.ensure(8);
      if (have === 0) break;
      record++;
      if (have < 8) fail('truncated record type');
      const at = r.offset;
      const type = r.u64();
      if (type === 0n) {
        if (r.ensure(12) < 12) fail('truncated mapping record');
        const id = r.u64();
        const len = r.u32();
        if (len > 4096) fail(`event name length ${len} is implausible`);
        if (r.ensure(len) < len) fail('truncated mapping record');
        names.set(id, r.bytes(len).toString('latin1'));
        imp.countHeader();
        continue;
      }
      if (type !== 1n) fail(`unknown record type ${type} at byte ${at}`);
      if (r.ensure(24) < 24) fail('truncated event record header');
      const id = r.u64();
      const ns = r.u64();
      const length = r.u32();
      const pid = r.u32();
      if (length < 24) fail(`record length ${length} is shorter than its header`);
      const argBytes = length - 24;
      // Checked before anything is read or allocated: a damaged length must not make us allocate
      // gigabytes. QEMU caps string arguments at 512 bytes, so real records are far below 1 MiB.
      if (argBytes > MAX_RECORD_ARG_BYTES)
        fail(`record length ${length} is implausible (more than ${MAX_RECORD_ARG_BYTES} argument bytes)`);
      if (argBytes > total - r.offset || r.ensure(argBytes) < argBytes) fail(`truncated event record (needs ${argBytes} argument bytes)`);
      const args = r.bytes(argBytes);
      firstNs ??= ns;
      const rel = ns - firstNs;
      if (rel > MAX_SAFE_BIG) {
        imp.badRecord(record, `timestamp out of range (${rel} ns after the first record is more than 2^53)`);
        continue;
      }
      const time = Number(rel);
      if (id === SIMPLE_DROPPED_EVENT_ID) {
        if (args.length >= 8) dropped += args.readBigUInt64LE(0);
        imp.countHeader();
        continue;
      }
      const name = names.get(id);
      if (name === undefined) {
        imp.badRecord(record, `event id ${id} has no mapping record`);
        continue;
      }
      const def = defs.get(name);
      if (def === undefined) {
        imp.unmappedRecord(name);
        continue;
      }
      const values = decodeArgs(def, args);
      if (values === undefined) {
        imp.badRecord(record, `arguments of ${name} do not match ${opts.eventsFile ?? DEFAULT_TRACE_EVENTS} (${argBytes} bytes)`);
        continue;
      }
      const text = name + ' ' + formatEvent(def, values);
      imp.eventLine(text, record, time, pid);
      if ((record & 0xffff) === 0) {
        opts.onProgress?.(r.offset, total);
        if (opts.shouldStop?.()) break;
      }
    }
    opts.onProgress?.(total, total);
    const stats = imp.finish();
    return { stats, extra: { clockStartNs: firstNs?.toString(), droppedEvents: dropped.toString(), simpleVersion: SIMPLE_VERSION } };
  } finally {
    closeSync(fd);
  }
}

function decodeArgs(def: TraceEventDef, b: Buffer): Array<bigint | string> | undefined {
  const out: Array<bigint | string> = [];
  let p = 0;
  for (const a of def.args) {
    if (a.isString) {
      if (p + 4 > b.length) return undefined;
      const len = b.readUInt32LE(p);
      p += 4;
      if (p + len > b.length) return undefined;
      out.push(b.toString('latin1', p, p + len));
      p += len;
    } else {
      if (p + 8 > b.length) return undefined;
      out.push(b.readBigUInt64LE(p));
      p += 8;
    }
  }
  return p === b.length ? out : undefined;
}
