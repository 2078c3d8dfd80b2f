// Architectural names of the system registers analyses compare, by the generic
// S<op0>_<op1>_C<n>_C<m>_<op2> spelling some sources record (the emulator names unknown ones so).

/** System register names by their generic S<op0>_<op1>_C<n>_C<m>_<op2> spelling. */
const SYSREG_NAMES: Record<string, string> = {
  S3_0_C12_C12_0: 'ICC_IAR1_EL1', S3_0_C12_C12_1: 'ICC_EOIR1_EL1', S3_0_C12_C12_2: 'ICC_HPPIR1_EL1',
  S3_0_C12_C12_3: 'ICC_BPR1_EL1', S3_0_C12_C12_4: 'ICC_CTLR_EL1', S3_0_C12_C12_5: 'ICC_SRE_EL1',
  S3_0_C12_C12_6: 'ICC_IGRPEN0_EL1', S3_0_C12_C12_7: 'ICC_IGRPEN1_EL1', S3_0_C4_C6_0: 'ICC_PMR_EL1',
  S3_0_C12_C11_1: 'ICC_DIR_EL1', S3_0_C12_C11_3: 'ICC_RPR_EL1', S3_0_C12_C11_5: 'ICC_SGI1R_EL1',
  S3_0_C12_C11_6: 'ICC_ASGI1R_EL1', S3_0_C12_C11_7: 'ICC_SGI0R_EL1', S3_0_C12_C8_0: 'ICC_IAR0_EL1',
  S3_0_C12_C8_1: 'ICC_EOIR0_EL1', S3_0_C12_C8_3: 'ICC_BPR0_EL1', S3_0_C12_C9_0: 'ICC_AP1R0_EL1',
  S3_0_C12_C8_4: 'ICC_AP0R0_EL1',
  S3_3_C14_C0_0: 'CNTFRQ_EL0', S3_3_C14_C0_1: 'CNTPCT_EL0', S3_3_C14_C0_2: 'CNTVCT_EL0',
  S3_3_C14_C2_0: 'CNTP_TVAL_EL0', S3_3_C14_C2_1: 'CNTP_CTL_EL0', S3_3_C14_C2_2: 'CNTP_CVAL_EL0',
  S3_3_C14_C3_0: 'CNTV_TVAL_EL0', S3_3_C14_C3_1: 'CNTV_CTL_EL0', S3_3_C14_C3_2: 'CNTV_CVAL_EL0',
  S3_0_C14_C1_0: 'CNTKCTL_EL1',
};
export function sysregName(name: string): string {
  return SYSREG_NAMES[name] ?? name;
}

