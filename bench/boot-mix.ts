// A synthetic event stream shaped like a Linux boot on QEMU's virt machine as the guest/
// hypervisor boundary sees it: PL011 FR polls and DR writes dominate (earlycon/console output
// is polled a byte at a time), then GIC and generic-timer traffic around timer ticks, a few
// PSCI calls, WFIs and vCPU power changes. Deterministic (seeded), so runs are comparable.
// Used by the store benchmark and tests until real QEMU traces are bundled.

import type { DeviceRegion, NewEvent } from '../capture/model.ts';

export const BOOT_MIX_DEVICES: DeviceRegion[] = [
  { name: 'gic-dist@8000000', model: 'gicv2-dist', role: 'gic_dist', base: 0x08000000, size: 0x10000 },
  { name: 'gic-cpu@8010000', model: 'gicv2-cpu', role: 'gic_cpu', base: 0x08010000, size: 0x10000 },
  { name: 'pl011@9000000', model: 'pl011', role: 'uart', base: 0x09000000, size: 0x1000, intid: 33 },
  { name: 'pl031@9010000', model: 'pl031', role: 'rtc', base: 0x09010000, size: 0x1000, intid: 34 },
];

const UART = 'pl011@9000000';
const GICD = 'gic-dist@8000000';
const GICC = 'gic-cpu@8010000';

/** Small fast PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LINES = [
  'Booting Linux on physical CPU 0x0000000000 [0x410fd034]',
  'Linux version 6.1.0-18-arm64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP Debian 6.1.76-1',
  'Machine model: linux,dummy-virt',
  'efi: UEFI not found.',
  "earlycon: pl11 at MMIO 0x0000000009000000 (options '')",
  'printk: bootconsole [pl11] enabled',
  'NUMA: No NUMA configuration found',
  'psci: probing for conduit method from DT.',
  'psci: PSCIv1.1 detected in firmware.',
  'GICv2m: range[mem 0x08020000-0x08020fff], SPI[80:143]',
  'arch_timer: cp15 timer(s) running at 62.50MHz (virt).',
  'Console: colour dummy device 80x25',
  'smp: Bringing up secondary CPUs ...',
  'Serial: AMBA PL011 UART driver',
  '9000000.pl011: ttyAMA0 at MMIO 0x9000000 (irq = 14, base_baud = 0) is a PL011 rev1',
  'rtc-pl031 9010000.pl031: registered as rtc0',
  'Freeing unused kernel memory: 6784K',
  'Run /init as init process',
];

export interface BootMixOptions {
  seed?: number;
  vcpus?: number;
}

/**
 * An endless boot-shaped event stream. Proportions (over a long run): ~74% PL011 FR reads,
 * ~21% DR writes, ~4% GIC/timer/IRQ events, the rest console lines, WFIs, PSCI, vCPU state.
 */
export function* bootMix(opts: BootMixOptions = {}): Generator<NewEvent> {
  const rand = rng(opts.seed ?? 1);
  const vcpus = opts.vcpus ?? 2;
  let time = 0;
  let lineNo = 0;
  const pcBase = 0xffff800008000000n;
  yield { kind: 'vcpu_state', time, vcpu: 0, state: 'on', target: 0, entry: 0x40200000n, context: 0n, reason: 'boot' };
  for (let c = 1; c < vcpus; c++) {
    yield {
      kind: 'hypercall',
      time: (time += 40),
      vcpu: 0,
      pc: pcBase + 0x1234n,
      conduit: 'hvc',
      imm: 0,
      func: 0xc4000003,
      name: 'PSCI_CPU_ON',
      subop: '',
      args: [BigInt(c), 0x40201000n, 0n],
      results: [0n],
    };
    yield {
      kind: 'vcpu_state',
      time: (time += 5),
      vcpu: 0,
      state: 'on',
      target: c,
      entry: 0x40201000n,
      context: 0n,
      reason: 'PSCI_CPU_ON',
    };
  }
  for (;;) {
    // One console line: each byte is a few FR polls (TXFF clear) then a DR write.
    const line = LINES[lineNo++ % LINES.length]! + '\r\n';
    const vcpu = 0;
    for (let i = 0; i < line.length; i++) {
      const polls = 2 + Math.floor(rand() * 4);
      for (let p = 0; p < polls; p++) {
        yield {
          kind: 'mmio_read',
          time: (time += 6 + Math.floor(rand() * 3)),
          vcpu,
          pc: pcBase + 0x5a2e40n,
          addr: 0x09000018,
          size: 4,
          value: p === polls - 1 ? 0x90n : 0xb0n,
          device: UART,
          register: 'UARTFR',
          outcome: 'handled',
        };
      }
      yield {
        kind: 'mmio_write',
        time: (time += 9),
        vcpu,
        pc: pcBase + 0x5a2e5cn,
        addr: 0x09000000,
        size: 4,
        value: BigInt(line.charCodeAt(i)),
        device: UART,
        register: 'UARTDR',
        outcome: 'handled',
      };
    }
    yield { kind: 'console', time, vcpu, port: UART, bytes: Buffer.from(line, 'latin1') };
    // A timer tick on some vCPU: line, delivery, IAR, timer reprogram, EOI, deactivate.
    const cpu = Math.floor(rand() * vcpus);
    time += 200 + Math.floor(rand() * 5000);
    yield { kind: 'irq_line', time, vcpu: cpu, intid: 27, level: 1, trigger: 'level', source: 'arch_timer' };
    yield { kind: 'irq_deliver', time: (time += 1), vcpu: cpu, intid: 27, exception: 'irq' };
    yield {
      kind: 'mmio_read',
      time: (time += 30),
      vcpu: cpu,
      pc: pcBase + 0x10f0n,
      addr: 0x0801000c,
      size: 4,
      value: 27n,
      device: GICC,
      register: 'GICC_IAR',
      outcome: 'handled',
    };
    yield { kind: 'irq_ack', time, vcpu: cpu, intid: 27, source_cpu: 0, via: 'gicc_mmio' };
    const cval = BigInt(time + 62500);
    yield {
      kind: 'sysreg',
      time: (time += 40),
      vcpu: cpu,
      pc: pcBase + 0x9a0c8n,
      name: 'CNTV_CVAL_EL0',
      encoding: 0xdf1a,
      write: true,
      value: cval,
      outcome: 'handled',
    };
    yield { kind: 'timer', time, vcpu: cpu, timer: 'virt', op: 'cval', value: cval };
    yield { kind: 'irq_line', time: (time += 2), vcpu: cpu, intid: 27, level: 0, trigger: 'level', source: 'arch_timer' };
    yield {
      kind: 'mmio_write',
      time: (time += 25),
      vcpu: cpu,
      pc: pcBase + 0x1130n,
      addr: 0x08010010,
      size: 4,
      value: 27n,
      device: GICC,
      register: 'GICC_EOIR',
      outcome: 'handled',
    };
    yield { kind: 'irq_eoi', time, vcpu: cpu, intid: 27, via: 'gicc_mmio' };
    yield { kind: 'irq_deactivate', time, vcpu: cpu, intid: 27, via: 'gicc_mmio' };
    // Now and then: distributor set-up, a WFI, an RTC read.
    const r = rand();
    if (r < 0.3) {
      const n = Math.floor(rand() * 16);
      yield {
        kind: 'mmio_write',
        time: (time += 50),
        vcpu: 0,
        pc: pcBase + 0x2210n,
        addr: 0x08000100 + 4 * (n % 8),
        size: 4,
        value: 0xffffffffn,
        device: GICD,
        register: `GICD_ISENABLER${n % 8}`,
        outcome: 'handled',
      };
      yield {
        kind: 'mmio_read',
        time: (time += 20),
        vcpu: 0,
        pc: pcBase + 0x2230n,
        addr: 0x08000004,
        size: 4,
        value: 0x0000fc04n,
        device: GICD,
        register: 'GICD_TYPER',
        outcome: 'handled',
      };
    } else if (r < 0.5) {
      const slept = 1000 + Math.floor(rand() * 100000);
      yield { kind: 'wfx', time: (time += 10), vcpu: cpu, pc: pcBase + 0x77f0n, wfe: false, wake: 'timer', slept };
      time += slept;
    } else if (r < 0.52) {
      yield {
        kind: 'mmio_read',
        time: (time += 80),
        vcpu: 0,
        pc: pcBase + 0x6001n,
        addr: 0x09010000,
        size: 4,
        value: 0x6650a000n,
        device: 'pl031@9010000',
        register: 'RTCDR',
        outcome: 'handled',
      };
    }
  }
}

/** The first n events of bootMix, materialised (for benchmarks that must not time generation). */
export function bootMixPool(n: number, opts: BootMixOptions = {}): NewEvent[] {
  const out: NewEvent[] = [];
  for (const ev of bootMix(opts)) {
    out.push(ev);
    if (out.length >= n) break;
  }
  return out;
}
