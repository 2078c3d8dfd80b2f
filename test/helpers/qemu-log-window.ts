// QEMU's `-d cpu -singlestep` logs grow for as long as a guest spins, and how long that is
// depends on the machine's speed and load: read only the part of the log a test needs.

import { closeSync, fstatSync, openSync, readSync, rmSync } from 'node:fs';

const WINDOW = 4 << 20;

/** The first `bytes` of a log (where the boot stub and the first guest instructions are). */
export function readLogHead(path: string, bytes = WINDOW): string {
  return readWindow(path, 0, bytes);
}

/** The last `bytes` of a log (where the final spin loop's register state is). */
export function readLogTail(path: string, bytes = WINDOW): string {
  const fd = openSync(path, 'r');
  const size = fstatSync(fd).size;
  closeSync(fd);
  return readWindow(path, Math.max(0, size - bytes), bytes);
}

/** readLogHead, then delete the log: these logs reach hundreds of MiB in a few seconds. */
export function takeLogHead(path: string, bytes = WINDOW): string {
  try {
    return readLogHead(path, bytes);
  } finally {
    rmSync(path, { force: true });
  }
}

/** readLogTail, then delete the log. */
export function takeLogTail(path: string, bytes = WINDOW): string {
  try {
    return readLogTail(path, bytes);
  } finally {
    rmSync(path, { force: true });
  }
}

function readWindow(path: string, start: number, bytes: number): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const got = readSync(fd, buf, 0, bytes, start);
    return buf.subarray(0, got).toString('latin1');
  } finally {
    closeSync(fd);
  }
}
