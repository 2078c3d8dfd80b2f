// Which guest actions leave the guest (an exit to the hypervisor), as data: one table per
// hypervisor, read by analyze/exits/predict.ts. The rules follow each hypervisor's trap set-up for
// an AArch64 guest at EL1 (docs/analyzers.md, "exits"):
//
// KVM (Linux 6.1; 6.12 where noted): HCR_EL2 with TID3 (ID registers), TSC (SMC), TWI (WFI),
// TWE (WFE, cleared while the vCPU's thread is alone on its CPU), TSW/TVM (set/way operations, and
// the VM registers until the guest's MMU and caches are on), TIDCP, IMO/FMO (so ICC_SGI*R writes
// trap; the rest of the GICv3 CPU interface is the ICV_* registers, no exit); MDCR_EL2 with
// TPM/TPMCR (the PMU is emulated) and TDA/TDOSA/TDRA (debug registers trap until the guest uses
// them); CNTHCTL_EL2 without EL1PCEN (the EL1 physical timer is emulated) but with EL1PCTEN; VPIDR
// and VMPIDR answer MIDR_EL1 and MPIDR_EL1. 6.12 also sets TID2 (cache ID registers, CTR_EL0).
// Every MMIO access to a device is a stage-2 data abort (the GICv2 CPU interface excepted: its
// GICV frame is mapped); the vGIC's and the ITS's are handled in the kernel, the rest by the VMM.
//
// Xen 4.17: HCR_EL2 with TID3, TSC, TWI and TWE (vwfi=trap), TSW, TAC, TIDCP, IMO/FMO; MDCR_EL2
// with TDRA/TDOSA/TDA/TPM/TPMCR (debug and PMU registers read as zero); no EL1PCEN (the physical
// timer is emulated); the vGIC and the vpl011 are emulated in Xen, any other MMIO address is a
// data abort Xen turns into an abort for the guest.
//
// Register encodings are Arm DDI 0487's (op0, op1, CRn, CRm, op2).

import { sysregEncoding } from '../../arch/sysregs.ts';
import type { DeviceRole } from '../../capture/model.ts';

export const HYPERVISORS = ['kvm', 'kvm-6.12', 'xen'] as const;
export type Hypervisor = (typeof HYPERVISORS)[number];

/** When a matching access leaves the guest. */
export type ExitWhen =
  | 'always'
  /** Only while the guest's MMU and caches are off (KVM's HCR_EL2.TVM during boot). */
  | 'early'
  /** Until the guest first uses the registers (KVM's lazy debug switching). */
  | 'until-used'
  /** Depends on the host (WFE under KVM: only when the host CPU is shared). */
  | 'host'
  | 'never';

/** A system-register rule: the first one whose fields all match an access decides. */
export interface SysregRule {
  readonly op0: number;
  readonly op1?: number;
  readonly crn?: number;
  /** One CRm, or an inclusive range. */
  readonly crm?: number | readonly [number, number];
  readonly op2?: number | readonly [number, number];
  /** Only reads or only writes (both when absent). */
  readonly access?: 'read' | 'write';
  readonly when: ExitWhen;
  /** Which trap control makes it exit (or why it does not). */
  readonly why: string;
}

const ID_REGS = { op0: 3, op1: 0, crn: 0, crm: [1, 7] } as const;
const GIC_SGI = [
  { op0: 3, op1: 0, crn: 12, crm: 11, op2: 5 }, // ICC_SGI1R_EL1
  { op0: 3, op1: 0, crn: 12, crm: 11, op2: 6 }, // ICC_ASGI1R_EL1
  { op0: 3, op1: 0, crn: 12, crm: 11, op2: 7 }, // ICC_SGI0R_EL1
] as const;
const PTIMER = { op0: 3, op1: 3, crn: 14, crm: 2 } as const; // CNTP_TVAL/CTL/CVAL_EL0
const PMU_EL0 = { op0: 3, op1: 3, crn: 9, crm: [12, 14] } as const;
const PMU_EVENTS = { op0: 3, op1: 3, crn: 14, crm: [8, 15] } as const; // PMEVCNTR/PMEVTYPER/PMCCFILTR
const PMU_EL1 = { op0: 3, op1: 0, crn: 9, crm: 14 } as const; // PMINTENSET/CLR_EL1
const DEBUG = { op0: 2 } as const; // MDSCR, OSLAR, OSDLR, DBGB/W*R and the rest of op0 = 2
const VM_REGS: readonly Omit<SysregRule, 'when' | 'why'>[] = [
  { op0: 3, op1: 0, crn: 1, crm: 0, op2: 0 }, // SCTLR_EL1
  { op0: 3, op1: 0, crn: 2, crm: 0, op2: [0, 2] }, // TTBR0_EL1, TTBR1_EL1, TCR_EL1
  { op0: 3, op1: 0, crn: 5, crm: 1, op2: [0, 1] }, // AFSR0/1_EL1
  { op0: 3, op1: 0, crn: 5, crm: 2, op2: 0 }, // ESR_EL1
  { op0: 3, op1: 0, crn: 6, crm: 0, op2: 0 }, // FAR_EL1
  { op0: 3, op1: 0, crn: 10, crm: 2, op2: 0 }, // MAIR_EL1
  { op0: 3, op1: 0, crn: 10, crm: 3, op2: 0 }, // AMAIR_EL1
  { op0: 3, op1: 0, crn: 13, crm: 0, op2: 1 }, // CONTEXTIDR_EL1
];
const CACHE_ID: readonly Omit<SysregRule, 'when' | 'why'>[] = [
  { op0: 3, op1: 3, crn: 0, crm: 0, op2: 1 }, // CTR_EL0
  { op0: 3, op1: 1, crn: 0, crm: 0, op2: [0, 1] }, // CCSIDR_EL1, CLIDR_EL1
  { op0: 3, op1: 2, crn: 0, crm: 0, op2: 0 }, // CSSELR_EL1
];
const IMPL_DEF = { op0: 3, crn: 15 } as const; // TIDCP: IMPLEMENTATION DEFINED registers

const KVM_61: readonly SysregRule[] = [
  { ...ID_REGS, when: 'always', why: 'ID register: HCR_EL2.TID3, KVM answers with its sanitised value' },
  ...GIC_SGI.map((r) => ({ ...r, access: 'write' as const, when: 'always' as const, why: 'SGI generation: HCR_EL2.IMO routes it to KVM, which sends the SGI' })),
  { ...PTIMER, when: 'always', why: 'EL1 physical timer: CNTHCTL_EL2.EL1PCEN clear, KVM emulates it' },
  { ...PMU_EL0, when: 'always', why: 'PMU: MDCR_EL2.TPM, KVM emulates the PMU' },
  { ...PMU_EVENTS, when: 'always', why: 'PMU: MDCR_EL2.TPM, KVM emulates the PMU' },
  { ...PMU_EL1, when: 'always', why: 'PMU: MDCR_EL2.TPM, KVM emulates the PMU' },
  { ...DEBUG, when: 'until-used', why: 'debug register: MDCR_EL2.TDA/TDOSA until the guest uses debug' },
  ...VM_REGS.map((r) => ({ ...r, access: 'write' as const, when: 'early' as const, why: 'VM register write: HCR_EL2.TVM while the guest runs with its caches off' })),
  { op0: 1, op1: 0, crn: 7, crm: [6, 14], op2: 2, when: 'always', why: 'set/way cache maintenance: HCR_EL2.TSW' },
  { ...IMPL_DEF, when: 'always', why: 'IMPLEMENTATION DEFINED register: HCR_EL2.TIDCP' },
];

const KVM_612: readonly SysregRule[] = [...CACHE_ID.map((r) => ({ ...r, when: 'always' as const, why: 'cache ID register: HCR_EL2.TID2 (KVM 6.12 sanitises CTR_EL0 and the cache geometry)' })), ...KVM_61];

const XEN_417: readonly SysregRule[] = [
  { ...ID_REGS, when: 'always', why: 'ID register: HCR_EL2.TID3, Xen answers with its sanitised value' },
  ...GIC_SGI.map((r) => ({ ...r, access: 'write' as const, when: 'always' as const, why: "SGI generation: HCR_EL2.IMO routes it to Xen's vGIC" })),
  { ...PTIMER, when: 'always', why: 'EL1 physical timer: CNTHCTL_EL2.EL1PCEN clear, Xen emulates it' },
  { ...PMU_EL0, when: 'always', why: 'PMU: MDCR_EL2.TPM, Xen reads it as zero' },
  { ...PMU_EVENTS, when: 'always', why: 'PMU: MDCR_EL2.TPM, Xen reads it as zero' },
  { ...PMU_EL1, when: 'always', why: 'PMU: MDCR_EL2.TPM, Xen reads it as zero' },
  { ...DEBUG, when: 'always', why: 'debug register: MDCR_EL2.TDA/TDOSA/TDRA, Xen reads it as zero' },
  { op0: 1, op1: 0, crn: 7, crm: [6, 14], op2: 2, when: 'always', why: 'set/way cache maintenance: HCR_EL2.TSW' },
  { ...IMPL_DEF, when: 'always', why: 'IMPLEMENTATION DEFINED register: HCR_EL2.TIDCP' },
];

export const SYSREG_RULES: Readonly<Record<Hypervisor, readonly SysregRule[]>> = { kvm: KVM_61, 'kvm-6.12': KVM_612, xen: XEN_417 };

/** Why an access that matches no rule stays in the guest. */
export const SYSREG_NO_EXIT: Readonly<Record<string, string>> = {
  MIDR_EL1: 'answered from VPIDR_EL2, no exit',
  MPIDR_EL1: 'answered from VMPIDR_EL2, no exit',
  default: 'not trapped: the guest reaches the register (or its ICV_/virtual-timer view) directly',
};

const inRange = (v: number, r: number | readonly [number, number] | undefined): boolean =>
  r === undefined || (typeof r === 'number' ? v === r : v >= r[0] && v <= r[1]);

/** The rule deciding an access to `encoding` (op0<<14|op1<<11|CRn<<7|CRm<<3|op2), if any. */
export function sysregRule(hv: Hypervisor, encoding: number, write: boolean): SysregRule | undefined {
  const op0 = encoding >>> 14,
    op1 = (encoding >>> 11) & 7,
    crn = (encoding >>> 7) & 15,
    crm = (encoding >>> 3) & 15,
    op2 = encoding & 7;
  for (const r of SYSREG_RULES[hv]) {
    if (r.op0 !== op0 || !inRange(op1, r.op1) || !inRange(crn, r.crn) || !inRange(crm, r.crm) || !inRange(op2, r.op2)) continue;
    if (r.access && (r.access === 'write') !== write) continue;
    return r;
  }
  return undefined;
}

/** Where an MMIO access to a device of this role is handled, or that it does not exit. */
export interface MmioRule {
  readonly exits: boolean;
  /** 'kernel' (KVM's vGIC/ITS, Xen itself), 'vmm' (QEMU: KVM_EXIT_MMIO), 'abort' (no device: Xen injects an abort). */
  readonly handler: 'kernel' | 'vmm' | 'abort' | 'none';
  readonly why: string;
}

export function mmioRule(hv: Hypervisor, role: DeviceRole | undefined, model: string | undefined): MmioRule {
  if (role === 'ram') return { exits: false, handler: 'none', why: 'guest RAM' };
  if (role === 'gic_cpu') return { exits: false, handler: 'none', why: 'GICv2 CPU interface: the GICV frame is mapped at its address' };
  if (hv === 'xen') {
    if (role === 'gic_dist' || role === 'gic_redist' || role === 'gic_its') return { exits: true, handler: 'kernel', why: "Xen's vGIC" };
    if (model === 'sbsa-uart') return { exits: true, handler: 'kernel', why: "Xen's vpl011" };
    if (role === 'xen_grant_table' || role === 'xen_magic') return { exits: false, handler: 'none', why: 'memory Xen maps into the guest' };
    return { exits: true, handler: 'abort', why: 'nothing emulated there: Xen injects a data abort' };
  }
  if (role === 'gic_dist' || role === 'gic_redist' || role === 'gic_its') return { exits: true, handler: 'kernel', why: "KVM's in-kernel vGIC" };
  return { exits: true, handler: 'vmm', why: 'stage-2 data abort emulated by the VMM (KVM_EXIT_MMIO)' };
}

/** Exception classes as KVM and Arm DDI 0487 (ESR_ELx.EC) name them. */
export const EXIT_EC = { WFX: 0x01, HVC64: 0x16, SMC64: 0x17, SYS64: 0x18, IABT_LOW: 0x20, DABT_LOW: 0x24 } as const;

/** Register encodings the exits report names (from the rules' comments). */
export const ENC = { ICC_SGI1R_EL1: sysregEncoding(3, 0, 12, 11, 5) } as const;
