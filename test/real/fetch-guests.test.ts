// scripts/fetch-guests.sh: cached paths on a second run, and its errors when it cannot fetch
// (not root, arm64 not enabled, a download that fails), with stand-ins for id/dpkg/apt-get.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fetchGuests, REPO_ROOT, tempDir } from './helpers.ts';

const tmp = tempDir('bootscope-real-fetch-');
afterAll(() => tmp.cleanup());

/** Run the script with fake commands (name → shell body) first on PATH and an empty cache. */
function fetchWith(fakes: Record<string, string>, cache: string) {
  const bin = tmp.file(`bin-${Object.keys(fakes).join('-')}`);
  mkdirSync(bin, { recursive: true });
  for (const [name, body] of Object.entries(fakes)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  mkdirSync(cache, { recursive: true });
  const r = spawnSync(join(REPO_ROOT, 'scripts/fetch-guests.sh'), { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, BOOTSCOPE_GUESTS: cache }, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('scripts/fetch-guests.sh', () => {
  it('prints the kernel, U-Boot and busybox paths (cached: the second run downloads nothing)', () => {
    const g = fetchGuests();
    expect(g.kernel).toMatch(/\.cache\/guests\/linux-image-6\.1\.0-\d+-cloud-arm64\/boot\/vmlinuz-6\.1\.0-\d+-cloud-arm64$/);
    expect(g.uboot).toMatch(/u-boot-qemu\/usr\/lib\/u-boot\/qemu_arm64\/u-boot\.bin$/);
    expect(g.busybox).toMatch(/busybox-static\/bin\/busybox$/);
    // apt-get must not be needed when everything is cached.
    const r = fetchWith({ 'apt-get': 'echo "apt-get called" >&2; exit 1' }, join(REPO_ROOT, '.cache/guests'));
    expect(r.err).toBe('');
    expect(r.out).toBe(`kernel ${g.kernel}\nu-boot ${g.uboot}\nbusybox ${g.busybox}\n`);
  });

  it('not root and arm64 not enabled: says what to run', () => {
    const r = fetchWith({ id: 'echo 1000', dpkg: 'exit 0' }, tmp.file('empty1'));
    expect(r.code).toBe(1);
    expect(r.err).toBe('fetch-guests: the arm64 architecture is not enabled for apt; run as root: dpkg --add-architecture arm64 && apt-get update\n');
  });

  it('a failing download names the package and apt-get\'s message', () => {
    const r = fetchWith({ id: 'echo 1000', 'apt-get': 'echo "E: Unable to locate package $3" >&2; exit 100' }, tmp.file('empty2'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^fetch-guests: apt-get download linux-image-6\.1\.0-\d+-cloud-arm64 failed \(E: Unable to locate package linux-image-6\.1\.0-\d+-cloud-arm64\); run as root \(apt-get update may be needed\)\n$/);
  });
});
