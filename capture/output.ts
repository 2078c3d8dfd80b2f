// Output files every command writes (traces, HTML reports): checked before any work starts, never
// one of the command's inputs, never replaced without being asked to, and replaced atomically when
// asked to (written next to the old file, renamed over it at the end), so a failed or killed run
// leaves the old file as it was.

import fs from 'node:fs';
import path from 'node:path';

/** A problem with the output path the user must see: one line, naming the file. */
export class OutputError extends Error {
  override name = 'OutputError';
  readonly file: string;
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.file = file;
  }
}

export interface OutputOptions {
  /** Replace the file if it exists (the CLI's --force). */
  overwrite?: boolean;
  /** Files the command reads: the output may never be one of them, with or without overwrite. */
  inputs?: readonly (string | undefined)[];
}

/** What checkOutput found: where to write, and whether that replaces an existing file. */
export interface OutputPlan {
  /** The output path as given. */
  path: string;
  /** An existing file will be replaced (overwrite was given). */
  replaces: boolean;
  /** Where to write: `path` for a new file, a temporary sibling when replacing (see finishOutput). */
  writePath: string;
}

/**
 * Check an output path before any work: refuse a directory, a missing or unwritable parent
 * directory, one of the inputs (same path, or the same file through a hard or symbolic link, even
 * with overwrite), and an existing file without overwrite. Throws OutputError.
 */
export function checkOutput(file: string, opts: OutputOptions = {}): OutputPlan {
  const st = statOrUndefined(file);
  if (st?.isDirectory()) throw new OutputError(file, 'is a directory; give a file name for the output');
  for (const input of opts.inputs ?? []) {
    if (input === undefined) continue;
    if (path.resolve(input) === path.resolve(file))
      throw new OutputError(file, 'is also an input of this command; choose another output file');
    const ist = statOrUndefined(input);
    if (st && ist && st.dev === ist.dev && st.ino === ist.ino) {
      throw new OutputError(file, `is the same file as the input ${input} (a link to it); choose another output file`);
    }
  }
  const dir = path.dirname(path.resolve(file));
  const dst = statOrUndefined(dir);
  if (!dst) throw new OutputError(file, `directory ${dir} does not exist`);
  if (!dst.isDirectory()) throw new OutputError(file, `${dir} is not a directory`);
  try {
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    throw new OutputError(file, `cannot write in ${dir}: permission denied`);
  }
  if (st && !st.isFile()) throw new OutputError(file, 'exists and is not a regular file; refusing to replace it');
  if (st && !opts.overwrite) throw new OutputError(file, 'file exists (use --force to replace it)');
  return { path: file, replaces: st !== undefined, writePath: st ? partialPath(file) : file };
}

/** Where a replacement is written until it is complete: next to the file (same file system). */
export function partialPath(file: string): string {
  return `${file}.partial-${process.pid}`;
}

/** Put a finished replacement in place (atomic: readers see the old file or the new one). */
export function finishOutput(plan: OutputPlan): void {
  if (plan.writePath === plan.path) return;
  try {
    fs.renameSync(plan.writePath, plan.path);
  } catch (err) {
    throw new OutputError(plan.path, `cannot replace it: ${errnoText(err)}`);
  }
}

/**
 * Write a whole file (e.g. an HTML report) under the rules of checkOutput: written to a temporary
 * sibling and renamed into place, so an existing file is replaced only by a complete new one.
 */
export function writeOutputFile(file: string, data: string | Uint8Array, opts: OutputOptions = {}): void {
  const plan = checkOutput(file, opts);
  const tmp = partialPath(file);
  try {
    fs.writeFileSync(tmp, data, { flag: 'wx' });
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new OutputError(file, `cannot write: ${errnoText(err)}`);
  }
  finishOutput({ ...plan, writePath: tmp });
}

/** "permission denied" for EACCES and friends; the message of anything else. */
export function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return (code && ERRNO_TEXT[code]) ?? (err instanceof Error ? err.message : String(err));
}

/** Plain words for the system errors users meet with files. */
export const ERRNO_TEXT: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory',
  ENOTDIR: 'a component of the path is not a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EEXIST: 'file exists',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many levels of symbolic links',
  EIO: 'input/output error',
};

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}
