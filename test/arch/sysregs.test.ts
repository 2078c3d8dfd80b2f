// The one system-register table: encodings, the generic spelling and the names devices provide.
import { describe, expect, it } from 'vitest';
import {
  CNT,
  ICC,
  iccEncoding,
  iccRegisterName,
  mrsWord,
  msrWord,
  parseSysregGenericName,
  resolveSysregName,
  sysregEncoding,
  sysregGenericName,
} from '../../arch/sysregs.ts';

describe('system register encodings', () => {
  it('are the MRS/MSR instruction bits [20:5]', () => {
    expect(mrsWord(ICC.IAR1_EL1, 0)).toBe(0xd538cc00); // mrs x0, ICC_IAR1_EL1
    expect(msrWord(CNT.CNTV_CTL_EL0, 1)).toBe(0xd51be321); // msr CNTV_CTL_EL0, x1
    expect(sysregEncoding(3, 0, 4, 6, 0)).toBe(ICC.PMR_EL1);
  });

  it('round-trip through the generic spelling', () => {
    expect(sysregGenericName(ICC.SRE_EL1)).toBe('S3_0_C12_C12_5');
    for (const e of [...Object.values(ICC), ...Object.values(CNT), 0, 0xffff]) expect(parseSysregGenericName(sysregGenericName(e))).toBe(e);
    expect(parseSysregGenericName('ICC_SRE_EL1')).toBe(-1);
    expect(parseSysregGenericName('S3_0_C16_C0_0')).toBe(-1);
  });
});

describe('device-provided register names', () => {
  it('name every ICC register, the active-priority arrays included', () => {
    expect(iccRegisterName(ICC.IAR1_EL1)).toBe('ICC_IAR1_EL1');
    expect(iccRegisterName(ICC.AP1R0_EL1 + 3)).toBe('ICC_AP1R3_EL1');
    expect(iccRegisterName(ICC.CTLR_EL3)).toBe('ICC_CTLR_EL3');
    expect(iccRegisterName(CNT.CNTFRQ_EL0)).toBe('');
    expect(iccEncoding('ICC_AP0R2_EL1')).toBe(sysregEncoding(3, 0, 12, 8, 6));
    expect(iccEncoding('ICC_IGRPEN1_EL3')).toBe(sysregEncoding(3, 6, 12, 12, 7));
    expect(iccEncoding('CNTFRQ_EL0')).toBeUndefined();
  });

  it('resolve generic spellings of ICC and timer registers, leave other names alone', () => {
    expect(resolveSysregName('S3_0_C12_C12_0')).toBe('ICC_IAR1_EL1');
    expect(resolveSysregName('S3_3_C14_C3_1')).toBe('CNTV_CTL_EL0');
    expect(resolveSysregName('S3_0_C14_C1_0')).toBe('CNTKCTL_EL1');
    expect(resolveSysregName('S3_0_C1_C0_0')).toBe('S3_0_C1_C0_0'); // SCTLR_EL1 is the CPU's, not a device's
    expect(resolveSysregName('SCTLR_EL1')).toBe('SCTLR_EL1');
  });
});
