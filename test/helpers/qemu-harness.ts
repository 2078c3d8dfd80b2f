// Run the same bare-metal snippet on qemu-system-aarch64 7.2 and on emu/cpu with the kvm
// personality, and return x1..x28 at the final spin loop from each, for register-level diffs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { takeLogTail } from './qemu-log-window.ts';
import { join } from 'node:path';
import { SimpleBus } from '../../emu/cpu/bus.ts';
import { Cpu } from '../../emu/cpu/cpu.ts';
import { staticEnv } from '../../emu/devices/irq.ts';
import { KvmPersonality, type KvmConfig } from '../../emu/personality/kvm.ts';
import type { PlatformControl, PsciPowerState } from '../../emu/personality/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'bootscope-qh-'));
let n = 0;

/** Assemble a snippet (GNU as syntax) that ends in `1: b 1b` into a raw image for 0x40080000. */
export function assembleRaw(body: string): { bin: Uint8Array; elf: string } {
  const base = join(dir, `s${n++}`);
  writeFileSync(`${base}.s`, `.global _start\n_start:\n${body}\n1: b 1b\n.ltorg\n`);
  execFileSync('aarch64-linux-gnu-as', ['-march=armv8-a', `${base}.s`, '-o', `${base}.o`]);
  execFileSync('aarch64-linux-gnu-ld', ['-Ttext=0x40080000', `${base}.o`, '-o', `${base}.elf`]);
  execFileSync('aarch64-linux-gnu-objcopy', ['-O', 'binary', `${base}.elf`, `${base}.bin`]);
  return { bin: new Uint8Array(readFileSync(`${base}.bin`)), elf: `${base}.elf` };
}

/** x1..x`count` when QEMU reaches the final loop. */
export function runOnQemu(bin: Uint8Array, gic: 2 | 3, count: number, smp = 1): bigint[] {
  const base = join(dir, `q${n++}`);
  writeFileSync(`${base}.bin`, bin);
  const machine = `virt,gic-version=${gic}${gic === 3 ? ',its=off' : ''}`;
  try {
    execFileSync(
      'timeout',
      [
        '3',
        'qemu-system-aarch64',
        '-M',
        machine,
        '-cpu',
        'cortex-a57',
        '-smp',
        String(smp),
        '-m',
        '128',
        '-nographic',
        '-kernel',
        `${base}.bin`,
        '-d',
        'cpu,nochain',
        '-singlestep',
        '-D',
        `${base}.log`,
      ],
      { stdio: 'ignore' },
    );
  } catch {
    // the snippet spins until timeout
  }
  const states = takeLogTail(`${base}.log`)
    .split(/(?= PC=)/)
    .filter((b) => b.startsWith(' PC='));
  const last = states[states.length - 1]!;
  return Array.from({ length: count }, (_, i) =>
    BigInt('0x' + new RegExp(`X${String(i + 1).padStart(2, '0')}=([0-9a-f]{16})`).exec(last)![1]),
  );
}

class Platform implements PlatformControl {
  readonly numCpu: number;
  constructor(n: number) {
    this.numCpu = n;
  }
  powerState(v: number): PsciPowerState {
    return v === 0 ? 'on' : 'off';
  }
  cpuOn() {}
  cpuOff() {}
  suspend() {}
  systemOff() {}
  systemReset() {}
}

/** x1..x`count` after running the snippet on emu/cpu with the kvm personality. */
export function runOnEmu(bin: Uint8Array, gic: 2 | 3, count: number, smp = 1, extra: Partial<KvmConfig> = {}): bigint[] {
  const time = { t: 0 };
  const p = new KvmPersonality({ smp, memBytes: 128 << 20, gic, ...extra }, staticEnv(undefined, time), new Platform(smp));
  const bus = new SimpleBus([[0x40000000, 128 << 20]]);
  for (const d of p.devices) {
    bus.addMmio({
      base: d.region.base,
      size: d.region.size,
      read: (off, size, vcpu) => {
        d.lastOutcome = 'handled';
        if (size === 8 && d.read64) return d.read64(off, vcpu);
        if (size === 8) return BigInt(d.read(off, 4, vcpu)) | (BigInt(d.read(off + 4, 4, vcpu)) << 32n);
        return d.read(off, size, vcpu);
      },
      write: (off, size, value, vcpu) => {
        d.lastOutcome = 'handled';
        if (size === 8 && d.write64) d.write64(off, BigInt(value), vcpu);
        else if (size === 8) {
          d.write(off, 4, Number(BigInt(value) & 0xffffffffn), vcpu);
          d.write(off + 4, 4, Number(BigInt(value) >> 32n), vcpu);
        } else d.write(off, size, Number(value), vcpu);
        return true;
      },
    });
  }
  bus.load(0x40080000, bin);
  const cpu = new Cpu({
    bus,
    id: 0,
    mpidr: p.mpidr(0),
    hypervisor: p,
    providers: p.sysregs,
    irqPending: () => p.intc.irqPending(0),
    gicv3: gic === 3,
  });
  cpu.pc = 0x40080000n;
  for (let i = 0; i < 50; i++) {
    cpu.run(1000);
    time.t = cpu.instret;
  }
  return Array.from({ length: count }, (_, i) => cpu.getX(i + 1));
}
