// Builds the disk boot's two images from Debian packages, without root:
//   - an ext4 image (mke2fs -d, e2fsprogs) whose /sbin/init is Debian's static busybox: its
//     /etc/inittab runs /etc/init.d/rcS, which prints DISK_MARKER, writes WRITTEN_FILE, syncs,
//     remounts / read-only (the journal is checkpointed, so the file is in the image proper) and
//     powers off (PSCI SYSTEM_OFF);
//   - an initramfs holding the kernel package's own modules for the virtio-blk and Xen disks,
//     whose /init loads them (virtio on a virt machine, xen-blkfront and xen-netfront when the DT
//     has /hypervisor), reports eth0 (its MAC and carrier) when a NIC came up, waits for /dev/vda
//     (or /dev/xvda, or the device a root=/dev/NAME argument names), mounts it and switch_roots
//     to its /sbin/init; without that device it prints "BOOTSCOPE-INITRAMFS: no DEVICE" and powers off.
// The initramfs is reproducible byte for byte; the disk has a fixed UUID, hash seed and timestamps
// (mke2fs still draws inode generation numbers at random, so two builds differ there).
// Usage: node scripts/make-test-disk.ts KERNEL BUSYBOX OUTDIR
//   KERNEL is the vmlinuz-VERSION inside the unpacked linux-image package (its modules are in
//   ../lib/modules/VERSION). Writes OUTDIR/test-disk.ext4 and OUTDIR/disk-initramfs.cpio.gz and
//   prints "disk PATH" and "disk-initramfs PATH".

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { newc } from './make-initramfs.ts';

export const DISK_MARKER = 'BOOTSCOPE-DISK-INIT-OK';
/** Written to /dev/hvc0 when the machine has a virtio console. */
export const HVC_MARKER = 'BOOTSCOPE-HVC0-OK';
export const INITRAMFS_MARKER = 'BOOTSCOPE-INITRAMFS: root on';
/** Printed by /init once eth0 is up: "<marker> <mac> carrier <0|1> operstate <state>". */
export const NET_MARKER = 'BOOTSCOPE-INITRAMFS: eth0';
/** The file /sbin/init writes on the disk, and what it holds. */
export const WRITTEN_FILE = '/bootscope-written';
export const WRITTEN_TEXT = 'written by the guest on its virtio or Xen disk\n';
export const DISK_SIZE = 16 << 20;

/**
 * The drivers each machine's /init loads; their dependencies (the modules' own `depends=`) are
 * found and loaded first. Built-in ones (modules.builtin; on 6.12 most of virtio) are skipped.
 */
export const VIRTIO_MODULES = ['virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_console'];
export const XEN_MODULES = ['xen-blkfront', 'xen-netfront'];

const S_IFDIR = 0o040000,
  S_IFREG = 0o100000,
  S_IFLNK = 0o120000,
  S_IFCHR = 0o020000;

class DiskBuildError extends Error {}

/** The /init of the initramfs. */
export function initramfsInit(virtio: string[], xen: string[]): string {
  const load = (mods: string[]) => mods.map((m) => `  load ${m}`).join('\n');
  return `#!/bin/sh
# bootscope disk initramfs: load the disk driver modules, wait for the disk, switch_root to it.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
load() { insmod /lib/modules/$1 || echo "BOOTSCOPE-INITRAMFS: insmod $1 failed"; }
if [ -e /sys/firmware/devicetree/base/hypervisor ]; then
  disk=/dev/xvda
${load(xen) || '  :'}
  if [ -e /sys/class/net/eth0 ]; then
    ip link set eth0 up
    i=0
    while [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" != 1 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    echo "${NET_MARKER} $(cat /sys/class/net/eth0/address) carrier $(cat /sys/class/net/eth0/carrier) operstate $(cat /sys/class/net/eth0/operstate)"
  fi
else
  disk=/dev/vda
${load(virtio) || '  :'}
fi
# root=/dev/NAME on the command line picks the device, as initramfs-tools does (the modules above
# are loaded whatever it names).
for a in $(cat /proc/cmdline); do case $a in root=/dev/*) disk=\${a#root=} ;; esac; done
i=0
while [ ! -b $disk ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
if [ ! -b $disk ]; then echo "BOOTSCOPE-INITRAMFS: no $disk"; poweroff -f; fi
mkdir -p /newroot
mount -t ext4 -o rw $disk /newroot || { echo "BOOTSCOPE-INITRAMFS: mount $disk failed"; poweroff -f; }
echo "${INITRAMFS_MARKER} $disk"
mount --move /dev /newroot/dev
umount /proc /sys
exec switch_root /newroot /sbin/init
`;
}

/** The disk's /etc/init.d/rcS (run by busybox init from /etc/inittab). */
export function rcS(): string {
  return `#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
echo ${DISK_MARKER}
# A virtio console (hvc0) gets a line; a network interface is brought up and pinged through
# (the ARP requests are the frames a machine without a network backend records).
[ -c /dev/hvc0 ] && echo ${HVC_MARKER} > /dev/hvc0
if [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up
  ip addr add 10.0.2.15/24 dev eth0
  ping -c 1 -W 1 10.0.2.2 > /dev/null
fi
printf '${WRITTEN_TEXT.replace(/\n/g, '\\n')}' > ${WRITTEN_FILE}
sync
mount -o remount,ro /
poweroff -f
`;
}

interface Module {
  name: string;
  file: string;
  data: Uint8Array;
}

/**
 * Finds each module (`.ko` or `.ko.xz`) and the modules it depends on, in load order (dependencies
 * first). Built-in ones (modules.builtin) are skipped. Dependencies are read from a `.ko`'s
 * modinfo (`depends=`); a compressed `.ko.xz` is taken as is (on 6.12 its dependencies are built in).
 */
export function findModules(modDir: string, names: string[]): Module[] {
  const files = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ko(\.xz)?$/.test(e.name)) files.set(canon(e.name.replace(/\.ko(\.xz)?$/, '')), p);
    }
  };
  walk(path.join(modDir, 'kernel'));
  const builtinFile = path.join(modDir, 'modules.builtin');
  const builtin = new Set(
    fs.existsSync(builtinFile)
      ? fs
          .readFileSync(builtinFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => canon(path.basename(l).replace(/\.ko$/, '')))
      : [],
  );
  const out: Module[] = [];
  const seen = new Set<string>();
  const visit = (name: string, from: string): void => {
    const key = canon(name);
    if (seen.has(key)) return;
    seen.add(key);
    const p = files.get(key);
    if (!p) {
      if (builtin.has(key)) return;
      throw new DiskBuildError(`${modDir}: module ${name}${from ? ` (needed by ${from})` : ''} is neither in the package nor built in`);
    }
    const data = fs.readFileSync(p);
    for (const dep of dependsOf(data, name)) visit(dep, name);
    out.push({ name, file: path.basename(p), data });
  };
  for (const n of names) visit(n, '');
  return out;
}

/** Module names compare with '-' and '_' alike (as the kernel does). */
const canon = (name: string): string => name.replace(/-/g, '_');

/**
 * Dependencies of the compressed modules we load whose modinfo is not read (xz): 6.12 builds
 * virtio in but keeps virtio_net's failover helpers as modules.
 */
const XZ_DEPENDS: Record<string, string[]> = { virtio_net: ['failover', 'net_failover'], net_failover: ['failover'] };

/** The `depends=` list of an uncompressed module's modinfo strings (compressed: XZ_DEPENDS). */
function dependsOf(ko: Uint8Array, name: string): string[] {
  if (ko[0] !== 0x7f || ko[1] !== 0x45) return XZ_DEPENDS[canon(name)] ?? [];
  const text = Buffer.from(ko).toString('latin1');
  const m = /\0depends=([^\0]*)\0/.exec(text);
  return m && m[1] ? m[1].split(',').filter(Boolean) : [];
}

export function makeDiskInitramfs(busybox: Uint8Array, virtio: Module[], xen: Module[]): Uint8Array {
  const dirs = ['bin', 'dev', 'proc', 'sys', 'lib', 'lib/modules', 'newroot'];
  const applets = ['sh', 'mount', 'umount', 'insmod', 'sleep', 'mkdir', 'switch_root', 'poweroff', 'echo', 'cat', 'ip'];
  const entries = [
    ...dirs.map((d) => ({ name: d, mode: S_IFDIR | 0o755 })),
    { name: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
    { name: 'dev/null', mode: S_IFCHR | 0o666, rdevMajor: 1, rdevMinor: 3 },
    { name: 'bin/busybox', mode: S_IFREG | 0o755, data: busybox },
    ...applets.map((a) => ({ name: `bin/${a}`, mode: S_IFLNK | 0o777, data: Buffer.from('busybox') })),
    ...[...virtio, ...xen].map((m) => ({ name: `lib/modules/${m.file}`, mode: S_IFREG | 0o644, data: m.data })),
    {
      name: 'init',
      mode: S_IFREG | 0o755,
      data: Buffer.from(
        initramfsInit(
          virtio.map((m) => m.file),
          xen.map((m) => m.file),
        ),
      ),
    },
  ];
  return zlib.gzipSync(newc(entries), { level: 9 });
}

/** Lays out the disk's tree in `root` (timestamps 0) and formats `out` from it with mke2fs -d. */
export function makeDiskImage(busybox: Uint8Array, out: string): void {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bootscope-disk-'));
  try {
    for (const d of ['bin', 'sbin', 'etc', 'etc/init.d', 'dev', 'proc', 'sys', 'tmp'])
      fs.mkdirSync(path.join(root, d), { recursive: true });
    fs.writeFileSync(path.join(root, 'bin/busybox'), busybox, { mode: 0o755 });
    for (const a of ['sh', 'mount', 'sync', 'poweroff', 'printf', 'echo', 'cat', 'ls', 'ip', 'ping'])
      fs.symlinkSync('busybox', path.join(root, 'bin', a));
    fs.symlinkSync('../bin/busybox', path.join(root, 'sbin/init'));
    fs.writeFileSync(path.join(root, 'etc/inittab'), '::sysinit:/etc/init.d/rcS\n');
    fs.writeFileSync(path.join(root, 'etc/init.d/rcS'), rcS(), { mode: 0o755 });
    fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
    fs.chmodSync(path.join(root, 'etc/init.d/rcS'), 0o755);
    zeroTimes(root);
    fs.rmSync(out, { force: true });
    fs.writeFileSync(out, new Uint8Array(0));
    fs.truncateSync(out, DISK_SIZE);
    // Fixed UUID, hash seed and clock, so images differ only where mke2fs draws random numbers.
    const uuid = '5b007c09-e000-4000-8000-000000000001';
    execFileSync(
      mke2fs(),
      ['-q', '-F', '-t', 'ext4', '-b', '1024', '-L', 'bootscope', '-U', uuid, '-E', `hash_seed=${uuid},root_owner=0:0`, '-d', root, out],
      {
        env: { ...process.env, E2FSPROGS_FAKE_TIME: '1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

function zeroTimes(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) zeroTimes(p);
    if (!e.isSymbolicLink()) fs.utimesSync(p, 1, 1);
    else fs.lutimesSync(p, 1, 1);
  }
  fs.utimesSync(dir, 1, 1);
}

function mke2fs(): string {
  for (const p of ['/usr/sbin/mke2fs', '/sbin/mke2fs']) if (fs.existsSync(p)) return p;
  throw new DiskBuildError('mke2fs not found: install e2fsprogs (test/setup-system.sh does)');
}

/** The modules directory of an unpacked linux-image package, from its vmlinuz-VERSION. */
export function modulesDirOf(kernel: string): string {
  const version = path.basename(kernel).replace(/^vmlinuz-/, '');
  const dir = path.join(path.dirname(kernel), '..', 'lib', 'modules', version);
  if (!fs.existsSync(dir)) throw new DiskBuildError(`${kernel}: no modules at ${dir} (is it inside an unpacked linux-image package?)`);
  return dir;
}

export function makeTestDisk(kernel: string, busyboxPath: string, outDir: string): { disk: string; initramfs: string } {
  const busybox = fs.readFileSync(busyboxPath);
  const modDir = modulesDirOf(kernel);
  fs.mkdirSync(outDir, { recursive: true });
  const disk = path.join(outDir, 'test-disk.ext4');
  const initramfs = path.join(outDir, 'disk-initramfs.cpio.gz');
  makeDiskImage(busybox, disk);
  fs.writeFileSync(initramfs, makeDiskInitramfs(busybox, findModules(modDir, VIRTIO_MODULES), findModules(modDir, XEN_MODULES)));
  return { disk, initramfs };
}

if (import.meta.main) {
  const [kernel, busybox, outDir] = process.argv.slice(2);
  if (!kernel || !busybox || !outDir) {
    process.stderr.write('usage: node scripts/make-test-disk.ts KERNEL BUSYBOX OUTDIR\n');
    process.exit(2);
  }
  try {
    const r = makeTestDisk(kernel, busybox, outDir);
    process.stdout.write(`disk ${r.disk}\ndisk-initramfs ${r.initramfs}\n`);
  } catch (err) {
    process.stderr.write(`make-test-disk: ${(err as Error).message.split('\n')[0]}\n`);
    process.exit(1);
  }
}
