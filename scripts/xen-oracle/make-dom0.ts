// The xen oracle's dom0 initramfs (scripts/xen-oracle/run-xl.sh; docs/xen.md "The oracle with a
// dom0"), as an uncompressed cpio "newc" (no root, no cpio tool; uncompressed because every byte
// the dom0 has to inflate costs TCG time):
//
//   ./bootscope node scripts/xen-oracle/make-dom0.ts OUT --busybox B --modules DIR
//       --kernel IMAGE --initrd FILE --disk IMAGE --append TEXT --mac MAC --smp N --mem MIB PKGROOT...
//
// It holds busybox, scripts/xen-oracle/dom0-init.sh as /init, the hotplug scripts, Debian's Xen
// 4.17 toolstack (xl, xenstored, xenconsoled, xen-init-dom0, xenstore) with exactly the shared
// libraries their ELF DT_NEEDED entries name (searched in the unpacked packages PKGROOT...; a
// library no package has is an error naming it), the dom0 kernel's own Xen backend modules (from
// DIR, its lib/modules/VERSION), and the domU: its kernel, initramfs, disk image and the xl
// configuration (/etc/xen/domU.cfg) with one disk (xvda on /dev/loop0) and one vif.
import fs from 'node:fs';
import path from 'node:path';
import { elfDeps } from '../kvm-oracle/make-initramfs.ts';
import { newc } from '../make-initramfs.ts';

const S_IFDIR = 0o040000,
  S_IFREG = 0o100000,
  S_IFLNK = 0o120000,
  S_IFCHR = 0o020000;
const LIBDIR = 'usr/lib/aarch64-linux-gnu';
const XENBIN = 'usr/lib/xen-4.17/bin';
const here = import.meta.dirname;

/** What dom0 runs: the toolstack's binaries, by their path inside the packages. */
const BINARIES = [
  `${XENBIN}/xl`,
  `${XENBIN}/xenstored`,
  `${XENBIN}/xenconsoled`,
  `${XENBIN}/xen-init-dom0`,
  `${XENBIN}/libxl-save-helper`,
  'usr/bin/xenstore',
];
/** xenstore's client names (one binary, its name says what it does). */
const XENSTORE_TOOLS = ['read', 'write', 'ls', 'list', 'exists', 'rm'];
/** The dom0 kernel's modules /init loads (none of them has dependencies on 6.1). */
export const DOM0_MODULES = ['xen-privcmd', 'xen-evtchn', 'xen-gntdev', 'xen-gntalloc', 'xenfs', 'xen-blkback', 'xen-netback', 'loop'];
/**
 * libc loads libgcc_s at run time (dlopen) for pthread_cancel, which xl uses: no DT_NEEDED
 * names it, and without it xl aborts once the domain runs.
 */
const DLOPENED = ['libgcc_s.so.1'];

interface Entry {
  name: string;
  mode: number;
  data?: Uint8Array;
  rdevMajor?: number;
  rdevMinor?: number;
}

class Dom0Error extends Error {}

const file = (name: string, data: Uint8Array, mode = 0o755): Entry => ({ name, mode: S_IFREG | mode, data });

function read(p: string, what: string): Buffer {
  try {
    return fs.readFileSync(p);
  } catch {
    throw new Dom0Error(`${p}: ${what} not found`);
  }
}

/** Follow a symlink inside its package tree (an absolute target is relative to the package root). */
function realFile(root: string, p: string): string {
  for (let hops = 0; hops < 8; hops++) {
    if (!fs.lstatSync(p).isSymbolicLink()) return p;
    const target = fs.readlinkSync(p);
    p = target.startsWith('/') ? path.join(root, target) : path.resolve(path.dirname(p), target);
  }
  throw new Dom0Error(`${p}: more than 8 symbolic links`);
}

/** The binaries and the closure of their libraries: [path in the initramfs, contents]. */
export function toolstackClosure(roots: string[]): Array<[string, Buffer]> {
  const libs = new Map<string, string>();
  for (const root of roots)
    for (const d of ['lib', 'usr/lib', 'lib/aarch64-linux-gnu', LIBDIR]) {
      const dir = path.join(root, d);
      if (!fs.existsSync(dir)) continue;
      for (const n of fs.readdirSync(dir)) if (!libs.has(n) && n.includes('.so')) libs.set(n, realFile(root, path.join(dir, n)));
    }
  const out: Array<[string, Buffer]> = [];
  const seen = new Set<string>();
  const todo: Array<[string, string]> = DLOPENED.map((so) => [so, 'libc (dlopen)']);
  for (const bin of BINARIES) {
    const root = roots.find((r) => fs.existsSync(path.join(r, bin)));
    if (!root) throw new Dom0Error(`${bin} is in none of the xen-dom0 packages of guests/inputs.lock`);
    const data = read(path.join(root, bin), bin);
    out.push([bin, data]);
    const { interp, needed } = elfDeps(data, bin);
    if (interp && !seen.has(path.basename(interp))) {
      const ld = libs.get(path.basename(interp));
      if (!ld) throw new Dom0Error(`${bin}: its loader ${interp} is in none of the xen-dom0 packages`);
      out.push([interp.replace(/^\//, ''), read(ld, interp)]);
      seen.add(path.basename(interp));
    }
    todo.push(...needed.map((n): [string, string] => [n, bin]));
  }
  while (todo.length) {
    const [so, by] = todo.pop()!;
    if (seen.has(so)) continue;
    seen.add(so);
    const p = libs.get(so);
    if (!p) throw new Dom0Error(`${so} (needed by ${by}) is in none of the xen-dom0 packages of guests/inputs.lock`);
    const data = read(p, so);
    out.push([`${LIBDIR}/${so}`, data]);
    todo.push(...elfDeps(data, p).needed.map((n): [string, string] => [n, so]));
  }
  return out;
}

export interface DomU {
  append: string;
  mac: string;
  smp: number;
  memMiB: number;
}

/** The xl configuration: the domU as the emulator's `--machine xen` builds it from the same switches. */
export function domUConfig(d: DomU): string {
  return [
    'name = "domU"',
    'kernel = "/domU/Image"',
    'ramdisk = "/domU/initrd"',
    `extra = "${d.append}"`,
    `memory = ${d.memMiB}`,
    `vcpus = ${d.smp}`,
    'disk = [ "format=raw,vdev=xvda,access=rw,script=/etc/xen/scripts/block-oracle,target=/dev/loop0" ]',
    `vif = [ "mac=${d.mac},script=/etc/xen/scripts/vif-oracle" ]`,
    'on_poweroff = "destroy"',
    'on_reboot = "destroy"',
    'on_crash = "destroy"',
    '',
  ].join('\n');
}

export interface Dom0Parts {
  busybox: Uint8Array;
  modulesDir: string;
  kernel: Uint8Array;
  initrd: Uint8Array;
  disk: Uint8Array;
  domU: DomU;
  toolstack: Array<[string, Buffer]>;
}

export function dom0Initramfs(p: Dom0Parts): Uint8Array {
  const modules = DOM0_MODULES.map((m): Entry => {
    const found = findModule(p.modulesDir, `${m}.ko`);
    if (!found) throw new Dom0Error(`${p.modulesDir}: no ${m}.ko`);
    return file(`lib/modules/${m}.ko`, read(found, m), 0o644);
  });
  const dirs = new Set(['bin', 'dev', 'proc', 'sys', 'run', 'tmp', 'var', 'var/log', 'var/lib', 'var/lib/xen', 'var/lib/xenstored']);
  const all = [...p.toolstack.map(([n]) => n), 'etc/xen/scripts/x', 'lib/modules/x', 'domU/x', 'usr/bin/x'];
  for (const n of all) for (let d = path.dirname(n); d !== '.'; d = path.dirname(d)) dirs.add(d);
  return newc([
    ...[...dirs].sort().map((name): Entry => ({ name, mode: S_IFDIR | 0o755 })),
    { name: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
    { name: 'dev/null', mode: S_IFCHR | 0o666, rdevMajor: 1, rdevMinor: 3 },
    // xenstored and xenconsoled keep their sockets and pid files under /var/run
    { name: 'var/run', mode: S_IFLNK | 0o777, data: Buffer.from('../run') },
    file('bin/busybox', p.busybox),
    ...p.toolstack.map(([n, d]) => file(n, d)),
    ...XENSTORE_TOOLS.map((t): Entry => ({ name: `usr/bin/xenstore-${t}`, mode: S_IFLNK | 0o777, data: Buffer.from('xenstore') })),
    ...modules,
    file('etc/xen/xl.conf', Buffer.from('# xl defaults\n'), 0o644),
    file('etc/xen/domU.cfg', Buffer.from(domUConfig(p.domU)), 0o644),
    file('etc/xen/scripts/block-oracle', read(path.join(here, 'block-oracle.sh'), 'the block hotplug script')),
    file('etc/xen/scripts/vif-oracle', read(path.join(here, 'vif-oracle.sh'), 'the vif hotplug script')),
    file('domU/Image', p.kernel, 0o644),
    file('domU/initrd', p.initrd, 0o644),
    file('domU/disk.img', p.disk, 0o644),
    file('init', read(path.join(here, 'dom0-init.sh'), 'the dom0 /init')),
  ]);
}

function findModule(dir: string, name: string): string | undefined {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const f = findModule(p, name);
      if (f) return f;
    } else if (e.name === name) return p;
  }
  return undefined;
}

function main(argv: string[]): void {
  const out = argv.shift();
  const opt: Record<string, string> = {};
  const roots: string[] = [];
  while (argv.length) {
    const a = argv.shift()!;
    if (a.startsWith('--')) opt[a.slice(2)] = argv.shift() ?? '';
    else roots.push(a);
  }
  const need = ['busybox', 'modules', 'kernel', 'initrd', 'disk', 'append', 'mac', 'smp', 'mem'];
  if (!out || need.some((k) => opt[k] === undefined))
    throw new Dom0Error(
      `usage: make-dom0.ts OUT ${need.map((k) => `--${k} X`).join(' ')} PKGROOT... (missing: ${need.filter((k) => opt[k] === undefined).join(', ') || 'OUT'})`,
    );
  fs.writeFileSync(
    out,
    dom0Initramfs({
      busybox: read(opt.busybox!, 'busybox'),
      modulesDir: opt.modules!,
      kernel: read(opt.kernel!, "the domU's kernel"),
      initrd: read(opt.initrd!, "the domU's initramfs"),
      disk: read(opt.disk!, "the domU's disk image"),
      domU: { append: opt.append!, mac: opt.mac!, smp: Number(opt.smp), memMiB: Number(opt.mem) },
      toolstack: toolstackClosure(roots),
    }),
  );
}

if (import.meta.main) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof Dom0Error)) throw e;
    process.stderr.write(`xen-oracle: ${e.message}\n`);
    process.exit(1);
  }
}
