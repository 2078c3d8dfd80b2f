// Writes a gzip-compressed cpio "newc" initramfs holding Debian's static busybox and an /init
// that prints a marker and powers the machine off (busybox `poweroff -f` → PSCI SYSTEM_OFF).
// No root needed: device nodes are written straight into the archive.
// Usage: node scripts/make-initramfs.ts BUSYBOX OUT [MARKER]

import fs from 'node:fs';
import zlib from 'node:zlib';

export const USERSPACE_MARKER = 'BOOTSCOPE-USERSPACE-OK';

interface Entry {
  name: string;
  mode: number;
  data?: Uint8Array;
  rdevMajor?: number;
  rdevMinor?: number;
}

const S_IFDIR = 0o040000,
  S_IFREG = 0o100000,
  S_IFLNK = 0o120000,
  S_IFCHR = 0o020000;

export function initScript(marker: string): string {
  return [
    '#!/bin/sh',
    '/bin/busybox mount -t proc proc /proc',
    '/bin/busybox mount -t sysfs sysfs /sys',
    `echo ${marker}`,
    '/bin/busybox poweroff -f',
    '',
  ].join('\n');
}

/** One newc archive (header fields are 8 hex digits; name and data padded to 4 bytes). */
export function newc(entries: Entry[]): Uint8Array {
  const parts: Buffer[] = [];
  const pad = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);
  const hex = (v: number): string => v.toString(16).padStart(8, '0');
  let ino = 1;
  for (const e of [...entries, { name: 'TRAILER!!!', mode: 0 }]) {
    const data = e.data ?? new Uint8Array(0);
    const name = Buffer.from(e.name + '\0');
    const isTrailer = e.name === 'TRAILER!!!';
    const header =
      '070701' +
      [
        isTrailer ? 0 : ino++,
        e.mode,
        0,
        0,
        (e.mode & S_IFDIR) === S_IFDIR ? 2 : 1,
        0,
        data.length,
        0,
        0,
        e.rdevMajor ?? 0,
        e.rdevMinor ?? 0,
        name.length,
        0,
      ]
        .map(hex)
        .join('');
    parts.push(Buffer.from(header, 'latin1'), name, pad(110 + name.length), Buffer.from(data), pad(data.length));
  }
  const all = Buffer.concat(parts);
  return Buffer.concat([all, Buffer.alloc((512 - (all.length % 512)) % 512)]);
}

/** `init`: another /init script (e.g. one that dumps /sys files to the console) instead of the marker's. */
export function makeInitramfs(busybox: Uint8Array, marker = USERSPACE_MARKER, init?: string): Uint8Array {
  const entries: Entry[] = [
    ...['bin', 'dev', 'proc', 'sys', 'sbin'].map((d) => ({ name: d, mode: S_IFDIR | 0o755 })),
    { name: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
    { name: 'dev/null', mode: S_IFCHR | 0o666, rdevMajor: 1, rdevMinor: 3 },
    { name: 'bin/busybox', mode: S_IFREG | 0o755, data: busybox },
    { name: 'bin/sh', mode: S_IFLNK | 0o777, data: Buffer.from('busybox') },
    { name: 'sbin/poweroff', mode: S_IFLNK | 0o777, data: Buffer.from('../bin/busybox') },
    { name: 'init', mode: S_IFREG | 0o755, data: Buffer.from(init ?? initScript(marker)) },
  ];
  // mtime 0 and a fixed gzip header: the same busybox always gives the same initramfs.
  return zlib.gzipSync(newc(entries), { level: 9 });
}

if (import.meta.main) {
  const [busyboxPath, out, marker] = process.argv.slice(2);
  if (!busyboxPath || !out) {
    process.stderr.write('usage: node scripts/make-initramfs.ts BUSYBOX OUT [MARKER]\n');
    process.exit(2);
  }
  let busybox: Uint8Array;
  try {
    busybox = fs.readFileSync(busyboxPath);
  } catch {
    process.stderr.write(`make-initramfs: ${busyboxPath}: busybox not found (run scripts/fetch-guests.sh)\n`);
    process.exit(1);
  }
  fs.writeFileSync(out, makeInitramfs(busybox, marker ?? USERSPACE_MARKER));
  process.stdout.write(`${out}\n`);
}
