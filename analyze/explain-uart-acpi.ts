// `explain uart` on an ACPI boot (a UEFI firmware gave the kernel ACPI tables and an empty DT):
// the kernel learns its console from the SPCR table (Microsoft "Serial Port Console Redirection
// Table"; Linux's drivers/acpi/spcr.c makes it the preferred console unless the command line names
// another), and binds the PL011 through the DSDT's ARMH0011 device, not through the DT or the
// AMBA bus's ID reads. The verdicts here replace the DT ones for such boots.

import type { DeviceRegion } from '../capture/model.ts';
import type { ReplayContext } from './analysis.ts';
import type { UartVerdict } from './explain-uart-model.ts';
import { storedTables } from './rules/acpi.ts';
import { consoleArgs, consoleDriver, type CommandLine, type KernelConsole } from './uart-linux.ts';

export interface AcpiUartDiagnosis {
  verdict: UartVerdict;
  hasConsole: boolean;
  summary: string;
  reasons: string[];
}

const hex = (n: number) => '0x' + n.toString(16);
/** SPCR interface types (Table 3 of the SPCR specification) Linux's spcr.c understands for Arm UARTs. */
const SPCR_TYPES: Record<number, string> = { 0x03: 'pl011', 0x0d: 'sbsa32', 0x0e: 'sbsa' };

/** SPCR fields the kernel uses: interface type, base address, GSI. */
function spcrOf(ctx: ReplayContext): { type: number; base: number; gsi: number } | null | undefined {
  const tables = storedTables(ctx.meta.extra);
  if (!tables.length) return undefined;
  const t = tables.find((x) => x.sig === 'SPCR');
  if (!t || t.data.length < 58) return null;
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { type: t.data[36]!, base: Number(dv.getBigUint64(44, true)), gsi: dv.getUint32(54, true) };
}

/** An ACPI boot: the trace stores ACPI tables, or the kernel listed them. */
export function isAcpiBoot(ctx: ReplayContext, k: KernelConsole): boolean {
  return storedTables(ctx.meta.extra).length > 0 || !!k.acpiTables;
}

/** The verdict for an ACPI boot (undefined for others: the DT verdicts apply). */
export function acpiDiagnosis(
  ctx: ReplayContext,
  k: KernelConsole,
  cmdline: CommandLine | undefined,
): (AcpiUartDiagnosis & { evidence: [] }) | undefined {
  return isAcpiBoot(ctx, k) ? { ...diagnoseAcpiUart(ctx, k, cmdline, ctx.regionsByRole('uart')), evidence: [] } : undefined;
}

export function diagnoseAcpiUart(
  ctx: ReplayContext,
  k: KernelConsole,
  cmdline: CommandLine | undefined,
  uarts: readonly DeviceRegion[],
): AcpiUartDiagnosis {
  const spcr = spcrOf(ctx);
  const consoles = cmdline ? consoleArgs(cmdline.text).consoles : [];
  const enabled = k.consoleEnabled.map((l) => /\[(\S+)\]/.exec(l.text)?.[1] ?? '');
  const ttyAma = enabled.find((c) => c.startsWith('ttyAMA'));
  const reasons: string[] = [];
  if (k.spcr) reasons.push(`The kernel read the SPCR table: "${k.spcr.text}" (console seq ${k.spcr.seq}).`);
  for (const p of k.ports) reasons.push(`The PL011 driver bound the ACPI device: "${p.text}" (console seq ${p.seq}).`);
  if (spcr === null && consoles.length === 0) {
    return {
      verdict: 'acpi-no-spcr',
      hasConsole: !!ttyAma,
      summary: 'ACPI boot without an SPCR table and without console= on the command line: nothing tells Linux which UART is the console.',
      reasons: [
        ...reasons,
        'The firmware gave no SPCR (the table that names the console UART on ACPI systems), and the command line has no console=, so Linux has no preferred console and no earlycon.',
        'Fix: give the VM an SPCR (drop --acpi-spcr off), or put console=ttyAMA0 (and earlycon) on the command line.',
      ],
    };
  }
  if (spcr) {
    const uart = uarts.find((r) => r.base === spcr.base);
    const want = uart ? (uart.model === 'pl011' ? [0x03] : uart.model === 'sbsa-uart' ? [0x0e, 0x0d] : []) : [];
    if (!uart || (want.length && !want.includes(spcr.type))) {
      return {
        verdict: 'acpi-spcr-wrong',
        hasConsole: !!ttyAma,
        summary: uart
          ? `SPCR describes ${uart.name} as interface type ${hex(spcr.type)} (${SPCR_TYPES[spcr.type] ?? 'unknown'}), but it is a ${uart.model}: the console comes up with the wrong driver.`
          : `SPCR points the console at ${hex(spcr.base)}, where the platform has no UART: the kernel's SPCR console writes nowhere.`,
        reasons: [
          ...reasons,
          `Platform UARTs: ${uarts.map((r) => `${r.name} (${r.model}) at ${hex(r.base)}`).join(', ') || 'none'}.`,
          "Fix the firmware's SPCR: base address and interface type of the console UART.",
        ],
      };
    }
  }
  // Linux's port for the SPCR UART (or the only PL011): ttyAMA0 unless the kernel said otherwise.
  const portNames = k.ports.map((p) => /(ttyAMA\d+)/.exec(p.text)?.[1]).filter((x): x is string => !!x);
  const pl011s = uarts.filter((r) => r.model === 'pl011' || r.model === 'sbsa-uart');
  const expectedPorts = portNames.length ? portNames : pl011s.map((_, i) => `ttyAMA${i}`);
  const named = consoles.find((c) => c.name === 'ttyAMA');
  const namedTty = named ? `ttyAMA${named.index}` : '';
  if (named && !enabled.includes(namedTty)) {
    return {
      verdict: 'acpi-console-wrong-port',
      hasConsole: false,
      summary: `console=${namedTty} names a port the kernel never created: on this ACPI boot the PL011 ports are ${expectedPorts.join(', ') || 'none'}.`,
      reasons: [
        ...reasons,
        `The command line (${cmdline!.source}) is "${cmdline!.text}". The pl011 driver's console setup fails for a port that does not exist, and that failure keeps Linux from falling back to SPCR's console: no console is enabled.`,
        `Fix: console=${expectedPorts[0] ?? 'ttyAMA0'}, or drop console= and let SPCR choose.`,
      ],
    };
  }
  const spcrUart = spcr ? uarts.find((r) => r.base === spcr.base) : undefined;
  if (spcr && spcrUart?.intid !== undefined && spcr.gsi !== spcrUart.intid)
    reasons.push(
      `SPCR gives GSI ${spcr.gsi} for ${spcrUart.name}, whose interrupt is INTID ${spcrUart.intid} (check: acpi.spcr-uart). Linux does not use SPCR's interrupt (drivers/acpi/spcr.c takes the base, interface type and baud rate; the driver takes its interrupt from the DSDT's ARMH0011 device), so its console is not affected; an OS that does use it waits on the wrong interrupt.`,
    );
  const other = otherDeviceConsole(k, cmdline, consoles, enabled, spcr, expectedPorts[0] ?? 'ttyAMA0', reasons);
  if (other) return other;
  return {
    verdict: 'working-acpi',
    hasConsole: !!ttyAma,
    summary: ttyAma
      ? `ACPI boot: ${ttyAma} is the console${spcr ? `, as SPCR names the UART at ${hex(spcr.base)}` : ' (from console=)'}.`
      : 'ACPI boot: the kernel has not enabled a ttyAMA console in this trace.',
    reasons,
  };
}

/**
 * console= naming another driver's device (ttyS0: an 8250/16550) that this machine does not have,
 * none of the named consoles enabled. Unlike a DT boot, the PL011 usually still becomes a console:
 * SPCR registers its port as a default console (Linux 6.1 drivers/acpi/spcr.c), and printk falls
 * back to the defaults when no console= entry has the registering console's name (a ttyAMA entry
 * whose setup fails does not fall back: acpi-console-wrong-port).
 */
function otherDeviceConsole(
  k: KernelConsole,
  cmdline: CommandLine | undefined,
  consoles: readonly { arg: string; name: string; index: number }[],
  enabled: readonly string[],
  spcr: { type: number; base: number; gsi: number } | null | undefined,
  port: string,
  reasons: string[],
): AcpiUartDiagnosis | undefined {
  const named = consoles.filter((c) => c.name !== '');
  if (!named.length || named.some((c) => enabled.includes(`${c.name}${c.index}`))) return undefined;
  const last = named[named.length - 1]!;
  if (last.name === 'ttyAMA' || (last.name === 'ttyS' && k.ttySPorts.length)) return undefined;
  const drv = consoleDriver(last.name);
  const ama = enabled.find((c) => c.startsWith('ttyAMA'));
  const uart = spcr ? `the PL011 at ${hex(spcr.base)} that SPCR names` : 'the PL011';
  const out = [...reasons, `The command line (${cmdline!.source}) is "${cmdline!.text}": "${last.arg}" names ${drv.what}.`];
  if (last.name === 'ttyS')
    out.push(
      k.serial8250
        ? `The 8250 driver registered ("${k.serial8250.text}", console seq ${k.serial8250.seq}) but no device gave it a port (no "ttyS0 at …" line): the ACPI tables describe no 16550, only ${uart} (DSDT device ARMH0011), whose port Linux calls ${port}.`
        : `No 8250/16550 port was created (no "ttyS0 at …" line): the ACPI tables describe no 16550, only ${uart} (DSDT device ARMH0011), whose port Linux calls ${port}.`,
    );
  const on = k.consoleEnabled.find((l) => l.text.includes(`[${ama}]`));
  if (ama && on)
    out.push(
      `The console works anyway: SPCR made ${ama} a default console, and with no console= entry for a "ttyAMA" device the kernel fell back to it ("${on.text}", console seq ${on.seq}): the log and /dev/console are on ${ama}. The same command line on a DT boot, or with no SPCR, gives no console.`,
    );
  out.push(`Fix: console=${port} (or drop console= and let SPCR choose).`);
  return {
    verdict: 'acpi-console-other-device',
    hasConsole: !!ama,
    summary: ama
      ? `"${last.arg}" names ${drv.what}, which this machine does not have: its console UART is ${uart}, ${port}. The console works only because SPCR made ${ama} a default console; "${last.arg}" itself does nothing.`
      : `"${last.arg}" names ${drv.what}, which this machine does not have (its console UART is ${uart}, ${port}), and the kernel enabled no console.`,
    reasons: out,
  };
}
