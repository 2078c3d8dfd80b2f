// The two initramfs archives of the KVM oracle (docs/kvm-oracle.md), as uncompressed cpio "newc"
// (no root, no cpio tool; uncompressed because every byte the nested host or guest has to inflate
// costs TCG time):
//
//   node make-initramfs.ts guest BUSYBOX OUT
//       busybox and scripts/kvm-oracle/guest-init.sh as /init: the guest, under real KVM and on
//       bootscope's kvm machine alike.
//   node make-initramfs.ts host OUT --busybox B --kernel IMAGE --initrd GUEST --input FILE
//                               --env FILE --qemu PKGROOT/usr/bin/qemu-system-aarch64 PKGROOT...
//       the nested KVM host: busybox, Debian's arm64 QEMU with exactly the shared libraries its
//       ELF DT_NEEDED entries name (searched in the unpacked Debian packages PKGROOT...; the loader
//       at the PT_INTERP path), the guest's kernel, initramfs and console input, /oracle.env and
//       scripts/kvm-oracle/host-init.sh as /init. A library no package has is an error naming it.
import fs from 'node:fs';
import path from 'node:path';
import { newc } from '../make-initramfs.ts';

const S_IFDIR = 0o040000,
  S_IFREG = 0o100000,
  S_IFLNK = 0o120000,
  S_IFCHR = 0o020000;
const LIBDIR = 'usr/lib/aarch64-linux-gnu';
const here = import.meta.dirname;

interface Entry {
  name: string;
  mode: number;
  data?: Uint8Array;
  rdevMajor?: number;
  rdevMinor?: number;
}

class OracleError extends Error {}

const dirs = (...names: string[]): Entry[] => names.map((name) => ({ name, mode: S_IFDIR | 0o755 }));
const file = (name: string, data: Uint8Array, mode = 0o755): Entry => ({ name, mode: S_IFREG | mode, data });
const consoleNodes: Entry[] = [
  { name: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
  { name: 'dev/null', mode: S_IFCHR | 0o666, rdevMajor: 1, rdevMinor: 3 },
];

function read(p: string, what: string): Buffer {
  try {
    return fs.readFileSync(p);
  } catch {
    throw new OracleError(`${p}: ${what} not found`);
  }
}

export function guestInitramfs(busybox: Uint8Array): Uint8Array {
  return newc([
    ...dirs('bin', 'dev', 'proc', 'sys', 'sbin'),
    ...consoleNodes,
    file('bin/busybox', busybox),
    { name: 'bin/sh', mode: S_IFLNK | 0o777, data: Buffer.from('busybox') },
    file('init', read(path.join(here, 'guest-init.sh'), 'the guest /init')),
  ]);
}

/** An ELF64 little-endian file's PT_INTERP path and DT_NEEDED names. */
export function elfDeps(buf: Buffer, name: string): { interp?: string; needed: string[] } {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1)
    throw new OracleError(`${name}: not a 64-bit little-endian ELF file`);
  const phoff = Number(buf.readBigUInt64LE(32));
  const phentsize = buf.readUInt16LE(54);
  const phnum = buf.readUInt16LE(56);
  const loads: Array<{ vaddr: number; off: number; size: number }> = [];
  let interp: string | undefined;
  let dyn: { off: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    const type = buf.readUInt32LE(p);
    const off = Number(buf.readBigUInt64LE(p + 8));
    const vaddr = Number(buf.readBigUInt64LE(p + 16));
    const filesz = Number(buf.readBigUInt64LE(p + 32));
    if (type === 1) loads.push({ vaddr, off, size: filesz });
    else if (type === 2) dyn = { off, size: filesz };
    else if (type === 3) interp = buf.toString('latin1', off, off + filesz).replace(/\0.*$/s, '');
  }
  if (!dyn) return { interp, needed: [] };
  // DT_STRTAB is a virtual address: map it to a file offset through the PT_LOAD segments.
  const toOff = (va: number): number => {
    const l = loads.find((s) => va >= s.vaddr && va < s.vaddr + s.size);
    if (!l) throw new OracleError(`${name}: DT_STRTAB 0x${va.toString(16)} is in no PT_LOAD segment`);
    return l.off + va - l.vaddr;
  };
  const neededOffs: number[] = [];
  let strtab = -1;
  for (let p = dyn.off; p + 16 <= dyn.off + dyn.size; p += 16) {
    const tag = Number(buf.readBigInt64LE(p));
    const val = Number(buf.readBigUInt64LE(p + 8));
    if (tag === 0) break;
    if (tag === 1) neededOffs.push(val);
    else if (tag === 5) strtab = toOff(val);
  }
  const str = (o: number): string => buf.toString('latin1', strtab + o, buf.indexOf(0, strtab + o));
  return { interp, needed: neededOffs.map(str) };
}

interface Found {
  root: string;
  file: string;
}

/** Every file and symlink under the package roots' library directories, by base name. */
function libraryIndex(roots: string[]): Map<string, Found> {
  const idx = new Map<string, Found>();
  for (const root of roots) {
    for (const d of ['lib', 'usr/lib', 'lib/aarch64-linux-gnu', LIBDIR]) {
      const dir = path.join(root, d);
      if (!fs.existsSync(dir)) continue;
      for (const n of fs.readdirSync(dir)) if (!idx.has(n) && n.includes('.so')) idx.set(n, { root, file: path.join(dir, n) });
    }
  }
  return idx;
}

/** Follow a symlink inside its package tree (an absolute target is relative to the package root). */
function realFile(f: Found): string {
  let p = f.file;
  for (let hops = 0; hops < 8; hops++) {
    if (!fs.lstatSync(p).isSymbolicLink()) return p;
    const target = fs.readlinkSync(p);
    p = target.startsWith('/') ? path.join(f.root, target) : path.resolve(path.dirname(p), target);
  }
  throw new OracleError(`${f.file}: more than 8 symbolic links`);
}

/** QEMU and the closure of its DT_NEEDED libraries: [path in the initramfs, file contents]. */
export function qemuClosure(qemu: string, roots: string[]): Array<[string, Buffer]> {
  const idx = libraryIndex(roots);
  const out: Array<[string, Buffer]> = [];
  const seen = new Set<string>();
  const bin = read(qemu, 'qemu-system-aarch64');
  const { interp, needed } = elfDeps(bin, qemu);
  out.push(['usr/bin/qemu-system-aarch64', bin]);
  const todo = [...needed];
  if (interp) {
    const ld = idx.get(path.basename(interp));
    if (!ld) throw new OracleError(`${qemu}: its loader ${interp} is in none of the kvm-host packages (guests/inputs.lock)`);
    out.push([interp.replace(/^\//, ''), read(realFile(ld), interp)]);
    seen.add(path.basename(interp));
  }
  while (todo.length) {
    const so = todo.pop()!;
    if (seen.has(so)) continue;
    seen.add(so);
    const p = idx.get(so);
    if (!p) throw new OracleError(`${so} (needed by qemu-system-aarch64) is in none of the kvm-host packages of guests/inputs.lock`);
    const data = read(realFile(p), so);
    out.push([`${LIBDIR}/${so}`, data]);
    todo.push(...elfDeps(data, p.file).needed);
  }
  return out;
}

export interface HostParts {
  busybox: Uint8Array;
  kernel: Uint8Array;
  initrd: Uint8Array;
  input: Uint8Array;
  env: string;
  qemu: Array<[string, Buffer]>;
}

export function hostInitramfs(h: HostParts): Uint8Array {
  const parents = new Set<string>();
  for (const [p] of h.qemu) for (let d = path.dirname(p); d !== '.'; d = path.dirname(d)) parents.add(d);
  return newc([
    ...dirs('bin', 'dev', 'proc', 'sys', 'tmp', 'out', 'guest', ...[...parents].sort()),
    ...consoleNodes,
    file('bin/busybox', h.busybox),
    ...h.qemu.map(([p, d]) => file(p, d)),
    file('guest/Image', h.kernel, 0o644),
    file('guest/initrd', h.initrd, 0o644),
    file('guest/input.txt', h.input, 0o644),
    file('oracle.env', Buffer.from(h.env), 0o644),
    file('init', read(path.join(here, 'host-init.sh'), 'the host /init')),
  ]);
}

function main(argv: string[]): void {
  const [what, ...rest] = argv;
  if (what === 'guest' && rest.length === 2) {
    fs.writeFileSync(rest[1]!, guestInitramfs(read(rest[0]!, 'busybox')));
    return;
  }
  if (what !== 'host')
    throw new OracleError(
      'usage: make-initramfs.ts guest BUSYBOX OUT | host OUT --busybox B --kernel K --initrd G --input F --env F --qemu Q PKGROOT...',
    );
  const out = rest.shift();
  const opt: Record<string, string> = {};
  const roots: string[] = [];
  while (rest.length) {
    const a = rest.shift()!;
    if (a.startsWith('--')) opt[a.slice(2)] = rest.shift() ?? '';
    else roots.push(a);
  }
  for (const k of ['busybox', 'kernel', 'initrd', 'input', 'env', 'qemu'])
    if (!opt[k]) throw new OracleError(`make-initramfs host: --${k} is missing`);
  fs.writeFileSync(
    out!,
    hostInitramfs({
      busybox: read(opt.busybox!, 'busybox'),
      kernel: read(opt.kernel!, 'the guest kernel'),
      initrd: read(opt.initrd!, "the guest's initramfs"),
      input: read(opt.input!, "the guest's console input"),
      env: fs.readFileSync(opt.env!, 'utf8'),
      qemu: qemuClosure(opt.qemu!, roots),
    }),
  );
}

if (import.meta.main) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof OracleError)) throw e;
    process.stderr.write(`kvm-oracle: ${e.message}\n`);
    process.exit(1);
  }
}
