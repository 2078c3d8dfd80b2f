// Streamed standard output for commands whose output grows with the trace (events, sql, console).
//
// process.stdout on a pipe queues every write in memory when the reader is slower, and after the
// reader is gone (`| head`) it keeps queueing until the command ends: `events BIG | head` held
// 800 MB and ran to the end. Here output is collected in a 64 KiB buffer and written with
// fs.writeSync: the command blocks while the pipe is full (backpressure, memory flat), and the
// first write after the reader has gone raises StdoutClosed, which the CLI turns into a quiet exit
// with status 0.

import fs from 'node:fs';

/** The reader of standard output went away (EPIPE): stop producing output and exit quietly. */
export class StdoutClosed extends Error {
  override name = 'StdoutClosed';
  constructor() {
    super('standard output was closed');
  }
}

const FLUSH_AT = 64 << 10;
/** For sleeping while a non-blocking pipe is full (fd 1 is non-blocking once Node has opened it). */
const sleeper = new Int32Array(new SharedArrayBuffer(4));

export class Stdout {
  private readonly fd: number;
  private parts: (string | Uint8Array)[] = [];
  private size = 0;

  constructor(fd = 1) {
    this.fd = fd;
  }

  /** Queue text (UTF-8) or bytes; written once 64 KiB are queued, or at flush(). */
  write(data: string | Uint8Array): void {
    this.parts.push(data);
    this.size += data.length;
    if (this.size >= FLUSH_AT) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    const parts = this.parts;
    const buf = parts.every((p) => typeof p === 'string')
      ? Buffer.from(parts.join(''), 'utf8')
      : Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
    this.parts = [];
    this.size = 0;
    let off = 0;
    while (off < buf.length) {
      try {
        off += fs.writeSync(this.fd, buf, off, buf.length - off);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          Atomics.wait(sleeper, 0, 0, 1); // the pipe is full: wait for the reader
          continue;
        }
        if (code === 'EPIPE') throw new StdoutClosed();
        throw err;
      }
    }
  }
}
