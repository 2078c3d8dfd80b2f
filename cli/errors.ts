// User-facing errors: one line, naming the file and what was wrong; no stack unless --debug.

import { ERRNO_TEXT } from '../capture/output.ts';

/** An error whose message is meant for the user as is. */
export class UserError extends Error {
  override name = 'UserError';
}

/** Errors that carry a user-facing message (UserError here, TraceError/ImportError elsewhere). */
export function isUserFacing(err: unknown): err is Error {
  return (
    err instanceof Error &&
    (err instanceof UserError ||
      /^(TraceError|ImportError|FdtError|LoaderError|GuestImageError|DiskError|NicError|OutputError)$/.test(err.name))
  );
}

/** Print an error the way the CLI does and return the exit code. */
export function reportError(err: unknown, debug: boolean): number {
  if (debug && err instanceof Error && err.stack) {
    process.stderr.write(err.stack + '\n');
  } else if (isUserFacing(err)) {
    process.stderr.write(`bootscope: ${err.message}\n`);
  } else if (fileError(err)) {
    // A system error about a file that no check above caught (e.g. EACCES): the file and the reason.
    process.stderr.write(`bootscope: ${err.path}: ${ERRNO_TEXT[err.code]}\n`);
  } else {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`bootscope: internal error: ${msg} (run with --debug for details)\n`);
  }
  return 1;
}

/** A Node file-system error with a path and a code users understand (EACCES, ENOSPC, EROFS…). */
function fileError(err: unknown): err is NodeJS.ErrnoException & { path: string; code: string } {
  const e = err as NodeJS.ErrnoException | undefined;
  return e instanceof Error && typeof e.path === 'string' && typeof e.code === 'string' && e.code in ERRNO_TEXT;
}
