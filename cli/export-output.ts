// Where `bootscope export` writes: a file or a directory, always built under a temporary name next
// to the destination and renamed into place when complete, so a failed, damaged or interrupted
// export leaves nothing behind (and, with --force, the old output as it was).

import fs from 'node:fs';
import path from 'node:path';
import { checkOutput, errnoText, OutputError, partialPath } from '../capture/output.ts';
import { UserError } from './errors.ts';

/** A file or directory being written under a temporary name. */
export interface PendingOutput {
  /** The destination as given. */
  readonly path: string;
  /** Where to write now. */
  readonly tmp: string;
  /** Put the finished output in place (replacing an old one atomically for files). */
  commit(): void;
  /** Remove what was written (after an error or an interrupt). */
  discard(): void;
}

/** A file output: the rules of checkOutput (no directory, no input, --force to replace). */
export function pendingFile(file: string, opts: { force: boolean; inputs: readonly string[] }): PendingOutput {
  checkOutput(file, { overwrite: opts.force, inputs: opts.inputs });
  const tmp = partialPath(file);
  return {
    path: file,
    tmp,
    commit() {
      try {
        fs.renameSync(tmp, file);
      } catch (err) {
        throw new OutputError(file, `cannot put the export in place: ${errnoText(err)}`);
      }
    },
    discard() {
      fs.rmSync(tmp, { force: true });
    },
  };
}

/** Marks a directory as an export of ours, so --force only ever replaces one of those. */
export const EXPORT_DIR_MARK = 'traces.parquet';

/**
 * A directory output (hive layout). Refused when the path is a file, an input, or an existing
 * directory unless --force and it holds a previous export (its traces.parquet): --force never
 * deletes a directory of something else.
 */
export function pendingDir(dir: string, opts: { force: boolean; inputs: readonly string[] }): PendingOutput {
  const abs = path.resolve(dir);
  for (const input of opts.inputs)
    if (path.resolve(input) === abs) throw new OutputError(dir, 'is also an input of this command; choose another output');
  const st = statOrUndefined(dir);
  if (st && !st.isDirectory())
    throw new OutputError(dir, 'exists and is not a directory (several traces or --partition export to a directory)');
  if (st && !opts.force) throw new OutputError(dir, 'already exists (use --force to replace a previous export)');
  if (st && !fs.existsSync(path.join(dir, EXPORT_DIR_MARK)))
    throw new OutputError(dir, `exists and is not a bootscope export (no ${EXPORT_DIR_MARK}); refusing to replace it`);
  const parent = path.dirname(abs);
  const pst = statOrUndefined(parent);
  if (!pst) throw new OutputError(dir, `directory ${parent} does not exist`);
  if (!pst.isDirectory()) throw new OutputError(dir, `${parent} is not a directory`);
  try {
    fs.accessSync(parent, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    throw new OutputError(dir, `cannot write in ${parent}: permission denied`);
  }
  const tmp = partialPath(dir);
  try {
    fs.mkdirSync(tmp);
  } catch (err) {
    throw new OutputError(dir, `cannot create ${tmp}: ${errnoText(err)}`);
  }
  return {
    path: dir,
    tmp,
    commit() {
      const old = st ? `${dir}.old-${process.pid}` : undefined;
      try {
        if (old) fs.renameSync(dir, old);
        fs.renameSync(tmp, dir);
      } catch (err) {
        if (old && !fs.existsSync(dir)) fs.renameSync(old, dir);
        throw new OutputError(dir, `cannot put the export in place: ${errnoText(err)}`);
      }
      if (old) fs.rmSync(old, { recursive: true, force: true });
    },
    discard() {
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Open a new file for writing ('wx': never an existing one); errors are one line naming it. */
export function openNew(file: string, shown = file): number {
  try {
    return fs.openSync(file, 'wx');
  } catch (err) {
    throw new OutputError(shown, `cannot write: ${errnoText(err)}`);
  }
}

function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

/** Export names: file names without `.trace`, made safe for a hive path; two alike are refused. */
export function traceNames(paths: readonly string[]): string[] {
  const names = paths.map(
    (p) =>
      path
        .basename(p)
        .replace(/\.trace$/, '')
        .replace(/[^A-Za-z0-9._-]/g, '_') || 'trace',
  );
  const seen = new Map<string, string>();
  names.forEach((n, i) => {
    const other = seen.get(n);
    if (other !== undefined) throw new UserError(`${paths[i]}: exports under the same name ('${n}') as ${other}; rename one of them`);
    seen.set(n, paths[i]!);
  });
  return names;
}
