// The kvm personality: map and regions, and KVM's PSCI/SMCCC answers, table-driven.
import { describe, expect, it } from 'vitest';
import { staticEnv } from '../../../emu/devices/irq.ts';
import { KvmPersonality, virtAffinity } from '../../../emu/personality/kvm.ts';
import { HYPERCALL, type HypercallCpu, type PlatformControl, type PsciPowerState } from '../../../emu/personality/types.ts';
import { ListRecorder } from '../devices/helpers.ts';

class TestPlatform implements PlatformControl {
  readonly states: PsciPowerState[];
  readonly log: string[] = [];
  readonly numCpu: number;
  constructor(numCpu: number) {
    this.numCpu = numCpu;
    this.states = Array.from({ length: numCpu }, (_, i) => (i === 0 ? 'on' : 'off'));
  }
  powerState(v: number): PsciPowerState {
    return this.states[v]!;
  }
  cpuOn(t: number, entry: bigint, ctx: bigint, reason: string): void {
    this.states[t] = 'on';
    this.log.push(`on ${t} 0x${entry.toString(16)} ${ctx} ${reason}`);
  }
  cpuOff(v: number, reason: string): void {
    this.states[v] = 'off';
    this.log.push(`off ${v} ${reason}`);
  }
  suspend(v: number, reason: string): void {
    this.log.push(`suspend ${v} ${reason}`);
  }
  systemOff(reason: string): void {
    this.log.push(`system_off ${reason}`);
  }
  systemReset(reason: string): void {
    this.log.push(`system_reset ${reason}`);
  }
}

class Regs implements HypercallCpu {
  readonly x = new Array<bigint>(31).fill(0n);
  readonly id: number;
  constructor(id = 0) {
    this.id = id;
  }
  getX(n: number): bigint {
    return this.x[n]!;
  }
  setX(n: number, v: bigint): void {
    this.x[n] = v;
  }
}

const M1 = 0xffffffffffffffffn; // -1
const neg = (v: number) => BigInt.asUintN(64, BigInt(v));

function kvm(smp = 2, gic: 2 | 3 = 2) {
  const rec = new ListRecorder();
  const platform = new TestPlatform(smp);
  const p = new KvmPersonality({ smp, memBytes: 128 << 20, gic }, staticEnv(rec), platform);
  const call = (fid: number | bigint, args: bigint[] = [], vcpu = 0, conduit: 'hvc' | 'smc' = 'hvc', imm = 0) => {
    const r = new Regs(vcpu);
    r.x[0] = BigInt(fid);
    args.forEach((a, i) => (r.x[i + 1] = a));
    r.x[4] = 0x4444n;
    const outcome = p.handleHypercall(r, conduit, imm);
    return { x: r.x, outcome };
  };
  return { p, rec, platform, call };
}

describe('kvm personality: map', () => {
  it('lays out QEMU virt regions with roles, models and INTIDs', () => {
    const { p } = kvm(2, 2);
    const names = p.regions.map((r) => `${r.name}:${r.role}:${r.intid ?? ''}`);
    // GICv2 has QEMU's GICv2m MSI frame after the CPU interface.
    expect(names.slice(0, 6)).toEqual([
      'cfi-flash@0:flash:',
      'gicv2-dist@8000000:gic_dist:',
      'gicv2-cpu@8010000:gic_cpu:',
      'gicv2m@8020000:gic_its:',
      'pl011@9000000:uart:33',
      'pl031@9010000:rtc:34',
    ]);
    expect(names[6]).toBe('pl061@9030000:gpio:39');
    expect(names[7]).toBe('virtio-mmio@a000000:virtio:48');
    expect(names[38]).toBe('virtio-mmio@a003e00:virtio:79');
    // Then the PCIe windows and ECAM in address order, and the host bridge (no address: its BARs are the guest's).
    expect(names.slice(39)).toEqual([
      'pcie-mmio@10000000:pcie:',
      'pcie-pio@3eff0000:pcie:',
      'pcie-ecam@4010000000:pcie:',
      'pcie-mmio-high@8000000000:pcie:',
      'pcie-host@00:00.0:pcie:',
    ]);
    expect(p.ram).toEqual([{ base: 0x40000000, size: 128 << 20 }]);
    // QEMU's stolen-time records: plain memory, one 64-byte record per vCPU.
    expect(p.extraRam).toEqual([{ base: 0x090a0000, size: 0x10000 }]);
    const v3 = kvm(3, 3).p;
    // GICv3 has QEMU virt's ITS (its=on) between the distributor and the redistributors.
    expect(v3.regions.slice(0, 4).map((r) => [r.name, r.role, r.size])).toEqual([
      ['cfi-flash@0', 'flash', 0x8000000],
      ['gicv3-dist@8000000', 'gic_dist', 0x10000],
      ['gicv3-its@8080000', 'gic_its', 0x20000],
      ['gicv3-redist@80a0000', 'gic_redist', 3 * 0x20000],
    ]);
    expect(v3.gicv3).toBe(true);
    expect(v3.sysregs).toHaveLength(2);
    const off = new KvmPersonality({ smp: 1, memBytes: 128 << 20, gic: 3, its: false }, staticEnv(), new TestPlatform(1));
    expect(off.regions.some((r) => r.role === 'gic_its')).toBe(false);
  });

  it('gives MPIDRs in QEMU clusters (16 with GICv3, 8 with GICv2)', () => {
    expect(virtAffinity(17, 3)).toBe(0x101);
    expect(virtAffinity(7, 2)).toBe(7);
    expect(kvm(2).p.mpidr(1)).toBe(0x80000001n);
  });

  it('rejects impossible configurations with clear errors', () => {
    const env = staticEnv();
    expect(() => new KvmPersonality({ smp: 9, memBytes: 128 << 20, gic: 2 }, env, new TestPlatform(9))).toThrow(
      /GICv2 supports at most 8 vCPUs/,
    );
    expect(() => new KvmPersonality({ smp: 124, memBytes: 128 << 20, gic: 3 }, env, new TestPlatform(124))).toThrow(/at most 123 vCPUs/);
    expect(() => new KvmPersonality({ smp: 1, memBytes: 1000, gic: 2 }, env, new TestPlatform(1))).toThrow(/multiple of 4 KiB/);
    expect(() => new KvmPersonality({ smp: 0, memBytes: 128 << 20, gic: 2 }, env, new TestPlatform(1))).toThrow(/--smp/);
  });
});

describe('kvm personality: SMCCC and PSCI answers', () => {
  // [name, function id, args, expected x0 (x1..x3 zero unless given)]
  const table: [string, number, bigint[], bigint, bigint[]?][] = [
    ['PSCI_VERSION', 0x84000000, [], 0x10001n],
    ['MIGRATE_INFO_TYPE', 0x84000006, [], 2n],
    ['MIGRATE_INFO_UP_CPU', 0x84000007, [], M1],
    ['MIGRATE', 0xc4000005, [1n], M1],
    ['PSCI_FEATURES(SMCCC_VERSION)', 0x8400000a, [0x80000000n], 0n],
    ['PSCI_FEATURES(CPU_SUSPEND64)', 0x8400000a, [0xc4000001n], 0n],
    ['PSCI_FEATURES(CPU_ON64)', 0x8400000a, [0xc4000003n], 0n],
    ['PSCI_FEATURES(SYSTEM_SUSPEND64)', 0x8400000a, [0xc400000en], M1],
    ['PSCI_FEATURES(SYSTEM_RESET2_64)', 0x8400000a, [0xc4000012n], 0n],
    ['PSCI_FEATURES(MIGRATE)', 0x8400000a, [0x84000005n], M1],
    ['PSCI_FEATURES(bogus)', 0x8400000a, [0x12345n], M1],
    ['SYSTEM_SUSPEND64', 0xc400000e, [0x40000000n, 0n], M1],
    ['SMCCC_VERSION', 0x80000000, [], 0x10001n],
    ['ARCH_FEATURES(WORKAROUND_1)', 0x80000001, [0x80008000n], M1],
    ['ARCH_FEATURES(WORKAROUND_2)', 0x80000001, [0x80007fffn], M1],
    ['ARCH_FEATURES(WORKAROUND_3)', 0x80000001, [0x80003fffn], M1],
    ['ARCH_FEATURES(SOC_ID)', 0x80000001, [0x80000002n], M1],
    ['ARCH_FEATURES(PV_TIME_FEATURES)', 0x80000001, [0xc5000020n], 0n],
    ['PV_TIME_FEATURES(PV_TIME_ST)', 0xc5000020, [0xc5000021n], 0n],
    ['PV_TIME_FEATURES(bogus)', 0xc5000020, [0xc5000022n], M1],
    ['PV_TIME_ST', 0xc5000021, [], 0x090a0000n],
    ['TRNG_VERSION', 0x84000050, [], 0x10000n],
    ['TRNG_FEATURES(RND64)', 0x84000051, [0xc4000053n], 0n],
    ['TRNG_FEATURES(bogus)', 0x84000051, [0x84000054n], M1],
    ['TRNG_GET_UUID', 0x84000052, [], 0x00e0210dn, [0xeb118443n, 0x44527080n, 0x4c5a4e55n]],
    ['TRNG_RND64(193)', 0xc4000053, [193n], neg(-2)],
    ['TRNG_RND32(97)', 0x84000053, [97n], neg(-2)],
    ['TRNG_RND64(0)', 0xc4000053, [0n], 0n],
    ['VENDOR_HYP_CALL_UID', 0x8600ff01, [], 0xb66fb428n, [0xe911c52en, 0x564bcaa9n, 0x743a004dn]],
    ['KVM_FEATURES', 0x86000000, [], 3n],
    // At virtual time 0: the RTC epoch (2024-01-01) in ns, counter 0.
    ['KVM_PTP(virtual)', 0x86000001, [0n], 0x17a61017n, [0x1650000n, 0n, 0n]],
    ['KVM_PTP(2)', 0x86000001, [2n], M1],
    ['unknown owner-2 call', 0x82000000, [], M1],
    ['unknown yielding call', 0x01000000, [], M1],
  ];
  for (const [what, fid, args, x0, rest] of table) {
    it(`${what} → 0x${x0.toString(16)}`, () => {
      const { call, rec } = kvm();
      const { x, outcome } = call(fid, args);
      expect(outcome).toBe(HYPERCALL.CONTINUE);
      expect(x[0]).toBe(x0);
      expect([x[1], x[2], x[3]]).toEqual(rest ?? [0n, 0n, 0n]);
      expect(x[4]).toBe(0x4444n); // SMCCC 1.1: x4.. preserved
      const ev = rec.of('hypercall')[0]!;
      expect(ev.func).toBe(fid);
      expect(ev.results[0]).toBe(x0);
      expect(ev.conduit).toBe('hvc');
    });
  }

  it('TRNG_RND: N bits right-aligned over x1..x3, the same on every run, recorded in the event', () => {
    const a = kvm();
    const r64 = a.call(0xc4000053, [130n]).x;
    expect(r64[0]).toBe(0n);
    expect(r64[1]! >> 2n).toBe(0n); // bits 130..191 clear: x1 holds bits 128..191
    expect(r64[2]).not.toBe(0n);
    expect(r64[3]).not.toBe(0n);
    const r32 = a.call(0x84000053, [40n]).x;
    expect([r32[0], r32[1]]).toEqual([0n, 0n]);
    expect(r32[2]! >> 8n).toBe(0n); // 40 bits: x3 has bits 0..31, x2 bits 32..39
    expect(r32[3]! >> 32n).toBe(0n);
    expect(a.rec.of('hypercall').map((e) => e.results.slice(1))).toEqual([
      [r64[1], r64[2], r64[3]],
      [r32[1], r32[2], r32[3]],
    ]);
    const b = kvm();
    expect(b.call(0xc4000053, [130n]).x.slice(0, 4)).toEqual(r64.slice(0, 4));
  });

  it('stolen time: each vCPU its own 64-byte record; none when steal time is off', () => {
    const { call } = kvm(2);
    expect(call(0xc5000021, [], 1).x[0]).toBe(0x090a0040n);
    const rec = new ListRecorder();
    const off = new KvmPersonality(
      { smp: 1, memBytes: 128 << 20, gic: 3, smccc: { stealTime: false, trng: false } },
      staticEnv(rec),
      new TestPlatform(1),
    );
    const r = new Regs(0);
    r.x[0] = 0xc5000021n;
    off.handleHypercall(r, 'hvc', 0);
    expect(r.x[0]).toBe(M1);
    r.x[0] = 0x84000050n;
    off.handleHypercall(r, 'hvc', 0);
    expect(r.x[0]).toBe(M1);
    expect(off.extraRam).toEqual([]);
  });

  it('names calls in the hypercall event with their arguments', () => {
    const { call, rec } = kvm();
    call(0x8400000a, [0xc4000001n]);
    call(0xc4000003, [1n, 0x40080000n, 7n]);
    expect(rec.of('hypercall').map((e) => [e.name, e.args])).toEqual([
      ['PSCI_FEATURES', [0xc4000001n]],
      ['PSCI_CPU_ON', [1n, 0x40080000n, 7n]],
    ]);
  });

  it('ignores the upper half of x0 and the HVC immediate', () => {
    const { call } = kvm();
    expect(call(0xdead000084000000n, [], 0, 'hvc', 0x1234).x[0]).toBe(0x10001n);
  });

  it('answers every SMC with -1 (Linux 6.1 KVM does not forward guest SMCs)', () => {
    const { call, rec } = kvm();
    const { x, outcome } = call(0x84000000, [], 0, 'smc');
    expect(outcome).toBe(HYPERCALL.CONTINUE);
    expect(x[0]).toBe(M1);
    expect(rec.of('hypercall')[0]!.conduit).toBe('smc');
  });

  it('CPU_ON: success, then ALREADY_ON; unknown MPIDR and stray bits are INVALID_PARAMETERS', () => {
    const { call, platform } = kvm(2);
    expect(call(0xc4000003, [1n, 0x40100000n, 0x55n]).x[0]).toBe(0n);
    expect(platform.log).toEqual(['on 1 0x40100000 85 PSCI_CPU_ON']);
    expect(call(0xc4000003, [1n, 0x40100000n, 0n]).x[0]).toBe(neg(-4));
    expect(call(0xc4000003, [0n, 0x40100000n, 0n]).x[0]).toBe(neg(-4)); // the caller itself
    expect(call(0xc4000003, [5n, 0x40100000n, 0n]).x[0]).toBe(neg(-2));
    expect(call(0xc4000003, [0x80000001n, 0x40100000n, 0n]).x[0]).toBe(neg(-2)); // bit 31 is not affinity
    expect(call(0xc4000003, [0x100n, 0x40100000n, 0n]).x[0]).toBe(neg(-2)); // Aff1 = 1: nobody
  });

  it('CPU_ON (32-bit) narrows its arguments', () => {
    const { call, platform } = kvm(2);
    expect(call(0x84000003, [0xffffffff00000001n, 0x1_40100000n, 0x1_00000002n]).x[0]).toBe(0n);
    expect(platform.log).toEqual(['on 1 0x40100000 2 PSCI_CPU_ON']);
  });

  it('AFFINITY_INFO reports ON/OFF per level and rejects bad levels', () => {
    const { call } = kvm(2);
    expect(call(0xc4000004, [1n, 0n]).x[0]).toBe(1n); // off
    expect(call(0xc4000004, [0n, 0n]).x[0]).toBe(0n); // on
    expect(call(0xc4000004, [1n, 1n]).x[0]).toBe(0n); // cluster 0 has CPU0 on
    call(0xc4000003, [1n, 0x40000000n, 0n]);
    expect(call(0xc4000004, [1n, 0n]).x[0]).toBe(0n);
    expect(call(0xc4000004, [1n, 4n]).x[0]).toBe(neg(-2));
    expect(call(0xc4000004, [1n << 41n, 0n]).x[0]).toBe(neg(-2));
  });

  it('CPU_OFF and CPU_SUSPEND stop the caller; SYSTEM_OFF/RESET end the run with x0 = INTERNAL_FAILURE', () => {
    const { call, platform, rec } = kvm(2);
    call(0xc4000003, [1n, 0x40000000n, 0n]);
    const off = call(0x84000002, [], 1);
    expect(off.outcome).toBe(HYPERCALL.STOP);
    expect(off.x[0]).toBe(0n);
    const susp = call(0xc4000001, [0n, 0n, 0n]);
    expect(susp.outcome).toBe(HYPERCALL.STOP);
    expect(susp.x[0]).toBe(0n);
    const sysoff = call(0x84000008);
    expect(sysoff.outcome).toBe(HYPERCALL.STOP);
    expect(sysoff.x[0]).toBe(neg(-6));
    expect(sysoff.x[1]).toBe(0n);
    expect(call(0x84000009).outcome).toBe(HYPERCALL.STOP);
    expect(call(0xc4000012, [0n, 0n]).outcome).toBe(HYPERCALL.STOP);
    expect(call(0x84000012, [1n, 0n]).x[0]).toBe(neg(-2)); // reset type 1 is not defined
    expect(platform.log.slice(1)).toEqual([
      'off 1 PSCI_CPU_OFF',
      'suspend 0 PSCI_CPU_SUSPEND',
      'system_off PSCI_SYSTEM_OFF',
      'system_reset PSCI_SYSTEM_RESET',
      'system_reset PSCI_SYSTEM_RESET2',
    ]);
    expect(rec.of('hypercall').find((e) => e.name === 'PSCI_SYSTEM_OFF')!.results).toEqual([neg(-6)]);
  });

  it('reports PSCI 1.0 and no SYSTEM_RESET2 when configured so', () => {
    const rec = new ListRecorder();
    const p = new KvmPersonality(
      { smp: 1, memBytes: 128 << 20, gic: 2, smccc: { psciMinor: 0, workaround1: 1n } },
      staticEnv(rec),
      new TestPlatform(1),
    );
    const r = new Regs();
    r.x[0] = 0x84000000n;
    p.handleHypercall(r, 'hvc', 0);
    expect(r.x[0]).toBe(0x10000n);
    r.x[0] = 0x8400000an;
    r.x[1] = 0x84000012n;
    p.handleHypercall(r, 'hvc', 0);
    expect(r.x[0]).toBe(M1);
    r.x[0] = 0x80000001n;
    r.x[1] = 0x80008000n;
    p.handleHypercall(r, 'hvc', 0);
    expect(r.x[0]).toBe(1n);
  });
});

describe('kvm personality: devices and deadlines', () => {
  it('wires the UART to the GIC and the timer to PPIs', () => {
    const out: number[] = [];
    const rec = new ListRecorder();
    const env = staticEnv(rec);
    const p = new KvmPersonality({ smp: 1, memBytes: 128 << 20, gic: 2, onConsole: (b) => out.push(b) }, env, new TestPlatform(1));
    const uart = p.devices.find((d) => d.region.name === 'pl011@9000000')!;
    uart.write(0, 1, 0x21, 0);
    expect(out).toEqual([0x21]);
    expect(p.nextDeadline()).toBe(Infinity);
    p.timer.writeSysreg(0, 0xdf1a /* CNTV_CVAL_EL0 */, 500n);
    p.timer.writeSysreg(0, 0xdf19 /* CNTV_CTL_EL0 */, 1n);
    expect(p.nextDeadline()).toBe(500);
    env.time.t = 500;
    p.tick(500);
    expect(rec.of('irq_line').some((e) => e.intid === 27 && e.level === 1)).toBe(true);
  });
});
