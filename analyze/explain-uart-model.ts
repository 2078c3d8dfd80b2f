// What `explain uart` concludes: its verdicts and the reports it gives per DT node and UART region.

import type { TraceEvent } from '../capture/model.ts';
import type { Evidence } from './rules/rule.ts';
import type { CommandLine, KernelLine } from './uart-linux.ts';

export const UART_VERDICTS = [
  'working-pl011',
  'working-acpi',
  'acpi-no-spcr',
  'acpi-spcr-wrong',
  'acpi-console-wrong-port',
  'acpi-console-other-device',
  'working-sbsa',
  'sbsa-described-as-pl011',
  'missing-from-dt',
  'wrong-address',
  'xen-pv-console',
  'interrupt-never-arrives',
  'disabled-in-dt',
  'not-primecell',
  'missing-clocks',
  'missing-interrupt',
  'earlycon-only',
  'console-wrong-port',
  'console-other-device',
  'no-console-selected',
  'uart-unused',
  'no-uart',
] as const;
export type UartVerdict = (typeof UART_VERDICTS)[number];

export const UART_COMPATIBLES = ['arm,pl011', 'arm,sbsa-uart', 'ns16550a', 'ns16550', 'snps,dw-apb-uart'];

export interface UartNodeReport {
  path: string;
  compatible: string[];
  reg: { base: string; size: string }[];
  intid?: number;
  clocks: number[];
  clockNames: string[];
  currentSpeed?: number;
  status: string;
  /** Platform region at the node's reg base ('' if none). */
  region: string;
  regionModel: string;
}

export interface UartRegionReport {
  name: string;
  model: string;
  base: string;
  intid?: number;
  describedBy: string;
  accesses: number;
  reads: number;
  writes: number;
  txWrites: number;
  consoleBytes: number;
  ids: { periphId: string; cellId: string; ambaMatch: boolean } | null;
  enabled: boolean;
  cr: string;
  enableSequence: Evidence[];
  interrupt: {
    intid?: number;
    dtIntid?: number;
    gicEnabled: boolean;
    imsc: string;
    asserted: number;
    delivered: number;
    acked: number;
  } | null;
  /** What a driver did: ID reads (the AMBA probe), its set-up writes, DR writes before the first ID read (earlycon). */
  driver: { idReadSeq: number; probeSeq: number; lineSetupSeq: number; txBeforeProbe: number; txAfterProbe: number };
}

export interface UartExplanation {
  verdict: UartVerdict;
  hasConsole: boolean;
  summary: string;
  reasons: string[];
  dt: { present: boolean; error?: string; stdoutPath: string; bootargsConsole: string; nodes: UartNodeReport[] };
  regions: UartRegionReport[];
  unassignedNearUart: { addr: string; count: number; first: Evidence }[];
  xenConsole: { port: string; bytes: number; first: Evidence | null; hypercalls: number };
  /** The guest kernel's command line (kernel line, else the DT's /chosen/bootargs) and its console lines. */
  kernel: { commandLine: CommandLine | null; lines: KernelLine[] };
  evidence: Evidence[];
}

export interface RegionTrack {
  firstId: TraceEvent[];
  enable: TraceEvent[];
  firstTx?: TraceEvent;
  firstTxEnabled?: TraceEvent;
  consoleBytes: number;
  asserted: number;
  delivered: number;
  acked: number;
  firstAssert?: TraceEvent;
  imscWrite?: TraceEvent;
  /** First IMSC write unmasking the TX interrupt (its condition holds whenever the FIFO drains). */
  txUnmask?: TraceEvent;
  /** Input bytes given to this UART (an RX interrupt is only expected with input). */
  inputs: number;
  /** Linux's pl011 driver at work: after the AMBA probe's ID reads, its IMSC/ICR writes (probe). */
  probe?: TraceEvent;
  /** LCR_H/IBRD/FBRD written after the ID reads: the port set up (as a console, or opened). */
  lineSetup?: TraceEvent;
  /** The tty opened: RX interrupts unmasked (pl011_startup), then IFLS written once request_irq succeeded. */
  rxUnmask?: TraceEvent;
  maskedAgain?: TraceEvent;
  ifls?: TraceEvent;
  txBeforeProbe: number;
  txAfterProbe: number;
  lastAccess?: TraceEvent;
  /** MIS/RIS reads and ICR writes after the line first rose: the guest's interrupt handler at work. */
  serviced: number;
  firstServiced?: TraceEvent;
}
