// A small ACPI Machine Language encoder: just the terms the kvm machine's DSDT needs, encoded as
// ACPI 6.4 §20.2 ("AML Grammar Definition") lays them out. Terms are byte arrays; containers
// (Scope, Device, Method, Package, Buffer, If/Else) prefix their contents with a PkgLength
// (§20.2.4), always in the fewest bytes, as QEMU's AML builder does.

export type Aml = number[];

const NAME_CHARS = /^[A-Z_][A-Z0-9_]{0,3}$/;

/** PkgLength (§20.2.4) for `len` bytes of contents: the length counts its own bytes too. */
export function pkgLength(len: number): Aml {
  if (len + 1 < 0x40) return [len + 1];
  for (let n = 2; n <= 4; n++) {
    const total = len + n;
    if (total < 2 ** (4 + 8 * (n - 1))) {
      const out = [((n - 1) << 6) | (total & 0x0f)];
      for (let i = 1; i < n; i++) out.push((total >>> (4 + 8 * (i - 1))) & 0xff);
      return out;
    }
  }
  throw new RangeError(`AML package of ${len} bytes is too long`);
}

/** A NameSeg padded with '_' (§20.2.2). */
function nameSeg(s: string): Aml {
  if (!NAME_CHARS.test(s)) throw new RangeError(`'${s}' is not an AML name segment`);
  return Array.from(s.padEnd(4, '_'), (c) => c.charCodeAt(0));
}

/** NameString (§20.2.2): "\\_SB", "COM0", "\\_SB.GED", "_SB_.PCI0". */
export function nameString(path: string): Aml {
  const out: Aml = [];
  let p = path;
  if (p.startsWith('\\')) {
    out.push(0x5c);
    p = p.slice(1);
  }
  const segs = p.split('.').filter((s) => s.length > 0);
  if (segs.length === 2)
    out.push(0x2e); // DualNamePrefix
  else if (segs.length > 2) out.push(0x2f, segs.length); // MultiNamePrefix
  for (const s of segs) out.push(...nameSeg(s));
  return out;
}

/** An integer in its shortest encoding (Zero, One, Ones, Byte/Word/DWord/QWord prefixes). */
export function int(v: number | bigint): Aml {
  const n = BigInt(v);
  if (n === 0n) return [0x00];
  if (n === 1n) return [0x01];
  const le = (bytes: number): Aml => Array.from({ length: bytes }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
  if (n <= 0xffn) return [0x0a, ...le(1)];
  if (n <= 0xffffn) return [0x0b, ...le(2)];
  if (n <= 0xffffffffn) return [0x0c, ...le(4)];
  return [0x0e, ...le(8)];
}

/** A 64-bit integer always as QWord (QEMU's aml_int for values above 32 bits is the same; kept explicit). */
export const qword = (v: bigint): Aml => [0x0e, ...Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn))];

export const str = (s: string): Aml => [0x0d, ...Array.from(s, (c) => c.charCodeAt(0)), 0x00];

export const name = (n: string, value: Aml): Aml => [0x08, ...nameString(n), ...value];

const pkg = (op: Aml, body: Aml): Aml => [...op, ...pkgLength(body.length), ...body];

export const scope = (n: string, ...terms: Aml[]): Aml => pkg([0x10], [...nameString(n), ...terms.flat()]);
export const device = (n: string, ...terms: Aml[]): Aml => pkg([0x5b, 0x82], [...nameString(n), ...terms.flat()]);
/** Method (§19.6.85): flags = arg count | 0x08 when Serialized. */
export const method = (n: string, args: number, serialized: boolean, ...terms: Aml[]): Aml =>
  pkg([0x14], [...nameString(n), args | (serialized ? 0x08 : 0), ...terms.flat()]);
export const buffer = (bytes: readonly number[]): Aml => pkg([0x11], [...int(bytes.length), ...bytes]);
export const pkgOf = (...elems: Aml[]): Aml => pkg([0x12], [elems.length, ...elems.flat()]);
/** VarPackage (§20.2.5.4): the element count as an integer term (QEMU writes _PRT this way). */
export const varPkgOf = (...elems: Aml[]): Aml => pkg([0x13], [...int(elems.length), ...elems.flat()]);
export const ifOp = (pred: Aml, ...terms: Aml[]): Aml => pkg([0xa0], [...pred, ...terms.flat()]);
export const elseOp = (...terms: Aml[]): Aml => pkg([0xa1], terms.flat());

export const arg = (n: number): Aml => [0x68 + n];
export const local = (n: number): Aml => [0x60 + n];
export const ref = (n: string): Aml => nameString(n);
const NULL_TARGET: Aml = [0x00];
export const store = (src: Aml, dst: Aml): Aml => [0x70, ...src, ...dst];
export const and = (a: Aml, b: Aml, dst: Aml = NULL_TARGET): Aml => [0x7b, ...a, ...b, ...dst];
export const or = (a: Aml, b: Aml, dst: Aml = NULL_TARGET): Aml => [0x7d, ...a, ...b, ...dst];
export const lequal = (a: Aml, b: Aml): Aml => [0x93, ...a, ...b];
export const lnot = (a: Aml): Aml => [0x92, ...a];
export const ret = (v: Aml): Aml => [0xa4, ...v];
export const notify = (obj: Aml, v: Aml): Aml => [0x86, ...obj, ...v];
export const createDWordField = (src: Aml, index: Aml, n: string): Aml => [0x8a, ...src, ...index, ...nameString(n)];

/** Unicode("…") (ASL §19.6.143): a buffer of UTF-16LE characters and a NUL. */
export function unicode(s: string): Aml {
  const bytes: number[] = [];
  for (const c of s) bytes.push(c.charCodeAt(0) & 0xff, c.charCodeAt(0) >> 8);
  return buffer([...bytes, 0, 0]);
}

/** ToUUID("…") (ASL §19.6.142): the 16-byte buffer, first three fields little-endian. */
export function uuid(s: string): Aml {
  const h = s.replace(/-/g, '');
  const b = (i: number): number => parseInt(h.slice(2 * i, 2 * i + 2), 16);
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  return buffer(order.map(b));
}

/** OperationRegion (§19.6.100) in SystemMemory (space 0). */
export const opRegionMemory = (n: string, base: number, len: number): Aml => [
  0x5b,
  0x80,
  ...nameString(n),
  0x00,
  ...int(base),
  ...int(len),
];

/** Field (§19.6.48) with one named unit; flags: access type | lock << 4 | update rule << 5. */
export const field = (region: string, flags: number, unit: string, bits: number): Aml =>
  pkg([0x5b, 0x81], [...nameString(region), flags, ...nameSeg(unit), bits]);

// ---- Resource descriptors (ACPI 6.4 §6.4) -------------------------------------------------

const le16 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff];
const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const le64 = (v: bigint): number[] => Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));

/** ResourceTemplate: the descriptors and an End Tag (§6.4.2.9) with checksum 0, as a Buffer. */
export const resourceTemplate = (...descs: number[][]): Aml => buffer([...descs.flat(), 0x79, 0x00]);

/** 32-Bit Fixed Memory Range Descriptor (§6.4.3.4), read-write. */
export const memory32Fixed = (base: number, len: number): number[] => [0x86, ...le16(9), 0x01, ...le32(base), ...le32(len)];

/** Extended Interrupt Descriptor (§6.4.3.6): consumer, level or edge, active-high, exclusive. */
export const interrupt = (intid: number, edge = false): number[] => [0x89, ...le16(6), 0x01 | (edge ? 0x02 : 0), 1, ...le32(intid)];

/** Address space descriptors (§6.4.3.5): producer, positive decode, min and max fixed. */
const GENERAL_FLAGS = 0x0c;
export const wordBusNumber = (min: number, max: number): number[] => [
  0x88,
  ...le16(13),
  2,
  GENERAL_FLAGS,
  0,
  ...le16(0),
  ...le16(min),
  ...le16(max),
  ...le16(0),
  ...le16(max - min + 1),
];
/** DWord memory (type 0; read-write, non-cacheable) or I/O (type 1; entire range) window. */
export const dwordSpace = (type: 0 | 1, min: number, max: number, offset: number, len: number): number[] => [
  0x87,
  ...le16(23),
  type,
  GENERAL_FLAGS,
  type === 0 ? 0x01 : 0x03,
  ...le32(0),
  ...le32(min),
  ...le32(max),
  ...le32(offset),
  ...le32(len),
];
export const qwordMemory = (min: bigint, max: bigint, len: bigint): number[] => [
  0x8a,
  ...le16(43),
  0,
  GENERAL_FLAGS,
  0x01,
  ...le64(0n),
  ...le64(min),
  ...le64(max),
  ...le64(0n),
  ...le64(len),
];
