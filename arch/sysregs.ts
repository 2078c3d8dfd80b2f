// System registers as every layer names them. An encoding is the (op0, op1, CRn, CRm, op2) tuple
// of an MRS/MSR instruction packed as op0<<14 | op1<<11 | CRn<<7 | CRm<<3 | op2, i.e. the
// instruction's bits [20:5] (Arm DDI 0487, 'System instructions' encoding class, MRS/MSR). Traces
// spell registers without a name as S<op0>_<op1>_C<CRn>_C<CRm>_<op2>.
//
// The named tables are the registers a device provides rather than the CPU: the GICv3 CPU
// interface (ICC_*, Arm IHI 0069H §12.2 'AArch64 GIC System register descriptions') and the
// generic timer (CNT*, Arm DDI 0487 'The Generic Timer in AArch64 state'). The CPU's own
// registers are in emu/cpu/sysregs.ts with their reset values.

export function sysregEncoding(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
}

/** The generic spelling S<op0>_<op1>_C<CRn>_C<CRm>_<op2> of an encoding. */
export function sysregGenericName(enc: number): string {
  return `S${enc >>> 14}_${(enc >>> 11) & 7}_C${(enc >>> 7) & 15}_C${(enc >>> 3) & 15}_${enc & 7}`;
}

const GENERIC = /^S([0-3])_([0-7])_C([0-9]|1[0-5])_C([0-9]|1[0-5])_([0-7])$/;

/** The encoding a generic spelling stands for, or -1 when `name` is not one. */
export function parseSysregGenericName(name: string): number {
  const m = GENERIC.exec(name);
  return m ? sysregEncoding(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])) : -1;
}

/** The MRS instruction word for an encoding and Rt (tests assemble accesses with it). */
export function mrsWord(encoding: number, rt: number): number {
  return (0xd5300000 | (encoding << 5) | rt) >>> 0;
}

/** The MSR (register) instruction word for an encoding and Rt. */
export function msrWord(encoding: number, rt: number): number {
  return (0xd5100000 | (encoding << 5) | rt) >>> 0;
}

const enc = sysregEncoding;

/** GICv3 CPU interface registers, by name without the ICC_ prefix. */
export const ICC = {
  PMR_EL1: enc(3, 0, 4, 6, 0),
  IAR0_EL1: enc(3, 0, 12, 8, 0),
  EOIR0_EL1: enc(3, 0, 12, 8, 1),
  HPPIR0_EL1: enc(3, 0, 12, 8, 2),
  BPR0_EL1: enc(3, 0, 12, 8, 3),
  /** ICC_AP0R<n>_EL1 is AP0R0_EL1 + n, n < ICC_AP_REGS. */
  AP0R0_EL1: enc(3, 0, 12, 8, 4),
  /** ICC_AP1R<n>_EL1 is AP1R0_EL1 + n, n < ICC_AP_REGS. */
  AP1R0_EL1: enc(3, 0, 12, 9, 0),
  DIR_EL1: enc(3, 0, 12, 11, 1),
  RPR_EL1: enc(3, 0, 12, 11, 3),
  SGI1R_EL1: enc(3, 0, 12, 11, 5),
  ASGI1R_EL1: enc(3, 0, 12, 11, 6),
  SGI0R_EL1: enc(3, 0, 12, 11, 7),
  IAR1_EL1: enc(3, 0, 12, 12, 0),
  EOIR1_EL1: enc(3, 0, 12, 12, 1),
  HPPIR1_EL1: enc(3, 0, 12, 12, 2),
  BPR1_EL1: enc(3, 0, 12, 12, 3),
  CTLR_EL1: enc(3, 0, 12, 12, 4),
  SRE_EL1: enc(3, 0, 12, 12, 5),
  IGRPEN0_EL1: enc(3, 0, 12, 12, 6),
  IGRPEN1_EL1: enc(3, 0, 12, 12, 7),
  CTLR_EL3: enc(3, 6, 12, 12, 4),
  IGRPEN1_EL3: enc(3, 6, 12, 12, 7),
} as const;

/** Active-priority registers per group (ICC_AP0R0..3_EL1, ICC_AP1R0..3_EL1). */
export const ICC_AP_REGS = 4;

/** Generic timer registers as EL1 and EL0 reach them. */
export const CNT = {
  CNTFRQ_EL0: enc(3, 3, 14, 0, 0),
  CNTPCT_EL0: enc(3, 3, 14, 0, 1),
  CNTVCT_EL0: enc(3, 3, 14, 0, 2),
  CNTP_TVAL_EL0: enc(3, 3, 14, 2, 0),
  CNTP_CTL_EL0: enc(3, 3, 14, 2, 1),
  CNTP_CVAL_EL0: enc(3, 3, 14, 2, 2),
  CNTV_TVAL_EL0: enc(3, 3, 14, 3, 0),
  CNTV_CTL_EL0: enc(3, 3, 14, 3, 1),
  CNTV_CVAL_EL0: enc(3, 3, 14, 3, 2),
  CNTKCTL_EL1: enc(3, 0, 14, 1, 0),
} as const;

function iccNames(): Map<number, string> {
  const m = new Map<number, string>();
  for (const [name, e] of Object.entries(ICC)) m.set(e, `ICC_${name}`);
  for (let n = 0; n < ICC_AP_REGS; n++) {
    m.set(ICC.AP0R0_EL1 + n, `ICC_AP0R${n}_EL1`);
    m.set(ICC.AP1R0_EL1 + n, `ICC_AP1R${n}_EL1`);
  }
  return m;
}

const ICC_NAMES: ReadonlyMap<number, string> = iccNames();
const ICC_ENCODINGS: ReadonlyMap<string, number> = new Map([...ICC_NAMES].map(([e, n]) => [n, e]));
const PROVIDED_NAMES: ReadonlyMap<number, string> = new Map([...ICC_NAMES, ...Object.entries(CNT).map(([n, e]) => [e, n] as const)]);

/** The ICC_* name of an encoding, or '' when it is not a GICv3 CPU interface register. */
export function iccRegisterName(encoding: number): string {
  return ICC_NAMES.get(encoding) ?? '';
}

/** The encoding of an ICC_* register by its full name (ICC_PMR_EL1), or undefined. */
export function iccEncoding(name: string): number | undefined {
  return ICC_ENCODINGS.get(name);
}

/**
 * The architectural name for a recorded register name: a generic spelling of an ICC_* or CNT*
 * register becomes its name (the emulator records the registers devices serve by their generic
 * spelling); any other name is returned as it is.
 */
export function resolveSysregName(name: string): string {
  const e = parseSysregGenericName(name);
  return e < 0 ? name : (PROVIDED_NAMES.get(e) ?? name);
}

/**
 * Performance Monitors registers as EL1 and EL0 reach them (Arm DDI 0487, 'Performance Monitors
 * Extension registers'). KVM names some of these in its traces by their encoding macros' text.
 */
export const PMU = {
  PMINTENSET_EL1: enc(3, 0, 9, 14, 1),
  PMINTENCLR_EL1: enc(3, 0, 9, 14, 2),
  PMCR_EL0: enc(3, 3, 9, 12, 0),
  PMCNTENSET_EL0: enc(3, 3, 9, 12, 1),
  PMCNTENCLR_EL0: enc(3, 3, 9, 12, 2),
  PMOVSCLR_EL0: enc(3, 3, 9, 12, 3),
  PMSWINC_EL0: enc(3, 3, 9, 12, 4),
  PMSELR_EL0: enc(3, 3, 9, 12, 5),
  PMCEID0_EL0: enc(3, 3, 9, 12, 6),
  PMCEID1_EL0: enc(3, 3, 9, 12, 7),
  PMCCNTR_EL0: enc(3, 3, 9, 13, 0),
  PMXEVTYPER_EL0: enc(3, 3, 9, 13, 1),
  PMXEVCNTR_EL0: enc(3, 3, 9, 13, 2),
  PMUSERENR_EL0: enc(3, 3, 9, 14, 0),
  PMOVSSET_EL0: enc(3, 3, 9, 14, 3),
  PMCCFILTR_EL0: enc(3, 3, 14, 15, 7),
} as const;

function pmuNames(): Map<number, string> {
  const m = new Map<number, string>(Object.entries(PMU).map(([n, e]) => [e, n]));
  // PMEVCNTR<n>_EL0 is (3,3,14,8+n/8,n%8), PMEVTYPER<n>_EL0 (3,3,14,12+n/8,n%8), n < 31.
  for (let n = 0; n < 31; n++) {
    m.set(enc(3, 3, 14, 8 + (n >> 3), n & 7), `PMEVCNTR${n}_EL0`);
    m.set(enc(3, 3, 14, 12 + (n >> 3), n & 7), `PMEVTYPER${n}_EL0`);
  }
  return m;
}

const KNOWN_NAMES: ReadonlyMap<number, string> = new Map([...PROVIDED_NAMES, ...pmuNames()]);

/** The name of a GICv3 CPU interface, generic timer or PMU register, else its generic spelling. */
export function sysregNameOf(encoding: number): string {
  return KNOWN_NAMES.get(encoding) ?? sysregGenericName(encoding);
}
