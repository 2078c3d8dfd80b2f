// Streaming line scanner shared by the text importers: reads big buffers, decodes them 1:1
// (latin1, so byte offsets and columns stay exact), and hands out [start, end) spans of one
// string per chunk. Memory stays flat: one chunk plus the carried-over partial line.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ImportError } from './errors.ts';

export interface LineHandler {
  /** One line without its terminator ('\n' or '\r\n'); `lineNo` is 1-based. */
  line(text: string, start: number, end: number, lineNo: number): void;
}

export interface ScanResult {
  lines: number;
  bytes: number;
  /** shouldStop() asked to stop before the end of the file. */
  stopped?: boolean;
}

/** 1 MiB: large enough to amortise reads, small enough that the decoded chunk strings stay cheap. */
const CHUNK = 1 << 20;

/**
 * Feed every line of `path` to `handler`. Throws ImportError for binary data (NUL bytes) and for a
 * last line that has no newline (a truncated file), naming the line. `shouldStop` is asked after
 * each buffer (the user interrupted the import): the lines handed out so far are whole.
 */
export function scanLines(
  path: string,
  handler: LineHandler,
  onProgress?: (bytes: number, total: number) => void,
  shouldStop?: () => boolean,
): ScanResult {
  const fd = openSync(path, 'r');
  try {
    const total = fstatSync(fd).size;
    const buf = Buffer.allocUnsafe(CHUNK);
    let carry = '';
    // A line longer than a buffer: its pieces, joined once its newline comes (joining each time and
    // searching the whole line again made a 40 MB line take seconds: quadratic).
    const pieces: string[] = [];
    let piecesLen = 0;
    let lineNo = 0;
    let bytes = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      const nul = buf.subarray(0, n).indexOf(0);
      if (nul >= 0) {
        // The partial line carried over has no newline: count this buffer's up to the NUL.
        const upto = buf.subarray(0, nul);
        let nl = 0;
        for (let i = upto.indexOf(10); i >= 0; i = upto.indexOf(10, i + 1)) nl++;
        throw new ImportError(path, lineNo + nl + 1, `binary data (NUL byte at file offset ${bytes + nul}): not a text trace`);
      }
      bytes += n;
      if (buf.subarray(0, n).indexOf(10) < 0) {
        pieces.push(buf.toString('latin1', 0, n));
        piecesLen += n;
        if (carry.length + piecesLen > 64 << 20) throw new ImportError(path, lineNo + 1, 'line longer than 64 MiB: not a text trace');
        onProgress?.(bytes, total);
        if (shouldStop?.()) return { lines: lineNo, bytes, stopped: true };
        continue;
      }
      if (pieces.length) {
        carry += pieces.join('');
        pieces.length = 0;
        piecesLen = 0;
      }
      const text = carry.length > 0 ? carry + buf.toString('latin1', 0, n) : buf.toString('latin1', 0, n);
      let pos = 0;
      for (;;) {
        const nl = text.indexOf('\n', pos);
        if (nl < 0) break;
        lineNo++;
        const end = nl > pos && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        handler.line(text, pos, end, lineNo);
        pos = nl + 1;
      }
      carry = pos < text.length ? text.slice(pos) : '';
      if (carry.length > 64 << 20) throw new ImportError(path, lineNo + 1, 'line longer than 64 MiB: not a text trace');
      onProgress?.(bytes, total);
      if (shouldStop?.()) return { lines: lineNo, bytes, stopped: true };
    }
    if (pieces.length) carry += pieces.join('');
    if (carry.length > 0) {
      throw new ImportError(path, lineNo + 1, `truncated last line (no newline at end of file): '${preview(carry, 0, carry.length)}'`);
    }
    return { lines: lineNo, bytes };
  } finally {
    closeSync(fd);
  }
}

/** A short printable excerpt of a line for error messages. */
export function preview(text: string, start: number, end: number, max = 80): string {
  const s = text.slice(start, Math.min(end, start + max));
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f\x7f-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`) + (end - start > max ? '…' : '');
}
