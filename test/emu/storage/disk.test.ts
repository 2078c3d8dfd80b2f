// Disk images (emu/storage/disk.ts): `--disk FILE[,ro|,rw]` parsing, the copy-on-write overlay
// that keeps the user's file unchanged, `,rw`, and the one-line errors for unusable images; then
// the same through the CLI: the trace records the image's size and sha256, and replay refuses
// an image that changed.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskError, DiskImage, openDisks, parseDiskOption } from '../../../emu/storage/disk.ts';
import { openTrace } from '../../../capture/store/index.ts';
import { guestBinary, REPO_ROOT } from '../../helpers/qemu-runs.ts';
import { tempDir } from '../helpers.ts';

const tmp = tempDir('bootscope-disk-');
afterAll(() => tmp.cleanup());

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function image(name: string, sectors: number): { file: string; data: Buffer } {
  const data = Buffer.alloc(sectors * 512);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 9)) & 0xff;
  const file = tmp.file(name);
  writeFileSync(file, data);
  return { file, data };
}

describe('--disk option', () => {
  it('reads FILE, FILE,ro and FILE,rw; other commas belong to the name', () => {
    expect(parseDiskOption('a.img')).toEqual({ file: 'a.img', mode: 'cow' });
    expect(parseDiskOption('a.img,ro')).toEqual({ file: 'a.img', mode: 'ro' });
    expect(parseDiskOption('a.img,rw')).toEqual({ file: 'a.img', mode: 'rw' });
    expect(parseDiskOption('a,b.img')).toEqual({ file: 'a,b.img', mode: 'cow' });
    expect(() => parseDiskOption('')).toThrow(/^--disk: expected FILE\[,ro\|,rw\]/);
    expect(() => parseDiskOption(',rw')).toThrow(/the file name is missing/);
  });
});

describe('DiskImage', () => {
  it('keeps guest writes in an overlay: reads see them, the file does not change', () => {
    const { file, data } = image('cow.img', 64);
    const d = DiskImage.open({ file, mode: 'cow' });
    expect(d.size).toBe(64 * 512);
    expect(d.sha256).toBe(sha(data));
    const w = Buffer.alloc(1024, 0xab);
    d.write(3, w);
    const r = new Uint8Array(4 * 512);
    d.read(2, r);
    expect(Buffer.from(r.subarray(0, 512)).equals(data.subarray(2 * 512, 3 * 512))).toBe(true);
    expect(Buffer.from(r.subarray(512, 1536)).equals(w)).toBe(true);
    expect(Buffer.from(r.subarray(1536)).equals(data.subarray(5 * 512, 6 * 512))).toBe(true);
    expect(d.overlaySectors).toBe(2);
    d.flush();
    d.close();
    expect(sha(readFileSync(file))).toBe(sha(data));
  });

  it(',rw writes the file itself', () => {
    const { file } = image('rw.img', 8);
    const d = DiskImage.open({ file, mode: 'rw' });
    d.write(7, Buffer.alloc(512, 0x5a));
    d.flush();
    d.close();
    expect(
      readFileSync(file)
        .subarray(7 * 512)
        .every((b) => b === 0x5a),
    ).toBe(true);
  });

  it(',ro refuses writes; ranges outside the disk are refused', () => {
    const { file } = image('ro.img', 8);
    const d = DiskImage.open({ file, mode: 'ro' });
    expect(d.readOnly).toBe(true);
    expect(() => d.write(0, Buffer.alloc(512))).toThrow(DiskError);
    expect(d.inRange(7, 512)).toBe(true);
    expect(d.inRange(8, 512)).toBe(false);
    expect(d.inRange(7, 1024)).toBe(false);
    expect(d.inRange(-1, 512)).toBe(false);
    expect(() => d.read(8, new Uint8Array(512))).toThrow(RangeError);
    d.close();
  });

  it('unusable images are one-line errors naming the file', () => {
    const dir = tmp.file('adir');
    mkdirSync(dir);
    const odd = tmp.file('odd.img');
    writeFileSync(odd, Buffer.alloc(1000));
    const empty = tmp.file('empty.img');
    writeFileSync(empty, Buffer.alloc(0));
    const cases: [string, RegExp][] = [
      [tmp.file('missing.img'), /missing\.img: disk image not found$/],
      [dir, /adir: is a directory, not a disk image$/],
      [odd, /odd\.img: disk image size 1000 bytes is not a multiple of 512$/],
      [empty, /empty\.img: the disk image is empty$/],
    ];
    for (const [file, re] of cases) {
      let err: unknown;
      try {
        DiskImage.open({ file, mode: 'cow' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DiskError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('openDisks closes what it opened when a later disk fails', () => {
    const { file } = image('first.img', 4);
    expect(() =>
      openDisks([
        { file, mode: 'cow' },
        { file: tmp.file('nope.img'), mode: 'cow' },
      ]),
    ).toThrow(/nope\.img: disk image not found/);
  });
});

/** Asynchronous: a run of synchronous children would block the worker and starve vitest's RPC. */
function bootscope(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', join(REPO_ROOT, 'cli/main.ts'), ...args],
      { cwd: tmp.dir, encoding: 'buffer', maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        if (err && code === null && !('signal' in err && err.signal)) return reject(err);
        resolve({ code, out: stdout.toString('latin1'), err: stderr.toString('utf8') });
      },
    );
  });
}

describe('--disk on the command line', () => {
  it('bad disks are one-line errors', async () => {
    const dir = tmp.file('cli-dir');
    mkdirSync(dir, { recursive: true });
    const odd = tmp.file('cli-odd.img');
    writeFileSync(odd, Buffer.alloc(513));
    for (const [disk, re] of [
      [tmp.file('cli-missing.img'), /^bootscope: .*cli-missing\.img: disk image not found\n$/],
      [dir, /^bootscope: .*cli-dir: is a directory, not a disk image\n$/],
      [odd, /^bootscope: .*cli-odd\.img: disk image size 513 bytes is not a multiple of 512\n$/],
    ] as const) {
      const r = await bootscope('run', '--kernel', guestBinary('uart'), '--disk', disk, '-o', tmp.file('x.trace'));
      expect(r.code).toBe(1);
      expect(r.err).toMatch(re);
    }
  });

  it('the trace records the image (size, sha256); replay checks it and refuses a changed image', async () => {
    const { file, data } = image('traced.img', 32);
    const trace = tmp.file('disk.trace');
    const r = await bootscope('run', '--kernel', guestBinary('uart'), '--gic', '2', '--mem', '128M', '--disk', file, '-o', trace, '--json');
    expect(r.err).toBe('');
    const reader = openTrace(trace);
    expect(reader.meta.hashes.disk0).toBe(sha(data));
    expect(reader.meta.source.config.disks).toEqual([{ file, mode: 'cow' }]);
    expect(reader.meta.extra.disks).toEqual([{ file, mode: 'cow', size: 32 * 512, sha256: sha(data) }]);
    reader.close();
    expect((await bootscope('replay', trace)).out).toMatch(/^identical/);
    const changed = Buffer.from(data);
    changed[100] ^= 1;
    writeFileSync(file, changed);
    const again = await bootscope('replay', trace);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(
      /^bootscope: .*disk\.trace: the disk image .*traced\.img changed since it was recorded \(sha256 [0-9a-f]{12}…, recorded [0-9a-f]{12}…\)\n$/,
    );
  });
  it('--disk-fault is recorded with its disk, and replay gives the device the same faults', async () => {
    const { file } = image('faulty.img', 32);
    const trace = tmp.file('faulty.trace');
    const r = await bootscope(
      'run',
      '--kernel',
      guestBinary('uart'),
      '--gic',
      '2',
      '--mem',
      '128M',
      '--disk',
      file,
      '--disk-fault',
      'eio@3-4',
      '--disk-fault',
      'refuse',
      '-o',
      trace,
      '--json',
    );
    expect(r.err).toBe('');
    const reader = openTrace(trace);
    expect(reader.meta.source.config.disks).toEqual([{ file, mode: 'cow', faults: { eio: [{ first: 3, last: 4 }], refuse: true } }]);
    reader.close();
    expect((await bootscope('replay', trace)).out).toMatch(/^identical/);
  });
});
