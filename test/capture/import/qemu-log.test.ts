import { describe, expect, it } from 'vitest';
import { ofKind, parse } from './helpers.ts';

const L = (lines: string[]) => lines.join('\n') + '\n';

describe('QEMU log: timestamp forms', () => {
  it('reads lines with no timestamp; time is the line number', () => {
    const r = parse('qemu-log', L(['pl011_write addr 0x00000000 value 0x00000041', '', 'pl011_write addr 0x00000000 value 0x00000042']));
    const w = ofKind(r.events, 'mmio_write');
    expect(w.map((e) => [e.time, e.src_line])).toEqual([
      [1, 1],
      [3, 3],
    ]);
    expect(r.clock.source).toMatch(/^none: /);
    expect(r.stats.blank).toBe(1);
  });

  it('reads TID@SEC.USEC: lines; time in ns from the first line, absolute start kept', () => {
    const r = parse(
      'qemu-log',
      L([
        '12638@1582277983.168226:pl011_read addr 0x00000018 value 0x00000010',
        '12638@1582277983.168300:pl011_read addr 0x00000018 value 0x00000090',
      ]),
    );
    const ev = ofKind(r.events, 'mmio_read');
    expect(ev.map((e) => e.time)).toEqual([0, 74000]);
    expect(r.extra.clockStartNs).toBe('1582277983168226000');
    expect(r.extra.qemuClockForm).toBe('tid-sec-usec');
    expect(ev[0]).toMatchObject({ addr: 0x9000018, register: 'FR', value: 0x10n, device: 'pl011@9000000' });
  });

  it('reads ISO-8601 lines with and without a fraction (QEMU ≥ 10.1)', () => {
    const r = parse(
      'qemu-log',
      L([
        '2025-07-21T18:43:28.089797Z pl011_write addr 0x038 value 0x00000050 reg IMSC',
        '2025-07-21T18:43:29Z pl011_write addr 0x038 value 0x00000000 reg IMSC',
        '2025-07-21T18:44:00.5Z pl011_write addr 0x030 value 0x00000301 reg CR',
      ]),
    );
    const w = ofKind(r.events, 'mmio_write');
    expect(w.map((e) => e.time)).toEqual([0, 910203000, 32410203000]);
    expect(r.extra.clockStartNs).toBe(String(BigInt(Date.UTC(2025, 6, 21, 18, 43, 28)) * 1000000n + 89797000n));
    expect(w.map((e) => e.register)).toEqual(['IMSC', 'IMSC', 'CR']);
  });

  it('never lets time go backwards (threads stamp before taking the log lock)', () => {
    const r = parse(
      'qemu-log',
      L(['1@100.000010:pl011_read addr 0x00000018 value 0x00000010', '2@100.000005:pl011_read addr 0x00000018 value 0x00000010']),
    );
    expect(r.events.map((e) => e.time)).toEqual([0, 0]);
  });
});

describe('QEMU log: PL011 and the console', () => {
  it('reads the pre-8.1 form and the form with "reg NAME" alike', () => {
    const a = parse('qemu-log', L(['pl011_write addr 0x0000002c value 0x00000070']));
    const b = parse('qemu-log', L(['pl011_write addr 0x02c value 0x00000070 reg LCRH']));
    for (const r of [a, b])
      expect(ofKind(r.events, 'mmio_write')[0]).toMatchObject({
        addr: 0x900002c,
        register: 'LCR_H',
        value: 0x70n,
        device: 'pl011@9000000',
      });
  });

  it('turns every DR write into a console byte right after the MMIO event', () => {
    const r = parse('qemu-log', L(['pl011_write addr 0x000 value 0x00000068 reg DR', 'pl011_write addr 0x000 value 0x00000069 reg DR']));
    expect(r.events.map((e) => e.kind)).toEqual(['mmio_write', 'console', 'mmio_write', 'console']);
    const bytes = ofKind(r.events, 'console').map((e) => e.bytes[0]);
    expect(String.fromCharCode(...(bytes as number[]))).toBe('hi');
    expect(ofKind(r.events, 'console')[0]).toMatchObject({ port: 'pl011@9000000', src_line: 1 });
  });

  it('maps pl011_irq_state to the UART interrupt line', () => {
    const r = parse('qemu-log', L(['pl011_irq_state irq state 1']));
    expect(r.events[0]).toMatchObject({ kind: 'irq_line', intid: 33, level: 1, source: 'pl011@9000000' });
  });
});

describe('QEMU log: merging a device line and a memory_region_ops line', () => {
  const W = (v: string) => `1@1.000001:memory_region_ops_write cpu 0 mr 0x55 addr 0x9000000 value 0x${v} size 1 name 'pl011'`;
  const D = (v: string) => `1@1.000002:pl011_write addr 0x00000000 value 0x000000${v}`;
  const RD = `1@1.000003:pl011_read addr 0x00000018 value 0x00000090`;
  const RO = `1@1.000004:memory_region_ops_read cpu 1 mr 0x55 addr 0x9000018 value 0x90 size 4 name 'pl011'`;

  it('stores one event per access: ops line before the device line for writes, after it for reads', () => {
    const r = parse('qemu-log', L([W('41'), D('41'), RD, RO, W('42'), D('42'), RD, RO]));
    expect(r.events.map((e) => e.kind)).toEqual(['mmio_write', 'console', 'mmio_read', 'mmio_write', 'console', 'mmio_read']);
    expect(r.stats.merged).toBe(4);
    const w = ofKind(r.events, 'mmio_write')[0]!;
    expect(w).toMatchObject({ size: 1, vcpu: 0, src_line: 1, register: 'DR' });
    const rd = ofKind(r.events, 'mmio_read')[0]!;
    expect(rd).toMatchObject({ size: 4, vcpu: 1, src_line: 3, register: 'FR', value: 0x90n });
  });

  it('keeps accesses described by only one kind of line, and does not merge different values', () => {
    const r = parse('qemu-log', L([W('41'), D('43'), RO]));
    expect(ofKind(r.events, 'mmio_write')).toHaveLength(2);
    expect(ofKind(r.events, 'mmio_read')).toHaveLength(1);
    expect(r.stats.merged).toBe(0);
  });

  it('takes the virtio-mmio slot and the missing read value from the ops line', () => {
    const r = parse(
      'qemu-log',
      L([
        'virtio_mmio_read virtio_mmio_read offset 0x0',
        "memory_region_ops_read cpu 0 mr 0x1 addr 0xa003e00 value 0x74726976 size 4 name 'virtio-mmio'",
      ]),
    );
    expect(r.events).toHaveLength(1);
    expect(r.events[0]).toMatchObject({
      kind: 'mmio_read',
      addr: 0xa003e00,
      device: 'virtio-mmio@a003e00',
      register: 'MagicValue',
      value: 0x74726976n,
    });
  });

  it('relocates the container-relative addresses QEMU prints for the PCIe ECAM', () => {
    const r = parse('qemu-log', L(["memory_region_ops_read cpu 0 mr 0x1 addr 0x8 value 0x6000000 size 4 name 'pcie-mmcfg-mmio'"]));
    expect(r.events[0]).toMatchObject({ addr: 0x4010000008, device: 'pcie-ecam@4010000000' });
  });
});

describe('QEMU log: GIC, timer, PSCI', () => {
  it('reads GICv2 distributor/CPU interface accesses, acknowledges and EOIs', () => {
    const r = parse(
      'qemu-log',
      L([
        'gic_dist_write dist write at 0x00000000 size 4: 0x00000001',
        'gic_set_irq irq 27 level 1 cpumask 0x2 target 0x2',
        'gic_acknowledge_irq cpu 1 acknowledged irq 27',
        'gic_cpu_read cpu 1 iface read at 0x0000000c: 0x0000001b',
        'gic_cpu_write cpu 1 iface write at 0x00000010 0x0000001b',
      ]),
    );
    expect(r.extra.gicVersion).toBe(2);
    expect(r.events.map((e) => e.kind)).toEqual(['mmio_write', 'irq_line', 'irq_ack', 'mmio_read', 'mmio_write', 'irq_eoi']);
    expect(r.events[0]).toMatchObject({ device: 'gicv2-dist@8000000', register: 'GICD_CTLR' });
    expect(r.events[1]).toMatchObject({ intid: 27, vcpu: 1, level: 1 });
    expect(r.events[2]).toMatchObject({ intid: 27, vcpu: 1, via: 'gicc_mmio' });
    expect(r.events[3]).toMatchObject({ addr: 0x801000c, register: 'GICC_IAR', vcpu: 1 });
    expect(r.events[5]).toMatchObject({ kind: 'irq_eoi', intid: 27, vcpu: 1 });
  });

  it('reads GICv3 distributor, redistributor, ICC and SGI events', () => {
    const r = parse(
      'qemu-log',
      L([
        'gicv3_dist_write GICv3 distributor write: offset 0x6100 data 0x0 size 8 secure 0',
        'gicv3_redist_write GICv3 redistributor 0x1 write: offset 0x14 data 0x0 size 4 secure 0',
        'gicv3_dist_badread GICv3 distributor read: offset 0xc size 4 secure 0: error',
        'gicv3_icc_iar1_read GICv3 ICC_IAR1 read cpu 0x1 value 0x1b',
        'gicv3_icc_eoir_write GICv3 ICC_EOIR1 write cpu 0x1 value 0x1b',
        'gicv3_icc_pmr_write GICv3 ICC_PMR write cpu 0x0 value 0xf0',
        'gicv3_icc_generate_sgi GICv3 CPU i/f 0x0 generating SGI 1 IRM 0 target affinity 0x0xx targetlist 0x2',
        'gicv3_redist_send_sgi GICv3 redistributor 0x1 pending SGI 1',
        'gicv3_redist_set_irq GICv3 redistributor 0x0 interrupt 27 level changed to 1',
        'gicv3_cpuif_update GICv3 CPU i/f 0x0 HPPI update: irq 0 group 0 prio 255',
      ]),
    );
    expect(r.extra.gicVersion).toBe(3);
    const [dist, redist, bad, ack, eoi, pmr, sgi, pend, line] = r.events;
    expect(dist).toMatchObject({ kind: 'mmio_write', addr: 0x8006100, register: 'GICD_IROUTER32', size: 8 });
    expect(redist).toMatchObject({ kind: 'mmio_write', addr: 0x80a0000 + 0x20000 + 0x14, register: 'GICR_WAKER', vcpu: 1 });
    expect(bad).toMatchObject({ kind: 'mmio_read', register: 'GICD_TYPER2', outcome: 'raz_wi' });
    expect(ack).toMatchObject({ kind: 'irq_ack', intid: 27, vcpu: 1, via: 'icc_sysreg' });
    expect(eoi).toMatchObject({ kind: 'irq_eoi', intid: 27, vcpu: 1 });
    expect(pmr).toMatchObject({
      kind: 'sysreg',
      name: 'ICC_PMR_EL1',
      write: true,
      value: 0xf0n,
      encoding: (3 << 14) | (4 << 7) | (6 << 3),
    });
    expect(sgi).toMatchObject({ kind: 'sysreg', name: 'ICC_SGI1R_EL1', value: (1n << 24n) | 2n });
    expect(pend).toMatchObject({ kind: 'irq_line', intid: 1, vcpu: 1, trigger: 'edge' });
    expect(line).toMatchObject({ kind: 'irq_line', intid: 27, vcpu: 0, source: 'timer_virt' });
    expect(r.stats.unmapped).toEqual({ gicv3_cpuif_update: 1 });
  });

  it('reads generic timer events and gives them the vCPU of their thread', () => {
    const r = parse(
      'qemu-log',
      L([
        "7@1.000000:memory_region_ops_read cpu 1 mr 0x1 addr 0x9000018 value 0x90 size 4 name 'pl011'",
        '7@1.000001:arm_gt_ctl_write gt_ctl_write: timer 1 value 0x1',
        '7@1.000002:arm_gt_recalc gt recalc: timer 1 irqstate 0 next tick 0x1234',
        '8@1.000003:arm_gt_cval_write gt_cval_write: timer 0 value 0xffffffffffffffff',
        '7@1.000004:arm_gt_imask_toggle gt_ctl_write: timer 1 IMASK toggle, new irqstate 1',
        '7@1.000005:arm_gt_recalc_disabled gt recalc: timer 1 irqstate 0 timer disabled',
      ]),
    );
    const t = ofKind(r.events, 'timer');
    expect(t.map((e) => [e.timer, e.op, e.value, e.vcpu])).toEqual([
      ['virt', 'ctl', 1n, 1],
      ['virt', 'recalc', 0x1234n, 1],
      ['phys', 'cval', 0xffffffffffffffffn, -1],
      ['virt', 'imask_toggle', 1n, 1],
      ['virt', 'disabled', 0n, 1],
    ]);
  });

  it('decodes arm_psci_call into a hypercall and arm_powerctl_set_cpu_on into a vCPU state', () => {
    const r = parse(
      'qemu-log',
      L([
        'arm_psci_call PSCI Call x0=0x00000000c4000003 x1=0x0000000000000001 x2=0x0000000040a1b000 x3=0x0000000000000000 cpuid=0x0',
        'arm_powerctl_set_cpu_on cpu 1 (EL 1, aarch64) @ 0x40a1b000 with R0 = 0x0',
      ]),
    );
    expect(r.events[0]).toMatchObject({
      kind: 'hypercall',
      func: 0xc4000003,
      name: 'PSCI_CPU_ON',
      conduit: 'hvc',
      args: [1n, 0x40a1b000n, 0n],
      vcpu: 0,
    });
    expect(r.events[1]).toMatchObject({
      kind: 'vcpu_state',
      state: 'on',
      target: 1,
      entry: 0x40a1b000n,
      context: 0n,
      reason: 'PSCI_CPU_ON',
    });
  });
});

describe('QEMU log: unmapped and bad lines', () => {
  it('counts unmapped events per name and accounts for every line', () => {
    const r = parse(
      'qemu-log',
      L([
        'pl011_baudrate_change new baudrate 115200',
        'pl011_baudrate_change new baudrate 9600',
        'some_device_event x 1',
        '',
        'pl011_read addr 0x00000018 value 0x00000090',
        'GARBAGE!! line',
        'gic_cpu_read vcpu 0 iface read at 0x0000000c: 0x000003ff',
      ]),
    );
    expect(r.stats.unmapped).toEqual({ pl011_baudrate_change: 2, some_device_event: 1, gic_cpu_read: 1 });
    expect(r.stats.bad).toBe(1);
    expect(r.stats.badSamples[0]).toMatchObject({ line: 6 });
    expect(r.stats.lines).toBe(r.stats.parsed + 4 + r.stats.blank + r.stats.bad);
  });

  it('-d guest_errors: an access to an unmapped address is an unassigned MMIO event, other messages are counted', () => {
    const r = parse(
      'qemu-log',
      L([
        '12@1.000001:pl011_read addr 0x00000018 value 0x00000090',
        "Invalid read at addr 0x9100018, size 4, region '(null)', reason: rejected",
        "Invalid write at addr 0x910001C, size 1, region '(null)', reason: rejected",
        'gicv3_dist_read: invalid guest read at offset 000000000000000c size 4',
        "Invalid read at addr 0x10, size 8, region 'pl011', reason: invalid size (min:1 max:4)",
        'GARBAGE!! line',
      ]),
    );
    const mmio = r.events.filter((e) => e.kind === 'mmio_read' || e.kind === 'mmio_write');
    expect(mmio.slice(1)).toMatchObject([
      { kind: 'mmio_read', addr: 0x9100018, size: 4, device: '', outcome: 'unassigned', src_line: 2, time: 0 },
      { kind: 'mmio_write', addr: 0x910001c, size: 1, device: '', outcome: 'unassigned', src_line: 3 },
    ]);
    expect(r.stats.unmapped).toEqual({ guest_error: 2 });
    expect(r.stats).toMatchObject({ parsed: 3, bad: 1 });
  });

  it('stops at the first bad line with --strict, naming file and line', () => {
    expect(() => parse('qemu-log', L(['pl011_read addr 0x00000018 value 0x00000090', 'pl011_read addr zz']), { strict: true })).toThrow(
      /f\d+\.log:2: cannot read the arguments of pl011_read/,
    );
  });
});

describe('format detection', () => {
  it('skips QEMU -d messages before the first trace line and counts them as unmapped guest errors', async () => {
    const { detectFormat } = await import('../../../capture/import/detect.ts');
    const { tmpFile } = await import('./helpers.ts');
    const f = tmpFile('pl011_write: Bad offset 0x100\n1@1.000001:pl011_read addr 0x00000018 value 0x00000090\n');
    expect(detectFormat(f)).toBe('qemu-log');
    const r = parse('qemu-log', 'pl011_write: Bad offset 0x100\n1@1.000001:pl011_read addr 0x00000018 value 0x00000090\n');
    expect(r.stats).toMatchObject({ bad: 0, parsed: 1, unmapped: { guest_error: 1 } });
    expect(detectFormat(tmpFile('version = 6\ncpus=2\n'))).toBe('ftrace');
  });
});
