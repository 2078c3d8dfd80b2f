// PL061 GPIO (Arm DDI 0190 §3.3) as QEMU virt has it: IDs as Linux's AMBA probe and the real KVM
// trace read them, masked GPIODATA, edge and level interrupts, and the power button on line 3.
import { describe, expect, it } from 'vitest';
import { LinearTimeBase } from '../../../emu/devices/generic-timer.ts';
import { Pl061, POWER_BUTTON_LINE } from '../../../emu/devices/pl061.ts';
import { PL061 } from '../../../arch/regmaps/pl061.ts';
import { LevelSink, reg, testEnv } from './helpers.ts';

const INTID = 39;

function gpio() {
  const { rec, env } = testEnv();
  const sink = new LevelSink();
  const tb = new LinearTimeBase(62_500_000);
  const g = new Pl061({ region: reg('pl061@9030000', 'pl061', 0x9030000, 0x1000, INTID), irq: sink, env, timeBase: tb });
  return { g, sink, rec, time: env.time, tb };
}

describe('PL061', () => {
  it("identifies itself as QEMU virt's does (the bytes the guest read under real KVM)", () => {
    const { g } = gpio();
    const ids = [0xfe0, 0xfe4, 0xfe8, 0xfec, 0xff0, 0xff4, 0xff8, 0xffc].map((o) => g.read(o, 4));
    expect(ids).toEqual([0x61, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1]);
    expect(g.registerName(0x400)).toBe('DIR');
    expect(g.registerName(0x3fc)).toBe('DATA');
    expect(g.registerName(0xfe8)).toBe('PeriphID2');
  });

  it('GPIODATA: address bits [9:2] mask the lines; writes reach output lines only', () => {
    const { g } = gpio();
    g.write(PL061.DIR, 1, 0x0f);
    g.write(0x3fc, 1, 0xff); // all lines addressed: outputs 0-3 go high
    expect(g.read(0x3fc, 1)).toBe(0x0f);
    expect(g.read(0x004, 1)).toBe(0x01); // only line 0 addressed
    g.write(0x008, 1, 0x00); // only line 1 addressed: it goes low
    expect(g.read(0x3fc, 1)).toBe(0x0d);
    g.setInput(6, true); // an input line driven from outside
    expect(g.read(0x3fc, 1)).toBe(0x4d);
  });

  it('edge interrupts latch in RIS until GPIOIC; the line follows RIS & GPIOIE', () => {
    const { g, sink } = gpio();
    g.write(PL061.IEV, 1, 0x08); // line 3: rising edge
    g.write(PL061.IE, 1, 0x08);
    g.setInput(3, true);
    expect(g.read(PL061.RIS, 1)).toBe(0x08);
    expect(g.read(PL061.MIS, 1)).toBe(0x08);
    expect(sink.level(INTID)).toBe(true);
    g.setInput(3, false); // falling edge: not selected, RIS stays latched
    expect(sink.level(INTID)).toBe(true);
    g.write(PL061.IC, 1, 0x08);
    expect(g.read(PL061.RIS, 1)).toBe(0);
    expect(sink.level(INTID)).toBe(false);
    g.write(PL061.IBE, 1, 0x08); // both edges
    g.setInput(3, true);
    g.write(PL061.IC, 1, 0x08);
    g.setInput(3, false);
    expect(g.read(PL061.RIS, 1)).toBe(0x08);
  });

  it('level interrupts follow the line and come back after GPIOIC while the level holds', () => {
    const { g, sink } = gpio();
    g.write(PL061.IS, 1, 0x01);
    g.write(PL061.IEV, 1, 0x01);
    g.write(PL061.IE, 1, 0x01);
    expect(sink.level(INTID)).toBe(false);
    g.setInput(0, true);
    expect(sink.level(INTID)).toBe(true);
    g.write(PL061.IC, 1, 0x01);
    expect(g.read(PL061.RIS, 1)).toBe(0x01);
    g.setInput(0, false);
    expect(sink.level(INTID)).toBe(false);
  });

  it("the power button raises line 3 for 100 ms of guest time, as QEMU's gpio-key", () => {
    const { g, time, tb } = gpio();
    g.write(PL061.IEV, 1, 1 << POWER_BUTTON_LINE);
    g.write(PL061.IE, 1, 1 << POWER_BUTTON_LINE);
    time.t = 1000;
    g.pressPowerButton();
    expect(g.read(0x3fc, 1)).toBe(0x08);
    const release = g.nextDeadline();
    expect(tb.counterAt(release) - tb.counterAt(1000)).toBe(6_250_000); // 0.1 s at 62.5 MHz
    time.t = release - 1;
    g.tick(time.t);
    expect(g.read(0x3fc, 1)).toBe(0x08);
    time.t = release;
    g.tick(time.t);
    expect(g.read(0x3fc, 1)).toBe(0);
    expect(g.read(PL061.RIS, 1)).toBe(0x08); // the press stays latched for the guest's handler
    expect(g.nextDeadline()).toBe(Infinity);
  });
});
