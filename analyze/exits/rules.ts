// Which guest actions leave the guest (an exit to the hypervisor), as data: one table per
// hypervisor for system registers, one for MMIO, one for the other exit classes. Each row names the
// trap control that makes it exit, as the architecture defines it (Arm DDI 0487 J.a: HCR_EL2,
// MDCR_EL2, CNTHCTL_EL2, ESR_EL2's exception classes; Arm IHI 0069H for the GIC CPU interface),
// and which value the hypervisor programs into it. docs/analyzers.md ("exits") explains the model.
//
// KVM, Linux 6.1 (HCR_GUEST_FLAGS in arch/arm64/include/asm/kvm_arm.h; vcpu_reset_hcr,
// kvm_arm_setup_mdcr_el2, kvm_timer_vcpu_load): HCR_EL2 has TID3 (ID registers), TSC (SMC), TWI
// (WFI), TWE (WFE, cleared at vCPU load while the vCPU thread is alone on its host CPU), TSW
// (set/way maintenance), TAC (ACTLR_EL1), TIDCP (IMPLEMENTATION DEFINED registers), TLOR (LOR
// registers), IMO/FMO (so ICC_SGI*R_EL1 writes trap: Arm IHI 0069H, the registers' trap
// descriptions; the rest of the
// GICv3 CPU interface is answered by the ICV_* registers without an exit), and TVM on CPUs without
// stage-2 FWB until the guest turns its MMU and caches on (kvm_toggle_cache). MDCR_EL2 has TPM and
// TPMCR (KVM emulates the PMU), and TDA/TDOSA/TDRA until the guest first uses a debug register.
// CNTHCTL_EL2 clears EL1PCEN (the EL1 physical timer is emulated) and sets EL1PCTEN (the counter
// reads directly). VPIDR_EL2 and VMPIDR_EL2 answer MIDR_EL1 and MPIDR_EL1 without an exit. Linux
// 6.12 also sets TID2 for this guest (the cache ID registers and CTR_EL0, which KVM sanitises): the
// oracle's 6.12 host traps every CTR_EL0 read, 78,213 in one boot.
// Every MMIO access to a device is a stage-2 data abort (DABT_LOW); KVM handles the vGIC's and the
// ITS's registers itself and hands the rest to the VMM as KVM_EXIT_MMIO. A GICv2 guest's CPU
// interface is the hardware GICV frame mapped at its address: no exit.
//
// Xen 4.17 (arch/arm/traps.c, init_traps and the vtimer/vgic): HCR_EL2 has TID3, TSC, TWI and
// TWE (vwfi=trap), TSW, TAC, TIDCP, IMO/FMO; MDCR_EL2 has TDRA/TDOSA/TDA/TPM/TPMCR (debug and PMU
// registers read as zero, always); no EL1PCEN. The vGIC and the vpl011 are emulated in Xen; any
// other MMIO address is a data abort Xen turns into an abort for the guest.
//
// Register encodings are Arm DDI 0487's (op0, op1, CRn, CRm, op2).

import type { DeviceRole } from '../../capture/model.ts';

export const HYPERVISORS = ['kvm', 'kvm-6.12', 'xen'] as const;
export type Hypervisor = (typeof HYPERVISORS)[number];

/**
 * What an exit is caused by. Only 'guest' exits are the same for the same guest wherever it runs;
 * the others follow timing (when the guest idles, when its scheduler sends IPIs, when the host
 * takes an interrupt or maps a page).
 */
export const EXIT_CAUSES = {
  guest: "the guest's own instruction: an MMIO access, a hypercall, a trapped register (the same guest makes the same ones)",
  ipi: "an SGI the guest sends (ICC_SGI1R_EL1 write): how many follows the guest scheduler's timing",
  idle: 'WFI/WFE: the vCPU had nothing to do until its next interrupt; how many follows timing',
  interrupt: "a host interrupt while the guest ran (the vCPU's timer, an IPI, a device): no guest instruction caused it",
  memory: 'a stage-2 fault on guest RAM: the host maps guest memory on first touch',
} as const;
export type ExitCause = keyof typeof EXIT_CAUSES;
export const CAUSE_ORDER = Object.keys(EXIT_CAUSES) as ExitCause[];

/** When a matching access leaves the guest. */
export type ExitWhen =
  | 'always'
  /** Only while the guest's MMU and caches are off (KVM's HCR_EL2.TVM during boot). */
  | 'early'
  /** Until the guest first uses the registers (KVM's lazy debug switching). */
  | 'until-used'
  /** Depends on the host (WFE under KVM: only when the host CPU is shared). */
  | 'host';

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
  readonly cause: ExitCause;
  /** Which trap control makes it exit. */
  readonly why: string;
}

type Enc = Omit<SysregRule, 'when' | 'why' | 'cause' | 'access'>;
const ID_REGS: Enc = { op0: 3, op1: 0, crn: 0, crm: [1, 7] };
const GIC_SGI: readonly Enc[] = [
  { op0: 3, op1: 0, crn: 12, crm: 11, op2: [5, 7] }, // ICC_SGI1R_EL1, ICC_ASGI1R_EL1, ICC_SGI0R_EL1
];
const PTIMER: Enc = { op0: 3, op1: 3, crn: 14, crm: 2 }; // CNTP_TVAL/CTL/CVAL_EL0
const PMU: readonly Enc[] = [
  { op0: 3, op1: 3, crn: 9, crm: [12, 14] }, // PMCR_EL0 … PMOVSSET_EL0
  { op0: 3, op1: 3, crn: 14, crm: [8, 15] }, // PMEVCNTR<n>_EL0, PMEVTYPER<n>_EL0, PMCCFILTR_EL0
  { op0: 3, op1: 0, crn: 9, crm: 14 }, // PMINTENSET/CLR_EL1
];
const DEBUG: Enc = { op0: 2 }; // MDSCR, OSLAR, OSDLR, DBGB/W*R and the rest of op0 = 2
const VM_REGS: readonly Enc[] = [
  { op0: 3, op1: 0, crn: 1, crm: 0, op2: 0 }, // SCTLR_EL1
  { op0: 3, op1: 0, crn: 2, crm: 0, op2: [0, 2] }, // TTBR0_EL1, TTBR1_EL1, TCR_EL1
  { op0: 3, op1: 0, crn: 5, crm: 1, op2: [0, 1] }, // AFSR0/1_EL1
  { op0: 3, op1: 0, crn: 5, crm: 2, op2: 0 }, // ESR_EL1
  { op0: 3, op1: 0, crn: 6, crm: 0, op2: 0 }, // FAR_EL1
  { op0: 3, op1: 0, crn: 10, crm: 2, op2: 0 }, // MAIR_EL1
  { op0: 3, op1: 0, crn: 10, crm: 3, op2: 0 }, // AMAIR_EL1
  { op0: 3, op1: 0, crn: 13, crm: 0, op2: 1 }, // CONTEXTIDR_EL1
];
const CACHE_ID: readonly Enc[] = [
  { op0: 3, op1: 3, crn: 0, crm: 0, op2: 1 }, // CTR_EL0
  { op0: 3, op1: 1, crn: 0, crm: 0, op2: [0, 1] }, // CCSIDR_EL1, CLIDR_EL1
  { op0: 3, op1: 2, crn: 0, crm: 0, op2: 0 }, // CSSELR_EL1
];
const ACTLR: Enc = { op0: 3, op1: 0, crn: 1, crm: 0, op2: 1 }; // ACTLR_EL1
const LOR: Enc = { op0: 3, op1: 0, crn: 10, crm: 4, op2: [0, 3] }; // LORSA/LOREA/LORN/LORC_EL1
const SET_WAY: Enc = { op0: 1, op1: 0, crn: 7, crm: [6, 14], op2: 2 }; // DC ISW/CSW/CISW
const IMPL_DEF: Enc = { op0: 3, crn: 15 }; // IMPLEMENTATION DEFINED registers

const rows = (encs: readonly Enc[], rest: Omit<SysregRule, keyof Enc>): SysregRule[] => encs.map((e) => ({ ...e, ...rest }));

/** The rows KVM and Xen share: the same HCR_EL2 bits. */
function common(hv: string): SysregRule[] {
  return [
    { ...ID_REGS, when: 'always', cause: 'guest', why: `ID register: HCR_EL2.TID3, ${hv} answers with its sanitised value` },
    ...rows(GIC_SGI, { access: 'write', when: 'always', cause: 'ipi', why: `SGI generation: HCR_EL2.IMO/FMO route it to ${hv}'s vGIC` }),
    { ...PTIMER, when: 'always', cause: 'guest', why: `EL1 physical timer: CNTHCTL_EL2.EL1PCEN clear, ${hv} emulates it` },
    { ...ACTLR, when: 'always', cause: 'guest', why: 'auxiliary control register: HCR_EL2.TAC' },
    { ...SET_WAY, when: 'always', cause: 'guest', why: 'set/way cache maintenance: HCR_EL2.TSW' },
    { ...IMPL_DEF, when: 'always', cause: 'guest', why: 'IMPLEMENTATION DEFINED register: HCR_EL2.TIDCP' },
  ];
}

const KVM_61: readonly SysregRule[] = [
  ...common('KVM'),
  ...rows(PMU, { when: 'always', cause: 'guest', why: 'PMU: MDCR_EL2.TPM/TPMCR, KVM emulates the PMU' }),
  { ...LOR, when: 'always', cause: 'guest', why: 'LOR register: HCR_EL2.TLOR (KVM reads them as zero)' },
  { ...DEBUG, when: 'until-used', cause: 'guest', why: 'debug register: MDCR_EL2.TDA/TDOSA until the guest uses debug' },
  ...rows(VM_REGS, {
    access: 'write',
    when: 'early',
    cause: 'guest',
    why: 'VM register write: HCR_EL2.TVM until the guest turns its caches on',
  }),
];

const KVM_612: readonly SysregRule[] = [
  ...rows(CACHE_ID, {
    when: 'always',
    cause: 'guest',
    why: 'cache ID register: HCR_EL2.TID2 (KVM 6.12 answers CTR_EL0 and the cache geometry itself)',
  }),
  ...KVM_61,
];

const XEN_417: readonly SysregRule[] = [
  ...common('Xen'),
  ...rows(PMU, { when: 'always', cause: 'guest', why: 'PMU: MDCR_EL2.TPM, Xen reads it as zero' }),
  { ...DEBUG, when: 'always', cause: 'guest', why: 'debug register: MDCR_EL2.TDA/TDOSA/TDRA, Xen reads it as zero' },
];

export const SYSREG_RULES: Readonly<Record<Hypervisor, readonly SysregRule[]>> = { kvm: KVM_61, 'kvm-6.12': KVM_612, xen: XEN_417 };

/** Why an access that matches no rule stays in the guest. */
export const SYSREG_NO_EXIT: Readonly<Record<string, string>> = {
  MIDR_EL1: 'answered from VPIDR_EL2, no exit',
  MPIDR_EL1: 'answered from VMPIDR_EL2, no exit',
  CNTV_CTL_EL0: 'virtual timer: the guest owns it (the timer PPI reaches KVM as a host interrupt)',
  CNTV_CVAL_EL0: 'virtual timer: the guest owns it (the timer PPI reaches KVM as a host interrupt)',
  CNTV_TVAL_EL0: 'virtual timer: the guest owns it (the timer PPI reaches KVM as a host interrupt)',
  ICC_IAR1_EL1: 'GICv3 CPU interface: with HCR_EL2.IMO set the guest reaches ICV_IAR1_EL1, no exit',
  ICC_EOIR1_EL1: 'GICv3 CPU interface: with HCR_EL2.IMO set the guest reaches ICV_EOIR1_EL1, no exit',
  default: 'not trapped: the guest reaches the register (or its ICV_ view) directly',
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

/** Where an MMIO access to a device is handled, or that it does not exit. */
export interface MmioRule {
  /** Hypervisors the row is for. */
  readonly hv: readonly Hypervisor[];
  /** Device roles (the trace's region table) the row is for; a model narrows it. */
  readonly roles: readonly DeviceRole[] | 'any';
  readonly model?: string;
  readonly exits: boolean;
  /** 'kernel' (KVM's vGIC/ITS, Xen itself), 'vmm' (QEMU: KVM_EXIT_MMIO), 'abort' (Xen injects an abort), 'none'. */
  readonly handler: 'kernel' | 'vmm' | 'abort' | 'none';
  readonly why: string;
}

const KVMS: readonly Hypervisor[] = ['kvm', 'kvm-6.12'];
const ALL: readonly Hypervisor[] = HYPERVISORS;
const GIC: readonly DeviceRole[] = ['gic_dist', 'gic_redist', 'gic_its'];

/** First matching row decides. */
export const MMIO_RULES: readonly MmioRule[] = [
  { hv: ALL, roles: ['ram'], exits: false, handler: 'none', why: 'guest RAM, mapped at stage 2' },
  {
    hv: ALL,
    roles: ['gic_cpu'],
    exits: false,
    handler: 'none',
    why: 'GICv2 CPU interface: the hardware GICV frame is mapped at its address',
  },
  { hv: KVMS, roles: GIC, exits: true, handler: 'kernel', why: "stage-2 data abort handled by KVM's in-kernel vGIC/ITS" },
  { hv: KVMS, roles: 'any', exits: true, handler: 'vmm', why: 'stage-2 data abort the VMM emulates (KVM_EXIT_MMIO)' },
  { hv: ['xen'], roles: GIC, exits: true, handler: 'kernel', why: "stage-2 data abort handled by Xen's vGIC" },
  { hv: ['xen'], roles: 'any', model: 'sbsa-uart', exits: true, handler: 'kernel', why: "stage-2 data abort handled by Xen's vpl011" },
  { hv: ['xen'], roles: ['xen_grant_table', 'xen_magic'], exits: false, handler: 'none', why: 'memory Xen maps into the guest' },
  { hv: ['xen'], roles: 'any', exits: true, handler: 'abort', why: 'nothing emulated there: Xen injects a data abort' },
];

export function mmioRule(hv: Hypervisor, role: DeviceRole | undefined, model: string | undefined): MmioRule {
  for (const r of MMIO_RULES) {
    if (!r.hv.includes(hv)) continue;
    if (r.roles !== 'any' && (role === undefined || !r.roles.includes(role))) continue;
    if (r.model !== undefined && r.model !== model) continue;
    return r;
  }
  return MMIO_RULES[MMIO_RULES.length - 1]!;
}

/**
 * The other guest instructions that exit: exit reason (KVM's name for ESR_EL2.EC, Arm DDI 0487
 * J.a, ESR_EL2), cause, and the trap control.
 */
export const INSTRUCTION_EXITS = {
  hvc: { reason: 'HVC64', cause: 'guest', why: 'HVC always goes to EL2' },
  smc: { reason: 'SMC64', cause: 'guest', why: 'SMC: HCR_EL2.TSC' },
  wfi: { reason: 'WFx', cause: 'idle', why: 'WFI: HCR_EL2.TWI' },
  wfe: { reason: 'WFx', cause: 'idle', why: 'WFE: HCR_EL2.TWE (KVM clears it while the vCPU thread is alone on its host CPU)' },
} as const satisfies Record<string, { reason: string; cause: ExitCause; why: string }>;
