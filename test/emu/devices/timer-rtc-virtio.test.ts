// Generic timer (condition, level output, TVAL/CVAL, deadlines), PL031 from a fixed epoch,
// empty virtio-mmio transports.
import { describe, expect, it } from 'vitest';
import { GenericTimer, LinearTimeBase } from '../../../emu/devices/generic-timer.ts';
import { CNT as T } from '../../../arch/sysregs.ts';
import { Pl031 } from '../../../emu/devices/pl031.ts';
import { VirtioMmio } from '../../../emu/devices/virtio-mmio.ts';
import { LevelSink, reg, testEnv } from './helpers.ts';

function timer(numCpu = 1, tb = new LinearTimeBase(62_500_000)) {
  const { rec, env } = testEnv();
  const sink = new LevelSink();
  const t = new GenericTimer({ numCpu, irq: sink, env, timeBase: tb });
  return { t, sink, rec, time: env.time };
}

describe('generic timer', () => {
  it('reads CNTFRQ and counters from virtual time', () => {
    const { t, time } = timer(1, new LinearTimeBase(62_500_000, 1, 4)); // one count per 4 instructions
    expect(t.readSysreg(0, T.CNTFRQ_EL0)).toBe(62_500_000n);
    time.t = 4000;
    expect(t.readSysreg(0, T.CNTPCT_EL0)).toBe(1000n);
    expect(t.readSysreg(0, T.CNTVCT_EL0)).toBe(1000n);
    expect(t.writeSysreg(0, T.CNTFRQ_EL0, 1n)).toBe(false);
    expect(t.readSysreg(0, 0x1234)).toBeUndefined();
  });

  it('raises the virtual timer level on PPI 27 when the counter passes CVAL, and drops it on IMASK/CVAL', () => {
    const { t, sink, time, rec } = timer();
    t.writeSysreg(0, T.CNTV_CVAL_EL0, 1000n);
    t.writeSysreg(0, T.CNTV_CTL_EL0, 1n);
    expect(t.readSysreg(0, T.CNTV_CTL_EL0)).toBe(1n);
    expect(t.nextDeadline()).toBe(1000);
    time.t = 999;
    t.tick(time.t);
    expect(sink.level(27, 0)).toBe(false);
    time.t = 1000;
    t.tick(time.t);
    expect(sink.level(27, 0)).toBe(true);
    expect(t.readSysreg(0, T.CNTV_CTL_EL0)).toBe(5n); // ENABLE | ISTATUS
    expect(t.nextDeadline()).toBe(Infinity);
    t.writeSysreg(0, T.CNTV_CTL_EL0, 3n); // IMASK
    expect(sink.level(27, 0)).toBe(false);
    expect(t.readSysreg(0, T.CNTV_CTL_EL0)).toBe(7n);
    t.writeSysreg(0, T.CNTV_CTL_EL0, 1n);
    expect(sink.level(27, 0)).toBe(true);
    t.writeSysreg(0, T.CNTV_TVAL_EL0, 500n); // CVAL = 1500
    expect(sink.level(27, 0)).toBe(false);
    expect(t.readSysreg(0, T.CNTV_CVAL_EL0)).toBe(1500n);
    expect(t.readSysreg(0, T.CNTV_TVAL_EL0)).toBe(500n);
    time.t = 1600;
    expect(t.readSysreg(0, T.CNTV_TVAL_EL0)).toBe(BigInt(2 ** 32 - 100)); // negative, 32-bit view
    t.writeSysreg(0, T.CNTV_CTL_EL0, 0n);
    expect(t.readSysreg(0, T.CNTV_CTL_EL0)).toBe(0n); // ISTATUS clear while disabled
    expect(rec.of('timer').map((e) => [e.timer, e.op, e.value])).toEqual([
      ['virt', 'cval', 1000n],
      ['virt', 'ctl', 1n],
      ['virt', 'ctl', 3n],
      ['virt', 'ctl', 1n],
      ['virt', 'tval', 500n],
      ['virt', 'ctl', 0n],
    ]);
    expect(rec.of('irq_line').map((e) => [e.intid, e.level, e.vcpu, e.source])).toEqual([
      [27, 1, 0, 'timer:virt'],
      [27, 0, 0, 'timer:virt'],
      [27, 1, 0, 'timer:virt'],
      [27, 0, 0, 'timer:virt'],
    ]);
  });

  it('keeps per-vCPU physical timers on PPI 30 and handles negative TVAL and huge CVAL', () => {
    const { t, sink, time } = timer(2);
    time.t = 100;
    t.writeSysreg(1, T.CNTP_TVAL_EL0, 0xffffff9cn); // -100: already expired
    t.writeSysreg(1, T.CNTP_CTL_EL0, 1n);
    expect(sink.level(30, 1)).toBe(true);
    expect(sink.level(30, 0)).toBe(false);
    t.writeSysreg(1, T.CNTP_CVAL_EL0, 0xffffffffffffffffn);
    expect(sink.level(30, 1)).toBe(false);
    expect(t.nextDeadline()).toBe(Infinity);
    expect(t.nextDeadlineFor(0)).toBe(Infinity);
  });

  it('stores CNTKCTL_EL1 per vCPU', () => {
    const { t } = timer(2);
    t.writeSysreg(1, T.CNTKCTL_EL1, 0x3n);
    expect(t.readSysreg(1, T.CNTKCTL_EL1)).toBe(3n);
    expect(t.readSysreg(0, T.CNTKCTL_EL1)).toBe(0n);
  });
});

describe('PL031', () => {
  function rtc(epoch = 1_700_000_000) {
    const { env } = testEnv();
    const sink = new LevelSink();
    const tb = new LinearTimeBase(1000); // 1000 counts (= instructions) per second
    const r = new Pl031({
      region: reg('pl031@9010000', 'pl031', 0x9010000, 0x1000, 34),
      irq: sink,
      env,
      timeBase: tb,
      epochSeconds: epoch,
    });
    return { r, sink, time: env.time };
  }

  it('counts from the configured epoch in virtual time, with QEMU ID bytes', () => {
    const { r, time } = rtc();
    expect(r.read(0x00, 4, 0)).toBe(1_700_000_000);
    time.t = 2500;
    expect(r.read(0x00, 4, 0)).toBe(1_700_000_002);
    expect(r.read(0x0c, 4, 0)).toBe(1);
    expect([0xfe0, 0xfe4, 0xfe8, 0xfec].map((o) => r.read(o, 4, 0))).toEqual([0x31, 0x10, 0x14, 0x00]);
    r.write(0x08, 4, 100, 0);
    expect(r.read(0x00, 4, 0)).toBe(100);
    r.write(0x00, 4, 5, 0); // DR is read-only
    expect(r.read(0x00, 4, 0)).toBe(100);
  });

  it('raises the alarm when the count reaches MR', () => {
    const { r, sink, time } = rtc(0);
    r.write(0x10, 4, 1, 0);
    r.write(0x04, 4, 3, 0);
    expect(r.nextDeadline()).toBe(3000);
    time.t = 3000;
    r.tick(time.t);
    expect(r.read(0x14, 4, 0)).toBe(1);
    expect(sink.level(34)).toBe(true);
    r.write(0x1c, 4, 1, 0);
    expect(sink.level(34)).toBe(false);
  });
});

describe('virtio-mmio (empty slot)', () => {
  it('answers magic, legacy version 1, QEMU vendor and DeviceID 0', () => {
    const v = new VirtioMmio({ region: reg('virtio_mmio@a000000', 'virtio-mmio', 0xa000000, 0x200, 48) });
    expect(v.read(0x000, 4, 0)).toBe(0x74726976);
    expect(v.read(0x004, 4, 0)).toBe(1);
    expect(v.read(0x008, 4, 0)).toBe(0);
    expect(v.read(0x00c, 4, 0)).toBe(0x554d4551);
    v.write();
    expect(v.read(0x070, 4, 0)).toBe(0);
    expect(new VirtioMmio({ region: v.region, version: 2 }).read(0x004, 4, 0)).toBe(2);
    expect(v.registerName(0x008)).toBe('DeviceID');
  });
});
