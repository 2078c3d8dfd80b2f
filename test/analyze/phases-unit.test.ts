// Phases from hand-made event streams: Linux log lines, firmware, bare-metal events, panics.
import { describe, expect, it } from 'vitest';
import type { DeviceRegion, TraceEvent } from '../../capture/model.ts';
import { PHASES, phasesOf } from '../../analyze/phases.ts';
import { liteContext, syntheticMeta } from '../../analyze/standalone.ts';
import { ganttBar } from '../../cli/commands/phases.ts';

const REGIONS: DeviceRegion[] = [
  { name: 'gicd', model: 'gicv2-dist', role: 'gic_dist', base: 0x08000000, size: 0x10000 },
  { name: 'uart0', model: 'pl011', role: 'uart', base: 0x09000000, size: 0x1000, intid: 33 },
];
const ctx = liteContext(syntheticMeta(), REGIONS);

/** Builds events with dense seq numbers. */
function stream(items: Omit<TraceEvent, 'seq'>[]): TraceEvent[] {
  return items.map((e, seq) => ({ ...e, seq }) as TraceEvent);
}
const line = (time: number, text: string): Omit<TraceEvent, 'seq'> =>
  ({ kind: 'console', time, vcpu: 0, port: 'uart0', bytes: Buffer.from(text + '\r\n', 'latin1') }) as Omit<TraceEvent, 'seq'>;
const gicd = (time: number): Omit<TraceEvent, 'seq'> =>
  ({
    kind: 'mmio_write',
    time,
    vcpu: 0,
    addr: 0x08000000,
    size: 4,
    value: 1n,
    device: 'gicd',
    register: 'GICD_CTLR',
    outcome: 'handled',
  }) as Omit<TraceEvent, 'seq'>;

describe('phases', () => {
  it('UEFI boots: firmware from the reset vector, then the EFI stub, then the kernel; the note names ACPI or DT', () => {
    const boot = (stubLine: string) =>
      phasesOf(
        stream([
          gicd(5),
          line(10, 'UEFI firmware (version  built at 13:10:49 on Nov  5 2024)'),
          line(300, '\x1b[2J\x1b[01;01HEFI stub: Booting Linux Kernel...'),
          line(310, stubLine),
          line(320, 'EFI stub: Exiting boot services...'),
          line(400, '[    0.000000] Booting Linux on physical CPU 0x0000000000'),
          line(500, '[    1.000000] Kernel panic - not syncing: VFS: Unable to mount root fs'),
        ]),
        ctx,
      );
    const acpi = boot('EFI stub: Generating empty DTB');
    expect(acpi.guest).toBe('firmware+linux');
    // The firmware phase starts with the trace (the reset vector), before the firmware's banner.
    expect(acpi.phases.slice(0, 3).map((p) => [p.id, p.start, p.end])).toEqual([
      ['firmware', 5, 300],
      ['efi_stub', 300, 400],
      ['kernel_entry', 400, 500],
    ]);
    expect(acpi.notes).toContain(
      'hardware description: ACPI (the EFI stub generated an empty DTB; the kernel found the tables through the UEFI system table)',
    );
    expect(boot('EFI stub: Using DTB from configuration table').notes).toContain(
      "hardware description: DT (the EFI stub used the firmware's DTB from the configuration table)",
    );
    // A boot without UEFI never lists the EFI stub as missing.
    expect(phasesOf(stream([line(10, '[    0.000000] Booting Linux on physical CPU 0x0')]), ctx).missing).not.toContain('efi_stub');
  });

  it('finds every Linux phase from kernel log lines, in order, each ending where the next (non-milestone) starts', () => {
    const ev = stream([
      line(10, '[    0.000000] Booting Linux on physical CPU 0x0000000000'),
      line(20, '[    0.000000] earlycon: pl11 at MMIO 0x0000000009000000'),
      line(30, '[    0.000000] GICv3: 224 SPIs implemented'),
      line(40, '[    0.000000] arch_timer: cp15 timer(s) running at 62.50MHz (virt).'),
      line(50, '[    0.010000] smp: Bringing up secondary CPUs ...'),
      line(60, '[    0.200000] Serial: AMBA PL011 UART driver'),
      line(70, '[    0.210000] printk: console [ttyAMA0] enabled'),
      line(80, '[    0.900000] Run /init as init process'),
      line(100, '[    1.000000] done'),
    ]);
    const r = phasesOf(ev, ctx);
    expect(r.guest).toBe('linux');
    expect(r.phases.map((p) => [p.id, p.start, p.end])).toEqual([
      // the first console output is the early console (Linux prints nothing before earlycon)
      ['kernel_entry', 10, 10],
      ['early_console', 10, 30],
      ['gic_init', 30, 40],
      ['timer_init', 40, 50],
      // console handover is a milestone: no duration, and driver probe runs on through it
      ['smp_bringup', 50, 60],
      ['driver_probe', 60, 80],
      ['console_handover', 70, 70],
      ['rootfs_init', 80, 100],
      // "Run /init" is also the /init milestone
      ['init_started', 80, 80],
    ]);
    expect(r.missing).toEqual(['firmware', 'panic']);
    expect(r.phases[0]!.marker).toMatchObject({ by: 'event', seq: 0 });
  });

  it('with firmware first, events before the kernel belong to the firmware and the kernel starts at "Starting kernel"', () => {
    const ev = stream([
      gicd(1),
      line(5, 'U-Boot 2023.01+dfsg-2 (Jan 01 2023 - 00:00:00 +0000)'),
      gicd(7),
      line(20, 'Starting kernel ...'),
      gicd(30),
      line(40, '[    0.000000] Kernel panic - not syncing: VFS: Unable to mount root fs'),
      gicd(50),
    ]);
    const r = phasesOf(ev, ctx);
    expect(r.guest).toBe('firmware+linux');
    expect(r.phases.map((p) => [p.id, p.start, p.end])).toEqual([
      ['firmware', 1, 20],
      ['kernel_entry', 20, 30],
      ['gic_init', 30, 40],
      ['early_console', 40, 40],
      ['panic', 40, 50],
    ]);
    expect(r.phases.find((p) => p.id === 'kernel_entry')!.marker.by).toBe('line');
  });

  it('says when the guest is not Linux and uses events only', () => {
    const ev = stream([
      { kind: 'vcpu_state', time: 0, vcpu: -1, state: 'on', target: 0, entry: 0x40080000n, context: 0n, reason: 'boot' },
      line(100, 'hello from a bare-metal guest'),
      gicd(200),
      { kind: 'timer', time: 300, vcpu: 0, timer: 'virt', op: 'ctl', value: 1n },
      {
        kind: 'hypercall',
        time: 400,
        vcpu: 0,
        conduit: 'hvc',
        imm: 0,
        func: 0xc4000003,
        name: 'PSCI_CPU_ON',
        subop: '',
        args: [1n],
        results: [0n],
      },
      { kind: 'wfx', time: 500, vcpu: 0, wfe: false, wake: 'irq', slept: 10 },
    ] as Omit<TraceEvent, 'seq'>[]);
    const r = phasesOf(ev, ctx);
    expect(r.guest).toBe('other');
    expect(r.banner).toBe('hello from a bare-metal guest');
    expect(r.phases.map((p) => p.id)).toEqual(['kernel_entry', 'early_console', 'gic_init', 'timer_init', 'smp_bringup']);
    expect(r.phases.at(-1)!.end).toBe(500);
    expect(r.notes[0]).toContain('not a Linux boot');
  });

  it('handles an empty stream and a line split over several console events', () => {
    const empty = phasesOf([], ctx);
    expect(empty.phases).toEqual([]);
    expect(empty.notes[0]).toContain('no console output');
    const parts = ['[    0.0] GIC', 'v2: 256 SPIs\n'].map(
      (t, i) => ({ kind: 'console', time: 10 + i, vcpu: 0, seq: i, port: 'uart0', bytes: Buffer.from(t) }) as TraceEvent,
    );
    const r = phasesOf(parts, ctx);
    expect(r.phases.find((p) => p.id === 'gic_init')).toMatchObject({ start: 10, marker: { by: 'line', what: 'GICv2: 256 SPIs' } });
  });

  it('has one spec per phase id and a Gantt bar that spans the scale', () => {
    expect(new Set(PHASES.map((p) => p.id)).size).toBe(PHASES.length);
    expect(ganttBar(0, 100, 0, 100, 10)).toBe('|##########|');
    expect(ganttBar(50, 60, 0, 100, 10)).toBe('|     #    |');
    expect(ganttBar(100, 100, 0, 100, 10)).toBe('|         #|');
  });
});

// The device layer: PCI enumeration, each device's bring-up, the root device and its mount, /init
// and /sbin/init, power-off. Spans (PCI, bring-up, root mount) end at their own markers.
type Ev = Omit<TraceEvent, 'seq'>;
const cfg = (time: number, offset: number, write = false, value = 0n): Ev =>
  ({
    kind: 'pci_config',
    time,
    vcpu: 0,
    bdf: '00:01.0',
    device: 'virtio-blk@00:01.0',
    write,
    offset,
    size: 2,
    value,
    register: offset === 4 ? 'COMMAND' : 'VENDOR_ID',
    bar: -1,
    outcome: 'handled',
  }) as Ev;
const status = (time: number, value: bigint, device = 'virtio-blk@00:01.0'): Ev =>
  ({
    kind: 'mmio_write',
    time,
    vcpu: 0,
    addr: 0x8000000014,
    size: 1,
    value,
    device,
    register: 'BAR4+0x14 device_status',
    outcome: 'handled',
  }) as Ev;
const xb = (time: number, end: 'frontend' | 'backend', xb_state: number, device = 'vbd-51712'): Ev =>
  ({ kind: 'xenbus_state', time, vcpu: 0, device, end, xb_state }) as Ev;
const req = (time: number, sector: number, length: number, device = 'virtio-blk@00:01.0'): Ev =>
  ({ kind: 'block_request', time, vcpu: 0, device, queue: 0, request: BigInt(time), op: 'read', sector, length }) as Ev;
const done = (time: number, device = 'virtio-blk@00:01.0'): Ev =>
  ({ kind: 'block_complete', time, vcpu: 0, device, queue: 0, request: 0n, op: 'read', status: 'ok', length: 513, intid: 37 }) as Ev;
const off = (time: number): Ev =>
  ({
    kind: 'hypercall',
    time,
    vcpu: 0,
    conduit: 'hvc',
    imm: 0,
    func: 0x84000008,
    name: 'PSCI_SYSTEM_OFF',
    subop: '',
    args: [],
    results: [],
  }) as Ev;

describe('phases of a boot to userspace', () => {
  it('kvm: PCI enumeration is its configuration burst, bring-up runs to DRIVER_OK, root mount to the ext4 line', () => {
    const ev = stream([
      line(10, '[    0.000000] Booting Linux on physical CPU 0x0000000000'),
      line(20, '[    0.100000] pci-host-generic 4010000000.pcie: PCI host bridge to bus 0000:00'),
      cfg(21, 0),
      cfg(22, 0x10, true, 0xffffffffn),
      cfg(23, 0x10),
      line(24, '[    0.100100] pci 0000:00:01.0: [1af4:1042] type 00 class 0x010000'),
      cfg(25, 0x14),
      line(30, '[    0.110000] Serial: AMBA PL011 UART driver'),
      line(40, '[    0.800000] Freeing unused kernel memory: 4608K'),
      line(41, '[    0.800001] Run /init as init process'),
      // the driver, a module, much later: reads, enables decoding, then the virtio status sequence
      cfg(50, 4),
      cfg(51, 4, true, 2n),
      status(52, 0n),
      status(53, 1n),
      status(54, 3n),
      status(55, 11n),
      line(56, '[    0.870000] virtio_blk virtio0: [vda] 32768 512-byte logical blocks (16.8 MB/16.0 MiB)'),
      status(57, 15n),
      req(58, 0, 4096),
      done(59),
      req(60, 8, 4096),
      done(61),
      line(70, '[    0.900000] EXT4-fs (vda): mounted filesystem with ordered data mode. Quota mode: none.'),
      line(80, '[    0.920000] Not activating Mandatory Access Control as /sbin/tomoyo-init does not exist.'),
      line(90, '[    0.930000] reboot: Power down'),
      off(95),
    ]);
    const r = phasesOf(ev, ctx);
    const rows = Object.fromEntries(r.phases.map((p) => [p.title, [p.start, p.end, p.endMarker?.what ?? '']]));
    expect(rows['PCI enumeration']).toEqual([20, 25, 'last configuration access of the enumeration']);
    expect(rows['bring-up virtio-blk@00:01.0']).toEqual([52, 57, 'device_status DRIVER_OK']);
    // the virtio_blk line comes before the first completion
    expect(rows['root device ready']).toEqual([56, 56, '']);
    expect(rows['root mount']).toEqual([58, 70, expect.stringMatching(/^EXT4-fs \(vda\): mounted/)]);
    expect(rows['/init started']).toEqual([41, 41, '']);
    // the main line: rootfs/init, then userspace, then power-off; the spans end none of them
    expect(rows['rootfs / init']).toEqual([40, 80, '']);
    expect(rows['/sbin/init (userspace)']).toEqual([80, 90, '']);
    expect(rows['power-off']).toEqual([90, 95, '']);
    expect(r.missing).toEqual(['firmware', 'gic_init', 'timer_init', 'smp_bringup', 'console_handover', 'panic']);
  });

  it('xen: one bring-up per PV device, ending when its frontend is Connected; a span never ended runs to the end', () => {
    const ev = stream([
      line(10, '[    0.000000] Booting Linux on physical CPU 0x0000000000'),
      xb(20, 'backend', 2),
      xb(21, 'frontend', 3),
      xb(22, 'backend', 4),
      xb(23, 'frontend', 4),
      xb(24, 'backend', 2, 'vif-0'),
      xb(25, 'frontend', 3, 'vif-0'),
      line(26, '[    0.900000] blkfront: xvda: flush diskcache: enabled; persistent grants: disabled'),
      req(30, 2, 1024, 'vbd-51712'),
      line(40, '[    1.000000] done'),
    ]);
    const r = phasesOf(ev, ctx);
    const bringups = r.phases.filter((p) => p.id === 'device_bringup').map((p) => [p.device, p.start, p.end]);
    expect(bringups).toEqual([
      ['vbd-51712', 20, 23],
      ['vif-0', 24, 40],
    ]);
    expect(r.phases.find((p) => p.id === 'root_mount')).toMatchObject({ start: 30, end: 40 });
    expect(r.notes).toContain('bring-up vif-0: its end was not seen, so it runs to the end of the trace');
    expect(r.notes).toContain('root mount: its end was not seen, so it runs to the end of the trace');
    expect(r.missing).not.toContain('device_bringup');
    expect(r.missing).toContain('pci_enum');
  });

  it('a guest without device-layer events does not list the device-layer phases as missing', () => {
    const r = phasesOf(stream([line(10, '[    0.000000] Booting Linux on physical CPU 0x0'), gicd(20)]), ctx);
    expect(r.missing).not.toContain('pci_enum');
    expect(r.missing).not.toContain('sbin_init');
    expect(r.missing).toContain('timer_init');
  });
});
