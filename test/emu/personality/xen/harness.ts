// A xen personality outside a machine for hypercall tests: guest memory (RAM at 0x40000000 plus the
// grant-table and magic windows), a vCPU with x0–x30 and the MMU off (VA = PA), a platform that
// logs what it was asked, and a recorder that keeps every event.
import type { NewEvent } from '../../../../capture/model.ts';
import { staticEnv } from '../../../../emu/devices/irq.ts';
import type { HypercallCpu, PlatformControl, PsciPowerState } from '../../../../emu/personality/types.ts';
import { XenPersonality, type XenConfig } from '../../../../emu/personality/xen.ts';

export const RAM = 0x40000000;
export const RAM_SIZE = 4 << 20;

export class FakeCpu implements HypercallCpu {
  readonly id: number;
  readonly x = new Array<bigint>(31).fill(0n);
  pc = 0x40080000n;
  /** System registers by encoding (SCTLR/TCR/TTBR for guest-VA tests); absent = MMU off. */
  sysregs: Map<number, bigint> | undefined;
  constructor(id = 0) {
    this.id = id;
  }
  readSysregValue(enc: number): bigint | undefined {
    return this.sysregs ? (this.sysregs.get(enc) ?? 0n) : undefined;
  }
  getX(n: number): bigint {
    return n >= 31 ? 0n : this.x[n]!;
  }
  setX(n: number, v: bigint): void {
    if (n < 31) this.x[n] = BigInt.asUintN(64, v);
  }
}

export function xenHarness(cfg: Partial<XenConfig> = {}) {
  const events: NewEvent[] = [];
  const recorder = { enabled: true, record: (e: NewEvent) => void events.push(e) };
  const env = staticEnv(recorder);
  const log: string[] = [];
  const state: PsciPowerState[] = ['on', 'off', 'off', 'off'];
  const smp = cfg.smp ?? 2;
  const platform: PlatformControl = {
    numCpu: smp,
    powerState: (v) => state[v] ?? 'off',
    cpuOn: (t, e, c, why) => {
      state[t] = 'on';
      log.push(`cpuOn ${t} 0x${e.toString(16)} ${c} ${why}`);
    },
    cpuOff: (v, why) => {
      state[v] = 'off';
      log.push(`cpuOff ${v} ${why}`);
    },
    suspend: (v, why) => log.push(`suspend ${v} ${why}`),
    systemOff: (why) => log.push(`systemOff ${why}`),
    systemReset: (why) => log.push(`systemReset ${why}`),
  };
  const p = new XenPersonality({ smp, memBytes: RAM_SIZE, gic: 3, ...cfg }, env, platform);
  // guest-physical memory laid out like MachineBus: RAM first, then the extra windows
  const windows = [{ base: RAM, size: RAM_SIZE }, ...(p.extraRam ?? [])];
  const mem = new Uint8Array(windows.reduce((n, w) => n + w.size, 0));
  const offsets: number[] = [];
  windows.reduce((off, w) => (offsets.push(off), off + w.size), 0);
  const memOffset = (pa: number): number => {
    for (let i = 0; i < windows.length; i++) {
      const w = windows[i]!;
      if (pa >= w.base && pa < w.base + w.size) return offsets[i]! + (pa - w.base);
    }
    return -1;
  };
  p.attachMemory({ mem, memOffset });
  const dv = new DataView(mem.buffer);
  const at = (pa: number): number => {
    const o = memOffset(pa);
    if (o < 0) throw new Error(`test bug: 0x${pa.toString(16)} is not memory`);
    return o;
  };
  const cpus = [new FakeCpu(0), new FakeCpu(1)];
  return {
    p,
    env,
    events,
    log,
    state,
    cpus,
    mem: {
      u8: (pa: number) => dv.getUint8(at(pa)),
      u16: (pa: number) => dv.getUint16(at(pa), true),
      u32: (pa: number) => dv.getUint32(at(pa), true),
      i16: (pa: number) => dv.getInt16(at(pa), true),
      u64: (pa: number) => dv.getBigUint64(at(pa), true),
      w8: (pa: number, v: number) => dv.setUint8(at(pa), v),
      w16: (pa: number, v: number) => dv.setUint16(at(pa), v, true),
      w32: (pa: number, v: number) => dv.setUint32(at(pa), v >>> 0, true),
      w64: (pa: number, v: bigint) => dv.setBigUint64(at(pa), BigInt.asUintN(64, v), true),
      bytes: (pa: number, n: number) => mem.slice(at(pa), at(pa) + n),
    },
    /** HVC #0xEA1 with x16 = nr and x0.. = args; returns x0 as a signed number. */
    hypercall(nr: number, args: bigint[], cpu = 0): bigint {
      const c = cpus[cpu]!;
      args.forEach((a, i) => c.setX(i, a));
      c.setX(16, BigInt(nr));
      const out = p.handleHypercall(c, 'hvc', 0xea1);
      if (out !== 0) log.push(`outcome ${out}`);
      return BigInt.asIntN(64, c.getX(0));
    },
    /** HVC #0 with x0..x3. */
    smccc(args: bigint[], cpu = 0, imm = 0, conduit: 'hvc' | 'smc' = 'hvc'): { x: bigint[]; outcome: number } {
      const c = cpus[cpu]!;
      for (let i = 0; i < 8; i++) c.setX(i, 0x5a5a5a5an);
      args.forEach((a, i) => c.setX(i, a));
      const outcome = p.handleHypercall(c, conduit, imm);
      return { x: c.x.slice(0, 4), outcome };
    },
  };
}
