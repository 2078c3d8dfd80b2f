// PSCI/SMCCC answers: the same calls on QEMU 7.2 TCG and on emu/cpu with the kvm personality in
// its 'qemu-tcg' flavor must agree; the default 'kvm' flavor differs exactly where KVM does.
import { describe, expect, it } from 'vitest';
import { assembleRaw, runOnEmu, runOnQemu } from '../../helpers/qemu-harness.ts';

const call = (fid: string, args: string[], r: number) =>
  `  ldr x0, =${fid}\n${args.map((a, i) => `  ldr x${i + 1}, =${a}`).join('\n')}\n  hvc #0\n  mov x${r}, x0\n`;

const CALLS: [string, string, string[]][] = [
  ['PSCI_VERSION', '0x84000000', []],
  ['MIGRATE_INFO_TYPE', '0x84000006', []],
  ['PSCI_FEATURES(SMCCC_VERSION)', '0x8400000a', ['0x80000000']],
  ['PSCI_FEATURES(CPU_SUSPEND64)', '0x8400000a', ['0xc4000001']],
  ['PSCI_FEATURES(SYSTEM_RESET2_64)', '0x8400000a', ['0xc4000012']],
  ['PSCI_FEATURES(bogus)', '0x8400000a', ['0x12345']],
  ['AFFINITY_INFO(0, 0)', '0xc4000004', ['0', '0']],
  ['CPU_ON(unknown MPIDR)', '0xc4000003', ['5', '0x40080000', '0']],
  ['CPU_ON(self)', '0xc4000003', ['0', '0x40080000', '0']],
  ['MIGRATE_INFO_UP_CPU', '0x84000007', []],
  ['SYSTEM_SUSPEND64', '0xc400000e', ['0x40080000', '0']],
  ['SMCCC_VERSION', '0x80000000', []],
  ['SMCCC_ARCH_FEATURES(WORKAROUND_1)', '0x80000001', ['0x80008000']],
  ['VENDOR_HYP_CALL_UID', '0x8600ff01', []],
  ['TRNG_VERSION', '0x84000050', []],
  ['owner-6 unknown', '0xc600ff00', []],
];

const snippet = CALLS.map(([, fid, args], i) => call(fid, args, 10 + i)).join('');
const pick = (regs: bigint[]) => Object.fromEntries(CALLS.map(([name], i) => [name, '0x' + regs[9 + i]!.toString(16)]));

describe('PSCI/SMCCC flavors against QEMU 7.2 TCG', () => {
  const { bin } = assembleRaw(snippet);
  const qemu = pick(runOnQemu(bin, 2, 25, 2));

  it("'qemu-tcg' answers as QEMU TCG does", () => {
    expect(pick(runOnEmu(bin, 2, 25, 2, { smccc: { flavor: 'qemu-tcg' } }))).toEqual(qemu);
  });

  it("'kvm' differs only where KVM answers otherwise", () => {
    const kvm = pick(runOnEmu(bin, 2, 25, 2));
    const diff = Object.keys(kvm).filter((k) => kvm[k] !== qemu[k]);
    expect(diff).toEqual([
      'PSCI_FEATURES(SMCCC_VERSION)',
      'PSCI_FEATURES(SYSTEM_RESET2_64)',
      'SMCCC_VERSION',
      'VENDOR_HYP_CALL_UID',
      'TRNG_VERSION',
    ]);
    expect(kvm['SMCCC_VERSION']).toBe('0x10001');
  });
});
