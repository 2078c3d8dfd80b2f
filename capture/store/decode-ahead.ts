// Decoding ahead of a sequential read on a worker thread (capture/store/decode-worker.ts).

import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import {
  CTL_CONSUMED,
  CTL_DONE,
  CTL_NEXT,
  CTL_SIZE,
  CTL_STOP,
  CTL_WAITING,
  type DecodeResult,
  type DecodeWorkerData,
} from './decode-worker.ts';

/** What the worker needs to know of a chunk (the reader's ChunkInfo has it). */
export type DecodeJob = DecodeWorkerData['jobs'][number];

/**
 * The reading side of capture/store/decode-worker.ts: chunks k = 0, 1, … of a read, each either
 * decoded by the worker (take(k) returns its result) or left to the caller (take(k) returns
 * undefined, having claimed k so the worker skips it). Memory: at most AHEAD chunks in flight.
 */
export class DecodeAhead {
  private static readonly AHEAD = 4;
  /** Longest wait for a chunk the worker claimed before decoding it here instead. */
  private static readonly PATIENCE_MS = 10_000;
  private readonly ctl: Int32Array;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly ready = new Map<number, DecodeResult>();

  private constructor(ctl: Int32Array, worker: Worker, port: MessagePort) {
    this.ctl = ctl;
    this.worker = worker;
    this.port = port;
  }

  static start(path: string, infos: readonly DecodeJob[]): DecodeAhead | undefined {
    try {
      const ctl = new Int32Array(new SharedArrayBuffer(4 * CTL_SIZE));
      const { port1, port2 } = new MessageChannel();
      const data: DecodeWorkerData = {
        kind: 'bootscope-decode',
        path,
        ctl: ctl.buffer as SharedArrayBuffer,
        ahead: DecodeAhead.AHEAD,
        port: port2,
        jobs: infos.map((i) => ({
          id: i.id,
          count: i.count,
          seqFirst: i.seqFirst,
          zstBytes: i.zstBytes,
          crc32: i.crc32,
          rawBytes: i.rawBytes,
        })),
      };
      const worker = new Worker(new URL('./decode-worker.ts', import.meta.url), { workerData: data, transferList: [port2] });
      worker.unref();
      worker.on('error', () => {}); // a worker that fails leaves its chunks to the reader (see take)
      return new DecodeAhead(ctl, worker, port1);
    } catch {
      return undefined;
    }
  }

  /** The worker's result for chunk k, or undefined when the caller must decode it. */
  take(k: number): DecodeResult | undefined {
    const ctl = this.ctl;
    let got = this.drain(k);
    if (got === undefined && Atomics.compareExchange(ctl, CTL_NEXT, k, k + 1) !== k) {
      // The worker claimed chunk k: wait for its post.
      const until = performance.now() + DecodeAhead.PATIENCE_MS;
      for (;;) {
        const done = Atomics.load(ctl, CTL_DONE);
        got = this.drain(k);
        if (got !== undefined || performance.now() > until) break;
        Atomics.wait(ctl, CTL_DONE, done, 50);
      }
    }
    Atomics.store(ctl, CTL_CONSUMED, k + 1);
    if (Atomics.load(ctl, CTL_WAITING)) Atomics.notify(ctl, CTL_CONSUMED);
    return got;
  }

  private drain(k: number): DecodeResult | undefined {
    for (;;) {
      const m = receiveMessageOnPort(this.port);
      if (!m) break;
      const r = m.message as DecodeResult;
      this.ready.set(r.index, r);
    }
    const got = this.ready.get(k);
    if (got !== undefined) this.ready.delete(k);
    return got;
  }

  stop(): void {
    Atomics.store(this.ctl, CTL_STOP, 1);
    Atomics.notify(this.ctl, CTL_CONSUMED);
    this.ready.clear();
    this.port.close();
    void this.worker.terminate();
  }
}
