// SMCCC function IDs (Arm DEN0028, SMC Calling Convention: 'Function Identifier'; docs/arch.md): field decoding,
// the Arm-architecture, standard-service and KVM vendor-hypervisor calls, and PSCI.
import { psciName } from './psci.ts';

export const SMCCC_OWNERS: Readonly<Record<number, string>> = {
  0: 'arch',
  1: 'cpu',
  2: 'sip',
  3: 'oem',
  4: 'std_secure',
  5: 'std_hyp',
  6: 'vendor_hyp',
};

/** Named SMCCC calls other than PSCI (PSCI comes from psci.ts). */
export const SMCCC_CALLS: Readonly<Record<number, string>> = {
  0x80000000: 'SMCCC_VERSION',
  0x80000001: 'SMCCC_ARCH_FEATURES',
  0x80000002: 'SMCCC_ARCH_SOC_ID',
  0x80008000: 'SMCCC_ARCH_WORKAROUND_1',
  0x80007fff: 'SMCCC_ARCH_WORKAROUND_2',
  0x80003fff: 'SMCCC_ARCH_WORKAROUND_3',
  0x84000050: 'TRNG_VERSION',
  0x84000051: 'TRNG_FEATURES',
  0x84000052: 'TRNG_GET_UUID',
  0x84000053: 'TRNG_RND32',
  0xc4000053: 'TRNG_RND64',
  0x8400ff01: 'STD_SECURE_CALL_UID',
  0xc5000020: 'PV_TIME_FEATURES',
  0xc5000021: 'PV_TIME_ST',
  0x8500ff00: 'STD_HYP_CALL_COUNT',
  0x8500ff01: 'STD_HYP_CALL_UID',
  0x8500ff03: 'STD_HYP_REVISION',
  // KVM vendor-specific hypervisor service (owner 6).
  0x8600ff01: 'VENDOR_HYP_CALL_UID',
  0x86000000: 'KVM_FEATURES',
  0x86000001: 'KVM_PTP',
  0xc6000002: 'KVM_HYP_MEMINFO',
  0xc6000003: 'KVM_MEM_SHARE',
  0xc6000004: 'KVM_MEM_UNSHARE',
  0xc6000007: 'KVM_MMIO_GUARD',
  0xc6000040: 'KVM_DISCOVER_IMPL_VER',
  0xc6000041: 'KVM_DISCOVER_IMPL_CPUS',
  0x8600007f: 'KVM_FEATURES_2',
};

/** UUID words KVM returns for VENDOR_HYP_CALL_UID in x0..x3. */
export const KVM_UID_WORDS = [0xb66fb428, 0xe911c52e, 0x564bcaa9, 0x743a004d] as const;

/**
 * TRNG_GET_UUID's answer from KVM: its TRNG service's UUID 0d21e000-4384-11eb-8070-5244554e5a4c,
 * bytes in RFC 4122 order read as four little-endian 32-bit words (Arm DEN0098 §2.4).
 */
export const KVM_TRNG_UUID_WORDS = [0x00e0210d, 0xeb118443, 0x44527080, 0x4c5a4e55] as const;

export const SMCCC_RETURN: Readonly<Record<number, string>> = {
  0: 'SUCCESS',
  [-1]: 'NOT_SUPPORTED',
  [-2]: 'NOT_REQUIRED',
  [-3]: 'INVALID_PARAMETER',
};

export interface SmcccDecoded {
  /** Decoded name, e.g. PSCI_CPU_ON, SMCCC_VERSION ('' if unknown). */
  name: string;
  /** Fast call (bit 31). */
  fast: boolean;
  /** SMC64/HVC64 convention (bit 30). */
  is64: boolean;
  /** Owning entity number (bits 29:24) and its short name. */
  owner: number;
  ownerName: string;
  /** Function number (bits 15:0). */
  number: number;
}

/** Decode a function ID (only W0 counts: the upper half of X0 is ignored). */
export function decodeSmccc(func: number | bigint): SmcccDecoded {
  const fid = Number(BigInt.asUintN(32, BigInt(func)));
  const fast = fid >= 0x80000000;
  const owner = (fid >>> 24) & 0x3f;
  const number = fid & 0xffff;
  // SMCCC 1.3: bit 16 is the SVE live-state hint; it does not change which call this is.
  const base = (fid & ~0x10000) >>> 0;
  let name = psciName(base) || SMCCC_CALLS[base] || '';
  if (!name && fast && number >= 0xff00) name = ['CALL_COUNT', 'CALL_UID', '', 'REVISION'][number - 0xff00] ?? '';
  if (name.startsWith('CALL_') || name === 'REVISION') name = `${(SMCCC_OWNERS[owner] ?? 'owner' + owner).toUpperCase()}_${name}`;
  return {
    name,
    fast,
    is64: (fid & 0x40000000) !== 0,
    owner,
    ownerName: fast ? (SMCCC_OWNERS[owner] ?? (owner >= 50 ? 'trusted_os' : owner >= 48 ? 'trusted_app' : 'reserved')) : 'yielding',
    number,
  };
}

/** Just the name ('' if unknown). */
export function smcccName(func: number | bigint): string {
  return decodeSmccc(func).name;
}
