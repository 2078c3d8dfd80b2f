// The registers bootscope shows gdb: the target description (XML, GDB manual "Target
// Descriptions", with the feature names gdb's AArch64 support looks for: org.gnu.gdb.aarch64.core
// and .fpu) and the register values in target byte order (little-endian hex).

import type { Cpu } from '../cpu/cpu.ts';
import { SYSREG_INDEX, sysregByName } from '../cpu/sysregs.ts';

/** System registers a kernel developer reads, shown as 64-bit registers named in lower case. */
const SYSTEM = ['SCTLR_EL1', 'TCR_EL1', 'TTBR0_EL1', 'TTBR1_EL1', 'MAIR_EL1', 'VBAR_EL1', 'ESR_EL1', 'FAR_EL1', 'ELR_EL1', 'SPSR_EL1'];

export interface RegInfo {
  name: string;
  bits: 32 | 64 | 128;
}

/** Every register in gdb's numbering (the order of the target description). */
export const REGS: RegInfo[] = [
  ...Array.from({ length: 31 }, (_, i): RegInfo => ({ name: `x${i}`, bits: 64 })),
  { name: 'sp', bits: 64 },
  { name: 'pc', bits: 64 },
  { name: 'cpsr', bits: 32 },
  ...Array.from({ length: 32 }, (_, i): RegInfo => ({ name: `v${i}`, bits: 128 })),
  { name: 'fpsr', bits: 32 },
  { name: 'fpcr', bits: 32 },
  ...SYSTEM.map((n): RegInfo => ({ name: n.toLowerCase(), bits: 64 })),
  { name: 'currentel', bits: 64 },
];

const R_SP = 31,
  R_PC = 32,
  R_CPSR = 33,
  R_V0 = 34,
  R_FPSR = 66,
  R_FPCR = 67,
  R_SYS = 68;

const SYS_INDEX = SYSTEM.map((n) => SYSREG_INDEX[sysregByName(n)]!);

function reg(n: number, type: string, group?: string): string {
  const r = REGS[n]!;
  return `<reg name="${r.name}" bitsize="${r.bits}" regnum="${n}" type="${type}"${group ? ` group="${group}"` : ''}/>`;
}

/** target.xml: the description gdb reads with qXfer:features:read. */
export function targetXml(): string {
  const core = REGS.slice(0, 31).map((_, i) => reg(i, 'uint64'));
  const fpu = Array.from({ length: 32 }, (_, i) => reg(R_V0 + i, 'vq'));
  const sys = REGS.slice(R_SYS).map((_, i) => reg(R_SYS + i, 'uint64', 'system'));
  return [
    '<?xml version="1.0"?>',
    '<!DOCTYPE target SYSTEM "gdb-target.dtd">',
    '<target version="1.0">',
    '<architecture>aarch64</architecture>',
    '<feature name="org.gnu.gdb.aarch64.core">',
    ...core,
    reg(R_SP, 'data_ptr'),
    reg(R_PC, 'code_ptr'),
    reg(R_CPSR, 'uint32'),
    '</feature>',
    '<feature name="org.gnu.gdb.aarch64.fpu">',
    '<vector id="v2d" type="uint64" count="2"/>',
    '<vector id="v4s" type="uint32" count="4"/>',
    '<vector id="v8h" type="uint16" count="8"/>',
    '<vector id="v16b" type="uint8" count="16"/>',
    '<union id="vq"><field name="d" type="v2d"/><field name="s" type="v4s"/><field name="h" type="v8h"/><field name="b" type="v16b"/><field name="q" type="uint128"/></union>',
    ...fpu,
    reg(R_FPSR, 'uint32'),
    reg(R_FPCR, 'uint32'),
    '</feature>',
    '<feature name="org.bootscope.aarch64.system">',
    ...sys,
    '</feature>',
    '</target>',
  ].join('\n');
}

/** Little-endian hex of the low `bytes` bytes of v. */
export function leHex(v: bigint, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++)
    s += Number((v >> BigInt(8 * i)) & 0xffn)
      .toString(16)
      .padStart(2, '0');
  return s;
}

/** The value of little-endian hex. */
export function fromLeHex(hex: string): bigint {
  let v = 0n;
  for (let i = hex.length - 2; i >= 0; i -= 2) v = (v << 8n) | BigInt(parseInt(hex.slice(i, i + 2), 16));
  return v;
}

function sysValue(cpu: Cpu, i: number): bigint {
  const idx = SYS_INDEX[i]!;
  return (BigInt(cpu.srHi[idx]! >>> 0) << 32n) | BigInt(cpu.srLo[idx]! >>> 0);
}

/** The value of register n of a vCPU. */
export function readReg(cpu: Cpu, n: number): bigint {
  if (n < 31) return cpu.getX(n);
  if (n === R_SP) return cpu.sp;
  if (n === R_PC) return cpu.pc;
  if (n === R_CPSR) return BigInt(cpu.pstate);
  if (n >= R_V0 && n < R_V0 + 32) {
    const k = (n - R_V0) * 4;
    let v = 0n;
    for (let w = 3; w >= 0; w--) v = (v << 32n) | BigInt(cpu.vr[k + w]! >>> 0);
    return v;
  }
  if (n === R_FPSR) return BigInt(cpu.fpsr >>> 0);
  if (n === R_FPCR) return BigInt(cpu.fpcr >>> 0);
  if (n >= R_SYS && n < R_SYS + SYSTEM.length) return sysValue(cpu, n - R_SYS);
  if (n === R_SYS + SYSTEM.length) return BigInt(cpu.el << 2);
  throw new RangeError(`no register ${n}`);
}

/** Hex of register n as gdb's p packet and the g packet want it. */
export function regHex(cpu: Cpu, n: number): string {
  return leHex(readReg(cpu, n), REGS[n]!.bits / 8);
}

/**
 * Write register n: the general registers, SP, PC, V0-V31, FPSR and FPCR. PSTATE and the system
 * registers are refused (false): changing them behind the vCPU's back would bypass what the
 * architecture does on a write (translation, exception level).
 */
export function writeReg(cpu: Cpu, n: number, v: bigint): boolean {
  if (n < 31) cpu.setX(n, v);
  else if (n === R_SP) cpu.sp = v;
  else if (n === R_PC) cpu.pc = v & ~3n;
  else if (n >= R_V0 && n < R_V0 + 32) {
    const k = (n - R_V0) * 4;
    for (let w = 0; w < 4; w++) cpu.vr[k + w] = Number((v >> BigInt(32 * w)) & 0xffffffffn) | 0;
  } else if (n === R_FPSR) cpu.fpsr = Number(v & 0xffffffffn) | 0;
  else if (n === R_FPCR) cpu.fpcr = Number(v & 0xffffffffn) | 0;
  else return false;
  return true;
}
