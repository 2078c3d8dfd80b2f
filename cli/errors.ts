// User-facing errors: one line, naming the file and what was wrong; no stack unless --debug.

/** An error whose message is meant for the user as is. */
export class UserError extends Error {
  override name = 'UserError';
}

/** Errors that carry a user-facing message (UserError here, TraceError/ImportError elsewhere). */
export function isUserFacing(err: unknown): err is Error {
  return (
    err instanceof Error &&
    (err instanceof UserError || /^(TraceError|ImportError|FdtError|LoaderError|GuestImageError|DiskError|NicError)$/.test(err.name))
  );
}

/** Print an error the way the CLI does and return the exit code. */
export function reportError(err: unknown, debug: boolean): number {
  if (debug && err instanceof Error && err.stack) {
    process.stderr.write(err.stack + '\n');
  } else if (isUserFacing(err)) {
    process.stderr.write(`bootscope: ${err.message}\n`);
  } else {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`bootscope: internal error: ${msg} (run with --debug for details)\n`);
  }
  return 1;
}
