// Reset and identification values of our device models against QEMU 7.2 itself: a tiny guest
// loads each register into x1..x28 and spins; QEMU's `-d cpu` log gives the values it read.
// The same reads go through the kvm personality's devices and compare equal.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { takeLogTail } from '../../helpers/qemu-log-window.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { staticEnv } from '../../../emu/devices/irq.ts';
import { GicV3 } from '../../../emu/devices/gicv3.ts';
import { sysregEncoding } from '../../../arch/sysregs.ts';
import { KvmPersonality } from '../../../emu/personality/kvm.ts';
import type { PlatformControl } from '../../../emu/personality/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'bootscope-qvals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An MMIO read (addr, 4 or 8 bytes) or an ICC system register read (by name). */
type Probe = { name: string; addr: number; size?: 4 | 8 } | { name: string; sysreg: string; enc: [number, number, number, number, number] };

function runQemu(gic: 2 | 3, smp: number, probes: Probe[]): bigint[] {
  if (probes.length > 28) throw new Error('at most 28 probes per run');
  const lines = ['.global _start', '_start:'];
  probes.forEach((p, i) => {
    const r = i + 1;
    if ('addr' in p) {
      lines.push(`  ldr x29, =0x${p.addr.toString(16)}`);
      lines.push(p.size === 8 ? `  ldr x${r}, [x29]` : `  ldr w${r}, [x29]`);
    } else {
      const [op0, op1, crn, crm, op2] = p.enc;
      lines.push(`  mrs x${r}, s${op0}_${op1}_c${crn}_c${crm}_${op2}`);
    }
  });
  lines.push('1: b 1b', '.ltorg');
  const s = join(dir, `g${gic}.s`);
  writeFileSync(s, lines.join('\n') + '\n');
  execFileSync('aarch64-linux-gnu-as', [s, '-o', `${s}.o`]);
  execFileSync('aarch64-linux-gnu-ld', ['-Ttext=0x40200000', `${s}.o`, '-o', `${s}.elf`]);
  const log = `${s}.log`;
  try {
    execFileSync(
      'timeout',
      [
        '3',
        'qemu-system-aarch64',
        '-M',
        `virt,gic-version=${gic}${gic === 3 ? ',its=off' : ''}`,
        '-cpu',
        'cortex-a57',
        '-smp',
        String(smp),
        '-m',
        '128',
        '-nographic',
        '-kernel',
        `${s}.elf`,
        '-d',
        'cpu,nochain',
        '-singlestep',
        '-D',
        log,
      ],
      { stdio: 'ignore' },
    );
  } catch {
    // the guest spins until timeout
  }
  const text = takeLogTail(log);
  const states = text.split(/(?= PC=)/).filter((b) => b.startsWith(' PC='));
  const last = states[states.length - 1]!;
  const regs: bigint[] = [];
  for (let i = 1; i <= probes.length; i++) {
    const m = new RegExp(`X${String(i).padStart(2, '0')}=([0-9a-f]{16})`).exec(last);
    regs.push(BigInt('0x' + m![1]));
  }
  return regs;
}

class Platform implements PlatformControl {
  readonly numCpu: number;
  constructor(n: number) {
    this.numCpu = n;
  }
  powerState(v: number) {
    return v === 0 ? ('on' as const) : ('off' as const);
  }
  cpuOn() {}
  cpuOff() {}
  suspend() {}
  systemOff() {}
  systemReset() {}
}

function ours(gic: 2 | 3, smp: number, probes: Probe[]): bigint[] {
  const p = new KvmPersonality({ smp, memBytes: 128 << 20, gic }, staticEnv(), new Platform(smp));
  return probes.map((pr) => {
    if ('addr' in pr) {
      const d = p.devices.find((x) => pr.addr >= x.region.base && pr.addr < x.region.base + x.region.size)!;
      const off = pr.addr - d.region.base;
      if (pr.size === 8) return d.read64 ? d.read64(off, 0) : BigInt(d.read(off, 4, 0)) | (BigInt(d.read(off + 4, 4, 0)) << 32n);
      return BigInt(d.read(off, 4, 0));
    }
    return (p.intc as GicV3).readSysreg(0, sysregEncoding(...pr.enc))!;
  });
}

const UART = 0x9000000;
const RTC = 0x9010000;
const VIRTIO = 0xa000000;
const GICD = 0x8000000;
const GICC = 0x8010000;
const GICR = 0x80a0000;
const SGI = GICR + 0x10000;

const mm = (name: string, addr: number, size: 4 | 8 = 4): Probe => ({ name, addr, size });
const icc = (name: string, enc: [number, number, number, number, number]): Probe => ({ name, sysreg: name, enc });

const COMMON: Probe[] = [
  mm('UART FR', UART + 0x18),
  mm('UART CR', UART + 0x30),
  mm('UART IFLS', UART + 0x34),
  mm('UART LCR_H', UART + 0x2c),
  mm('UART IMSC', UART + 0x38),
  mm('UART RIS', UART + 0x3c),
  mm('UART PeriphID0', UART + 0xfe0),
  mm('UART PeriphID1', UART + 0xfe4),
  mm('UART PeriphID2', UART + 0xfe8),
  mm('UART PeriphID3', UART + 0xfec),
  mm('UART PCellID0', UART + 0xff0),
  mm('UART PCellID3', UART + 0xffc),
  mm('RTC CR', RTC + 0x0c),
  mm('RTC IMSC', RTC + 0x10),
  mm('RTC PeriphID0', RTC + 0xfe0),
  mm('RTC PeriphID2', RTC + 0xfe8),
  mm('virtio Magic', VIRTIO),
  mm('virtio Version', VIRTIO + 4),
  mm('virtio DeviceID', VIRTIO + 8),
  mm('virtio VendorID', VIRTIO + 0xc),
  mm('virtio31 DeviceID', VIRTIO + 31 * 0x200 + 8),
  mm('virtio Status', VIRTIO + 0x70),
];

describe('reset and ID values equal QEMU 7.2', () => {
  it('PL011, PL031 and virtio-mmio', () => {
    const q = runQemu(2, 1, COMMON);
    const o = ours(2, 1, COMMON);
    expect(Object.fromEntries(COMMON.map((p, i) => [p.name, o[i]!.toString(16)]))).toEqual(
      Object.fromEntries(COMMON.map((p, i) => [p.name, q[i]!.toString(16)])),
    );
  });

  it('GICv2 distributor and CPU interface (2 vCPUs)', () => {
    const probes: Probe[] = [
      mm('GICD_CTLR', GICD),
      mm('GICD_TYPER', GICD + 4),
      mm('GICD_IIDR', GICD + 8),
      mm('GICD_PIDR2', GICD + 0xfe8),
      mm('GICD_PIDR0', GICD + 0xfe0),
      mm('GICD_CIDR1', GICD + 0xff4),
      mm('GICD_ITARGETSR0', GICD + 0x800),
      mm('GICD_ITARGETSR7', GICD + 0x81c),
      mm('GICD_ITARGETSR8', GICD + 0x820),
      mm('GICD_ICFGR0', GICD + 0xc00),
      mm('GICD_ICFGR1', GICD + 0xc04),
      mm('GICD_ICFGR2', GICD + 0xc08),
      mm('GICD_ISENABLER0', GICD + 0x100),
      mm('GICD_ISENABLER1', GICD + 0x104),
      mm('GICD_IPRIORITYR8', GICD + 0x420),
      mm('GICD_IGROUPR0', GICD + 0x80),
      mm('GICC_CTLR', GICC),
      mm('GICC_PMR', GICC + 4),
      mm('GICC_BPR', GICC + 8),
      mm('GICC_RPR', GICC + 0x14),
      mm('GICC_HPPIR', GICC + 0x18),
      mm('GICC_ABPR', GICC + 0x1c),
      mm('GICC_IIDR', GICC + 0xfc),
      mm('GICC_IAR', GICC + 0xc),
      mm('GICD_SPENDSGIR0', GICD + 0xf20),
      mm('GICD_ISPENDR1', GICD + 0x204),
    ];
    const q = runQemu(2, 2, probes);
    const o = ours(2, 2, probes);
    expect(Object.fromEntries(probes.map((p, i) => [p.name, o[i]!.toString(16)]))).toEqual(
      Object.fromEntries(probes.map((p, i) => [p.name, q[i]!.toString(16)])),
    );
  });

  it("GICv2 with one vCPU: QEMU TCG makes ITARGETSR RAZ; the kvm machine reads 0x01 per byte, as KVM's vgic does", () => {
    const probes = [mm('GICD_TYPER', GICD + 4), mm('GICD_ITARGETSR0', GICD + 0x800), mm('GICD_ITARGETSR8', GICD + 0x820)];
    const q = runQemu(2, 1, probes);
    expect(q.slice(1)).toEqual([0n, 0n]);
    expect(ours(2, 1, probes)).toEqual([q[0], 0x01010101n, 0x01010101n]);
  });

  it('GICv3 distributor, redistributors and ICC registers (2 vCPUs)', () => {
    const probes: Probe[] = [
      mm('GICD_CTLR', GICD),
      mm('GICD_TYPER', GICD + 4),
      mm('GICD_IIDR', GICD + 8),
      mm('GICD_PIDR2', GICD + 0xffe8),
      mm('GICD_PIDR0', GICD + 0xffe0),
      mm('GICD_IROUTER32', GICD + 0x6100, 8),
      mm('GICD_ICFGR2', GICD + 0xc08),
      mm('GICD_ISENABLER1', GICD + 0x104),
      mm('GICR0_TYPER', GICR + 8, 8),
      mm('GICR1_TYPER', GICR + 0x20000 + 8, 8),
      mm('GICR0_WAKER', GICR + 0x14),
      mm('GICR0_IIDR', GICR + 4),
      mm('GICR0_PIDR2', GICR + 0xffe8),
      mm('GICR0_CTLR', GICR),
      mm('GICR0_ICFGR0', SGI + 0xc00),
      mm('GICR0_ICFGR1', SGI + 0xc04),
      mm('GICR0_ISENABLER0', SGI + 0x100),
      mm('GICR0_IGROUPR0', SGI + 0x80),
      mm('GICR0_IPRIORITYR0', SGI + 0x400),
      icc('ICC_CTLR_EL1', [3, 0, 12, 12, 4]),
      icc('ICC_PMR_EL1', [3, 0, 4, 6, 0]),
      icc('ICC_BPR1_EL1', [3, 0, 12, 12, 3]),
      icc('ICC_BPR0_EL1', [3, 0, 12, 8, 3]),
      icc('ICC_SRE_EL1', [3, 0, 12, 12, 5]),
      icc('ICC_IGRPEN1_EL1', [3, 0, 12, 12, 7]),
      icc('ICC_RPR_EL1', [3, 0, 12, 11, 3]),
      icc('ICC_HPPIR1_EL1', [3, 0, 12, 12, 2]),
      icc('ICC_AP1R0_EL1', [3, 0, 12, 9, 0]),
    ];
    const q = runQemu(3, 2, probes);
    const o = ours(3, 2, probes);
    const qv = Object.fromEntries(probes.map((p, i) => [p.name, q[i]!.toString(16)]));
    const ov = Object.fromEntries(probes.map((p, i) => [p.name, o[i]!.toString(16)]));
    // The kvm machine identifies its GICv3 as KVM's vGICv3 does (the values the guest read under
    // real KVM: docs/kvm-oracle.md): ITLinesNumber for all 288 INTIDs and no No1N/A3V, KVM's IIDR,
    // GICR_CTLR.IR, no CommonLPIAff, and GICR_WAKER 0 (no power management: awake from reset,
    // where QEMU TCG's redistributor reads ProcessorSleep | ChildrenAsleep). Everything else is QEMU's.
    const kvm: Record<string, string> = {
      GICD_TYPER: '7a0008',
      GICD_IIDR: '4b00343b',
      GICR0_TYPER: '1',
      GICR1_TYPER: '100000111',
      GICR0_WAKER: '0',
      GICR0_CTLR: '6',
    };
    expect(ov).toEqual({ ...qv, ...kvm });
    for (const k of Object.keys(kvm)) expect(qv[k]).not.toBe(kvm[k]);
  });
});
