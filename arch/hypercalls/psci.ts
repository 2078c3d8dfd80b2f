// PSCI function IDs and return codes (Arm DEN0022, Power State Coordination Interface: the function
// list and 'Return error codes'); sources per table in docs/arch.md.
// Function n has the SMC32 ID 0x84000000+n and, where listed, the SMC64 ID 0xC4000000+n.

export interface PsciFunction {
  readonly n: number;
  readonly name: string;
  /** Has a 64-bit (0xC4…) variant. */
  readonly has64: boolean;
}

export const PSCI_FUNCTIONS: readonly PsciFunction[] = [
  { n: 0, name: 'PSCI_VERSION', has64: false },
  { n: 1, name: 'PSCI_CPU_SUSPEND', has64: true },
  { n: 2, name: 'PSCI_CPU_OFF', has64: false },
  { n: 3, name: 'PSCI_CPU_ON', has64: true },
  { n: 4, name: 'PSCI_AFFINITY_INFO', has64: true },
  { n: 5, name: 'PSCI_MIGRATE', has64: true },
  { n: 6, name: 'PSCI_MIGRATE_INFO_TYPE', has64: false },
  { n: 7, name: 'PSCI_MIGRATE_INFO_UP_CPU', has64: true },
  { n: 8, name: 'PSCI_SYSTEM_OFF', has64: false },
  { n: 9, name: 'PSCI_SYSTEM_RESET', has64: false },
  { n: 10, name: 'PSCI_FEATURES', has64: false },
  { n: 11, name: 'PSCI_CPU_FREEZE', has64: false },
  { n: 12, name: 'PSCI_CPU_DEFAULT_SUSPEND', has64: true },
  { n: 13, name: 'PSCI_NODE_HW_STATE', has64: true },
  { n: 14, name: 'PSCI_SYSTEM_SUSPEND', has64: true },
  { n: 15, name: 'PSCI_SET_SUSPEND_MODE', has64: false },
  { n: 16, name: 'PSCI_STAT_RESIDENCY', has64: true },
  { n: 17, name: 'PSCI_STAT_COUNT', has64: true },
  { n: 18, name: 'PSCI_SYSTEM_RESET2', has64: true },
  { n: 19, name: 'PSCI_MEM_PROTECT', has64: false },
  { n: 20, name: 'PSCI_MEM_PROTECT_CHECK_RANGE', has64: true },
  { n: 21, name: 'PSCI_SYSTEM_OFF2', has64: true },
];

export const PSCI_BASE_32 = 0x84000000;
export const PSCI_BASE_64 = 0xc4000000;

/** Function IDs by name, e.g. PSCI_ID.PSCI_CPU_ON_64. */
export const PSCI_ID = {
  VERSION: 0x84000000,
  CPU_SUSPEND_32: 0x84000001,
  CPU_SUSPEND_64: 0xc4000001,
  CPU_OFF: 0x84000002,
  CPU_ON_32: 0x84000003,
  CPU_ON_64: 0xc4000003,
  AFFINITY_INFO_32: 0x84000004,
  AFFINITY_INFO_64: 0xc4000004,
  MIGRATE_INFO_TYPE: 0x84000006,
  SYSTEM_OFF: 0x84000008,
  SYSTEM_RESET: 0x84000009,
  FEATURES: 0x8400000a,
  SYSTEM_SUSPEND_64: 0xc400000e,
  SYSTEM_RESET2_32: 0x84000012,
  SYSTEM_RESET2_64: 0xc4000012,
} as const;

export const PSCI_RETURN: Readonly<Record<number, string>> = {
  0: 'SUCCESS',
  [-1]: 'NOT_SUPPORTED',
  [-2]: 'INVALID_PARAMETERS',
  [-3]: 'DENIED',
  [-4]: 'ALREADY_ON',
  [-5]: 'ON_PENDING',
  [-6]: 'INTERNAL_FAILURE',
  [-7]: 'NOT_PRESENT',
  [-8]: 'DISABLED',
  [-9]: 'INVALID_ADDRESS',
};

const byId = new Map<number, string>();
for (const f of PSCI_FUNCTIONS) {
  byId.set(PSCI_BASE_32 + f.n, f.name);
  if (f.has64) byId.set(PSCI_BASE_64 + f.n, f.name);
}

/** PSCI function name for a 32-bit function ID ('' if it is not a PSCI function). */
export function psciName(fid: number): string {
  return byId.get(fid >>> 0) ?? '';
}

/** PSCI 0.1 IDs are whatever the DT says; QEMU and Xen publish these (Xen: cpu_off=1, cpu_on=2). */
export const PSCI_0_1_XEN: Readonly<Record<number, string>> = { 1: 'PSCI_0_1_CPU_OFF', 2: 'PSCI_0_1_CPU_ON' };
