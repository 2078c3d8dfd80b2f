// The kvm personality, the loader and emu/cpu together: a small raw guest finds its DTB in x0,
// prints through the PL011, reads the GIC and the counter, asks PSCI and powers off.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFdt, propString } from '../../../arch/fdt.ts';
import { SimpleBus } from '../../../emu/cpu/bus.ts';
import { Cpu, STOP } from '../../../emu/cpu/cpu.ts';
import { staticEnv } from '../../../emu/devices/irq.ts';
import { planBoot } from '../../../emu/loader/index.ts';
import { KvmPersonality } from '../../../emu/personality/kvm.ts';
import type { PlatformControl, PsciPowerState } from '../../../emu/personality/types.ts';
import { ListRecorder } from '../devices/helpers.ts';

const GUEST = `
.global _start
_start:
  mov x19, x0                 // DTB address from the boot protocol
  ldr w20, [x19]              // FDT magic (big-endian in memory)
  ldr x1, =0x09000000
  mov w2, #'O'
  strb w2, [x1]
  mov w2, #'K'
  strb w2, [x1]
  mov w2, #'\\n'
  strb w2, [x1]
  ldr w21, [x1, #0x18]        // UARTFR
  ldr x3, =0x08000000
  ldr w22, [x3, #4]           // GICD_TYPER
  mrs x23, cntfrq_el0
  mrs x24, mpidr_el1
  ldr x0, =0x84000000         // PSCI_VERSION
  hvc #0
  mov x25, x0
  ldr x0, =0x84000008         // SYSTEM_OFF
  hvc #0
1: b 1b
.ltorg
`;

class OnePlatform implements PlatformControl {
  readonly numCpu = 1;
  off = '';
  powerState(): PsciPowerState {
    return 'on';
  }
  cpuOn() {}
  cpuOff() {}
  suspend() {}
  systemOff(reason: string) {
    this.off = reason;
  }
  systemReset() {}
}

describe('kvm personality with emu/cpu', () => {
  it('boots a raw guest: DTB in x0, console, GIC, counter, PSCI, SYSTEM_OFF', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bootscope-int-'));
    writeFileSync(join(dir, 'g.s'), GUEST);
    execFileSync('aarch64-linux-gnu-as', [join(dir, 'g.s'), '-o', join(dir, 'g.o')]);
    execFileSync('aarch64-linux-gnu-ld', ['-Ttext=0x40080000', join(dir, 'g.o'), '-o', join(dir, 'g.elf')]);
    execFileSync('aarch64-linux-gnu-objcopy', ['-O', 'binary', join(dir, 'g.elf'), join(dir, 'g.bin')]);
    const kernel = new Uint8Array(readFileSync(join(dir, 'g.bin')));

    const rec = new ListRecorder();
    const time = { t: 0 };
    const env = staticEnv(rec, time);
    const platform = new OnePlatform();
    const out: number[] = [];
    const p = new KvmPersonality({ smp: 1, memBytes: 128 << 20, gic: 2, onConsole: (b) => out.push(b) }, env, platform);
    const plan = planBoot({
      kernel,
      kernelName: 'g.bin',
      ram: p.ram[0]!,
      dtb: (initrd) => p.buildDtb({ bootargs: 'console=ttyAMA0', ...(initrd ? { initrd } : {}) }),
    });

    const bus = new SimpleBus([[p.ram[0]!.base, p.ram[0]!.size]]);
    for (const d of p.devices) {
      bus.addMmio({
        base: d.region.base,
        size: d.region.size,
        read: (off, size, vcpu) => {
          d.lastOutcome = 'handled';
          const v = d.read(off, size, vcpu);
          return (d.lastOutcome as string) === 'abort' ? null : v;
        },
        write: (off, size, value, vcpu) => {
          d.lastOutcome = 'handled';
          d.write(off, size, Number(value), vcpu);
          return (d.lastOutcome as string) !== 'abort';
        },
      });
    }
    for (const b of plan.blobs) bus.load(b.addr, b.data);
    const cpu = new Cpu({ bus, id: 0, mpidr: p.mpidr(0), hypervisor: p, providers: p.sysregs, irqPending: () => p.intc.irqPending(0) });
    cpu.pc = plan.entry;
    plan.regs.forEach((v, i) => cpu.setX(i, v));
    let stop = -1;
    for (let i = 0; i < 100 && stop !== STOP.HYPERVISOR; i++) {
      cpu.run(1000);
      time.t = cpu.instret;
      stop = cpu.stopReason;
    }
    expect(stop).toBe(STOP.HYPERVISOR);
    expect(platform.off).toBe('PSCI_SYSTEM_OFF');
    expect(new TextDecoder().decode(Uint8Array.from(out))).toBe('OK\n');
    expect(cpu.getX(20)).toBe(0xedfe0dd0n); // d00dfeed read little-endian
    expect(cpu.getX(21)).toBe(0x90n);
    expect(cpu.getX(22)).toBe(8n);
    expect(cpu.getX(23)).toBe(62_500_000n);
    expect(cpu.getX(24)).toBe(0x80000000n);
    expect(cpu.getX(25)).toBe(0x10001n);
    expect(rec.of('hypercall').map((e) => e.name)).toEqual(['PSCI_VERSION', 'PSCI_SYSTEM_OFF']);
    expect(rec.of('console')).toHaveLength(3);
    const dtb = bus.mem.subarray(plan.dtbAddr! - 0x40000000, plan.dtbAddr! - 0x40000000 + 0x100000);
    expect(
      propString(
        parseFdt(dtb).root.children.find((c) => c.name === 'chosen')!,
        'bootargs',
      ),
    ).toBe('console=ttyAMA0');
  });
});
