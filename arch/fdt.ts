// Flattened device tree (DTB, devicetree spec v0.4 §5): a builder and a parser shared by the
// emulator personalities (which generate the guest's DTB) and the analyzers/importers (which read
// the DTB a trace was recorded with). Version 17 blobs with a memory-reservation block, a
// deduplicated strings block and phandles; parsing accepts versions 16 and 17 and names the
// offset of anything malformed.

export const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_NOP = 4;
const FDT_END = 9;
const HEADER_SIZE = 40;

/** A property's raw big-endian value. */
export interface FdtProperty {
  name: string;
  value: Uint8Array;
}

export interface FdtNode {
  /** Node name with unit address, e.g. 'pl011@9000000' ('' for the root). */
  name: string;
  props: FdtProperty[];
  children: FdtNode[];
}

export interface FdtReservation {
  address: bigint;
  size: bigint;
}

export interface Fdt {
  root: FdtNode;
  memreserve: FdtReservation[];
  /** boot_cpuid_phys from the header. */
  bootCpuId: number;
  /** Header version and last compatible version (17 and 16 for what we build). */
  version: number;
  lastCompVersion: number;
}

/** A malformed blob: the message names the offset and what was expected. */
export class FdtError extends Error {
  readonly offset: number;
  constructor(offset: number, what: string, source = 'DTB') {
    super(`${source}: offset 0x${offset.toString(16)}: ${what}`);
    this.name = 'FdtError';
    this.offset = offset;
  }
}

// ---------------------------------------------------------------------------------------------
// Property values

/**
 * Values a builder accepts: a string or string list (NUL-separated stringlist), a u32 cell or
 * list of cells (numbers), a u64 (bigint) or list of u64, raw bytes, or `true` for an empty
 * (boolean) property.
 */
export type PropValue = string | string[] | number | number[] | bigint | bigint[] | Uint8Array | true;

const utf8 = new TextEncoder();
const utf8dec = new TextDecoder('utf-8', { fatal: false });

/** Encode a property value as the blob stores it. */
export function encodeProp(v: PropValue): Uint8Array {
  if (v === true) return new Uint8Array(0);
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return encodeStrings([v]);
  if (typeof v === 'number') return cells([v]);
  if (typeof v === 'bigint') return u64s([v]);
  if (v.length === 0) return new Uint8Array(0);
  if (typeof v[0] === 'string') return encodeStrings(v as string[]);
  if (typeof v[0] === 'bigint') return u64s(v as bigint[]);
  return cells(v as number[]);
}

function encodeStrings(list: string[]): Uint8Array {
  const parts = list.map((s) => utf8.encode(s));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length + 1;
  }
  return out;
}

/** Big-endian 32-bit cells. Numbers must be integers in 0..2^32-1. */
export function cells(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const dv = new DataView(out.buffer);
  values.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c > 0xffffffff) throw new RangeError(`FDT cell value ${c} is not a u32`);
    dv.setUint32(i * 4, c);
  });
  return out;
}

/** Big-endian 64-bit values (two cells each). */
export function u64s(values: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, v)));
  return out;
}

/** Split a 64-bit quantity into [hi, lo] cells (for #address-cells = 2 'reg' entries). */
export function cells64(v: number | bigint): [number, number] {
  const b = BigInt.asUintN(64, BigInt(v));
  return [Number(b >> 32n), Number(b & 0xffffffffn)];
}

/** Build a node; props keep insertion order (that is the order in the blob). */
export function fdtNode(name: string, props: Record<string, PropValue> = {}, children: FdtNode[] = []): FdtNode {
  return { name, props: Object.entries(props).map(([n, v]) => ({ name: n, value: encodeProp(v) })), children };
}

// ---------------------------------------------------------------------------------------------
// Accessors

export function getProp(node: FdtNode, name: string): Uint8Array | undefined {
  for (const p of node.props) if (p.name === name) return p.value;
  return undefined;
}

export function propU32s(node: FdtNode, name: string): number[] | undefined {
  const v = getProp(node, name);
  if (!v) return undefined;
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= v.length; i += 4) out.push(dv.getUint32(i));
  return out;
}

export function propU32(node: FdtNode, name: string): number | undefined {
  return propU32s(node, name)?.[0];
}

/** NUL-separated string list (a trailing NUL is not an extra empty string). */
export function propStrings(node: FdtNode, name: string): string[] | undefined {
  const v = getProp(node, name);
  if (!v) return undefined;
  const parts = utf8dec.decode(v).split('\0');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

export function propString(node: FdtNode, name: string): string | undefined {
  return propStrings(node, name)?.[0];
}

/** A value made of cells, read as unsigned integers `n` cells wide (2 cells → 64-bit bigint). */
export function readCells(v: Uint8Array, cellOffset: number, n: number): bigint {
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  let r = 0n;
  for (let i = 0; i < n; i++) r = (r << 32n) | BigInt(dv.getUint32((cellOffset + i) * 4));
  return r;
}

/** 'reg' entries of a node given its parent's #address-cells / #size-cells. */
export function regEntries(node: FdtNode, addressCells = 2, sizeCells = 2): { address: bigint; size: bigint }[] {
  const v = getProp(node, 'reg');
  if (!v) return [];
  const per = addressCells + sizeCells;
  const count = Math.floor(v.length / 4 / per);
  const out: { address: bigint; size: bigint }[] = [];
  for (let i = 0; i < count; i++) {
    out.push({ address: readCells(v, i * per, addressCells), size: sizeCells ? readCells(v, i * per + addressCells, sizeCells) : 0n });
  }
  return out;
}

/** Find a node by absolute path ('/', '/cpus/cpu@0'); a name without '@' matches 'name' or 'name@…'. */
export function findNode(root: FdtNode, path: string): FdtNode | undefined {
  let cur: FdtNode | undefined = root;
  for (const part of path.split('/').filter((p) => p !== '')) {
    if (!cur) return undefined;
    const here: FdtNode = cur;
    cur =
      here.children.find((c) => c.name === part) ??
      (part.includes('@') ? undefined : here.children.find((c) => c.name.split('@')[0] === part));
  }
  return cur;
}

/** Depth-first walk with each node's path. */
export function* walkNodes(root: FdtNode, path = '/'): IterableIterator<{ path: string; node: FdtNode }> {
  yield { path, node: root };
  for (const c of root.children) yield* walkNodes(c, path === '/' ? `/${c.name}` : `${path}/${c.name}`);
}

/** Nodes whose compatible list contains `compatible`. */
export function findCompatible(root: FdtNode, compatible: string): { path: string; node: FdtNode }[] {
  return [...walkNodes(root)].filter(({ node }) => propStrings(node, 'compatible')?.includes(compatible));
}

/** The node carrying a given phandle. */
export function findPhandle(root: FdtNode, phandle: number): FdtNode | undefined {
  for (const { node } of walkNodes(root)) {
    if (propU32(node, 'phandle') === phandle || propU32(node, 'linux,phandle') === phandle) return node;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Builder

export interface BuildOptions {
  memreserve?: FdtReservation[];
  bootCpuId?: number;
  /** Pad the blob with zeros to this total size (QEMU pads its DTB to 1 MiB); default no padding. */
  padTo?: number;
}

/** Serialise a tree as a version-17 DTB (header, memreserve, structure, strings). */
export function buildFdt(root: FdtNode, opts: BuildOptions = {}): Uint8Array {
  const strings = new StringTable();
  const struct = new Growable();
  emitNode(root, struct, strings, true);
  struct.u32(FDT_END);
  const rsv = opts.memreserve ?? [];
  const offRsv = HEADER_SIZE; // already 8-byte aligned
  const offStruct = offRsv + (rsv.length + 1) * 16;
  const offStrings = offStruct + struct.length;
  const strBytes = strings.bytes();
  const used = offStrings + strBytes.length;
  const total = Math.max(used, opts.padTo ?? 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, FDT_MAGIC);
  dv.setUint32(4, total);
  dv.setUint32(8, offStruct);
  dv.setUint32(12, offStrings);
  dv.setUint32(16, offRsv);
  dv.setUint32(20, 17);
  dv.setUint32(24, 16);
  dv.setUint32(28, opts.bootCpuId ?? 0);
  dv.setUint32(32, strBytes.length);
  dv.setUint32(36, struct.length);
  rsv.forEach((r, i) => {
    dv.setBigUint64(offRsv + i * 16, r.address);
    dv.setBigUint64(offRsv + i * 16 + 8, r.size);
  });
  out.set(struct.bytes(), offStruct);
  out.set(strBytes, offStrings);
  return out;
}

function emitNode(n: FdtNode, out: Growable, strings: StringTable, isRoot: boolean): void {
  if (!isRoot && (n.name === '' || n.name.includes('/'))) throw new Error(`FDT node name '${n.name}' is not valid`);
  out.u32(FDT_BEGIN_NODE);
  out.bytesPadded(utf8.encode(isRoot ? '' : n.name), true);
  for (const p of n.props) {
    out.u32(FDT_PROP);
    out.u32(p.value.length);
    out.u32(strings.offsetOf(p.name));
    out.bytesPadded(p.value, false);
  }
  for (const c of n.children) emitNode(c, out, strings, false);
  out.u32(FDT_END_NODE);
}

class StringTable {
  private readonly index = new Map<string, number>();
  private readonly parts: Uint8Array[] = [];
  private size = 0;
  offsetOf(s: string): number {
    let off = this.index.get(s);
    if (off === undefined) {
      off = this.size;
      const b = utf8.encode(s);
      this.parts.push(b, new Uint8Array(1));
      this.size += b.length + 1;
      this.index.set(s, off);
    }
    return off;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

class Growable {
  private buf = new Uint8Array(4096);
  length = 0;
  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.length));
    this.buf = nb;
  }
  u32(v: number): void {
    this.ensure(4);
    new DataView(this.buf.buffer).setUint32(this.length, v);
    this.length += 4;
  }
  /** Bytes (plus a NUL when `nul`), zero-padded to a 4-byte boundary. */
  bytesPadded(b: Uint8Array, nul: boolean): void {
    const n = b.length + (nul ? 1 : 0);
    const padded = (n + 3) & ~3;
    this.ensure(padded);
    this.buf.set(b, this.length);
    this.buf.fill(0, this.length + b.length, this.length + padded);
    this.length += padded;
  }
  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

// ---------------------------------------------------------------------------------------------
// Parser

/** Parse a DTB. `source` names the blob in error messages (a file name). Throws FdtError. */
export function parseFdt(blob: Uint8Array, source = 'DTB'): Fdt {
  const fail = (off: number, what: string): never => {
    throw new FdtError(off, what, source);
  };
  if (blob.length < HEADER_SIZE) fail(0, `blob is ${blob.length} bytes, shorter than the 40-byte FDT header`);
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const magic = dv.getUint32(0);
  if (magic !== FDT_MAGIC) fail(0, `bad magic 0x${magic.toString(16).padStart(8, '0')}, expected 0xd00dfeed (not a flattened device tree)`);
  const total = dv.getUint32(4);
  const offStruct = dv.getUint32(8);
  const offStrings = dv.getUint32(12);
  const offRsv = dv.getUint32(16);
  const version = dv.getUint32(20);
  const lastComp = dv.getUint32(24);
  const bootCpuId = dv.getUint32(28);
  const sizeStrings = dv.getUint32(32);
  const sizeStruct = version >= 17 ? dv.getUint32(36) : total - offStruct;
  if (total > blob.length) fail(4, `totalsize ${total} exceeds the ${blob.length} bytes available (truncated blob)`);
  if (total < HEADER_SIZE) fail(4, `totalsize ${total} is smaller than the header`);
  if (version < 16 || lastComp > 17)
    fail(20, `unsupported version ${version} (last compatible ${lastComp}); versions 16 and 17 are supported`);
  if (offRsv % 8 !== 0 || offRsv < HEADER_SIZE || offRsv > total)
    fail(16, `off_mem_rsvmap 0x${offRsv.toString(16)} is not an 8-byte aligned offset inside the blob`);
  if (offStruct % 4 !== 0 || offStruct < HEADER_SIZE || offStruct + sizeStruct > total) {
    fail(8, `structure block 0x${offStruct.toString(16)}+0x${sizeStruct.toString(16)} does not fit in totalsize 0x${total.toString(16)}`);
  }
  if (offStrings < HEADER_SIZE || offStrings + sizeStrings > total) {
    fail(12, `strings block 0x${offStrings.toString(16)}+0x${sizeStrings.toString(16)} does not fit in totalsize 0x${total.toString(16)}`);
  }

  const memreserve: FdtReservation[] = [];
  for (let o = offRsv; ; o += 16) {
    if (o + 16 > total) fail(o, 'memory reservation block is not terminated by a zero entry');
    const address = dv.getBigUint64(o);
    const size = dv.getBigUint64(o + 8);
    if (address === 0n && size === 0n) break;
    memreserve.push({ address, size });
  }

  const end = offStruct + sizeStruct;
  let p = offStruct;
  const readToken = (): number => {
    if (p + 4 > end) fail(p, 'structure block ends without FDT_END');
    const t = dv.getUint32(p);
    p += 4;
    return t;
  };
  const readName = (): string => {
    const start = p;
    let q = p;
    while (q < end && blob[q] !== 0) q++;
    if (q >= end) fail(start, 'node name is not NUL-terminated inside the structure block');
    p = (q + 1 + 3) & ~3;
    return utf8dec.decode(blob.subarray(start, q));
  };
  const stringAt = (nameoff: number, at: number): string => {
    if (nameoff >= sizeStrings) fail(at, `property name offset ${nameoff} is outside the ${sizeStrings}-byte strings block`);
    let q = offStrings + nameoff;
    const stop = offStrings + sizeStrings;
    while (q < stop && blob[q] !== 0) q++;
    if (q >= stop) fail(at, `property name at strings offset ${nameoff} is not NUL-terminated`);
    return utf8dec.decode(blob.subarray(offStrings + nameoff, q));
  };

  // Skip leading NOPs, then expect the root node.
  let tok = readToken();
  while (tok === FDT_NOP) tok = readToken();
  if (tok !== FDT_BEGIN_NODE) fail(p - 4, `expected FDT_BEGIN_NODE (1) for the root node, found token ${tok}`);
  const root: FdtNode = { name: readName(), props: [], children: [] };
  const stack: FdtNode[] = [root];
  for (;;) {
    const at = p;
    tok = readToken();
    if (tok === FDT_NOP) continue;
    if (tok === FDT_BEGIN_NODE) {
      const node: FdtNode = { name: readName(), props: [], children: [] };
      stack[stack.length - 1]!.children.push(node);
      stack.push(node);
      if (stack.length > 256) fail(at, 'nodes nested more than 256 deep');
    } else if (tok === FDT_PROP) {
      const cur = stack[stack.length - 1]!;
      if (cur.children.length > 0) fail(at, `property after a subnode in node '${cur.name}' (properties must come first)`);
      if (p + 8 > end) fail(at, 'property header runs past the structure block');
      const len = dv.getUint32(p);
      const nameoff = dv.getUint32(p + 4);
      p += 8;
      if (p + len > end) fail(at, `property value of ${len} bytes runs past the structure block`);
      const name = stringAt(nameoff, at);
      cur.props.push({ name, value: blob.slice(p, p + len) });
      p = (p + len + 3) & ~3;
    } else if (tok === FDT_END_NODE) {
      stack.pop();
      if (stack.length === 0) {
        let t2 = readToken();
        while (t2 === FDT_NOP) t2 = readToken();
        if (t2 !== FDT_END) fail(p - 4, `expected FDT_END (9) after the root node, found token ${t2}`);
        break;
      }
    } else if (tok === FDT_END) {
      fail(at, `FDT_END inside node '${stack[stack.length - 1]!.name}' (${stack.length} node(s) left open)`);
    } else {
      fail(at, `unknown structure token 0x${tok.toString(16)}`);
    }
  }
  return { root, memreserve, bootCpuId, version, lastCompVersion: lastComp };
}

/** Heuristic rendering of a property value for humans (dts-like). */
export function formatProp(value: Uint8Array): string {
  if (value.length === 0) return '';
  const printable =
    value[value.length - 1] === 0 && value.every((b, i) => (b >= 0x20 && b < 0x7f) || (b === 0 && i > 0 && value[i - 1] !== 0));
  if (printable)
    return utf8dec
      .decode(value.subarray(0, value.length - 1))
      .split('\0')
      .map((s) => `"${s}"`)
      .join(', ');
  if (value.length % 4 === 0) {
    const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
    const c: string[] = [];
    for (let i = 0; i < value.length; i += 4) c.push('0x' + dv.getUint32(i).toString(16));
    return `<${c.join(' ')}>`;
  }
  return `[${[...value].map((b) => b.toString(16).padStart(2, '0')).join(' ')}]`;
}

/** A dts-like text rendering of a tree (for reports and debugging; dtc remains the reference). */
export function fdtToText(root: FdtNode, indent = ''): string {
  const lines: string[] = [`${indent}${root.name || '/'} {`];
  for (const p of root.props) lines.push(`${indent}\t${p.name}${p.value.length ? ' = ' + formatProp(p.value) : ''};`);
  for (const c of root.children) lines.push(fdtToText(c, indent + '\t'));
  lines.push(`${indent}};`);
  return lines.join('\n');
}
