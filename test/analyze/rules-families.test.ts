import { afterAll, describe, expect, it } from 'vitest';
import type { DeviceRegion, NewEvent } from '../../capture/model.ts';
import { check, selectRules, RuleSelectionError, ALL_RULES } from '../../analyze/check.ts';
import { at, call, GICC2, GICD2, GICD3, GICR3, mmio, PCIE, PL011, SBSA, tmpTraces, writeTrace } from './engine-helpers.ts';

const tmp = tmpTraces();
afterAll(() => tmp.cleanup());
let n = 0;

/** Rule ids found (with counts) in a hand-made trace. */
function findings(regions: DeviceRegion[], events: NewEvent[], opts: Parameters<typeof writeTrace>[3] = {}) {
  const r = writeTrace(tmp.file(`r${n++}.trace`), regions, events, opts);
  try {
    return check(r).findings;
  } finally {
    r.close();
  }
}
const ids = (fs: { rule: string }[]) => [...new Set(fs.map((f) => f.rule))].sort();
const BASE = [GICD3, GICR3, PCIE, PL011];

describe('UART rules', () => {
  it('line control while enabled, unlatched divisors, ICR read, 64-bit access, TX disabled', () => {
    const fs = findings(
      BASE,
      [
        mmio('mmio_write', PL011, 0x30, 0x301, 'CR'),
        mmio('mmio_write', PL011, 0x2c, 0x70, 'LCR_H'),
        mmio('mmio_write', PL011, 0x30, 0x0, 'CR'),
        mmio('mmio_write', PL011, 0x24, 13, 'IBRD'),
        mmio('mmio_write', PL011, 0x30, 0x301, 'CR'),
        mmio('mmio_read', PL011, 0x44, 0, 'ICR'),
        mmio('mmio_read', PL011, 0x18, 0, 'FR', 8),
        mmio('mmio_write', PL011, 0x30, 0x201, 'CR'),
        mmio('mmio_write', PL011, 0x0, 0x41, 'DR'),
      ],
      { source: { type: 'emulator' } },
    );
    expect(ids(fs)).toEqual([
      'uart.access-64bit',
      'uart.divisor-not-latched',
      'uart.icr-read',
      'uart.lcr-while-enabled',
      'uart.tx-disabled',
    ]);
    const lcr = fs.find((f) => f.rule === 'uart.lcr-while-enabled')!;
    expect(lcr.severity).toBe('warning');
    expect(lcr.message).toContain('LCR_H written while CR.UARTEN=1');
    expect(lcr.evidence[0]).toMatchObject({ seq: 1, vcpu: 0 });
    expect(lcr.evidence[0]!.pc).toBe('0x4008002c');
    expect(fs.find((f) => f.rule === 'uart.tx-disabled')!.message).toContain('CR.TXE is clear');
  });

  it('PL011 ID mismatch and full-PL011 registers on an SBSA UART', () => {
    const sbsaAsPl011: DeviceRegion = { ...SBSA, compatible: ['arm,pl011', 'arm,primecell'] };
    const ev: NewEvent[] = [];
    for (let i = 0; i < 4; i++)
      ev.push(mmio('mmio_read', sbsaAsPl011, 0xfe0 + 4 * i, 0, ''), mmio('mmio_read', sbsaAsPl011, 0xff0 + 4 * i, 0, ''));
    ev.push(mmio('mmio_write', sbsaAsPl011, 0x24, 13, ''));
    const fs = findings([...BASE, sbsaAsPl011], ev);
    expect(ids(fs)).toEqual(['uart.not-pl011-id', 'uart.sbsa-full-register']);
    expect(fs[0]!.rule).toBe('uart.not-pl011-id'); // errors first
    expect(fs[0]!.message).toContain('IDs read cell 0x0 periph 0x0');
    expect(fs[0]!.evidence.length).toBe(3);
  });

  it('does not judge TX on an imported trace before the guest shows CR', () => {
    const fs = findings(BASE, [mmio('mmio_write', PL011, 0, 0x41, 'DR')], { source: { type: 'import', name: 'qemu-log' } });
    expect(ids(fs)).toEqual([]);
  });
});

describe('GIC rules', () => {
  it('EOI not active / special / out of order, DIR without EOImode, ICC before SRE, redistributor before WAKER', () => {
    const sys = (name: string, write: boolean, value: bigint): NewEvent => ({
      kind: 'sysreg',
      time: at(),
      vcpu: 0,
      name,
      encoding: 0,
      write,
      value,
      outcome: 'handled',
    });
    const fs = findings(BASE, [
      sys('ICC_SRE_EL1', false, 0n),
      sys('ICC_PMR_EL1', true, 0xf0n),
      mmio('mmio_write', GICR3, 0x10100, 0xffff, 'GICR_ISENABLER0'),
      { kind: 'irq_eoi', time: at(), vcpu: 0, intid: 50, via: 'icc_sysreg' },
      { kind: 'irq_eoi', time: at(), vcpu: 0, intid: 1023, via: 'icc_sysreg' },
      { kind: 'irq_ack', time: at(), vcpu: 0, intid: 40, source_cpu: 0, via: 'icc_sysreg' },
      { kind: 'irq_ack', time: at(), vcpu: 0, intid: 41, source_cpu: 0, via: 'icc_sysreg' },
      { kind: 'irq_eoi', time: at(), vcpu: 0, intid: 40, via: 'icc_sysreg' },
      sys('ICC_DIR_EL1', true, 41n),
    ]);
    expect(ids(fs)).toEqual([
      'gic.dir-without-eoimode',
      'gic.eoi-not-active',
      'gic.eoi-out-of-order',
      'gic.eoi-special',
      'gic.icc-before-sre',
      'gic.redist-before-waker',
    ]);
    expect(fs.find((f) => f.rule === 'gic.eoi-out-of-order')!.message).toContain('INTID 41 (acknowledged later)');
  });

  it('an LPI acknowledged and EOId is no finding (LPIs have no active state); EOI of one never acknowledged is', () => {
    const lpi = (kind: 'irq_ack' | 'irq_eoi', intid: number): NewEvent =>
      kind === 'irq_ack'
        ? { kind, time: at(), vcpu: 0, intid, source_cpu: 0, via: 'icc_sysreg' }
        : { kind, time: at(), vcpu: 0, intid, via: 'icc_sysreg' };
    const sre = {
      kind: 'sysreg',
      time: at(),
      vcpu: 0,
      name: 'ICC_SRE_EL1',
      encoding: 0,
      write: true,
      value: 7n,
      outcome: 'handled',
    } as const;
    expect(ids(findings(BASE, [sre, lpi('irq_ack', 8193), lpi('irq_ack', 8196), lpi('irq_eoi', 8196), lpi('irq_eoi', 8193)]))).toEqual([]);
    expect(ids(findings(BASE, [sre, lpi('irq_ack', 8193), lpi('irq_eoi', 8193), lpi('irq_eoi', 8193)]))).toEqual(['gic.eoi-not-active']);
  });

  it('GICv2 SPI enabled with no target, and a pending interrupt never acknowledged while others are', () => {
    const fs = findings(
      [GICD2, GICC2, PCIE, PL011],
      [
        mmio('mmio_write', GICD2, 0x104, 0x6, 'GICD_ISENABLER1'),
        mmio('mmio_write', GICD2, 0x820, 0x0000, 'GICD_ITARGETSR8'),
        mmio('mmio_write', GICD2, 0x821, 0x01, 'GICD_ITARGETSR8', 1),
        { kind: 'irq_line', time: at(), vcpu: -1, intid: 34, level: 1, trigger: 'level', source: 'rtc' },
        { kind: 'irq_line', time: at(), vcpu: -1, intid: 33, level: 1, trigger: 'level', source: 'uart' },
        { kind: 'irq_ack', time: at(), vcpu: 0, intid: 33, source_cpu: 0, via: 'gicc_mmio' },
      ],
    );
    expect(ids(fs)).toEqual(['gic.never-acked', 'gic.spi-no-target']);
    expect(fs.find((f) => f.rule === 'gic.spi-no-target')!.message).toContain('SPI 34 is enabled but its GICD_ITARGETSR byte is 0');
    expect(fs.find((f) => f.rule === 'gic.never-acked')!.message).toContain('INTID 34 (rtc)');
  });
});

describe('GIC rules: priority mask and trigger configuration', () => {
  it('PMR left at 0 with interrupts enabled, SPI configured level but driven as an edge', () => {
    const fs = findings(BASE, [
      { kind: 'vcpu_state', time: at(), vcpu: -1, state: 'on', target: 0, entry: 0x40080000n, context: 0n, reason: 'boot' },
      { kind: 'sysreg', time: at(), vcpu: 0, name: 'ICC_PMR_EL1', encoding: 0, write: true, value: 0n, outcome: 'handled' },
      mmio('mmio_write', GICR3, 0x14, 0, 'GICR_WAKER'),
      mmio('mmio_write', GICD3, 0x6100 + 8 * 8, 0, 'GICD_IROUTER40', 8),
      mmio('mmio_write', GICD3, 0x104, 0x100, 'GICD_ISENABLER1'),
      mmio('mmio_write', GICD3, 0xc08, 0, 'GICD_ICFGR2'),
      { kind: 'irq_line', time: at(), vcpu: -1, intid: 40, level: 1, trigger: 'edge', source: 'virtio' },
    ]);
    expect(ids(fs)).toEqual(['gic.bad-trigger', 'gic.pmr-zero']); // the trace ends right after the assertion: not judged
    expect(fs.find((f) => f.rule === 'gic.pmr-zero')!.message).toContain("vCPU 0's priority mask is 0");
    expect(fs.find((f) => f.rule === 'gic.bad-trigger')!.message).toContain(
      'INTID 40 is configured level-triggered but virtio drives it edge-triggered',
    );
  });
});

describe('gic.redist-before-waker judges against the machine the trace comes from', () => {
  // EDK2 programs the SGI frame (ICENABLER0, IPRIORITYR0) and never touches GICR_WAKER.
  const edk2 = () => [
    mmio('mmio_write', GICR3, 0x10180, 0xffffffff, 'GICR_ICENABLER0'),
    mmio('mmio_write', GICR3, 0x10400, 0x80808080, 'GICR_IPRIORITYR0'),
  ];
  const waker = (fs: { rule: string; message: string; count: number }[]) => fs.filter((f) => f.rule === 'gic.redist-before-waker');

  it("KVM's and Xen's vGICv3 (WAKER RAZ/WI): awake from reset, nothing to judge", () => {
    expect(waker(findings(BASE, edk2(), { source: { type: 'emulator', name: 'kvm' } }))).toEqual([]);
    expect(waker(findings(BASE, edk2(), { source: { type: 'emulator', name: 'xen' } }))).toEqual([]);
    expect(waker(findings(BASE, edk2(), { source: { type: 'import', name: 'ftrace' } }))).toEqual([]);
  });

  it("QEMU TCG's GICv3 (an imported QEMU log) resets the redistributor asleep: the same writes are the error", () => {
    const fs = waker(findings(BASE, edk2(), { source: { type: 'import', name: 'qemu-log' } }));
    expect(fs.map((f) => f.count)).toEqual([2]);
    expect(fs[0]!.message).toContain("QEMU TCG's GICv3 resets ProcessorSleep to 1 and nothing cleared it");
  });

  it('what the trace reads wins over the assumed reset: a kvm trace that reads ProcessorSleep = 1 (recorded before WAKER was RAZ/WI)', () => {
    const asleep = [mmio('mmio_read', GICR3, 0x14, 6, 'GICR_WAKER'), ...edk2()];
    expect(waker(findings(BASE, asleep, { source: { type: 'emulator', name: 'kvm' } })).map((f) => f.message)).toEqual([
      expect.stringContaining('(ProcessorSleep was 1)'),
    ]);
    const woken = [mmio('mmio_read', GICR3, 0x14, 6, 'GICR_WAKER'), mmio('mmio_write', GICR3, 0x14, 4, 'GICR_WAKER'), ...edk2()];
    expect(waker(findings(BASE, woken, { source: { type: 'emulator', name: 'kvm' } }))).toEqual([]);
    // A guest putting a redistributor to sleep on a machine where that means something.
    const slept = [mmio('mmio_write', GICR3, 0x14, 0, 'GICR_WAKER'), mmio('mmio_write', GICR3, 0x14, 2, 'GICR_WAKER'), ...edk2()];
    expect(waker(findings(BASE, slept, { source: { type: 'import', name: 'qemu-log' } })).map((f) => f.count)).toEqual([2]);
    expect(waker(findings(BASE, slept, { source: { type: 'emulator', name: 'kvm' } }))).toEqual([]);
  });
});

describe('PSCI/SMCCC rules', () => {
  it('immediate, reserved bits, CPU_ON targets, NOT_SUPPORTED functions, return codes', () => {
    const fs = findings(BASE, [
      { kind: 'vcpu_state', time: at(), vcpu: -1, state: 'on', target: 0, entry: 0x40080000n, context: 0n, reason: 'boot' },
      call('PSCI_VERSION', 0x84000000, [], [0x10001n], 1),
      call('', 0x84020000),
      call('PSCI_FEATURES', 0x8400000a, [0xc400000en], [BigInt.asUintN(64, -1n)]),
      call('PSCI_SYSTEM_SUSPEND', 0xc400000e, [], [BigInt.asUintN(64, -1n)]),
      call('PSCI_CPU_ON', 0xc4000003, [0x7n, 0x40080000n, 0n], [BigInt.asUintN(64, -2n)]),
      call('PSCI_CPU_ON', 0xc4000003, [0x0n, 0x40080000n, 0n], [BigInt.asUintN(64, -4n)]),
      call('PSCI_CPU_OFF', 0x84000002, [], [5n]),
    ]);
    expect(ids(fs)).toEqual([
      'psci.after-not-supported',
      'psci.bad-return',
      'psci.cpu-on-unknown',
      'smccc.nonzero-imm',
      'smccc.reserved-bits',
    ]);
    const on = fs.filter((f) => f.rule === 'psci.cpu-on-unknown').map((f) => f.message);
    expect(on[0]).toContain('names no vCPU of this 2-vCPU machine (returned INVALID_PARAMETERS)');
    expect(on[1]).toContain('already on');
  });
});

describe('Xen ABI rules', () => {
  it('wrong immediate, x86-only hypercalls, undefined sub-operations', () => {
    const fs = findings(
      BASE,
      [
        call('console_io', 18, [0n, 3n, 0n], [0n], 0xea1),
        call('sched_op', 29, [1n], [0n], 0xea0),
        call('set_timer_op', 15, [0n], [BigInt.asUintN(64, -38n)], 0xea1),
        call('event_channel_op', 32, [99n], [0n], 0xea1),
      ],
      { source: { name: 'xen' } },
    );
    expect(ids(fs)).toEqual(['xen.hvc-imm', 'xen.malformed-args', 'xen.not-on-arm']);
    expect(fs.find((f) => f.rule === 'xen.not-on-arm')!.message).toContain(
      'set_timer_op (number 15) is not in the Arm hypercall table and returned -ENOSYS',
    );
  });
});

describe('VM spec and boot protocol rules', () => {
  it('no console, no GIC, no hotplug bus, undescribed MMIO without a DTB', () => {
    const fs = findings(
      [],
      [{ kind: 'mmio_read', time: at(), vcpu: 0, addr: 0x1c090000, size: 4, value: 0n, device: '', register: '', outcome: 'unassigned' }],
    );
    expect(ids(fs)).toEqual(['vmspec.console', 'vmspec.gic', 'vmspec.hotplug-bus', 'vmspec.undescribed-mmio']);
  });

  it('physical timer used instead of the virtual one', () => {
    const fs = findings(BASE, [{ kind: 'timer', time: at(), vcpu: 0, timer: 'phys', op: 'ctl', value: 1n }]);
    expect(ids(fs)).toEqual(['vmspec.vtimer']);
    expect(fs[0]!.message).toContain('armed the EL1 physical timer but never the virtual timer');
  });

  it('GICv2 with more than 8 vCPUs', () => {
    const fs = findings([GICD2, GICC2, PCIE, PL011], [], { source: { config: { smp: 9 } } });
    expect(fs.map((f) => f.message)).toContain('GICv2 with 9 vCPUs; GICv2 addresses at most 8 CPUs. Use GICv3 or at most 8 vCPUs.');
  });

  it('DTB alignment, x0 at entry, Image placement, secondaries started at boot', () => {
    const fs = findings(
      BASE,
      [
        { kind: 'vcpu_state', time: at(), vcpu: -1, state: 'on', target: 0, entry: 0x40090000n, context: 0n, reason: 'boot' },
        { kind: 'vcpu_state', time: at(), vcpu: -1, state: 'on', target: 1, entry: 0x40090000n, context: 0n, reason: 'boot' },
      ],
      { extra: { boot: { image: 'linux', entry: 0x40090000, dtbAddr: 0x48000004 } } },
    );
    expect(ids(fs)).toEqual(['boot.dtb-alignment', 'boot.image-placement', 'boot.registers', 'boot.secondaries-off']);
    expect(fs.find((f) => f.rule === 'boot.registers')!.message).toBe(
      'x0 at entry was 0x0, not the DTB address 0x48000004; the loader must pass the DTB in x0.',
    );
  });
});

describe('rule selection', () => {
  it('takes ids, globs and family names', () => {
    expect([...selectRules('gic.eoi-*')].sort()).toEqual(['gic.eoi-not-active', 'gic.eoi-out-of-order', 'gic.eoi-special']);
    expect([...selectRules('xen-abi')].length).toBe(3);
    expect(selectRules(undefined).size).toBe(ALL_RULES.length);
  });

  it('rejects a pattern that matches nothing, naming it', () => {
    expect(() => selectRules('gic.*,nosuch')).toThrow(RuleSelectionError);
    expect(() => selectRules('nosuch')).toThrow(
      "--rules: 'nosuch' matches no rule (families: uart, gic, psci-smccc, xen-abi, vm-spec, boot-protocol, acpi, virtio, pci, its, xenbus, xenstore, blkif; see docs/rules.md)",
    );
  });

  it('every rule id is unique and has a clause', () => {
    expect(new Set(ALL_RULES.map((r) => r.id)).size).toBe(ALL_RULES.length);
    for (const r of ALL_RULES) expect(r.clause.length).toBeGreaterThan(10);
  });
});

describe('virtio rules', () => {
  const VBLK: DeviceRegion = { name: 'virtio-blk@00:01.0', model: 'virtio-blk-pci', role: 'virtio', base: 0x8000000000, size: 0x4000 };
  const st = (v: number) => mmio('mmio_write', VBLK, 0x14, v, 'BAR4+0x14 device_status', 1);
  const rd = (v: number) => mmio('mmio_read', VBLK, 0x14, v, 'BAR4+0x14 device_status', 1);
  const feat = (sel: number, v: number) => [
    mmio('mmio_write', VBLK, 0x8, sel, 'BAR4+0x8 driver_feature_select'),
    mmio('mmio_write', VBLK, 0xc, v, 'BAR4+0xc driver_feature'),
  ];
  const enable = mmio('mmio_write', VBLK, 0x1c, 1, 'BAR4+0x1c queue_enable', 2);
  const notify = mmio('mmio_write', VBLK, 0x3000, 0, 'BAR4+0x3000 notify.q0', 2);

  it('the sequence Linux 6.1 follows (reset, ACKNOWLEDGE, DRIVER, features with VERSION_1, FEATURES_OK re-read, queues, DRIVER_OK, notify) has no finding', () => {
    const fs = findings(
      [...BASE, VBLK],
      [st(0), st(1), st(3), ...feat(0, 0x30006054), ...feat(1, 0x101), st(11), rd(11), enable, st(15), notify],
    );
    expect(ids(fs)).toEqual([]);
  });

  it('out of order, FEATURES_OK not re-read, no VERSION_1, a queue after DRIVER_OK, a notify before it', () => {
    const fs = findings([...BASE, VBLK], [st(0), notify, st(2), ...feat(1, 0), st(11), st(15), enable]);
    expect(ids(fs)).toEqual([
      'virtio.features-ok-not-reread',
      'virtio.no-version-1',
      'virtio.notify-before-driver-ok',
      'virtio.queue-after-driver-ok',
      'virtio.status-order',
    ]);
    expect(fs.find((f) => f.rule === 'virtio.status-order')!.message).toBe(
      'virtio-blk@00:01.0: status 0x2 sets DRIVER without ACKNOWLEDGE.',
    );
  });
});

describe('docs/rules.md', () => {
  it('lists every rule with its severity and clause', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../../docs/rules.md', import.meta.url), 'utf8');
    for (const r of ALL_RULES) expect(doc).toContain(`| \`${r.id}\` | ${r.severity} | ${r.clause.replace(/\|/g, '\\|')} |`);
  });
});
