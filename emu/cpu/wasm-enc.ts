// A small WebAssembly binary encoder: just what the block compiler (wasm-jit.ts) emits. One
// module = imported memories and functions, functions of one signature each, exports. Encoding
// per the WebAssembly Core Specification 2.0, §5 (binary format); multiple memories per the
// multi-memory proposal (memarg flag bit 6 carries a memory index).

/** Value types (§5.3.1). */
export const I32 = 0x7f,
  I64 = 0x7e;

/** Opcodes used by the compiler (§5.4). */
export const W = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  return: 0x0f,
  call: 0x10,
  drop: 0x1a,
  select: 0x1b,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  i32_load: 0x28,
  i64_load: 0x29,
  i64_load8_s: 0x30,
  i64_load8_u: 0x31,
  i64_load16_s: 0x32,
  i64_load16_u: 0x33,
  i64_load32_s: 0x34,
  i64_load32_u: 0x35,
  i32_store: 0x36,
  i64_store: 0x37,
  i64_store8: 0x3c,
  i64_store16: 0x3d,
  i64_store32: 0x3e,
  i32_const: 0x41,
  i64_const: 0x42,
  i32_eqz: 0x45,
  i32_eq: 0x46,
  i32_ne: 0x47,
  i32_lt_u: 0x49,
  i32_gt_u: 0x4b,
  i32_le_u: 0x4d,
  i32_ge_u: 0x4f,
  i64_eqz: 0x50,
  i64_eq: 0x51,
  i64_ne: 0x52,
  i64_lt_s: 0x53,
  i64_lt_u: 0x54,
  i64_gt_u: 0x56,
  i64_ge_u: 0x5a,
  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_and: 0x71,
  i32_or: 0x72,
  i32_xor: 0x73,
  i32_shl: 0x74,
  i32_shr_s: 0x75,
  i32_shr_u: 0x76,
  i32_rotr: 0x78,
  i32_clz: 0x67,
  i64_clz: 0x79,
  i64_add: 0x7c,
  i64_sub: 0x7d,
  i64_mul: 0x7e,
  i64_div_s: 0x7f,
  i64_div_u: 0x80,
  i64_and: 0x83,
  i64_or: 0x84,
  i64_xor: 0x85,
  i64_shl: 0x86,
  i64_shr_s: 0x87,
  i64_shr_u: 0x88,
  i64_rotr: 0x8a,
  i32_wrap_i64: 0xa7,
  i64_extend_i32_s: 0xac,
  i64_extend_i32_u: 0xad,
  i64_extend8_s: 0xc2,
  i64_extend16_s: 0xc3,
  i64_extend32_s: 0xc4,
} as const;

/** Appends bytes of one function body (or any section payload). */
export class Bytes {
  readonly b: number[] = [];

  op(...codes: number[]): this {
    for (const c of codes) this.b.push(c);
    return this;
  }

  u32(v: number): this {
    v >>>= 0;
    do {
      let byte = v & 0x7f;
      v >>>= 7;
      if (v !== 0) byte |= 0x80;
      this.b.push(byte);
    } while (v !== 0);
    return this;
  }

  /** Signed LEB128 of a 64-bit value (compile time only, so BigInt is fine here). */
  s64(v: bigint): this {
    v = BigInt.asIntN(64, v);
    for (;;) {
      const byte = Number(v & 0x7fn);
      v >>= 7n;
      if ((v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0)) {
        this.b.push(byte);
        return this;
      }
      this.b.push(byte | 0x80);
    }
  }

  i32c(v: number): this {
    return this.op(W.i32_const).s64(BigInt(v | 0));
  }

  i64c(v: bigint): this {
    return this.op(W.i64_const).s64(v);
  }

  get(l: number): this {
    return this.op(W.local_get).u32(l);
  }

  set(l: number): this {
    return this.op(W.local_set).u32(l);
  }

  tee(l: number): this {
    return this.op(W.local_tee).u32(l);
  }

  /** A load or store with alignment hint 0 at a constant offset in memory `mem`. */
  mem(code: number, mem: number, offset: number): this {
    this.op(code);
    if (mem === 0) this.u32(0);
    else this.u32(0x40).u32(mem);
    return this.u32(offset);
  }

  bytes(more: readonly number[]): this {
    for (const x of more) this.b.push(x);
    return this;
  }
}

export interface FuncDef {
  params: number[];
  results: number[];
  /** Extra locals, by type, after the parameters. */
  locals: number[];
  body: Bytes;
  /** Exported under this name, if any. */
  export?: string;
}

export interface ImportFunc {
  module: string;
  name: string;
  params: number[];
  results: number[];
}

function name(out: Bytes, s: string): void {
  const enc = new TextEncoder().encode(s);
  out.u32(enc.length).bytes(Array.from(enc));
}

function section(out: Bytes, id: number, payload: Bytes): void {
  out.op(id).u32(payload.b.length).bytes(payload.b);
}

/** A module importing memories ("m", "mem<i>", at least their given page counts) and functions, then defining funcs. */
export function encodeModule(memPages: readonly number[], imports: readonly ImportFunc[], funcs: readonly FuncDef[]): Uint8Array {
  const types: string[] = [];
  const typeOf = (params: number[], results: number[]): number => {
    const key = `${params.join(',')}:${results.join(',')}`;
    let i = types.indexOf(key);
    if (i < 0) {
      types.push(key);
      i = types.length - 1;
    }
    return i;
  };
  const importTypes = imports.map((f) => typeOf(f.params, f.results));
  const funcTypes = funcs.map((f) => typeOf(f.params, f.results));
  const out = new Bytes().op(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
  const ty = new Bytes().u32(types.length);
  for (const key of types) {
    const [ps, rs] = key.split(':').map((s) => (s === '' ? [] : s.split(',').map(Number)));
    ty.op(0x60).u32(ps!.length).bytes(ps!).u32(rs!.length).bytes(rs!);
  }
  section(out, 1, ty);
  const im = new Bytes().u32(memPages.length + imports.length);
  memPages.forEach((pages, i) => {
    name(im, 'm');
    name(im, `mem${i}`);
    im.op(0x02, 0x00).u32(pages);
  });
  imports.forEach((f, i) => {
    name(im, f.module);
    name(im, f.name);
    im.op(0x00).u32(importTypes[i]!);
  });
  section(out, 2, im);
  const fn = new Bytes().u32(funcs.length);
  for (const t of funcTypes) fn.u32(t);
  section(out, 3, fn);
  const ex = new Bytes();
  let nex = 0;
  funcs.forEach((f, i) => {
    if (f.export === undefined) return;
    nex++;
    name(ex, f.export);
    ex.op(0x00).u32(imports.length + i);
  });
  section(out, 7, new Bytes().u32(nex).bytes(ex.b));
  const code = new Bytes().u32(funcs.length);
  for (const f of funcs) {
    const body = new Bytes();
    // locals as runs of one type
    const runs: [number, number][] = [];
    for (const t of f.locals) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    body.u32(runs.length);
    for (const [n, t] of runs) body.u32(n).op(t);
    body.bytes(f.body.b).op(W.end);
    code.u32(body.b.length).bytes(body.b);
  }
  section(out, 10, code);
  return new Uint8Array(out.b);
}
