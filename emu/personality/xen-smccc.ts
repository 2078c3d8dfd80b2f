// Xen's answers to SMCCC calls on HVC #0 (xen/arch/arm/vsmc.c vsmccc_handle_call and vpsci.c):
// function IDs up to 0x0100FFFF are PSCI 0.1 (cpu_off = 1, cpu_on = 2); fast calls go by owner:
// Arm architecture (SMCCC_VERSION, ARCH_FEATURES for the three workarounds only), hypervisor
// service (Xen's count/UID/revision), standard secure service (vPSCI 1.1, count/UID/revision).
// Anything else is "unknown function": x0 = −1. Xen writes only the registers that carry a
// result (x0; x0..x3 for UIDs; x0..x1 for revisions). SMCCC_VERSION is 1.1 up to Xen 4.17 and 1.2
// from 4.18 (vsmc.c). Arm DEN0028 SMCCC, DEN0022 PSCI; docs/xen.md.

import { smcccName } from '../../arch/hypercalls/smccc.ts';
import { HYPERCALL, type HypercallOutcome, type PlatformControl } from './types.ts';
import { FID, PSCI_CORE_FUNCTIONS, PSCI_RET } from './kvm-smccc.ts';

export const XEN_SMCCC = {
  /** Owner 5 (standard hypervisor service): Xen's own UID a71812dc-c698-4369-9acf-79d18ddee667. */
  XEN_UID: 'a71812dc-c698-4369-9acf-79d18ddee667',
  /** Owner 4 (standard secure service) UID f863386f-4b39-4cbd-9220-ce1641e59f6f. */
  SSSC_UID: 'f863386f-4b39-4cbd-9220-ce1641e59f6f',
  XEN_FUNCTION_COUNT: 3,
  /** 3 + VPSCI_NR_FUNCS (12). */
  SSSC_FUNCTION_COUNT: 15,
  RESERVED_RANGE_END: 0x0100ffff,
  PSCI_0_1_CPU_OFF: 1,
  PSCI_0_1_CPU_ON: 2,
} as const;

const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const lo32 = (v: bigint): bigint => v & 0xffffffffn;
const UNKNOWN = u64(-1n);

/** UID registers as Xen's fill_uid builds them: four bytes each, first byte in the low bits. */
export function uidWords(uuid: string): bigint[] {
  const hex = uuid.replace(/-/g, '');
  const bytes = Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
  return [0, 1, 2, 3].map((n) =>
    BigInt((bytes[4 * n]! | (bytes[4 * n + 1]! << 8) | (bytes[4 * n + 2]! << 16) | (bytes[4 * n + 3]! << 24)) >>> 0),
  );
}

export interface XenSmcccCaller {
  vcpu: number;
  arg(n: number): bigint;
  platform: PlatformControl;
  /** vMPIDR affinity of each vCPU. */
  affinity(vcpu: number): bigint;
  /** vCPU index from an affinity value (Xen's vaffinity_to_vcpuid, which masks rather than checks). */
  vcpuOf(aff: bigint): number;
  /** Does the vCPU have an event pending (CPU_SUSPEND returns at once then)? */
  eventPending?(vcpu: number): boolean;
}

export interface XenSmcccOptions {
  /** SMCCC minor version: 1 (Xen ≤ 4.17) or 2 (Xen ≥ 4.18). */
  smcccMinor: 1 | 2;
}

export interface XenSmcccOutcome {
  name: string;
  args: bigint[];
  /** Registers written, from x0. */
  results: bigint[];
  outcome: HypercallOutcome;
}

/** Arguments recorded per PSCI/SMCCC call. */
const NARGS: Readonly<Record<number, number>> = {
  [FID.SMCCC_ARCH_FEATURES]: 1,
  [FID.CPU_SUSPEND]: 3,
  [FID.CPU_SUSPEND_64]: 3,
  [FID.CPU_ON]: 3,
  [FID.CPU_ON_64]: 3,
  [FID.AFFINITY_INFO]: 2,
  [FID.AFFINITY_INFO_64]: 2,
  [FID.PSCI_FEATURES]: 1,
};

/** Dispatch one HVC #0 call as Xen 4.17 does for a 64-bit domU. */
export function xenSmcccCall(fid: number, caller: XenSmcccCaller, opts: XenSmcccOptions): XenSmcccOutcome {
  fid >>>= 0;
  const is32 = (fid & 0x40000000) === 0;
  const arg = (n: number): bigint => (is32 ? lo32(caller.arg(n)) : u64(caller.arg(n)));
  if (fid <= XEN_SMCCC.RESERVED_RANGE_END) return psci01(fid, caller);
  const name = smcccName(fid);
  const args: bigint[] = [];
  for (let i = 1; i <= (NARGS[fid] ?? 0); i++) args.push(arg(i));
  const ret = (results: bigint[], outcome: HypercallOutcome = HYPERCALL.CONTINUE): XenSmcccOutcome => ({
    name,
    args,
    results: results.map(u64),
    outcome,
  });
  const fast = (fid & 0x80000000) !== 0;
  if (!fast) return ret([UNKNOWN]);
  const owner = (fid >>> 24) & 0x3f;
  const func = fid & 0xffff;
  switch (owner) {
    case 0: // Arm architecture
      switch (fid) {
        case FID.SMCCC_VERSION:
          return ret([opts.smcccMinor === 2 ? 0x10002n : 0x10001n]);
        case FID.SMCCC_ARCH_FEATURES:
          // A host with no firmware mitigation to offer: every query, workarounds included, is −1.
          return ret([UNKNOWN]);
        case FID.ARCH_WORKAROUND_1:
        case FID.ARCH_WORKAROUND_2:
        case FID.ARCH_WORKAROUND_3:
          return ret([]); // handled, no return value
        default:
          return ret([UNKNOWN]);
      }
    case 5: // standard hypervisor service: Xen itself
      if (func === 0xff00) return ret([BigInt(XEN_SMCCC.XEN_FUNCTION_COUNT)]);
      if (func === 0xff01) return ret(uidWords(XEN_SMCCC.XEN_UID));
      if (func === 0xff03) return ret([0n, 1n]);
      return ret([UNKNOWN]);
    case 4: {
      // standard secure service: vPSCI first, then the service queries
      const p = psci02(fid, arg, caller);
      if (p) return { name, args, results: p.results.map(u64), outcome: p.outcome };
      if (func === 0xff00) return ret([BigInt(XEN_SMCCC.SSSC_FUNCTION_COUNT)]);
      if (func === 0xff01) return ret(uidWords(XEN_SMCCC.SSSC_UID));
      if (func === 0xff03) return ret([0n, 1n]);
      return ret([UNKNOWN]);
    }
    default:
      return ret([UNKNOWN]);
  }
}

/** PSCI 0.1 (IDs from the DT's cpu_off/cpu_on): ALREADY_ON is reported as INVALID_PARAMETERS. */
function psci01(fid: number, caller: XenSmcccCaller): XenSmcccOutcome {
  if (fid === XEN_SMCCC.PSCI_0_1_CPU_OFF) {
    caller.platform.cpuOff(caller.vcpu, 'PSCI_0_1_CPU_OFF');
    return { name: 'PSCI_0_1_CPU_OFF', args: [lo32(caller.arg(1))], results: [0n], outcome: HYPERCALL.STOP };
  }
  if (fid === XEN_SMCCC.PSCI_0_1_CPU_ON) {
    const target = lo32(caller.arg(1)),
      entry = u64(caller.arg(2));
    let r = cpuOn(target, entry, 0n, caller, 'PSCI_0_1_CPU_ON');
    if (r === PSCI_RET.ALREADY_ON) r = PSCI_RET.INVALID_PARAMETERS;
    return { name: 'PSCI_0_1_CPU_ON', args: [target, entry], results: [u64(r)], outcome: HYPERCALL.CONTINUE };
  }
  return { name: '', args: [], results: [UNKNOWN], outcome: HYPERCALL.CONTINUE };
}

/** vPSCI 1.1 (vpsci.c do_vpsci_0_2_call); undefined when the ID is not a vPSCI function. */
function psci02(
  fid: number,
  arg: (n: number) => bigint,
  caller: XenSmcccCaller,
): { results: bigint[]; outcome: HypercallOutcome } | undefined {
  const p = caller.platform;
  const one = (v: bigint, outcome: HypercallOutcome = HYPERCALL.CONTINUE) => ({ results: [v], outcome });
  switch (fid) {
    case FID.PSCI_VERSION:
      return one(0x10001n);
    case FID.CPU_SUSPEND:
    case FID.CPU_SUSPEND_64:
      // Every power state is standby: block unless an event is pending, then SUCCESS.
      if (caller.eventPending?.(caller.vcpu)) return one(PSCI_RET.SUCCESS);
      p.suspend(caller.vcpu, 'PSCI_CPU_SUSPEND');
      return one(PSCI_RET.SUCCESS, HYPERCALL.STOP);
    case FID.CPU_OFF:
      p.cpuOff(caller.vcpu, 'PSCI_CPU_OFF');
      return one(PSCI_RET.SUCCESS, HYPERCALL.STOP);
    case FID.CPU_ON:
    case FID.CPU_ON_64:
      return one(cpuOn(arg(1), arg(2), arg(3), caller, 'PSCI_CPU_ON'));
    case FID.AFFINITY_INFO:
    case FID.AFFINITY_INFO_64:
      return one(affinityInfo(arg(1), arg(2), caller));
    case FID.MIGRATE_INFO_TYPE:
      return one(2n);
    case FID.SYSTEM_OFF:
      p.systemOff('PSCI_SYSTEM_OFF');
      return one(0n, HYPERCALL.STOP);
    case FID.SYSTEM_RESET:
      p.systemReset('PSCI_SYSTEM_RESET');
      return one(0n, HYPERCALL.STOP);
    case FID.PSCI_FEATURES:
      return one(xenPsciFeatures(Number(lo32(caller.arg(1)))));
    default:
      return undefined; // MIGRATE, MIGRATE_INFO_UP_CPU, SYSTEM_SUSPEND, RESET2…: unknown function
  }
}

/** Xen's PSCI_FEATURES list (vpsci.c do_psci_1_0_features): no MIGRATE, UP_CPU or RESET2. */
export function xenPsciFeatures(queried: number): bigint {
  return PSCI_CORE_FUNCTIONS.has(queried >>> 0) ? 0n : PSCI_RET.NOT_SUPPORTED;
}

/** do_common_cpu_on: unknown vCPU → INVALID_PARAMETERS, Thumb bit → INVALID_ADDRESS, running → ALREADY_ON. */
function cpuOn(targetAff: bigint, entry: bigint, context: bigint, caller: XenSmcccCaller, reason: string): bigint {
  const target = caller.vcpuOf(targetAff);
  if (target < 0 || target >= caller.platform.numCpu) return PSCI_RET.INVALID_PARAMETERS;
  if (entry & 1n) return -9n; // PSCI_INVALID_ADDRESS: Thumb entry for a 64-bit domain
  if (caller.platform.powerState(target) !== 'off') return PSCI_RET.ALREADY_ON;
  caller.platform.cpuOn(target, entry, context, reason);
  return PSCI_RET.SUCCESS;
}

/** do_psci_0_2_affinity_info: levels 0..2; ON if any matching vCPU is up. */
function affinityInfo(targetAff: bigint, level: bigint, caller: XenSmcccCaller): bigint {
  if (level >= 3n) return PSCI_RET.INVALID_PARAMETERS;
  const mask = 0xff00ffffffn & ~((1n << (8n * level)) - 1n);
  const want = targetAff & mask;
  for (let c = 0; c < caller.platform.numCpu; c++) {
    if ((caller.affinity(c) & mask) === want && caller.platform.powerState(c) !== 'off') return 0n;
  }
  return 1n;
}
