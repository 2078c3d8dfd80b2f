// The one-line, user-facing error every importer raises for bad input.

/** Bad input: names the file and the line (or record/byte) where it went wrong. */
export class ImportError extends Error {
  readonly file: string;
  /** 1-based line or record number; 0 when the problem is not tied to one. */
  readonly line: number;
  constructor(file: string, line: number, message: string, where = 'line') {
    super(line > 0 ? `${file}:${line}: ${message}` : `${file}: ${message}`);
    this.name = 'ImportError';
    this.file = file;
    this.line = line;
    void where;
  }
}
