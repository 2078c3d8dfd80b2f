// What a Linux guest says and does about its PL011 console, for `explain uart`: the kernel's own
// console lines (command line, earlycon, console hand-over, the ttyAMA registration), the command
// line's console= / earlycon, and the DT properties Linux needs before its pl011 driver binds.
// The rules follow Linux 6.1 (drivers/of/platform.c, drivers/amba/bus.c,
// drivers/tty/serial/amba-pl011.c, kernel/printk/printk.c); docs/rules.md explains them.

import { propStrings, propU32s, getProp, type FdtNode } from '../arch/fdt.ts';
import type { DtDevice, DtInfo } from './dt-info.ts';

/** A line the kernel printed, with the seq of the console event that carried its first byte. */
export interface KernelLine {
  text: string;
  seq: number;
}

/** The kernel lines `explain uart` quotes (the first of each kind; console lines up to 512 bytes). */
export interface KernelConsole {
  commandLine?: KernelLine;
  earlycon?: KernelLine;
  bootconsole?: KernelLine;
  bootconsoleDisabled?: KernelLine;
  consoleEnabled: KernelLine[];
  /** "… ttyAMA0 at MMIO 0x9000000 (irq = 13, base_baud = 0) is a PL011 rev1" */
  ports: KernelLine[];
  /** "Serial: AMBA PL011 UART driver": the driver registered (devices that exist bind now). */
  driverInit?: KernelLine;
  /** "Serial: 8250/16550 driver, 4 ports, IRQ sharing enabled": the 8250 driver registered. */
  serial8250?: KernelLine;
  /** "… ttyS0 at MMIO 0x… is a 16550A" (or I/O): an 8250-family port a device gave the driver. */
  ttySPorts: KernelLine[];
  noInitialConsole?: KernelLine;
  linux?: KernelLine;
  panic?: KernelLine;
  /** ACPI boots: "ACPI: SPCR: console: pl011,mmio,0x9000000,9600" (or SPCR's complaint). */
  spcr?: KernelLine;
  /** ACPI boots: the kernel listed its tables ("ACPI: XSDT 0x…"). */
  acpiTables?: KernelLine;
}

const MAX_LINE = 512;
const MAX_LIST = 8;
// printk's "[    0.000000] " prefix.
const STAMP = /^\[ *\d+\.\d+\] /;

/** Splits console bytes into lines per port and keeps the kernel lines `explain uart` quotes. */
export class KernelConsoleScanner {
  readonly lines: KernelConsole = { consoleEnabled: [], ports: [], ttySPorts: [] };
  private readonly open = new Map<string, { text: string; seq: number }>();

  feed(port: string, bytes: Uint8Array, seq: number): void {
    let cur = this.open.get(port);
    for (const b of bytes) {
      if (b === 10) {
        if (cur) this.line(cur);
        cur = undefined;
        continue;
      }
      if (b === 13) continue;
      cur ??= { text: '', seq };
      // Guest text reaches the user's terminal: control bytes (escape sequences) are shown, not sent.
      if (cur.text.length < MAX_LINE)
        cur.text += b < 0x20 || (b >= 0x7f && b < 0xa0) ? `\\x${b.toString(16).padStart(2, '0')}` : String.fromCharCode(b);
    }
    if (cur) this.open.set(port, cur);
    else this.open.delete(port);
  }

  /** Lines still open at the end of the trace. */
  finish(): KernelConsole {
    for (const l of this.open.values()) this.line(l);
    this.open.clear();
    return this.lines;
  }

  private line(l: { text: string; seq: number }): void {
    const text = l.text.replace(STAMP, '');
    const k = this.lines;
    const at = { text, seq: l.seq };
    if (text.startsWith('Kernel command line: ')) k.commandLine ??= at;
    else if (text.startsWith('earlycon: ')) k.earlycon ??= at;
    else if (/^printk: bootconsole \[\S+\] enabled/.test(text)) k.bootconsole ??= at;
    else if (/^printk: bootconsole \[\S+\] disabled/.test(text)) k.bootconsoleDisabled ??= at;
    else if (/^printk: console \[\S+\] enabled/.test(text)) {
      if (k.consoleEnabled.length < MAX_LIST && !k.consoleEnabled.some((x) => x.text === text)) k.consoleEnabled.push(at);
    } else if (/ttyAMA\d+ at MMIO 0x[0-9a-f]+ /.test(text)) {
      if (k.ports.length < MAX_LIST) k.ports.push(at);
    } else if (/\bttyS\d+ at (MMIO|I\/O) 0x[0-9a-f]+ /.test(text)) {
      if (k.ttySPorts.length < MAX_LIST) k.ttySPorts.push(at);
    } else if (text.startsWith('Serial: AMBA PL011 UART driver')) k.driverInit ??= at;
    else if (text.startsWith('Serial: 8250/16550 driver')) k.serial8250 ??= at;
    else if (text.startsWith('Warning: unable to open an initial console')) k.noInitialConsole ??= at;
    else if (text.startsWith('Linux version ') || text.startsWith('Booting Linux')) k.linux ??= at;
    else if (text.startsWith('Kernel panic - not syncing')) k.panic ??= at;
    else if (text.startsWith('ACPI: SPCR: ')) k.spcr ??= at;
    else if (/^ACPI: XSDT 0x/.test(text)) k.acpiTables ??= at;
  }
}

/** The guest's kernel command line and where it was read. */
export interface CommandLine {
  text: string;
  source: string;
}

/** The kernel's own "Kernel command line:" line first, then the DT's /chosen/bootargs, then the run's --append. */
export function guestCommandLine(
  k: KernelConsole,
  dt: DtInfo | undefined,
  config: Readonly<Record<string, unknown>>,
): CommandLine | undefined {
  if (k.commandLine)
    return {
      text: k.commandLine.text.slice('Kernel command line: '.length).trim(),
      source: `the kernel's "Kernel command line:" line, console seq ${k.commandLine.seq}`,
    };
  if (dt && dt.bootargs.trim()) return { text: dt.bootargs.trim(), source: "the DT's /chosen/bootargs" };
  if (typeof config['append'] === 'string') return { text: config['append'], source: "the run's --append" };
  return undefined;
}

export interface ConsoleArg {
  /** As written, e.g. 'console=ttyAMA1,115200'. */
  arg: string;
  /** Device name and index, e.g. 'ttyAMA' and 1 ('' / -1 when the value is not NAME<index>). */
  name: string;
  index: number;
}

/** console= arguments in order (the last one is the preferred console) and the earlycon argument. */
export function consoleArgs(cmdline: string): { consoles: ConsoleArg[]; earlycon?: string } {
  const consoles: ConsoleArg[] = [];
  let earlycon: string | undefined;
  for (const w of cmdline.split(/\s+/)) {
    if (w === 'earlycon' || w.startsWith('earlycon=')) earlycon = w;
    if (!w.startsWith('console=')) continue;
    const m = /^([A-Za-z_]+?)(\d+)(?:,|$)/.exec(w.slice(8));
    consoles.push({ arg: w, name: m ? m[1]! : '', index: m ? Number(m[2]) : -1 });
  }
  return earlycon !== undefined ? { consoles, earlycon } : { consoles };
}

/** Which driver a console name belongs to (for the message), and the DT compatibles it would need. */
export function consoleDriver(name: string): { what: string; compatibles: string[] } {
  switch (name) {
    case 'ttyAMA':
      return { what: "the PL011 driver's port", compatibles: ['arm,pl011', 'arm,sbsa-uart'] };
    case 'ttyS':
      return { what: 'an 8250/16550 UART (the 8250 driver)', compatibles: ['ns16550a', 'ns16550', 'ns8250', 'snps,dw-apb-uart'] };
    case 'hvc':
      return { what: 'a hypervisor console (Xen PV console or virtio-console)', compatibles: [] };
    case 'tty':
      return { what: 'the virtual terminal', compatibles: [] };
    default:
      return { what: `a ${name || 'named'} device`, compatibles: [] };
  }
}

/** The port index Linux's pl011 driver gives a node: its DT alias serialN, else its place among the PL011 nodes. */
export function pl011PortIndex(dt: DtInfo | undefined, node: DtDevice | undefined, k: KernelConsole, base: number): number {
  for (const p of k.ports) {
    const m = /ttyAMA(\d+) at MMIO 0x([0-9a-f]+) /.exec(p.text);
    if (m && parseInt(m[2]!, 16) === base) return Number(m[1]);
  }
  if (!dt?.root || !node) return 0;
  const aliases = dt.root.children.find((c) => c.name === 'aliases');
  for (const p of aliases?.props ?? []) {
    const m = /^serial(\d+)$/.exec(p.name);
    if (m && new TextDecoder().decode(p.value).replace(/\0+$/, '') === node.path) return Number(m[1]);
  }
  const pl011s = dt.devices.filter((d) => d.compatible.includes('arm,pl011'));
  return Math.max(0, pl011s.indexOf(node));
}

/** A property as dtc would print it (strings quoted, cells as <0x…>), or undefined when absent. */
export function dtProp(node: FdtNode, name: string): string | undefined {
  const v = getProp(node, name);
  if (!v) return undefined;
  if (v.length === 0) return `${name};`;
  const printable = v[v.length - 1] === 0 && [...v].every((b) => b === 0 || (b >= 32 && b < 127));
  if (printable && ['compatible', 'status', 'clock-names', 'stdout-path', 'bootargs'].includes(name)) {
    return `${name} = ${(propStrings(node, name) ?? []).map((s) => `"${s}"`).join(', ')}`;
  }
  return `${name} = <${(propU32s(node, name) ?? []).map((c) => '0x' + c.toString(16)).join(' ')}>`;
}

/** A DT reason Linux 6.1 never binds its pl011 driver to the node, in the order Linux checks them. */
export interface DtBindProblem {
  verdict: 'disabled-in-dt' | 'not-primecell' | 'missing-clocks';
  /** The property (or its absence) as the DT has it. */
  property: string;
  /** What Linux does with it. */
  why: string;
  fix: string;
}

export function dtBindProblem(n: DtDevice): DtBindProblem | undefined {
  if (n.status !== 'okay' && n.status !== 'ok') {
    return {
      verdict: 'disabled-in-dt',
      property: `${n.path}: ${dtProp(n.node, 'status')}`,
      why: 'Linux creates no device for a node whose status is not "okay" (the DT platform code skips it), so no driver ever probes it',
      fix: `remove the status property or set status = "okay" on ${n.path}`,
    };
  }
  if (n.compatible.includes('arm,pl011') && !n.compatible.includes('arm,primecell')) {
    return {
      verdict: 'not-primecell',
      property: `${n.path}: ${dtProp(n.node, 'compatible')} (no "arm,primecell")`,
      why: 'Linux puts a DT node on the AMBA bus only when its compatible lists "arm,primecell"; this one became a platform device, which no driver takes (the pl011 driver\'s platform side matches only "arm,sbsa-uart")',
      fix: `compatible = "arm,pl011", "arm,primecell" on ${n.path}`,
    };
  }
  const clockNames = propStrings(n.node, 'clock-names') ?? [];
  const clocks = propU32s(n.node, 'clocks') ?? [];
  if (n.compatible.includes('arm,primecell') && (clocks.length === 0 || !clockNames.includes('apb_pclk'))) {
    const have = [dtProp(n.node, 'clocks') ?? 'no clocks', dtProp(n.node, 'clock-names') ?? 'no clock-names'].join(', ');
    return {
      verdict: 'missing-clocks',
      property: `${n.path}: ${have}`,
      why: 'the AMBA bus enables the node\'s "apb_pclk" clock before it reads the PrimeCell ID registers; without it the read is deferred for ever, so the pl011 driver never binds (and the driver itself needs the "uartclk" clock)',
      fix: `clocks = <&clk &clk>; clock-names = "uartclk", "apb_pclk" on ${n.path} (QEMU virt: its fixed 24 MHz apb-pclk node)`,
    };
  }
  return undefined;
}
