// System register table: the EL1/EL0 registers Linux and U-Boot touch, with encodings, reset values
// and access behaviour. ID registers describe an ARMv8.0 Cortex-A57 with FP/AdvSIMD and CRC32, and
// every optional feature the emulator does not implement reported absent (LSE, PAuth, PMU, PAN, HAFDBS...).
// Timer (CNT*) and GICv3 (ICC_*) registers come from external SysregProviders.

import { sysregEncoding, sysregGenericName } from '../../arch/sysregs.ts';

export const SR_KIND = { RW: 0, RO: 1, WO: 2, SPECIAL: 3 } as const;
/** EL0 access: none, read-only, read/write. */
export const SR_EL0 = { NONE: 0, R: 1, RW: 2 } as const;

/** Registers with behaviour in the CPU (side effects or state outside plain storage). */
export const SPECIAL = {
  NZCV: 1,
  DAIF: 2,
  CURRENT_EL: 3,
  SPSEL: 4,
  SP_EL0: 5,
  SCTLR: 6,
  TCR: 7,
  TTBR0: 8,
  TTBR1: 9,
  MPIDR: 10,
  CCSIDR: 11,
  ISR: 12,
  OSLAR: 13,
  OSLSR: 14,
  CONTEXTIDR: 15,
  FP: 16,
} as const;

export interface SysregDef {
  name: string;
  enc: number;
  kind: number;
  el0: number;
  reset: bigint;
  special: number;
  /** Accesses worth recording through the sysreg hook (ID registers). */
  notable: boolean;
}

function def(
  name: string,
  e: [number, number, number, number, number],
  kind: number,
  reset: bigint = 0n,
  opts: { el0?: number; special?: number; notable?: boolean } = {},
): SysregDef {
  return {
    name,
    enc: sysregEncoding(...e),
    kind,
    el0: opts.el0 ?? SR_EL0.NONE,
    reset,
    special: opts.special ?? 0,
    notable: opts.notable ?? false,
  };
}

const { RW, RO, WO, SPECIAL: SP } = SR_KIND;

/** CPU model constants (QEMU's cortex-a57 values where they exist). */
export const MIDR_A57 = 0x411fd070n;
/** FP=0xF, AdvSIMD=0xF (absent), EL0/EL1 AArch64 only, EL2/EL3 absent; GIC field patched per machine,
 *  FP/AdvSIMD patched to 0 (implemented) by a Cpu with option fpsimd (the default). */
export const ID_AA64PFR0 = 0x00ff0011n;
/** DebugVer v8, 6 breakpoints, 4 watchpoints, 2 context comparators, PMU absent. */
export const ID_AA64DFR0 = 0x10305006n;
/** PARange 44 bits, 16-bit ASIDs, 4K granule only (TGran64 = 0xF, TGran16 = 0), mixed-endian absent. */
export const ID_AA64MMFR0 = 0x0f001024n;
/** CRC32 instructions implemented (as on the A57); AES/SHA/atomics absent. */
export const ID_AA64ISAR0 = 0x10000n;
export const CTR_EL0 = 0x8444c004n;
/** DC ZVA allowed, 64-byte blocks. */
export const DCZID_EL0 = 0x4n;
export const CLIDR_EL1 = 0x0a200023n;
/** CCSIDR per CSSELR (L1D, L1I, L2) as QEMU's cortex-a57. */
export const CCSIDR_VALUES: Record<number, bigint> = { 0: 0x701fe00an, 1: 0x201fe012n, 2: 0x70ffe07an };

const dbg: SysregDef[] = [];
for (let n = 0; n < 6; n++) {
  dbg.push(def(`DBGBVR${n}_EL1`, [2, 0, 0, n, 4], RW), def(`DBGBCR${n}_EL1`, [2, 0, 0, n, 5], RW));
}
for (let n = 0; n < 4; n++) {
  dbg.push(def(`DBGWVR${n}_EL1`, [2, 0, 0, n, 6], RW), def(`DBGWCR${n}_EL1`, [2, 0, 0, n, 7], RW));
}

export const SYSREGS: SysregDef[] = [
  // identification
  def('MIDR_EL1', [3, 0, 0, 0, 0], RO, MIDR_A57, { notable: true }),
  def('MPIDR_EL1', [3, 0, 0, 0, 5], SP, 0n, { special: SPECIAL.MPIDR, notable: true }),
  def('REVIDR_EL1', [3, 0, 0, 0, 6], RO, 0n, { notable: true }),
  def('ID_AA64PFR0_EL1', [3, 0, 0, 4, 0], RO, ID_AA64PFR0, { notable: true }),
  def('ID_AA64PFR1_EL1', [3, 0, 0, 4, 1], RO, 0n, { notable: true }),
  def('ID_AA64ZFR0_EL1', [3, 0, 0, 4, 4], RO, 0n, { notable: true }),
  def('ID_AA64SMFR0_EL1', [3, 0, 0, 4, 5], RO, 0n, { notable: true }),
  def('ID_AA64DFR0_EL1', [3, 0, 0, 5, 0], RO, ID_AA64DFR0, { notable: true }),
  def('ID_AA64DFR1_EL1', [3, 0, 0, 5, 1], RO, 0n, { notable: true }),
  def('ID_AA64AFR0_EL1', [3, 0, 0, 5, 4], RO, 0n, { notable: true }),
  def('ID_AA64AFR1_EL1', [3, 0, 0, 5, 5], RO, 0n, { notable: true }),
  def('ID_AA64ISAR0_EL1', [3, 0, 0, 6, 0], RO, ID_AA64ISAR0, { notable: true }),
  def('ID_AA64ISAR1_EL1', [3, 0, 0, 6, 1], RO, 0n, { notable: true }),
  def('ID_AA64ISAR2_EL1', [3, 0, 0, 6, 2], RO, 0n, { notable: true }),
  def('ID_AA64MMFR0_EL1', [3, 0, 0, 7, 0], RO, ID_AA64MMFR0, { notable: true }),
  def('ID_AA64MMFR1_EL1', [3, 0, 0, 7, 1], RO, 0n, { notable: true }),
  def('ID_AA64MMFR2_EL1', [3, 0, 0, 7, 2], RO, 0n, { notable: true }),
  def('CCSIDR_EL1', [3, 1, 0, 0, 0], SP, 0n, { special: SPECIAL.CCSIDR }),
  def('CLIDR_EL1', [3, 1, 0, 0, 1], RO, CLIDR_EL1),
  def('AIDR_EL1', [3, 1, 0, 0, 7], RO, 0n),
  def('CSSELR_EL1', [3, 2, 0, 0, 0], RW),
  def('CTR_EL0', [3, 3, 0, 0, 1], RO, CTR_EL0, { el0: SR_EL0.R }),
  def('DCZID_EL0', [3, 3, 0, 0, 7], RO, DCZID_EL0, { el0: SR_EL0.R }),
  // system control
  def('SCTLR_EL1', [3, 0, 1, 0, 0], SP, 0x30d00800n, { special: SPECIAL.SCTLR }),
  def('ACTLR_EL1', [3, 0, 1, 0, 1], RW),
  def('CPACR_EL1', [3, 0, 1, 0, 2], RW),
  def('TTBR0_EL1', [3, 0, 2, 0, 0], SP, 0n, { special: SPECIAL.TTBR0 }),
  def('TTBR1_EL1', [3, 0, 2, 0, 1], SP, 0n, { special: SPECIAL.TTBR1 }),
  def('TCR_EL1', [3, 0, 2, 0, 2], SP, 0n, { special: SPECIAL.TCR }),
  def('SPSR_EL1', [3, 0, 4, 0, 0], RW),
  def('ELR_EL1', [3, 0, 4, 0, 1], RW),
  def('SP_EL0', [3, 0, 4, 1, 0], SP, 0n, { special: SPECIAL.SP_EL0 }),
  def('SPSel', [3, 0, 4, 2, 0], SP, 0n, { special: SPECIAL.SPSEL }),
  def('CurrentEL', [3, 0, 4, 2, 2], SP, 0n, { special: SPECIAL.CURRENT_EL }),
  def('NZCV', [3, 3, 4, 2, 0], SP, 0n, { special: SPECIAL.NZCV, el0: SR_EL0.RW }),
  def('DAIF', [3, 3, 4, 2, 1], SP, 0n, { special: SPECIAL.DAIF, el0: SR_EL0.RW }),
  def('FPCR', [3, 3, 4, 4, 0], SP, 0n, { special: SPECIAL.FP, el0: SR_EL0.RW }),
  def('FPSR', [3, 3, 4, 4, 1], SP, 0n, { special: SPECIAL.FP, el0: SR_EL0.RW }),
  def('AFSR0_EL1', [3, 0, 5, 1, 0], RW),
  def('AFSR1_EL1', [3, 0, 5, 1, 1], RW),
  def('ESR_EL1', [3, 0, 5, 2, 0], RW),
  def('FAR_EL1', [3, 0, 6, 0, 0], RW),
  def('PAR_EL1', [3, 0, 7, 4, 0], RW),
  def('MAIR_EL1', [3, 0, 10, 2, 0], RW),
  def('AMAIR_EL1', [3, 0, 10, 3, 0], RW),
  def('VBAR_EL1', [3, 0, 12, 0, 0], RW),
  def('RVBAR_EL1', [3, 0, 12, 0, 1], RO, 0n),
  def('ISR_EL1', [3, 0, 12, 1, 0], SP, 0n, { special: SPECIAL.ISR }),
  def('CONTEXTIDR_EL1', [3, 0, 13, 0, 1], SP, 0n, { special: SPECIAL.CONTEXTIDR }),
  def('TPIDR_EL1', [3, 0, 13, 0, 4], RW),
  def('TPIDR_EL0', [3, 3, 13, 0, 2], RW, 0n, { el0: SR_EL0.RW }),
  def('TPIDRRO_EL0', [3, 3, 13, 0, 3], RW, 0n, { el0: SR_EL0.R }),
  // fallback storage when no timer provider claims it
  def('CNTKCTL_EL1', [3, 0, 14, 1, 0], RW),
  // debug (plain storage / RAZ-WI is enough for Linux's hw_breakpoint reset)
  def('MDCCINT_EL1', [2, 0, 0, 2, 0], RW),
  def('MDSCR_EL1', [2, 0, 0, 2, 2], RW),
  def('OSDTRRX_EL1', [2, 0, 0, 0, 2], RW),
  def('OSDTRTX_EL1', [2, 0, 0, 3, 2], RW),
  def('OSECCR_EL1', [2, 0, 0, 6, 2], RW),
  def('MDRAR_EL1', [2, 0, 1, 0, 0], RO, 0n),
  def('OSLAR_EL1', [2, 0, 1, 0, 4], WO, 0n, { special: SPECIAL.OSLAR }),
  def('OSLSR_EL1', [2, 0, 1, 1, 4], SP, 0xan, { special: SPECIAL.OSLSR }),
  def('OSDLR_EL1', [2, 0, 1, 3, 4], RW),
  def('DBGPRCR_EL1', [2, 0, 1, 4, 4], RW),
  def('DBGCLAIMSET_EL1', [2, 0, 7, 8, 6], RW, 0xffn),
  def('DBGCLAIMCLR_EL1', [2, 0, 7, 9, 6], RW),
  def('DBGAUTHSTATUS_EL1', [2, 0, 7, 14, 6], RO, 0xaan),
  def('MDCCSR_EL0', [2, 3, 0, 1, 0], RO, 0n),
  ...dbg,
];

/** encoding → index in SYSREGS, or -1. */
export const SYSREG_INDEX: Int16Array = (() => {
  const t = new Int16Array(65536).fill(-1);
  SYSREGS.forEach((d, i) => {
    if (t[d.enc] !== -1) throw new Error(`duplicate sysreg encoding for ${d.name}`);
    t[d.enc] = i;
  });
  return t;
})();

/** Unallocated encodings in the ID space (op0=3, op1=0, CRn=0, CRm=1..7) read as zero. */
export function isIdSpaceRaz(enc: number): boolean {
  return enc >>> 7 === ((3 << 7) | 0) && ((enc >>> 3) & 15) >= 1 && ((enc >>> 3) & 15) <= 7;
}

const BY_NAME = new Map(SYSREGS.map((d) => [d.name, d]));

/** Name of an encoding (table name or generic S3_… form). */
export function sysregName(enc: number): string {
  const i = SYSREG_INDEX[enc];
  return i >= 0 ? SYSREGS[i].name : sysregGenericName(enc);
}

/** Encoding of a named register from the table (throws on an unknown name). */
export function sysregByName(name: string): number {
  const d = BY_NAME.get(name);
  if (!d) throw new Error(`unknown system register ${name}`);
  return d.enc;
}
