// Input format detection from the first bytes of a file.
import { closeSync, openSync, readSync } from 'node:fs';
import { ImportError } from './errors.ts';
import { preview } from './lines.ts';

export const FORMATS = ['qemu-log', 'qemu-simple', 'ftrace'] as const;
export type ImportFormat = (typeof FORMATS)[number];

const SNIFF_BYTES = 64 * 1024;

/** First 8 bytes of a QEMU simpletrace file (a u64 of all ones: the header record type). */
export const SIMPLE_HEADER_EVENT_ID = 0xffffffffffffffffn;
export const SIMPLE_MAGIC = 0xf2b177cb0aa429b4n;

const QEMU_TS = /^\d+@\d+\.\d+:[a-z0-9_]+( |$)/;
const QEMU_ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z [a-z0-9_]+( |$)/;
const QEMU_PLAIN = /^[a-z][a-z0-9_]*_[a-z0-9_]+ \S/;
const FTRACE_LINE = /^\s*.+-\d+\s+(\(\s*[\d-]+\)\s+)?\[\d+\]\s+(\S{4,5}\s+)?\d+\.\d+:\s+[a-z0-9_]+:/;
const FTRACE_HEADER = /^(# tracer:|version = \d+|cpus=\d+|CPU \d+ is empty|cpu \d+ is empty)/;

/** Decide the format of `path`; throws ImportError for empty files and unknown formats. */
export function detectFormat(path: string): ImportFormat {
  const fd = openSync(path, 'r');
  let n: number;
  const buf = Buffer.alloc(SNIFF_BYTES);
  try {
    n = readSync(fd, buf, 0, SNIFF_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  if (n === 0) throw new ImportError(path, 0, 'empty file: nothing to import');
  if (
    n >= 16 &&
    buf.readBigUInt64LE(0) === SIMPLE_HEADER_EVENT_ID &&
    (buf.readBigUInt64LE(8) === SIMPLE_MAGIC || buf.readBigUInt64BE(8) === SIMPLE_MAGIC)
  )
    return 'qemu-simple';
  const text = buf.toString('latin1', 0, n);
  const lines = text.split('\n', 200);
  if (n === SNIFF_BYTES) lines.pop(); // may be cut
  // The first recognisable line decides; other lines before it (QEMU's own -d messages in a -D file,
  // comments) are skipped. If nothing in the sniffed part is recognisable, the error names the first
  // non-blank line.
  let lineNo = 0;
  let firstOther: { line: number; what: string } | undefined;
  for (const raw of lines) {
    lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    if (QEMU_TS.test(line) || QEMU_ISO.test(line)) return 'qemu-log';
    if (FTRACE_HEADER.test(line) || FTRACE_LINE.test(line)) return 'ftrace';
    if (line.startsWith('#')) continue; // ftrace comment block before the first line we recognise
    if (QEMU_PLAIN.test(line)) return 'qemu-log';
    // eslint-disable-next-line no-control-regex
    const binary = line.includes('\0') || /[\x00-\x08\x0e-\x1f]/.test(line);
    firstOther ??= { line: lineNo, what: binary ? 'binary data' : `'${preview(line, 0, line.length)}'` };
    if (binary) break;
  }
  if (firstOther)
    throw new ImportError(
      path,
      firstOther.line,
      `not a QEMU trace log, QEMU simple trace or ftrace text: ${firstOther.what} (use --format to force one)`,
    );
  throw new ImportError(path, lineNo, 'no trace lines found (only blank or comment lines)');
}

/** Which timestamp form a QEMU log uses, from its first trace line (the trace clock is named up front). */
export function sniffQemuClockForm(path: string): 'tid-sec-usec' | 'iso8601' | 'none' {
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(SNIFF_BYTES);
  let n: number;
  try {
    n = readSync(fd, buf, 0, SNIFF_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  for (const line of buf.toString('latin1', 0, n).split('\n', 200)) {
    if (QEMU_TS.test(line)) return 'tid-sec-usec';
    if (QEMU_ISO.test(line)) return 'iso8601';
    if (QEMU_PLAIN.test(line)) return 'none';
  }
  return 'none';
}
