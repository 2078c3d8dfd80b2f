// The one-line, user-facing error every importer raises for bad input.

/** Bad input: names the file and the line (or record/byte) where it went wrong. */
export class ImportError extends Error {
  readonly file: string;
  /** 1-based line or record number; 0 when the problem is not tied to one. */
  readonly line: number;
  /** `where` = 'record' for binary formats: "FILE: record N: …" instead of "FILE:N: …". */
  constructor(file: string, line: number, message: string, where: 'line' | 'record' = 'line') {
    super(line <= 0 ? `${file}: ${message}` : where === 'record' ? `${file}: record ${line}: ${message}` : `${file}:${line}: ${message}`);
    this.name = 'ImportError';
    this.file = file;
    this.line = line;
  }
}

/** The user stopped an import before any event was read (e.g. while a .gz input was decompressed). */
export class ImportInterrupted extends Error {
  readonly file: string;
  /** What stopped it, e.g. 'SIGINT'. */
  readonly reason: string;
  constructor(file: string, reason: string) {
    super(`${file}: interrupted (${reason}) before any event was imported; nothing was written`);
    this.name = 'ImportInterrupted';
    this.file = file;
    this.reason = reason;
  }
}
