import { describe, expect, it } from 'vitest';
import { registerNameFor } from '../../../arch/regmaps/index.ts';
import { registerName as pl011 } from '../../../arch/regmaps/pl011.ts';
import { registerName as sbsa } from '../../../arch/regmaps/sbsa-uart.ts';
import { redistRegisterName } from '../../../arch/regmaps/gicv3.ts';
import { decodeSmccc } from '../../../arch/hypercalls/smccc.ts';
import { decodeXen } from '../../../arch/hypercalls/xen.ts';
import { psciName } from '../../../arch/hypercalls/psci.ts';

describe('register maps', () => {
  it('decode every offset inside a register, arrays with their index', () => {
    expect([0, 0x18, 0x2c, 0x2e, 0x44, 0xfe8, 0x4c].map(pl011)).toEqual(['DR', 'FR', 'LCR_H', 'LCR_H', 'ICR', 'PeriphID2', '']);
    expect([0x24, 0x30, 0x18].map(sbsa)).toEqual(['', '', 'FR']);
    expect(registerNameFor('gicv2-dist', 0x41f)).toBe('GICD_IPRIORITYR7');
    expect(registerNameFor('gicv2-cpu', 0x1000)).toBe('GICC_DIR');
    expect(registerNameFor('gicv3-dist', 0x6100 + 8 * 3 + 4)).toBe('GICD_IROUTER35');
    expect(redistRegisterName(0x40014)).toBe('GICR_WAKER');
    expect(redistRegisterName(0x10000 + 0x100)).toBe('GICR_ISENABLER0');
    expect(registerNameFor('virtio-mmio', 0x70)).toBe('Status');
    expect(registerNameFor('pl031', 0x0)).toBe('DR');
    expect(registerNameFor('no-such-model', 0)).toBe('');
  });
});

describe('hypercall tables', () => {
  it('decode SMCCC, PSCI and KVM vendor IDs', () => {
    expect(decodeSmccc(0x84000000).name).toBe('PSCI_VERSION');
    expect(decodeSmccc(0xc4000003n | (0xffffffffn << 32n)).name).toBe('PSCI_CPU_ON');
    expect(decodeSmccc(0x80000001)).toMatchObject({ name: 'SMCCC_ARCH_FEATURES', owner: 0, fast: true, is64: false });
    expect(decodeSmccc(0x8600ff01)).toMatchObject({ name: 'VENDOR_HYP_CALL_UID', ownerName: 'vendor_hyp' });
    expect(decodeSmccc(0x86000001).name).toBe('KVM_PTP');
    expect(decodeSmccc(0x8500ff01).name).toBe('STD_HYP_CALL_UID');
    expect(decodeSmccc(0x82000010).name).toBe('');
    expect(psciName(0x84000003)).toBe('PSCI_CPU_ON');
    expect(psciName(0xc4000002)).toBe('');
  });

  it('decode Xen hypercalls and sub-ops', () => {
    expect(decodeXen(12, 7)).toEqual({ name: 'memory_op', subop: 'add_to_physmap' });
    expect(decodeXen(24, 10)).toEqual({ name: 'vcpu_op', subop: 'register_vcpu_info' });
    expect(decodeXen(18, 0)).toEqual({ name: 'console_io', subop: 'write' });
    expect(decodeXen(99)).toEqual({ name: '', subop: '' });
  });
});
