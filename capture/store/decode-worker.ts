// Decoding worker for TraceReader.forEachEvent on large traces: reads, checks, decompresses and
// decodes chunks ahead of the thread that builds events and runs the analyses, and posts their
// columns back. Chunks are claimed through a shared counter, so the reading thread can decode a
// chunk itself when the worker is not there yet (start-up) and never waits on a chunk nobody has.
//
// Shared Int32Array (see DecodeAhead in reader.ts): [NEXT] next chunk index to claim,
// [CONSUMED] chunks the reader has taken, [DONE] bumped after every post, [STOP] set to end,
// [WAITING] set while the worker sleeps on CONSUMED.

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { decodeChunk, type ChunkColumns } from './chunk-decode.ts';
import { DecodeError } from './bytes.ts';
import { defaultCodec, MAX_CHUNK_RAW_BYTES } from './codec.ts';

export const CTL_NEXT = 0;
export const CTL_CONSUMED = 1;
export const CTL_DONE = 2;
export const CTL_STOP = 3;
/** 1 while the worker sleeps waiting for the reader to take chunks (so the reader wakes it only then). */
export const CTL_WAITING = 4;
export const CTL_SIZE = 5;

export interface DecodeJob {
  id: number;
  count: number;
  seqFirst: number;
  zstBytes: number;
  crc32: number;
  /** Payload size the index records: the frame must declare exactly this (checked before inflating). */
  rawBytes: number;
}

export interface DecodeWorkerData {
  kind: 'bootscope-decode';
  path: string;
  jobs: DecodeJob[];
  ctl: SharedArrayBuffer;
  /** How many chunks the worker may decode ahead of the reader. */
  ahead: number;
  port: MessagePort;
}

/** What the worker posts per chunk, in claim order. */
export type DecodeResult =
  | { index: number; type: 'ok'; columns: ChunkColumns }
  /** What TraceReader.chunk() would report (message as it words it). */
  | { index: number; type: 'bad'; message: string }
  /** A field stream failed to decode (DecodeError): what forEachEvent reports for it. */
  | { index: number; type: 'undecodable'; message: string }
  /** Anything else: the reader decodes this chunk itself (and meets the error itself). */
  | { index: number; type: 'retry' };

function decodeOne(get: Database.Statement, job: DecodeJob, index: number): { result: DecodeResult; transfer: ArrayBuffer[] } {
  const bad = (message: string) => ({ result: { index, type: 'bad' as const, message }, transfer: [] });
  let data: Buffer;
  try {
    const row = get.get(job.id) as { data: Buffer } | undefined;
    if (!row) return bad('chunk data is missing');
    data = row.data;
  } catch (err) {
    const e = err as { message?: string };
    return bad(`unreadable: ${e.message ?? String(err)}`);
  }
  if (data.length !== job.zstBytes || zlib.crc32(data) !== job.crc32) return bad('checksum mismatch (chunk is corrupt)');
  // An implausible size is left to the reader, which words the problem.
  if (!(job.rawBytes >= 0 && job.rawBytes <= MAX_CHUNK_RAW_BYTES)) return { result: { index, type: 'retry' }, transfer: [] };
  let raw: Uint8Array;
  try {
    raw = codec.decompress(data, job.rawBytes);
  } catch (err) {
    return bad(`cannot decompress: ${(err as Error).message}`);
  }
  let chunk;
  try {
    // Own the whole buffer, so it can be transferred without detaching anything else.
    if (raw.byteOffset !== 0 || raw.byteLength !== raw.buffer.byteLength) raw = new Uint8Array(raw);
    chunk = decodeChunk(raw);
  } catch (err) {
    return bad(`cannot decode: ${(err as Error).message}`);
  }
  if (chunk.count !== job.count || (chunk.count > 0 && chunk.seq[0] !== job.seqFirst))
    return bad(`holds ${chunk.count} events from seq ${chunk.seq[0]}, the index says ${job.count} from ${job.seqFirst}`);
  let columns: ChunkColumns;
  try {
    columns = chunk.columns();
  } catch (err) {
    if (err instanceof DecodeError) return { result: { index, type: 'undecodable', message: err.message }, transfer: [] };
    return { result: { index, type: 'retry' }, transfer: [] };
  }
  const buffers = new Set<ArrayBuffer>();
  const add = (a: ArrayBufferView) => {
    if (a.buffer instanceof ArrayBuffer && a.byteLength > 0) buffers.add(a.buffer);
  };
  for (const a of [columns.kind, columns.flags, columns.seq, columns.time, columns.vcpu, columns.pc, columns.srcLine, columns.wanted])
    add(a);
  for (const s of columns.streams) if (s) for (const a of [s.num, s.u64, s.u8]) add(a);
  return { result: { index, type: 'ok', columns }, transfer: [...buffers] };
}

let codec: ReturnType<typeof defaultCodec>;

function run(d: DecodeWorkerData): void {
  codec = defaultCodec();
  const ctl = new Int32Array(d.ctl);
  const db = new Database(d.path, { readonly: true, fileMustExist: true });
  const get = db.prepare('SELECT data FROM chunk_data WHERE id = ?');
  try {
    for (;;) {
      if (Atomics.load(ctl, CTL_STOP)) return;
      const i = Atomics.load(ctl, CTL_NEXT);
      if (i >= d.jobs.length) return;
      const consumed = Atomics.load(ctl, CTL_CONSUMED);
      if (i - consumed >= d.ahead) {
        Atomics.store(ctl, CTL_WAITING, 1);
        Atomics.wait(ctl, CTL_CONSUMED, consumed, 200);
        Atomics.store(ctl, CTL_WAITING, 0);
        continue;
      }
      if (Atomics.compareExchange(ctl, CTL_NEXT, i, i + 1) !== i) continue; // the reader took it
      let out: { result: DecodeResult; transfer: ArrayBuffer[] };
      try {
        out = decodeOne(get, d.jobs[i]!, i);
      } catch {
        out = { result: { index: i, type: 'retry' }, transfer: [] };
      }
      try {
        d.port.postMessage(out.result, out.transfer);
      } catch {
        d.port.postMessage({ index: i, type: 'retry' } satisfies DecodeResult);
      }
      Atomics.add(ctl, CTL_DONE, 1);
      Atomics.notify(ctl, CTL_DONE);
    }
  } finally {
    db.close();
    d.port.close();
  }
}

if (parentPort && (workerData as { kind?: string } | null)?.kind === 'bootscope-decode') run(workerData as DecodeWorkerData);
