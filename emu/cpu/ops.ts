// The decoded operations, each named once: its id, the decoder pattern that produces it
// (decode.ts PATTERNS), the fields of its decoded record, an instruction word that decodes to it,
// and whether the block compiler has a template for it. decode.ts, the interpreter (cpu.ts and its
// handlers), the compiler (jit-ops.ts, jit.ts) and test/emu/cpu/ops.test.ts all take the ids from here.
//
// A decoded instruction is 4 int32 words [op, p, a, b]. p packs register slot offsets (slot*2 into
// the register file: slot 31 = current SP, 32 = zero register for reads, 33 = discard for writes,
// so handlers never test for register 31) and a 4-bit variant x:
//
//   bits 0-6 d, 7-13 n, 14-20 m, 21-27 a (Ra / Rt2), 28-31 x
//
// The decoder, the block compiler's templates and the system handlers read p through slotD, slotN,
// slotM, slotA and variant below. The interpreter (cpu.ts exec and its alu.ts/loadstore.ts
// handlers) reads the same fields with the literal expressions: V8 inlines the accessors, but
// TurboFan counts each inlined call against the interpreter loop's inlining budget, and with ~150
// accessor calls in it the loop stopped inlining adds64/lsl64/rd32 during a Linux boot and cost
// 2-3% more host instructions per guest instruction (docs/benchmarks.md, "CPU"). The same goes for
// operation ids: V8 builds a jump table only for literal case labels (named constants measured
// 20-30% slower), so the interpreter's labels are numbers followed by the operation's name.
// test/emu/cpu/ops.test.ts checks the labels and the inline field reads against this file.

/** What an operation's decoded record holds. `p` lists the parts of p it uses (d n m a x, with the
 *  meaning of x after '='); a and b say what those words hold, '' when they are always 0. */
export interface OpInfo {
  readonly id: number;
  /** The decode.ts pattern (by name) that produces it. */
  readonly pattern: string;
  readonly p: string;
  readonly a: string;
  readonly b: string;
  /** An instruction word that decodes to it (and its assembly). */
  readonly eg: readonly [number, string];
  /** Why the block compiler has no template for it: blocks end before it and the interpreter runs it. */
  readonly interpretedOnly?: string;
}

export const OPS = {
  // ---- data processing, immediate
  ADD_I64: { id: 1, pattern: 'add/sub imm', p: 'd n', a: 'imm12, shifted', b: '', eg: [0x91004041, 'add x1, x2, #16'] },
  SUB_I64: { id: 2, pattern: 'add/sub imm', p: 'd n', a: 'imm12, shifted', b: '', eg: [0xd1004041, 'sub x1, x2, #16'] },
  ADD_I32: { id: 3, pattern: 'add/sub imm', p: 'd n', a: 'imm12, shifted', b: '', eg: [0x11004041, 'add w1, w2, #16'] },
  SUB_I32: { id: 4, pattern: 'add/sub imm', p: 'd n', a: 'imm12, shifted', b: '', eg: [0x51004041, 'sub w1, w2, #16'] },
  ADDS_I: { id: 5, pattern: 'add/sub imm', p: 'd n x=sf|sub<<1', a: 'imm12, shifted', b: '', eg: [0xb1004041, 'adds x1, x2, #16'] },
  LOG_I: {
    id: 6,
    pattern: 'logical imm',
    p: 'd n x=opc|sf<<2',
    a: 'bit mask, low word',
    b: 'bit mask, high word',
    eg: [0x92401c41, 'and x1, x2, #0xff'],
  },
  MOVC: { id: 7, pattern: 'move wide', p: 'd', a: 'value, low word', b: 'value, high word', eg: [0xd2824681, 'mov x1, #0x1234'] },
  MOVK: { id: 8, pattern: 'move wide', p: 'd x=hw|sf<<2', a: 'imm16', b: '', eg: [0xf2a24681, 'movk x1, #0x1234, lsl #16'] },
  ADR: { id: 9, pattern: 'adr/adrp', p: 'd x=page', a: 'offset, low word', b: 'offset, high word', eg: [0x90000001, 'adrp x1, .'] },
  SHIFT_I64: { id: 11, pattern: 'bitfield', p: 'd n x=unsigned', a: 'left shift', b: 'right shift', eg: [0xd37df041, 'lsl x1, x2, #3'] },
  SHIFT_I32: { id: 12, pattern: 'bitfield', p: 'd n x=unsigned', a: 'left shift', b: 'right shift', eg: [0x53037c41, 'lsr w1, w2, #3'] },
  BFM: { id: 13, pattern: 'bitfield', p: 'd n x=sf', a: 'left shift', b: 'right shift', eg: [0xb3780c41, 'bfi x1, x2, #8, #4'] },
  EXTR: { id: 14, pattern: 'extract', p: 'd n m x=sf', a: 'lsb', b: '', eg: [0x93c33041, 'extr x1, x2, x3, #12'] },
  // ---- data processing, register
  ADD_R: {
    id: 15,
    pattern: 'add/sub shifted',
    p: 'd n m x=sub|sf<<1',
    a: 'shift type',
    b: 'shift amount',
    eg: [0x8b030841, 'add x1, x2, x3, lsl #2'],
  },
  ADDS_R: {
    id: 16,
    pattern: 'add/sub shifted',
    p: 'd n m x=sub|sf<<1',
    a: 'shift type',
    b: 'shift amount',
    eg: [0xab030841, 'adds x1, x2, x3, lsl #2'],
  },
  LOG_R: {
    id: 17,
    pattern: 'logical reg',
    p: 'd n m x=opc|N<<2|sf<<3',
    a: 'shift type',
    b: 'shift amount',
    eg: [0xaa030441, 'orr x1, x2, x3, lsl #1'],
  },
  ADD_X: {
    id: 18,
    pattern: 'add/sub extended',
    p: 'd n m x=sub|S<<1|sf<<2',
    a: 'extend option',
    b: 'shift amount',
    eg: [0x8b234be1, 'add x1, sp, w3, uxtw #2'],
  },
  ADC: { id: 19, pattern: 'adc/sbc', p: 'd n m x=sub|S<<1|sf<<2', a: '', b: '', eg: [0x9a030041, 'adc x1, x2, x3'] },
  CCMP: {
    id: 20,
    pattern: 'ccmp/ccmn',
    p: 'n m x=sub|sf<<2',
    a: 'cond|nzcv<<4|imm<<8|imm5<<9',
    b: '',
    eg: [0xfa421020, 'ccmp x1, x2, #0, ne'],
  },
  CSEL: { id: 21, pattern: 'csel', p: 'd n m x=op2|op<<1|sf<<2', a: 'cond', b: '', eg: [0x9a830041, 'csel x1, x2, x3, eq'] },
  DP2: { id: 22, pattern: 'dp 2-source', p: 'd n m x=sf', a: 'opcode', b: '', eg: [0x9ac30841, 'udiv x1, x2, x3'] },
  DP1: { id: 23, pattern: 'dp 1-source', p: 'd n x=sf', a: 'opcode', b: '', eg: [0xdac01041, 'clz x1, x2'] },
  DP3: { id: 24, pattern: 'dp 3-source', p: 'd n m a x=sf', a: 'op31<<1|o0', b: '', eg: [0x9b031041, 'madd x1, x2, x3, x4'] },
  MOV_R: { id: 53, pattern: 'logical reg', p: 'd m x=sf', a: '', b: '', eg: [0xaa0203e1, 'mov x1, x2'] },
  // specialised hot forms: 64-bit add/sub register without shift
  ADD_RR64: { id: 58, pattern: 'add/sub shifted', p: 'd n m x=sub', a: '', b: '', eg: [0x8b030041, 'add x1, x2, x3'] },
  ADDS_RR64: { id: 59, pattern: 'add/sub shifted', p: 'd n m x=sub', a: '', b: '', eg: [0xab030041, 'adds x1, x2, x3'] },
  // ---- branches, exceptions, system
  B: { id: 25, pattern: 'b/bl', p: '', a: 'offset', b: 'offset sign (0 or -1)', eg: [0x14000000, 'b .'] },
  BL: { id: 26, pattern: 'b/bl', p: '', a: 'offset', b: 'offset sign (0 or -1)', eg: [0x94000000, 'bl .'] },
  BCOND: { id: 27, pattern: 'b.cond', p: '', a: 'offset', b: 'cond', eg: [0x54000001, 'b.ne .'] },
  CBZ: { id: 28, pattern: 'cbz/cbnz', p: 'd x=nz|sf<<1', a: 'offset', b: '', eg: [0xb4000001, 'cbz x1, .'] },
  TBZ: { id: 29, pattern: 'tbz/tbnz', p: 'd x=nz', a: 'offset', b: 'bit', eg: [0x36180001, 'tbz w1, #3, .'] },
  BR: { id: 30, pattern: 'branch reg', p: 'n', a: '', b: '', eg: [0xd61f0020, 'br x1'] },
  BLR: { id: 31, pattern: 'branch reg', p: 'n', a: '', b: '', eg: [0xd63f0020, 'blr x1'] },
  RET: { id: 32, pattern: 'branch reg', p: 'n', a: '', b: '', eg: [0xd65f03c0, 'ret'] },
  ERET: { id: 50, pattern: 'branch reg', p: '', a: '', b: '', eg: [0xd69f03e0, 'eret'], interpretedOnly: 'changes EL, SP and PSTATE' },
  EXC: {
    id: 49,
    pattern: 'exception',
    p: 'x=kind (1 SVC, 2 HVC, 3 SMC, 4 BRK, 5 HLT)',
    a: 'imm16',
    b: '',
    eg: [0xd4000001, 'svc #0'],
    interpretedOnly: 'takes an exception or calls the hypervisor',
  },
  NOP: { id: 41, pattern: 'system', p: '', a: 'hint number', b: '', eg: [0xd503201f, 'nop'] },
  HINT: { id: 46, pattern: 'system', p: '', a: 'hint number (WFE, WFI, SEV, SEVL)', b: '', eg: [0xd503207f, 'wfi'] },
  BARRIER: { id: 47, pattern: 'system', p: '', a: 'op2', b: 'CRm', eg: [0xd5033f9f, 'dsb sy'] },
  MSR_IMM: { id: 45, pattern: 'system', p: '', a: 'op1<<3|op2', b: 'CRm', eg: [0xd50342df, 'msr daifset, #2'] },
  MRS: { id: 43, pattern: 'system', p: 'd', a: 'encoding', b: '', eg: [0xd538d081, 'mrs x1, tpidr_el1'] },
  MSR: { id: 44, pattern: 'system', p: 'd', a: 'encoding', b: '', eg: [0xd518d081, 'msr tpidr_el1, x1'] },
  SYS: { id: 48, pattern: 'system', p: 'd x=L', a: 'encoding', b: '', eg: [0xd50b7421, 'dc zva, x1'] },
  UNDEF: { id: 51, pattern: '', p: '', a: '', b: '', eg: [0x00000000, 'udf #0'], interpretedOnly: 'UNDEFINED: takes an exception' },
  // ---- loads and stores (x = LS type)
  LS_OFF: { id: 33, pattern: 'ld/st imm9', p: 'd n x=LS', a: 'offset', b: '', eg: [0xf85f8041, 'ldur x1, [x2, #-8]'] },
  LS_PRE: { id: 34, pattern: 'ld/st imm9', p: 'd n x=LS', a: 'offset', b: '', eg: [0xf8408c41, 'ldr x1, [x2, #8]!'] },
  LS_POST: { id: 35, pattern: 'ld/st imm9', p: 'd n x=LS', a: 'offset', b: '', eg: [0xf8408441, 'ldr x1, [x2], #8'] },
  LS_REG: {
    id: 36,
    pattern: 'ld/st reg offset',
    p: 'd n m x=LS',
    a: 'extend option',
    b: 'shift',
    eg: [0x38634841, 'ldrb w1, [x2, w3, uxtw]'],
  },
  LS_UNPRIV: { id: 38, pattern: 'ld/st imm9', p: 'd n x=LS', a: 'offset', b: '', eg: [0xf8400841, 'ldtr x1, [x2]'] },
  LS_LIT: { id: 39, pattern: 'ld literal', p: 'd x=LS', a: 'offset', b: '', eg: [0x58000001, 'ldr x1, .'] },
  LSP: {
    id: 40,
    pattern: 'ld/st pair',
    p: 'd n a x=type (0 STP W, 1 LDP W, 2 STP X, 3 LDP X, 4 LDPSW)',
    a: 'offset',
    b: 'mode (0 offset, 1 post, 2 pre)',
    eg: [0xa9410be1, 'ldp x1, x2, [sp, #16]'],
  },
  EXCL: { id: 42, pattern: 'ld/st exclusive', p: 'd n m a', a: 'size<<4|o2<<3|L<<2|o1<<1|o0', b: '', eg: [0xc85f7c41, 'ldxr x1, [x2]'] },
  // specialised hot forms: X/W loads and stores with an unsigned offset, X with an LSL'd register offset
  LS_OFF_X: { id: 54, pattern: 'ld/st unsigned imm', p: 'd n x=LS', a: 'offset', b: '', eg: [0xf9400441, 'ldr x1, [x2, #8]'] },
  LS_OFF_W: { id: 55, pattern: 'ld/st unsigned imm', p: 'd n x=LS', a: 'offset', b: '', eg: [0xb9400841, 'ldr w1, [x2, #8]'] },
  ST_OFF_X: { id: 56, pattern: 'ld/st unsigned imm', p: 'd n x=LS', a: 'offset', b: '', eg: [0xf9000441, 'str x1, [x2, #8]'] },
  ST_OFF_W: { id: 57, pattern: 'ld/st unsigned imm', p: 'd n x=LS', a: 'offset', b: '', eg: [0xb9000841, 'str w1, [x2, #8]'] },
  LS_REG_X: {
    id: 60,
    pattern: 'ld/st reg offset',
    p: 'd n m x=LS',
    a: 'extend option',
    b: 'shift',
    eg: [0xf8637841, 'ldr x1, [x2, x3, lsl #3]'],
  },
  // every SIMD&FP instruction: run by fpsimd.ts from the instruction word
  FPSIMD: { id: 61, pattern: 'simd&fp data processing', p: '', a: 'instruction word', b: '', eg: [0x1e622820, 'fadd d0, d1, d2'] },
} as const satisfies Record<string, OpInfo>;

export type OpName = keyof typeof OPS;

/** Operation ids by name; 0 (UNDECODED) marks a decode-cache slot not decoded yet. */
export const OP: { readonly UNDECODED: 0 } & { readonly [K in OpName]: (typeof OPS)[K]['id'] } = {
  UNDECODED: 0,
  ...(Object.fromEntries(Object.entries(OPS).map(([name, info]) => [name, info.id])) as { [K in OpName]: (typeof OPS)[K]['id'] }),
};

/** Load/store access types carried in x of the single-register load/store operations. */
export const LS = {
  STRB: 0,
  STRH: 1,
  STRW: 2,
  STRX: 3,
  LDRB: 4,
  LDRH: 5,
  LDRW: 6,
  LDRX: 7,
  LDRSB_X: 8,
  LDRSH_X: 9,
  LDRSW: 10,
  LDRSB_W: 11,
  LDRSH_W: 12,
  PRFM: 13,
} as const;

/** Access size in bytes (log2) per LS type. */
export const LS_SIZE_LOG2 = [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 0, 1, 3];

// ---- fields of p (decode.ts packs them)

/** Slot offset of the destination (or transfer) register. */
export const slotD = (p: number): number => p & 127;
/** Slot offset of the first source (or base) register. */
export const slotN = (p: number): number => (p >>> 7) & 127;
/** Slot offset of the second source (or offset, status) register. */
export const slotM = (p: number): number => (p >>> 14) & 127;
/** Slot offset of the fourth register (Ra of multiply-add, Rt2 of pairs and exclusives). */
export const slotA = (p: number): number => (p >>> 21) & 127;
/** The 4-bit variant field (what x means is per operation, in OPS). */
export const variant = (p: number): number => p >>> 28;

/** Packs register slots and the variant into p. */
export function pack(d: number, n: number, m: number, a: number, x: number): number {
  return d | (n << 7) | (m << 14) | (a << 21) | (x << 28);
}
