// KVM's answers to SMCCC and PSCI calls from an arm64 guest (Linux 6.1
// arch/arm64/kvm/hypercalls.c and psci.c; Arm DEN0028 SMCCC and DEN0022 PSCI),
// as pure functions over the caller's registers and a PlatformControl.
//
// Every handled call writes x0..x3 (x1..x3 = 0 unless they carry results), as KVM's
// smccc_set_retval does; SYSTEM_OFF/RESET only preload x0 with INTERNAL_FAILURE. Unknown calls
// return NOT_SUPPORTED (−1). The services KVM 6.1 offers a guest by default are offered here too
// (docs/emulator-platform.md): the SMCCC TRNG 1.0 (Arm DEN0098; entropy from the caller's
// deterministic source, recorded in the hypercall's results), PV stolen time (Arm DEN0057; the
// caller says where each vCPU's record is) and KVM's PTP service (the caller's guest wall clock
// and counter). The Spectre workaround queries answer as a host that offers no firmware
// mitigation (−1).

import { KVM_TRNG_UUID_WORDS, KVM_UID_WORDS, smcccName } from '../../arch/hypercalls/smccc.ts';
import { HYPERCALL, type HypercallOutcome, type PlatformControl } from './types.ts';

export const SMCCC_RET = { SUCCESS: 0n, NOT_SUPPORTED: -1n, NOT_REQUIRED: -2n, INVALID_PARAMETER: -3n } as const;
export const PSCI_RET = {
  SUCCESS: 0n,
  NOT_SUPPORTED: -1n,
  INVALID_PARAMETERS: -2n,
  DENIED: -3n,
  ALREADY_ON: -4n,
  ON_PENDING: -5n,
  INTERNAL_FAILURE: -6n,
} as const;

/** MPIDR affinity fields KVM accepts in PSCI arguments (Aff3, Aff2, Aff1, Aff0). */
export const MPIDR_HWID_BITMASK = 0xff00ffffffn;

export const FID = {
  SMCCC_VERSION: 0x80000000,
  SMCCC_ARCH_FEATURES: 0x80000001,
  ARCH_WORKAROUND_1: 0x80008000,
  ARCH_WORKAROUND_2: 0x80007fff,
  ARCH_WORKAROUND_3: 0x80003fff,
  PV_TIME_FEATURES: 0xc5000020,
  PV_TIME_ST: 0xc5000021,
  VENDOR_HYP_CALL_UID: 0x8600ff01,
  KVM_FEATURES: 0x86000000,
  KVM_PTP: 0x86000001,
  TRNG_VERSION: 0x84000050,
  TRNG_FEATURES: 0x84000051,
  TRNG_GET_UUID: 0x84000052,
  TRNG_RND32: 0x84000053,
  TRNG_RND64: 0xc4000053,
  PSCI_VERSION: 0x84000000,
  CPU_SUSPEND: 0x84000001,
  CPU_SUSPEND_64: 0xc4000001,
  CPU_OFF: 0x84000002,
  CPU_ON: 0x84000003,
  CPU_ON_64: 0xc4000003,
  AFFINITY_INFO: 0x84000004,
  AFFINITY_INFO_64: 0xc4000004,
  MIGRATE_INFO_TYPE: 0x84000006,
  SYSTEM_OFF: 0x84000008,
  SYSTEM_RESET: 0x84000009,
  PSCI_FEATURES: 0x8400000a,
  SYSTEM_SUSPEND: 0x8400000e,
  SYSTEM_SUSPEND_64: 0xc400000e,
  SYSTEM_RESET2: 0x84000012,
  SYSTEM_RESET2_64: 0xc4000012,
} as const;

/** Arguments each call takes (x1..), for the hypercall event; unknown calls show x1..x3. */
const ARG_COUNT: Readonly<Record<string, number>> = {
  SMCCC_VERSION: 0,
  SMCCC_ARCH_FEATURES: 1,
  SMCCC_ARCH_SOC_ID: 1,
  SMCCC_ARCH_WORKAROUND_1: 0,
  SMCCC_ARCH_WORKAROUND_2: 1,
  SMCCC_ARCH_WORKAROUND_3: 0,
  TRNG_VERSION: 0,
  TRNG_FEATURES: 1,
  TRNG_GET_UUID: 0,
  TRNG_RND32: 1,
  TRNG_RND64: 1,
  PV_TIME_FEATURES: 1,
  PV_TIME_ST: 0,
  VENDOR_HYP_CALL_UID: 0,
  KVM_FEATURES: 0,
  KVM_PTP: 1,
  PSCI_VERSION: 0,
  PSCI_CPU_SUSPEND: 3,
  PSCI_CPU_OFF: 0,
  PSCI_CPU_ON: 3,
  PSCI_AFFINITY_INFO: 2,
  PSCI_MIGRATE: 1,
  PSCI_MIGRATE_INFO_TYPE: 0,
  PSCI_MIGRATE_INFO_UP_CPU: 0,
  PSCI_SYSTEM_OFF: 0,
  PSCI_SYSTEM_RESET: 0,
  PSCI_FEATURES: 1,
  PSCI_SYSTEM_SUSPEND: 2,
  PSCI_SYSTEM_RESET2: 2,
};

export function argCountOf(name: string): number {
  return ARG_COUNT[name] ?? 3;
}

export interface KvmSmcccOptions {
  /**
   * 'kvm' (default): Linux 6.1 KVM. 'qemu-tcg': QEMU 7.2's own PSCI emulation, for differential
   * runs against TCG: PSCI_FEATURES does not list SMCCC_VERSION or SYSTEM_RESET2, every non-PSCI
   * call returns −1, and only x0 is written.
   */
  flavor: 'kvm' | 'qemu-tcg';
  /** PSCI minor version with major 1: 0 → PSCI 1.0, 1 → PSCI 1.1 (KVM ≥ 5.18 default). */
  psciMinor: 0 | 1;
  /** SMCCC_ARCH_FEATURES answers for the three Spectre workarounds. */
  workaround1: bigint;
  workaround2: bigint;
  workaround3: bigint;
  /** KVM_FEATURES bitmap (bit 0 FEATURES, bit 1 PTP; KVM 6.1 offers both). */
  kvmFeatures: bigint;
  /** Offer the SMCCC TRNG (KVM ≥ 5.12 does; Linux then seeds its RNG with TRNG_RND64). */
  trng: boolean;
  /** Stolen-time records configured (QEMU's kvm-steal-time, on by default for KVM). */
  stealTime: boolean;
}

export const KVM_SMCCC_DEFAULTS: KvmSmcccOptions = {
  flavor: 'kvm',
  psciMinor: 1,
  workaround1: SMCCC_RET.NOT_SUPPORTED,
  workaround2: SMCCC_RET.NOT_SUPPORTED,
  workaround3: SMCCC_RET.NOT_SUPPORTED,
  kvmFeatures: 3n,
  trng: true,
  stealTime: true,
};

/** What the caller sees and what happens next. */
export interface SmcccOutcome {
  name: string;
  args: bigint[];
  /** Values for x0, x1, … in order (KVM writes x0..x3). */
  results: bigint[];
  outcome: HypercallOutcome;
}

export interface SmcccCaller {
  vcpu: number;
  /** Argument register n (1..17). */
  arg(n: number): bigint;
  platform: PlatformControl;
  /** MPIDR affinity (MPIDR_HWID_BITMASK bits) of each vCPU. */
  affinity(vcpu: number): bigint;
  /** 64 bits of entropy for TRNG_RND (KVM: get_random_long). */
  entropy?(): bigint;
  /** Guest-physical address of a vCPU's stolen-time record (QEMU virt: 0x090a0000 + 64 × vCPU). */
  stolenTimeRecord?(vcpu: number): bigint;
  /** KVM_PTP: guest wall-clock time (ns since 1970) and the counter at the same instant. */
  ptpSnapshot?(physical: boolean): { realNs: bigint; counter: bigint };
}

const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const lo32 = (v: bigint): bigint => v & 0xffffffffn;

/** Dispatch one SMCCC call as KVM does for an AArch64 guest (function ID from w0). */
export function kvmSmcccCall(fid: number, caller: SmcccCaller, opts: KvmSmcccOptions = KVM_SMCCC_DEFAULTS): SmcccOutcome {
  fid >>>= 0;
  const name = smcccName(fid);
  const is32 = (fid & 0x40000000) === 0;
  const nargs = argCountOf(name);
  // SMC32/HVC32 calls see their arguments narrowed to 32 bits.
  const arg = (n: number): bigint => (is32 ? lo32(caller.arg(n)) : u64(caller.arg(n)));
  const args: bigint[] = [];
  for (let i = 1; i <= nargs; i++) args.push(arg(i));
  const tcg = opts.flavor === 'qemu-tcg';
  const done = (x0: bigint, x1 = 0n, x2 = 0n, x3 = 0n, outcome: HypercallOutcome = HYPERCALL.CONTINUE): SmcccOutcome => ({
    name,
    args,
    results: tcg ? [u64(x0)] : [u64(x0), u64(x1), u64(x2), u64(x3)],
    outcome,
  });

  if (tcg && !isPsci(fid)) return done(SMCCC_RET.NOT_SUPPORTED);
  switch (fid) {
    case FID.SMCCC_VERSION:
      return done(0x10001n);
    case FID.SMCCC_ARCH_FEATURES: {
      switch (Number(lo32(caller.arg(1)))) {
        case FID.ARCH_WORKAROUND_1:
          return done(opts.workaround1);
        case FID.ARCH_WORKAROUND_2:
          return done(opts.workaround2);
        case FID.ARCH_WORKAROUND_3:
          return done(opts.workaround3);
        case FID.PV_TIME_FEATURES:
          return done(SMCCC_RET.SUCCESS); // the service exists; steal time itself is not configured
        default:
          return done(SMCCC_RET.NOT_SUPPORTED);
      }
    }
    case FID.PV_TIME_FEATURES: {
      // DEN0057 §4.1: the features this vCPU's stolen-time service has (only with a record).
      const f = Number(lo32(caller.arg(1)));
      const known = f === FID.PV_TIME_FEATURES || f === FID.PV_TIME_ST;
      return done(known && stolenTimeRecord(caller, opts) !== undefined ? SMCCC_RET.SUCCESS : SMCCC_RET.NOT_SUPPORTED);
    }
    case FID.PV_TIME_ST: {
      // DEN0057 §4.2: the IPA of the caller's record (revision 0, attributes 0, stolen ns).
      const at = stolenTimeRecord(caller, opts);
      return done(at ?? SMCCC_RET.NOT_SUPPORTED);
    }
    case FID.VENDOR_HYP_CALL_UID:
      return done(BigInt(KVM_UID_WORDS[0]), BigInt(KVM_UID_WORDS[1]), BigInt(KVM_UID_WORDS[2]), BigInt(KVM_UID_WORDS[3]));
    case FID.KVM_FEATURES:
      return done(opts.kvmFeatures);
    case FID.KVM_PTP:
      return done(...kvmPtp(caller, opts));
    case FID.TRNG_VERSION:
    case FID.TRNG_FEATURES:
    case FID.TRNG_GET_UUID:
    case FID.TRNG_RND32:
    case FID.TRNG_RND64:
      if (!opts.trng || !caller.entropy) return done(SMCCC_RET.NOT_SUPPORTED);
      return done(...trngCall(fid, caller));
    default:
      return psciCall(fid, name, args, arg, caller, opts, done);
  }
}

function psciCall(
  fid: number,
  name: string,
  args: bigint[],
  arg: (n: number) => bigint,
  caller: SmcccCaller,
  opts: KvmSmcccOptions,
  done: (x0: bigint, x1?: bigint, x2?: bigint, x3?: bigint, outcome?: HypercallOutcome) => SmcccOutcome,
): SmcccOutcome {
  const p = caller.platform;
  switch (fid) {
    case FID.PSCI_VERSION:
      return done(opts.psciMinor ? 0x10001n : 0x10000n);
    case FID.PSCI_FEATURES:
      return done(psciFeatures(Number(lo32(caller.arg(1))), opts));
    case FID.CPU_SUSPEND:
    case FID.CPU_SUSPEND_64:
      // KVM treats every power state as standby: a WFI, then SUCCESS.
      p.suspend(caller.vcpu, 'PSCI_CPU_SUSPEND');
      return done(PSCI_RET.SUCCESS, 0n, 0n, 0n, HYPERCALL.STOP);
    case FID.CPU_OFF:
      p.cpuOff(caller.vcpu, 'PSCI_CPU_OFF');
      return done(PSCI_RET.SUCCESS, 0n, 0n, 0n, HYPERCALL.STOP);
    case FID.CPU_ON:
    case FID.CPU_ON_64:
      return done(cpuOn(arg(1), arg(2), arg(3), caller));
    case FID.AFFINITY_INFO:
    case FID.AFFINITY_INFO_64:
      return done(affinityInfo(arg(1), arg(2), caller));
    case FID.MIGRATE_INFO_TYPE:
      return done(2n); // Trusted OS not present / MP
    case FID.SYSTEM_OFF:
      p.systemOff('PSCI_SYSTEM_OFF');
      return { name, args, results: [u64(PSCI_RET.INTERNAL_FAILURE)], outcome: HYPERCALL.STOP };
    case FID.SYSTEM_RESET:
      p.systemReset('PSCI_SYSTEM_RESET');
      return { name, args, results: [u64(PSCI_RET.INTERNAL_FAILURE)], outcome: HYPERCALL.STOP };
    case FID.SYSTEM_RESET2:
    case FID.SYSTEM_RESET2_64: {
      if (opts.psciMinor < 1) return done(PSCI_RET.NOT_SUPPORTED);
      const type = lo32(arg(1));
      // Architectural warm reset (0) and vendor types (bit 31) are accepted; others are invalid.
      if (type === 0n || type >= 0x80000000n) {
        p.systemReset('PSCI_SYSTEM_RESET2');
        return { name, args, results: [u64(PSCI_RET.INTERNAL_FAILURE)], outcome: HYPERCALL.STOP };
      }
      return done(PSCI_RET.INVALID_PARAMETERS);
    }
    default:
      // SYSTEM_SUSPEND (not enabled by the VMM), MIGRATE, MIGRATE_INFO_UP_CPU, and anything else.
      return done(PSCI_RET.NOT_SUPPORTED);
  }
}

/** PSCI function IDs (32- and 64-bit, functions 0..31). */
function isPsci(fid: number): boolean {
  return (fid & 0xbfffffe0) >>> 0 === 0x84000000;
}

/** The PSCI 1.x functions both KVM and Xen report through PSCI_FEATURES (as a table). */
export const PSCI_CORE_FUNCTIONS: ReadonlySet<number> = new Set(
  [
    FID.PSCI_VERSION,
    FID.CPU_SUSPEND,
    FID.CPU_SUSPEND_64,
    FID.CPU_OFF,
    FID.CPU_ON,
    FID.CPU_ON_64,
    FID.AFFINITY_INFO,
    FID.AFFINITY_INFO_64,
    FID.MIGRATE_INFO_TYPE,
    FID.SYSTEM_OFF,
    FID.SYSTEM_RESET,
    FID.PSCI_FEATURES,
    FID.SMCCC_VERSION,
  ].map((f) => f >>> 0),
);

/** KVM's PSCI_FEATURES table (PSCI 1.x); QEMU TCG lists neither SMCCC_VERSION nor SYSTEM_RESET2. */
export function psciFeatures(queried: number, opts: KvmSmcccOptions = KVM_SMCCC_DEFAULTS): bigint {
  if (opts.flavor === 'qemu-tcg' && (queried === FID.SMCCC_VERSION || queried === FID.SYSTEM_RESET2 || queried === FID.SYSTEM_RESET2_64)) {
    return PSCI_RET.NOT_SUPPORTED;
  }
  if (PSCI_CORE_FUNCTIONS.has(queried >>> 0)) return 0n;
  switch (queried >>> 0) {
    case FID.SYSTEM_RESET2:
    case FID.SYSTEM_RESET2_64:
      return opts.psciMinor >= 1 ? 0n : PSCI_RET.NOT_SUPPORTED;
    default:
      return PSCI_RET.NOT_SUPPORTED;
  }
}

function vcpuOfAffinity(aff: bigint, caller: SmcccCaller): number {
  for (let c = 0; c < caller.platform.numCpu; c++) if (caller.affinity(c) === aff) return c;
  return -1;
}

/** PSCI CPU_ON as KVM answers it (no INVALID_ADDRESS check, no ON_PENDING). */
export function cpuOn(targetAff: bigint, entry: bigint, context: bigint, caller: SmcccCaller): bigint {
  if ((targetAff & ~MPIDR_HWID_BITMASK) !== 0n) return PSCI_RET.INVALID_PARAMETERS;
  const target = vcpuOfAffinity(targetAff, caller);
  if (target < 0) return PSCI_RET.INVALID_PARAMETERS;
  if (caller.platform.powerState(target) !== 'off') return PSCI_RET.ALREADY_ON;
  caller.platform.cpuOn(target, entry, context, 'PSCI_CPU_ON');
  return PSCI_RET.SUCCESS;
}

/** PSCI AFFINITY_INFO: ON (0) if any vCPU matching the affinity at that level runs, else OFF (1). */
export function affinityInfo(targetAff: bigint, lowestLevel: bigint, caller: SmcccCaller): bigint {
  if ((targetAff & ~MPIDR_HWID_BITMASK) !== 0n) return PSCI_RET.INVALID_PARAMETERS;
  if (lowestLevel > 3n) return PSCI_RET.INVALID_PARAMETERS;
  const shift = BigInt(((1 << Number(lowestLevel)) >> 1) << 3); // 0, 8, 16, 32
  const mask = MPIDR_HWID_BITMASK & ~((1n << shift) - 1n);
  const want = targetAff & mask;
  for (let c = 0; c < caller.platform.numCpu; c++) {
    if ((caller.affinity(c) & mask) === want && caller.platform.powerState(c) !== 'off') return 0n;
  }
  return 1n;
}

function stolenTimeRecord(caller: SmcccCaller, opts: KvmSmcccOptions): bigint | undefined {
  return opts.stealTime ? caller.stolenTimeRecord?.(caller.vcpu) : undefined;
}

/**
 * KVM_PTP (KVM's vendor service, function 1): x1 = 0 for the virtual counter, 1 for the physical
 * one; x0/x1 = the wall clock's ns since 1970 (upper, lower 32 bits), x2/x3 = the counter at the
 * same instant. Anything else, or PTP not in KVM_FEATURES: NOT_SUPPORTED.
 */
function kvmPtp(caller: SmcccCaller, opts: KvmSmcccOptions): [bigint, bigint?, bigint?, bigint?] {
  const which = lo32(caller.arg(1));
  if ((opts.kvmFeatures & 2n) === 0n || !caller.ptpSnapshot || which > 1n) return [SMCCC_RET.NOT_SUPPORTED];
  const { realNs, counter } = caller.ptpSnapshot(which === 1n);
  return [(realNs >> 32n) & 0xffffffffn, realNs & 0xffffffffn, (counter >> 32n) & 0xffffffffn, counter & 0xffffffffn];
}

/** TRNG return codes (Arm DEN0098 §2.2; not the generic SMCCC ones). */
const TRNG_RET = { SUCCESS: 0n, NOT_SUPPORTED: -1n, INVALID_PARAMETER: -2n } as const;

/**
 * The SMCCC TRNG 1.0 as KVM offers it (Arm DEN0098 §2): VERSION 1.0; FEATURES 0 for its five
 * functions; GET_UUID KVM's service UUID in x0..x3; RND32/RND64 return N bits (at most 96 / 192,
 * more is INVALID_PARAMETER) right-aligned across x1..x3, the unused upper bits zero.
 */
function trngCall(fid: number, caller: SmcccCaller): [bigint, bigint?, bigint?, bigint?] {
  switch (fid) {
    case FID.TRNG_VERSION:
      return [0x10000n];
    case FID.TRNG_FEATURES: {
      const f = Number(lo32(caller.arg(1)));
      const ours =
        f === FID.TRNG_VERSION || f === FID.TRNG_FEATURES || f === FID.TRNG_GET_UUID || f === FID.TRNG_RND32 || f === FID.TRNG_RND64;
      return [ours ? TRNG_RET.SUCCESS : TRNG_RET.NOT_SUPPORTED];
    }
    case FID.TRNG_GET_UUID:
      return KVM_TRNG_UUID_WORDS.map((w) => BigInt(w)) as [bigint, bigint, bigint, bigint];
    default: {
      const rnd32 = fid === FID.TRNG_RND32;
      const bits = Number(lo32(caller.arg(1)));
      if (bits > (rnd32 ? 96 : 192)) return [TRNG_RET.INVALID_PARAMETER, 0n, 0n, 0n];
      // Whole 64-bit words as needed, lowest first; bits at and above N cleared.
      const words: bigint[] = [0n, 0n, 0n];
      for (let i = 0; i * 64 < bits; i++) words[i] = BigInt.asUintN(64, caller.entropy!());
      for (let i = 0; i < 3; i++) {
        const keep = Math.min(64, Math.max(0, bits - i * 64));
        words[i] = keep === 64 ? words[i]! : words[i]! & ((1n << BigInt(keep)) - 1n);
      }
      if (rnd32) return [TRNG_RET.SUCCESS, words[1]! & 0xffffffffn, words[0]! >> 32n, words[0]! & 0xffffffffn];
      return [TRNG_RET.SUCCESS, words[2]!, words[1]!, words[0]!];
    }
  }
}
