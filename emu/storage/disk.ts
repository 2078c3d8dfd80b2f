// Disk images behind the emulated block devices (virtio-blk on the kvm machine, blkback on the
// xen machine). One parser for `--disk FILE[,ro|,rw]` and one backing for both.
//
// The user's file is opened read-only. By default the guest may write, and its writes land in a
// copy-on-write overlay held in memory (a sparse map of 512-byte sectors), so the file is never
// changed and the same image gives the same run again. `,ro` makes the device itself read-only
// (the guest is told so); `,rw` opts into writing the file in place.
//
// The image's size and sha256 go into the trace; replay checks them (emu/machine/replay.ts).

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const SECTOR = 512;

/** How the guest's writes are handled. */
export type DiskMode = 'cow' | 'ro' | 'rw';
export const DISK_MODES: readonly DiskMode[] = ['cow', 'ro', 'rw'];

export interface DiskSpec {
  /** The image file as given. */
  file: string;
  mode: DiskMode;
  /** Faults the device shows the guest (--disk-fault), recorded in the trace so replay has them. */
  faults?: DiskFaults;
}

/**
 * Faults a run injects into a disk (`--disk-fault`), to reproduce a broken disk, device or
 * hypervisor and see what the guest makes of it (docs/emulator-platform.md, "Disk faults").
 */
export interface DiskFaults {
  /** Sector ranges (inclusive) whose reads and writes complete with an I/O error. */
  eio?: { first: number; last: number }[];
  /** The device refuses the driver: virtio-blk clears FEATURES_OK; blkback gives up instead of going Connected. */
  refuse?: boolean;
}

/**
 * Parses one `--disk-fault` value, `[N:]eio@FIRST[-LAST]` or `[N:]refuse` (N: the --disk it
 * applies to, 0 by default), into `specs[N].faults`.
 */
export function applyDiskFault(specs: DiskSpec[], s: string): void {
  const m = /^(?:(\d+):)?(?:eio@(\d+)(?:-(\d+))?|(refuse))$/.exec(s);
  if (!m) throw new DiskError(`--disk-fault ${s}: expected [N:]eio@FIRST[-LAST] or [N:]refuse`);
  const n = Number(m[1] ?? 0);
  const spec = specs[n];
  if (!spec) throw new DiskError(`--disk-fault ${s}: there is no disk ${n} (${specs.length} --disk given)`);
  const faults = (spec.faults ??= {});
  if (m[4]) {
    faults.refuse = true;
    return;
  }
  const first = Number(m[2]);
  const last = m[3] !== undefined ? Number(m[3]) : first;
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || last < first)
    throw new DiskError(`--disk-fault ${s}: the sector range must be FIRST[-LAST] with LAST >= FIRST`);
  (faults.eio ??= []).push({ first, last });
}

/** A disk problem the user can fix (missing file, bad size…): one line, naming the file. */
export class DiskError extends Error {
  override name = 'DiskError';
}

/**
 * Parses one `--disk` value: `FILE`, `FILE,ro` or `FILE,rw`. A comma that is not followed by one
 * of those suffixes is part of the file name.
 */
export function parseDiskOption(s: string): DiskSpec {
  if (s === '') throw new DiskError('--disk: expected FILE[,ro|,rw], got an empty value');
  const m = /^(.*),(ro|rw|cow)$/.exec(s);
  const file = m ? m[1]! : s;
  if (file === '') throw new DiskError(`--disk ${s}: the file name is missing before ',${m![2]}'`);
  return { file, mode: m ? (m[2] as DiskMode) : 'cow' };
}

/** What a trace records about one disk (source.config.disks[i]). */
export interface DiskRecord {
  file: string;
  mode: DiskMode;
  size: number;
  sha256: string;
}

/** The hash role of disk i in the trace's `hashes` (kernel, dtb, initrd, disk0, disk1…). */
export const diskRole = (i: number): string => `disk${i}`;

/**
 * An open disk image. Reads and writes are synchronous (the emulator is single-threaded and
 * deterministic: a request completes within the access that submitted it).
 */
export class DiskImage {
  readonly file: string;
  readonly mode: DiskMode;
  /** Size in bytes (a multiple of 512). */
  readonly size: number;
  readonly sectors: number;
  /** sha256 of the file's contents when it was opened (hex). */
  readonly sha256: string;
  private fd: number;
  /** Overlay (mode 'cow'): sector number → its 512 bytes as the guest last wrote them. */
  private readonly overlay = new Map<number, Uint8Array>();
  private closed = false;
  /** Sectors the guest wrote during the run (counting rewrites), whatever the mode. */
  sectorsWritten = 0;
  readonly faults: DiskFaults;

  private constructor(file: string, mode: DiskMode, fd: number, size: number, sha256: string, faults: DiskFaults) {
    this.file = file;
    this.mode = mode;
    this.faults = faults;
    this.fd = fd;
    this.size = size;
    this.sectors = size / SECTOR;
    this.sha256 = sha256;
  }

  /** Opens and hashes the image; every failure is a one-line DiskError naming the file. */
  static open(spec: DiskSpec): DiskImage {
    const file = spec.file;
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch (err) {
      throw new DiskError(`${file}: ${errnoText(err, 'disk image not found')}`);
    }
    if (st.isDirectory()) throw new DiskError(`${file}: is a directory, not a disk image`);
    if (!st.isFile()) throw new DiskError(`${file}: not a regular file`);
    let fd: number;
    try {
      fd = fs.openSync(file, spec.mode === 'rw' ? 'r+' : 'r');
    } catch (err) {
      throw new DiskError(
        `${file}: cannot open the disk image${spec.mode === 'rw' ? ' for writing (,rw)' : ''}: ${errnoText(err, 'open failed')}`,
      );
    }
    try {
      const size = st.size;
      if (size === 0) throw new DiskError(`${file}: the disk image is empty`);
      if (size % SECTOR !== 0) throw new DiskError(`${file}: disk image size ${size} bytes is not a multiple of ${SECTOR}`);
      return new DiskImage(file, spec.mode, fd, size, hashFd(fd, size), spec.faults ?? {});
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /** What the trace records about this disk. */
  record(): DiskRecord {
    return { file: path.resolve(this.file), mode: this.mode, size: this.size, sha256: this.sha256 };
  }

  get readOnly(): boolean {
    return this.mode === 'ro';
  }

  /** Sectors the guest has written into the overlay (mode 'cow'). */
  get overlaySectors(): number {
    return this.overlay.size;
  }

  /** Is [sector, sector + bytes/512) inside the disk? */
  inRange(sector: number, bytes: number): boolean {
    return Number.isSafeInteger(sector) && sector >= 0 && bytes % SECTOR === 0 && sector + bytes / SECTOR <= this.sectors;
  }

  /** Does a request for [sector, sector + bytes/512) touch a sector given to --disk-fault eio@? */
  failsAt(sector: number, bytes: number): boolean {
    const last = sector + Math.max(1, Math.ceil(bytes / SECTOR)) - 1;
    return this.faults.eio?.some((r) => sector <= r.last && last >= r.first) ?? false;
  }

  /** Reads whole sectors into `out` (its length a multiple of 512; the range checked by the caller). */
  read(sector: number, out: Uint8Array): void {
    this.check(sector, out.length);
    let done = 0;
    while (done < out.length) {
      const n = fs.readSync(this.fd, out, done, out.length - done, sector * SECTOR + done);
      if (n <= 0) throw new DiskError(`${this.file}: the disk image got shorter while in use`);
      done += n;
    }
    if (this.overlay.size === 0) return;
    for (let i = 0; i < out.length / SECTOR; i++) {
      const s = this.overlay.get(sector + i);
      if (s) out.set(s, i * SECTOR);
    }
  }

  /** Writes whole sectors (mode 'cow': into the overlay; 'rw': into the file). */
  write(sector: number, data: Uint8Array): void {
    this.check(sector, data.length);
    if (this.mode === 'ro') throw new DiskError(`${this.file}: write to a read-only disk`);
    this.sectorsWritten += data.length / SECTOR;
    if (this.mode === 'rw') {
      let done = 0;
      while (done < data.length) done += fs.writeSync(this.fd, data, done, data.length - done, sector * SECTOR + done);
      return;
    }
    for (let i = 0; i < data.length / SECTOR; i++) this.overlay.set(sector + i, data.slice(i * SECTOR, (i + 1) * SECTOR));
  }

  /** Makes written data durable (rw: fsync; the overlay is memory, nothing to do). */
  flush(): void {
    if (this.mode === 'rw' && !this.closed) fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
    this.fd = -1;
  }

  private check(sector: number, bytes: number): void {
    if (this.closed) throw new DiskError(`${this.file}: disk used after close`);
    if (!this.inRange(sector, bytes))
      throw new RangeError(`sector ${sector} + ${bytes} bytes is outside ${this.file} (${this.sectors} sectors)`);
  }
}

/** Opens every disk of a run; on a failure the ones already open are closed. */
export function openDisks(specs: readonly DiskSpec[]): DiskImage[] {
  const out: DiskImage[] = [];
  try {
    for (const s of specs) out.push(DiskImage.open(s));
  } catch (err) {
    for (const d of out) d.close();
    throw err;
  }
  return out;
}

/** sha256 of a file (hex), for replay's check of a recorded disk. */
export function hashFile(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    return hashFd(fd, fs.fstatSync(fd).size);
  } finally {
    fs.closeSync(fd);
  }
}

function hashFd(fd: number, size: number): string {
  const h = createHash('sha256');
  const buf = Buffer.alloc(1 << 20);
  for (let pos = 0; pos < size;) {
    const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
    if (n <= 0) break;
    h.update(buf.subarray(0, n));
    pos += n;
  }
  return h.digest('hex');
}

function errnoText(err: unknown, fallback: string): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'disk image not found';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not a disk image';
    case 'EROFS':
      return 'the file system is read-only';
    default:
      return fallback;
  }
}
