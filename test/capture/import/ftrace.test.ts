import { describe, expect, it } from 'vitest';
import { ofKind, parse } from './helpers.ts';

const L = (lines: string[]) => lines.join('\n') + '\n';

const TRACEFS_HEADER = [
  '# tracer: nop',
  '#',
  '# entries-in-buffer/entries-written: 7/7   #P:4',
  '#',
  '#                                _-----=> irqs-off/BH-disabled',
  '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
  '#              | |         |   |||||     |         |',
];

describe('ftrace text', () => {
  it('reads tracefs lines with 5 flag characters and a comm with spaces', () => {
    const r = parse(
      'ftrace',
      L([
        ...TRACEFS_HEADER,
        ' CPU 0/KVM-4123 [002] ..... 1234.500001: kvm_entry: PC: 0xffff800080a1b2c0',
        ' CPU 0/KVM-4123 [002] ..... 1234.500004: kvm_exit: TRAP: HSR_EC: 0x0016 (HVC64), PC: 0xffff800080a1b2c4',
        ' CPU 0/KVM-4123 [002] ..... 1234.500005: kvm_hvc_arm64: HVC at 0xffff800080a1b2c4 (r0: 0x00000000c4000003, imm: 0x0)',
        ' CPU 0/KVM-4123 [002] ..... 1234.500021: kvm_mmio: mmio write len 4 gpa 0x9000000 val 0x48',
        ' CPU 0/KVM-4123 [002] ..... 1234.500030: kvm_userspace_exit: reason KVM_EXIT_MMIO (6)',
        ' CPU 1/KVM-4124 [003] ..... 1234.600100: kvm_exit: IRQ: HSR_EC: 0x0000 (UNKNOWN), PC: 0xffff80008001d2e8',
        ' qemu-system-aar-4120 [001] ..... 1234.700000: kvm_irq_line: Inject VGIC SPI interrupt (1), vcpu->idx: 0, num: 33, level: 1',
      ]),
    );
    expect(r.stats.header).toBe(7);
    expect(r.extra.ftraceFlags).toBe(5);
    expect(r.extra.ftraceHeader).toEqual({ tracer: 'nop' });
    expect(r.events.map((e) => e.kind)).toEqual(['exception', 'hypercall', 'mmio_write', 'console', 'exception', 'irq_line']);
    const [exit, hvc, mmio, cons, irqExit, line] = r.events;
    expect(exit).toMatchObject({ vcpu: 0, ec: 0x16, esr: 0x16 << 26, pc: 0xffff800080a1b2c4n, time: 3000, src_line: 9 });
    expect(exit && 'detail' in exit && exit.detail).toMatch(/HVC64/);
    expect(hvc).toMatchObject({ name: 'PSCI_CPU_ON', func: 0xc4000003, imm: 0, conduit: 'hvc' });
    expect(mmio).toMatchObject({ addr: 0x9000000, device: 'pl011@9000000', register: 'DR', value: 0x48n, size: 4 });
    expect(cons).toMatchObject({ bytes: Uint8Array.of(0x48) });
    expect(irqExit).toMatchObject({ vcpu: 1, ec: 0 });
    expect(line).toMatchObject({ intid: 33, level: 1, vcpu: -1, source: 'pl011@9000000' });
    expect(r.extra.userspaceExits).toEqual({ KVM_EXIT_MMIO: 1 });
    expect(r.extra.clockStartNs).toBe('1234500001000');
  });

  it('reads 4-flag lines and the record-tgid column', () => {
    const r = parse(
      'ftrace',
      L([
        '  CPU 2/KVM-9001  ( 8990) [001] d... 100.000001: kvm_wfx_arm64: guest executed wfi at: 0xffff800008010000',
        '  CPU 2/KVM-9001  ( 8990) [001] d... 100.000002: kvm_wfx_arm64: guest executed wfe at: 0xffff800008010004',
      ]),
    );
    expect(r.extra.ftraceFlags).toBe(4);
    expect(ofKind(r.events, 'wfx').map((e) => [e.wfe, e.vcpu, e.pc])).toEqual([
      [false, 2, 0xffff800008010000n],
      [true, 2, 0xffff800008010004n],
    ]);
  });

  it("gives a WFx the time until its vCPU's next kvm_entry, keeping event order", () => {
    const r = parse(
      'ftrace',
      L([
        ' CPU 0/KVM-10 [000] ..... 1.000000: kvm_wfx_arm64: guest executed wfi at: 0xffff800008010000',
        ' CPU 1/KVM-11 [001] ..... 1.000100: kvm_mmio: mmio write len 4 gpa 0x9000000 val 0x41',
        ' CPU 0/KVM-10 [000] ..... 1.000500: kvm_entry: PC: 0xffff800008010004',
      ]),
    );
    expect(r.events.map((e) => e.kind)).toEqual(['wfx', 'mmio_write', 'console']);
    expect(r.events[0]).toMatchObject({ slept: 500000, vcpu: 0, time: 0 });
    expect(r.events[1]).toMatchObject({ time: 100000, vcpu: 1 });
  });

  it('reads trace-cmd report output (header, no flags, padded event column, ns timestamps)', () => {
    const r = parse(
      'ftrace',
      L([
        'version = 6',
        'cpus=4',
        'CPU 3 is empty',
        '       CPU 1/KVM-2931  [001]  3171.776631: kvm_timer_update_irq: VCPU: 1, IRQ 27, level 1',
        '       CPU 1/KVM-2931  [001]  3171.776700: vgic_update_irq_pending: VCPU: 1, IRQ 27, level: 0',
        '       CPU 1/KVM-2931  [001]  3171.776700123: kvm_sys_access:       PC: ffff800008123456 ICC_SGI1R_EL1 (3,0,12,11,5) write',
        '       CPU 1/KVM-2931  [001]  3171.776800: kvm_guest_fault:      ipa 0x9000000, hsr 0x93c08006, hxfar 0xffff7dfffe600000, pc 0xffff800008a00000',
        '       CPU 1/KVM-2931  [001]  3171.776900: sched_switch:         CPU 1/KVM:2931 [120] S ==> swapper/1:0 [120]',
      ]),
    );
    expect(r.extra.ftraceHeader).toEqual({ version: '6', cpus: '4' });
    expect(r.extra.ftraceFlags).toBe(0);
    expect(r.stats.header).toBe(3);
    const [timer, vgic, sys, fault] = r.events;
    expect(timer).toMatchObject({ kind: 'irq_line', intid: 27, level: 1, vcpu: 1, source: 'timer_virt' });
    expect(vgic).toMatchObject({ kind: 'irq_line', intid: 27, level: 0, vcpu: 1 });
    expect(sys).toMatchObject({
      kind: 'sysreg',
      name: 'ICC_SGI1R_EL1',
      write: true,
      encoding: (3 << 14) | (12 << 7) | (11 << 3) | 5,
      outcome: 'trapped',
      time: 69123,
    });
    expect(fault).toMatchObject({ kind: 'exception', ec: 0x24, esr: 0x93c08006, far: 0xffff7dfffe600000n });
    expect(r.stats.unmapped).toEqual({ sched_switch: 1 });
    expect(r.stats.lines).toBe(r.stats.parsed + 1 + r.stats.header + r.stats.blank + r.stats.bad);
  });

  it('finishes an unsatisfied read with its value and keeps kvm_entry as context only', () => {
    const r = parse(
      'ftrace',
      L([
        ' CPU 0/KVM-1-1 [000] ..... 1.000000: kvm_mmio: mmio unsatisfied-read len 4 gpa 0x9000018 val 0x0',
        ' CPU 0/KVM-1-1 [000] ..... 1.000001: kvm_mmio: mmio read len 4 gpa 0x9000018 val 0x90',
        ' CPU 0/KVM-1-1 [000] ..... 1.000002: kvm_entry: PC: 0xffff800080a1b2c0',
      ]),
    );
    expect(r.events).toHaveLength(1);
    expect(r.events[0]).toMatchObject({ kind: 'mmio_read', register: 'FR', value: 0x90n, vcpu: 0 });
    expect(r.stats.parsed).toBe(3);
  });

  it('reports a line it cannot split, with its number', () => {
    const r = parse('ftrace', L(['# tracer: nop', ' CPU 0/KVM-4123 [002] ..... 1.000001: kvm_entry: PC: 0x1', 'this is not ftrace']));
    expect(r.stats.bad).toBe(1);
    expect(r.stats.badSamples[0]).toMatchObject({ line: 3 });
    expect(() =>
      parse('ftrace', L([' CPU 0/KVM-4123 [002] ..... 1.000001: kvm_entry: PC: 0x1', 'this is not ftrace']), { strict: true }),
    ).toThrow(/:2: not an ftrace line/);
  });
});
