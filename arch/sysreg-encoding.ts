// System register encodings as SysregProvider uses them: op0<<14 | op1<<11 | CRn<<7 | CRm<<3 | op2.

export function sysregEncoding(op0: number, op1: number, crn: number, crm: number, op2: number): number {
  return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
}

/** The MRS instruction word for an encoding and Rt (tests assemble accesses with it). */
export function mrsWord(encoding: number, rt: number): number {
  return (0xd5300000 | (encoding << 5) | rt) >>> 0;
}

/** The MSR (register) instruction word for an encoding and Rt. */
export function msrWord(encoding: number, rt: number): number {
  return (0xd5100000 | (encoding << 5) | rt) >>> 0;
}
