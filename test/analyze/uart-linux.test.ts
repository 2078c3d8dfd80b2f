// The pieces `explain uart` reads a Linux guest with: kernel console lines split across console
// events, the command line's console= / earlycon, the ttyAMA index, and the DT properties Linux needs
// before its pl011 driver binds (checked in the order Linux meets them).
import { describe, expect, it } from 'vitest';
import { buildFdt, fdtNode, type PropValue } from '../../arch/fdt.ts';
import { readDt } from '../../analyze/dt-info.ts';
import { consoleArgs, dtBindProblem, guestCommandLine, KernelConsoleScanner, pl011PortIndex } from '../../analyze/uart-linux.ts';

const enc = new TextEncoder();
const GOOD: Record<string, PropValue> = {
  compatible: ['arm,pl011', 'arm,primecell'],
  reg: [0, 0x9000000, 0, 0x1000],
  interrupts: [0, 1, 4],
  clocks: [0x8000, 0x8000],
  'clock-names': ['uartclk', 'apb_pclk'],
};

function dtWith(uarts: Record<string, Record<string, PropValue>>, extra: ReturnType<typeof fdtNode>[] = []) {
  const nodes = Object.entries(uarts).map(([name, props]) => fdtNode(name, props));
  const dt = readDt(
    buildFdt(fdtNode('', { '#address-cells': 2, '#size-cells': 2, compatible: 'linux,dummy-virt' }, [...nodes, ...extra])),
  )!;
  return { dt, node: (path: string) => dt.devices.find((d) => d.path === path)! };
}

describe('kernel console lines', () => {
  it('joins a line split over console events, strips printk time stamps, keeps the seq of its first byte', () => {
    const k = new KernelConsoleScanner();
    k.feed('pl011@9000000', enc.encode('[    0.000000] Kernel command'), 10);
    k.feed(
      'pl011@9000000',
      enc.encode(" line: console=ttyAMA0 earlycon\r\n[    0.000000] earlycon: pl11 at MMIO 0x0000000009000000 (options '')\n"),
      11,
    );
    k.feed('pl011@9000000', enc.encode('[    1.9] Warning: unable to open an initial console.'), 40);
    const lines = k.finish();
    expect(lines.commandLine).toEqual({ text: 'Kernel command line: console=ttyAMA0 earlycon', seq: 10 });
    expect(lines.earlycon?.seq).toBe(11);
    expect(lines.noInitialConsole).toEqual({ text: 'Warning: unable to open an initial console.', seq: 40 });
    expect(guestCommandLine(lines, undefined, {})).toEqual({
      text: 'console=ttyAMA0 earlycon',
      source: 'the kernel\'s "Kernel command line:" line, console seq 10',
    });
  });

  it('shows control bytes instead of passing them on', () => {
    const k = new KernelConsoleScanner();
    k.feed('p', Uint8Array.of(...enc.encode('Linux version '), 0x1b, ...enc.encode('[2J'), 0x9b, 0x0a), 1);
    expect(k.finish().linux?.text).toBe('Linux version \\x1b[2J\\x9b');
  });

  it('takes the command line from the kernel, else /chosen/bootargs, else --append, else none', () => {
    const none = new KernelConsoleScanner().finish();
    const { dt } = dtWith({}, [fdtNode('chosen', { bootargs: 'console=ttyS0 ' })]);
    expect(guestCommandLine(none, dt, { append: 'x' })).toEqual({ text: 'console=ttyS0', source: "the DT's /chosen/bootargs" });
    expect(guestCommandLine(none, undefined, { append: 'console=hvc0' })).toEqual({ text: 'console=hvc0', source: "the run's --append" });
    expect(guestCommandLine(none, undefined, {})).toBeUndefined();
  });
});

describe('command line', () => {
  it('lists console= in order with name and index, and the earlycon argument', () => {
    expect(consoleArgs('root=/dev/vda console=tty0 console=ttyAMA1,115200n8 earlycon=pl011,0x9000000 quiet')).toEqual({
      consoles: [
        { arg: 'console=tty0', name: 'tty', index: 0 },
        { arg: 'console=ttyAMA1,115200n8', name: 'ttyAMA', index: 1 },
      ],
      earlycon: 'earlycon=pl011,0x9000000',
    });
    expect(consoleArgs('panic=-1')).toEqual({ consoles: [] });
  });
});

describe('the ttyAMA index of a PL011 node', () => {
  it("is the kernel's own registration line, else the serialN alias, else the order of PL011 nodes", () => {
    const uarts = { 'pl011@9000000': GOOD, 'pl011@9040000': { ...GOOD, reg: [0, 0x9040000, 0, 0x1000] } };
    const plain = dtWith(uarts);
    const none = new KernelConsoleScanner().finish();
    expect(pl011PortIndex(plain.dt, plain.node('/pl011@9040000'), none, 0x9040000)).toBe(1);
    const aliased = dtWith(uarts, [fdtNode('aliases', { serial0: '/pl011@9040000', serial1: '/pl011@9000000' })]);
    expect(pl011PortIndex(aliased.dt, aliased.node('/pl011@9000000'), none, 0x9000000)).toBe(1);
    const k = new KernelConsoleScanner();
    k.feed('p', enc.encode('9000000.pl011: ttyAMA3 at MMIO 0x9000000 (irq = 13, base_baud = 0) is a PL011 rev1\n'), 5);
    expect(pl011PortIndex(plain.dt, plain.node('/pl011@9000000'), k.finish(), 0x9000000)).toBe(3);
  });
});

describe('DT properties that keep the pl011 driver away', () => {
  it('none for a complete node', () => {
    expect(dtBindProblem(dtWith({ 'pl011@9000000': GOOD }).node('/pl011@9000000'))).toBeUndefined();
  });

  it('status first, then the AMBA compatible, then the apb_pclk clock; each quotes the property', () => {
    const p = (props: Record<string, PropValue>) => dtBindProblem(dtWith({ 'pl011@9000000': props }).node('/pl011@9000000'));
    expect(p({ ...GOOD, status: 'disabled', compatible: 'arm,pl011' })).toMatchObject({
      verdict: 'disabled-in-dt',
      property: '/pl011@9000000: status = "disabled"',
    });
    expect(p({ ...GOOD, compatible: 'arm,pl011', clocks: [] })).toMatchObject({
      verdict: 'not-primecell',
      property: '/pl011@9000000: compatible = "arm,pl011" (no "arm,primecell")',
    });
    const { clocks: _c, 'clock-names': _n, ...noClocks } = GOOD;
    expect(p(noClocks)).toMatchObject({ verdict: 'missing-clocks', property: '/pl011@9000000: no clocks, no clock-names' });
    expect(p({ ...GOOD, 'clock-names': 'uartclk' })).toMatchObject({
      verdict: 'missing-clocks',
      property: '/pl011@9000000: clocks = <0x8000 0x8000>, clock-names = "uartclk"',
    });
    expect(p({ ...GOOD, status: 'okay' })).toBeUndefined();
  });
});
