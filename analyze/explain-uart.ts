// `explain uart`: why the guest has (or has no) UART console. Follows the console from the DT node
// (compatible, reg, interrupts, clocks, current-speed) to the platform's UART region, the guest's
// accesses, the ID registers (AMBA match), the enable sequence, TX writes, interrupt routing and
// delivery, and the Xen PV console, then gives one verdict with the events that show it.

import type { DeviceRegion, EventOf, TraceEvent } from '../capture/model.ts';
import { fdtNode, propU32 } from '../arch/fdt.ts';
import type { Analysis, ReplayContext } from './analysis.ts';
import { evidenceOf } from './check.ts';
import { replay, type ReplayOptions, type ReplaySource } from './engine.ts';
import { clockRates, gicIntid, readDt, type DtDevice, type DtInfo } from './dt-info.ts';
import { amba, PL011_PID, PRIMECELL_CID, type UartRegs } from './state/uart.ts';
import type { Evidence } from './rules/rule.ts';

export const UART_VERDICTS = [
  'working-pl011',
  'working-sbsa',
  'sbsa-described-as-pl011',
  'missing-from-dt',
  'wrong-address',
  'xen-pv-console',
  'interrupt-never-arrives',
  'uart-unused',
  'no-uart',
] as const;
export type UartVerdict = (typeof UART_VERDICTS)[number];

const UART_COMPATIBLES = ['arm,pl011', 'arm,sbsa-uart', 'ns16550a', 'ns16550', 'snps,dw-apb-uart'];
const hex = (n: number) => '0x' + (n >>> 0).toString(16);

export interface UartNodeReport {
  path: string;
  compatible: string[];
  reg: { base: string; size: string }[];
  intid?: number;
  clocks: number[];
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
  interrupt: { intid?: number; dtIntid?: number; gicEnabled: boolean; imsc: string; asserted: number; delivered: number; acked: number } | null;
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
  evidence: Evidence[];
}

interface RegionTrack {
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
}

const MAX_ENABLE = 8;
const MAX_UNASSIGNED = 16;

class ExplainUart implements Analysis<UartExplanation> {
  readonly name = 'explain-uart';
  private readonly tracks = new Map<string, RegionTrack>();
  private readonly byIntid = new Map<number, string>();
  private readonly unassigned = new Map<number, { count: number; first: TraceEvent }>();
  private readonly xenPorts = new Map<string, { bytes: number; first: TraceEvent }>();
  private xenConsoleCalls = 0;
  private gicEnableOf = new Map<number, TraceEvent>();
  private dt: DtInfo | undefined | null = null;
  private uartWindows: { base: number; size: number }[] = [];

  private track(name: string): RegionTrack {
    let t = this.tracks.get(name);
    if (!t) this.tracks.set(name, (t = { firstId: [], enable: [], consoleBytes: 0, asserted: 0, delivered: 0, acked: 0, inputs: 0 }));
    return t;
  }

  private init(ctx: ReplayContext): void {
    this.dt = readDt(ctx.blob('dtb'));
    for (const r of ctx.regionsByRole('uart')) {
      this.track(r.name);
      if (r.intid !== undefined) this.byIntid.set(r.intid, r.name);
      this.uartWindows.push({ base: r.base, size: r.size });
    }
    // Without a DTB (imports), the region table's compatible strings are the platform's description.
    if (!this.dt) {
      this.fromRegions = ctx.regionsByRole('uart').filter((r) => r.compatible?.length).map((r) => ({
        path: `region table: ${r.name}`,
        compatible: r.compatible!,
        reg: [{ base: r.base, size: r.size }],
        interrupts: r.intid !== undefined && r.intid >= 32 ? [0, r.intid - 32, 4] : [],
        status: 'okay',
        node: fdtNode(r.name),
      }));
    }
    for (const n of this.uartNodes()) for (const reg of n.reg) this.uartWindows.push({ base: reg.base, size: Math.max(reg.size, 0x1000) });
  }

  private fromRegions: DtDevice[] = [];

  uartNodes(): DtDevice[] {
    const dt = this.dt && !this.dt.error ? this.dt : undefined;
    if (!this.dt) return this.fromRegions;
    return dt ? dt.devices.filter((d) => d.compatible.some((c) => UART_COMPATIBLES.includes(c))) : [];
  }

  onEvent(e: TraceEvent, ctx: ReplayContext): void {
    if (this.dt === null) this.init(ctx);
    switch (e.kind) {
      case 'mmio_read':
      case 'mmio_write':
        this.mmio(e, ctx);
        return;
      case 'input':
        if (ctx.region(e.port)?.role === 'uart') this.track(e.port).inputs += e.bytes.length;
        return;
      case 'console': {
        if (ctx.region(e.port)?.role === 'uart') this.track(e.port).consoleBytes += e.bytes.length;
        else {
          const p = this.xenPorts.get(e.port);
          if (p) p.bytes += e.bytes.length;
          else this.xenPorts.set(e.port, { bytes: e.bytes.length, first: e });
        }
        return;
      }
      case 'hypercall':
        if (e.name === 'console_io') this.xenConsoleCalls++;
        return;
      case 'irq_line': {
        const n = this.byIntid.get(e.intid);
        if (n && e.level) {
          const t = this.track(n);
          t.asserted++;
          t.firstAssert ??= e;
        }
        return;
      }
      case 'irq_deliver':
      case 'irq_ack': {
        const n = this.byIntid.get(e.intid);
        if (n) e.kind === 'irq_ack' ? this.track(n).acked++ : this.track(n).delivered++;
        return;
      }
    }
  }

  private mmio(e: EventOf<'mmio_read'> | EventOf<'mmio_write'>, ctx: ReplayContext): void {
    const r = e.device ? ctx.region(e.device) : undefined;
    if (r?.role === 'uart') {
      const t = this.track(r.name);
      const off = e.addr - r.base;
      const regs = ctx.state.uart.get(r.name)!;
      if (e.kind === 'mmio_read' && off >= 0xfe0 && t.firstId.length < 8) t.firstId.push(e);
      if (e.kind === 'mmio_write') {
        if (['CR', 'LCR_H', 'IBRD', 'FBRD'].includes(e.register) && t.enable.length < MAX_ENABLE) t.enable.push(e);
        if (e.register === 'IMSC' && e.value !== 0n) t.imscWrite ??= e;
        if (e.register === 'IMSC' && (e.value & 0x20n) !== 0n) t.txUnmask ??= e;
        if (e.register === 'DR') {
          t.firstTx ??= e;
          if (ctx.state.uart.canTransmit(regs) || r.model === 'sbsa-uart') t.firstTxEnabled ??= e;
        }
      }
      return;
    }
    if (r && r.role === 'gic_dist' && e.kind === 'mmio_write') {
      const off = e.addr - r.base;
      if (off >= 0x100 && off < 0x180) for (let b = 0; b < e.size * 8; b++) if ((e.value >> BigInt(b)) & 1n) this.gicEnableOf.set((off - 0x100) * 8 + b, e);
    }
    if ((!r || e.outcome === 'unassigned') && this.nearUart(e.addr)) {
      const page = e.addr - (e.addr % 0x1000);
      const u = this.unassigned.get(page);
      if (u) u.count++;
      else if (this.unassigned.size < MAX_UNASSIGNED) this.unassigned.set(page, { count: 1, first: e });
    }
  }

  /** Within 64 KiB of a UART region or a DT UART node. */
  private nearUart(addr: number): boolean {
    return this.uartWindows.some((w) => addr >= w.base - 0x10000 && addr < w.base + w.size + 0x10000);
  }

  finish(ctx: ReplayContext): UartExplanation {
    if (this.dt === null) this.init(ctx);
    const dt = this.dt && !this.dt.error ? this.dt : undefined;
    const nodes = this.uartNodes();
    const nodeReports = nodes.map((n) => this.nodeReport(n, ctx, dt));
    const regions = ctx.regionsByRole('uart').map((r) => this.regionReport(r, ctx, nodes));
    const unassignedNearUart = [...this.unassigned].map(([addr, u]) => ({ addr: hex(addr), count: u.count, first: evidenceOf(u.first) }));
    const xenMain = [...this.xenPorts].sort((a, b) => b[1].bytes - a[1].bytes)[0];
    const xenConsole = { port: xenMain?.[0] ?? '', bytes: xenMain?.[1].bytes ?? 0, first: xenMain ? evidenceOf(xenMain[1].first) : null, hypercalls: this.xenConsoleCalls };
    const bootargsConsole = (dt?.bootargs.match(/(?:^|\s)(console=\S+|earlycon\S*)/g) ?? []).map((s) => s.trim()).join(' ');
    const base = {
      dt: { present: !!this.dt, ...(this.dt?.error ? { error: this.dt.error } : {}), stdoutPath: dt?.stdoutPath ?? '', bootargsConsole, nodes: nodeReports },
      regions,
      unassignedNearUart,
      xenConsole,
    };
    return { ...this.diagnose(ctx, nodes, nodeReports, regions, unassignedNearUart, xenConsole), ...base };
  }

  private nodeReport(n: DtDevice, ctx: ReplayContext, dt: DtInfo | undefined): UartNodeReport {
    const base = n.reg[0]?.base;
    const region = base !== undefined ? ctx.regionAt(base) : undefined;
    const intid = gicIntid(n.interrupts);
    const speed = propU32(n.node, 'current-speed');
    return {
      path: n.path,
      compatible: n.compatible,
      reg: n.reg.map((r) => ({ base: hex(r.base), size: hex(r.size) })),
      ...(intid !== undefined ? { intid } : {}),
      clocks: dt?.root ? clockRates(dt.root, n.node) : [],
      ...(speed !== undefined ? { currentSpeed: speed } : {}),
      status: n.status,
      region: region?.name ?? '',
      regionModel: region?.model ?? '',
    };
  }

  private regionReport(r: DeviceRegion, ctx: ReplayContext, nodes: DtDevice[]): UartRegionReport {
    const regs = ctx.state.uart.get(r.name)!;
    const t = this.track(r.name);
    const node = nodes.find((n) => n.reg.some((g) => g.base === r.base));
    const id = amba(regs);
    const dtIntid = node ? gicIntid(node.interrupts) : undefined;
    const gic = ctx.state.gic;
    const watched = dtIntid ?? r.intid;
    return {
      name: r.name,
      model: r.model,
      base: hex(r.base),
      ...(r.intid !== undefined ? { intid: r.intid } : {}),
      describedBy: node?.path ?? '',
      accesses: regs.accesses,
      reads: regs.reads,
      writes: regs.writes,
      txWrites: regs.txWrites,
      consoleBytes: t.consoleBytes,
      ids: id ? { periphId: hex(id.pid), cellId: hex(id.cid), ambaMatch: id.matches } : null,
      enabled: ctx.state.uart.enabled(regs),
      cr: hex(regs.cr),
      enableSequence: t.enable.map(evidenceOf),
      interrupt: r.intid !== undefined || dtIntid !== undefined
        ? {
            ...(r.intid !== undefined ? { intid: r.intid } : {}),
            ...(dtIntid !== undefined ? { dtIntid } : {}),
            gicEnabled: watched !== undefined && watched >= 32 && gic.enabled[watched] === 1,
            imsc: hex(regs.imsc),
            asserted: t.asserted,
            delivered: t.delivered,
            acked: t.acked,
          }
        : null,
    };
  }

  private diagnose(
    ctx: ReplayContext,
    nodes: DtDevice[],
    nodeReports: UartNodeReport[],
    regions: UartRegionReport[],
    unassigned: UartExplanation['unassignedNearUart'],
    xen: UartExplanation['xenConsole'],
  ): Pick<UartExplanation, 'verdict' | 'hasConsole' | 'summary' | 'reasons' | 'evidence'> {
    const reasons: string[] = [];
    const ev: Evidence[] = [];
    const push = (e: TraceEvent | undefined) => e && ev.length < 12 && !ev.some((x) => x.seq === e.seq) && ev.push(evidenceOf(e));
    const uartRegions = ctx.regionsByRole('uart');
    const stateOf = (name: string): UartRegs => ctx.state.uart.get(name)!;

    // 1. The DT describes a UART where the platform has none.
    const misplaced = nodeReports.filter((n) => !n.region || ctx.region(n.region)?.role !== 'uart');
    if (misplaced.length && !nodeReports.some((n) => n.region && ctx.region(n.region)?.role === 'uart')) {
      const n = misplaced[0]!;
      reasons.push(`The DT node ${n.path} (${n.compatible.join(', ')}) puts the UART at ${n.reg[0]?.base ?? '?'}, but the platform has no device there${uartRegions.length ? `; the platform's UART is ${uartRegions.map((r) => `${r.name} at ${hex(r.base)}`).join(', ')}` : ''}.`);
      if (unassigned.length) {
        reasons.push(`The guest followed the DT: ${unassigned.reduce((s, u) => s + u.count, 0)} accesses went to unassigned addresses (${unassigned.map((u) => u.addr).join(', ')}), so nothing it wrote reached a UART.`);
        for (const u of unassigned.slice(0, 3)) ev.push(u.first);
      }
      reasons.push(`Fix the node's reg to ${uartRegions[0] ? hex(uartRegions[0].base) : "the UART's real address"}.`);
      return this.result('wrong-address', false, 'The UART is described at the wrong address: the guest writes to an address with no device behind it.', reasons, ev, xen);
    }

    // 2. A platform UART with no DT node.
    const described = regions.filter((r) => r.describedBy);
    if (uartRegions.length && !described.length) {
      const r = regions[0]!;
      reasons.push(`The platform has ${r.name} (${r.model}) at ${r.base}, but the DT has no node for it${nodes.length ? '' : ' (no arm,pl011 / arm,sbsa-uart node at all)'}, so the guest cannot find it.`);
      if (r.accesses) reasons.push(`The guest still touched it ${r.accesses} times (a hard-coded address, e.g. earlycon): a kernel relying on the DT has no console.`);
      else reasons.push('The guest never touched it.');
      if (xen.bytes) reasons.push(`Console output went to ${xen.port} instead (${xen.bytes} bytes).`);
      reasons.push(`Add a node: compatible = "${r.model === 'sbsa-uart' ? 'arm,sbsa-uart' : 'arm,pl011", "arm,primecell'}"; reg = <${r.base} 0x1000>${r.intid !== undefined ? `; interrupts = <0 ${r.intid - 32} 4>` : ''}.`);
      if (xen.first) ev.push(xen.first);
      return this.result('missing-from-dt', xen.bytes > 0, `The UART is missing from the DT: the guest cannot find ${r.name}.`, reasons, ev, xen);
    }

    const main = described.sort((a, b) => b.accesses - a.accesses)[0];
    if (!main) {
      if (xen.bytes || xen.hypercalls) {
        reasons.push(`There is no UART; the guest writes its console through ${xen.port || 'console_io'} (${xen.bytes} bytes, ${xen.hypercalls} console_io hypercalls).`);
        if (xen.first) ev.push(xen.first);
        return this.result('xen-pv-console', true, 'No UART console: the console is Xen\'s PV console (hvc0 / console_io).', reasons, ev, xen);
      }
      reasons.push('The platform has no UART region and the DT describes none; there is no other console output either.');
      return this.result('no-uart', false, 'No UART at all: the platform provides none and the guest has no console.', reasons, ev, xen);
    }
    const regs = stateOf(main.name);
    const t = this.track(main.name);
    const node = nodeReports.find((n) => n.path === main.describedBy)!;
    reasons.push(`${this.dt ? 'DT ' : ''}${node.path}: compatible ${node.compatible.join(', ')}, reg ${node.reg.map((r) => `${r.base}+${r.size}`).join(', ')}${node.intid !== undefined ? `, INTID ${node.intid}` : ''}${node.clocks.length ? `, clocks ${node.clocks.join('/')} Hz` : ''}${node.currentSpeed ? `, current-speed ${node.currentSpeed}` : ''}; it matches ${main.name} (${main.model}).`);
    const describedPl011 = node.compatible.includes('arm,pl011');

    // 3. An SBSA UART (or anything without PrimeCell IDs) described as a PL011.
    const id = amba(regs);
    if (describedPl011 && (main.model === 'sbsa-uart' || (id && !id.matches))) {
      const idText = id ? `PeriphID ${hex(id.pid)}, PCellID ${hex(id.cid)}` : 'never read';
      reasons.push(`The DT says arm,pl011, so Linux's AMBA bus reads the PrimeCell ID registers and needs cell ID ${hex(PRIMECELL_CID)} with (PeriphID & 0xfffff) == ${hex(PL011_PID)}; they read ${idText}.`);
      reasons.push(`${main.name} is ${main.model === 'sbsa-uart' ? 'an SBSA generic UART (e.g. Xen\'s vpl011), which implements no ID registers' : 'not a PrimeCell PL011'}: the AMBA match fails and the pl011 driver never binds, so there is no ttyAMA0 console.`);
      for (const e of t.firstId.slice(0, 4)) push(e);
      if (xen.bytes) reasons.push(`Console output that did appear went through ${xen.port} (${xen.bytes} bytes).`);
      reasons.push('Describe it as compatible = "arm,sbsa-uart" (Xen: a vuart node with that compatible), or give the guest a full PL011.');
      return this.result('sbsa-described-as-pl011', xen.bytes > 0, `An SBSA UART described as a PL011: its IDs read ${idText}, the AMBA match fails and the driver never binds.`, reasons, ev, xen);
    }
    if (id) {
      reasons.push(`ID registers: PeriphID ${hex(id.pid)}, PCellID ${hex(id.cid)} — the AMBA match ${id.matches ? 'succeeds' : 'fails'}.`);
      push(t.firstId[0]);
    }

    // 4. The guest did not use the UART (console elsewhere, or none).
    if (!main.txWrites) {
      if (xen.bytes) {
        reasons.push(`The guest never wrote ${main.name}'s DR; its console went to ${xen.port} (${xen.bytes} bytes${xen.hypercalls ? `, ${xen.hypercalls} console_io hypercalls` : ''}).`);
        if (xen.first) ev.push(xen.first);
        return this.result('xen-pv-console', true, `The console is Xen's PV console (${xen.port}), not the UART.`, reasons, ev, xen);
      }
      reasons.push(`The guest ${main.accesses ? `touched ${main.name} ${main.accesses} times but` : 'never'} wrote its data register; check the kernel command line (console=ttyAMA0) and /chosen stdout-path (${(this.dt && !this.dt.error && this.dt.stdoutPath) || 'unset'}).`);
      return this.result('uart-unused', false, `${main.name} is present and described, but the guest never transmitted on it.`, reasons, ev, xen);
    }

    // 5. Transmitting: show the enable sequence and TX, then the interrupt.
    for (const e of t.enable.slice(0, 4)) push(e);
    if (main.model !== 'sbsa-uart') {
      if (regs.enableSeq >= 0) reasons.push(`Enable sequence: the guest enabled it (CR.UARTEN set); CR is now ${hex(regs.cr)}.`);
      else if (ctx.meta.source.type !== 'emulator' && !t.enable.some((e) => e.kind === 'mmio_write' && e.register === 'CR')) reasons.push('Enable sequence: not in the trace (firmware or an earlier stage may have enabled the UART before the trace starts).');
      else reasons.push(`Enable sequence: the guest never set CR.UARTEN (CR is ${hex(regs.cr)}); a real PL011 would not transmit, QEMU/KVM do.`);
    }
    push(t.firstTxEnabled ?? t.firstTx);
    reasons.push(`Transmit: ${main.txWrites} DR writes, ${main.consoleBytes} console bytes on ${main.name}.`);
    const irq = main.interrupt;
    if (irq && t.imscWrite) {
      push(t.imscWrite);
      const deviceIntid = main.intid;
      const dtIntid = node.intid;
      const routeText = `device drives INTID ${deviceIntid ?? '?'}, DT says INTID ${dtIntid ?? '?'}`;
      const mismatch = dtIntid !== undefined && deviceIntid !== undefined && dtIntid !== deviceIntid;
      // An interrupt is only owed when its condition occurred: TX unmasked, RX with input, or an assertion.
      const expected = mismatch || irq.asserted > 0 || t.txUnmask !== undefined || t.inputs > 0;
      if (irq.acked === 0 && !expected) {
        reasons.push(`Interrupt: the guest unmasked IMSC ${hex(Number(t.imscWrite.kind === 'mmio_write' ? t.imscWrite.value : 0n))} (receive/timeout) and enabled INTID ${deviceIntid ?? '?'}; no input arrived, so no interrupt was due.`);
      } else if (irq.acked === 0) {
        push(t.txUnmask);
        push(t.firstAssert);
        const why: string[] = [];
        if (mismatch) {
          why.push(`the DT gives the wrong interrupt (${routeText}): the guest enabled INTID ${dtIntid} in the GIC${this.gicEnableOf.has(dtIntid) ? '' : ' (or tried to)'}, while the UART asserts INTID ${deviceIntid}, which nobody enabled`);
          push(this.gicEnableOf.get(dtIntid));
        } else if (irq.asserted === 0) why.push('the UART never asserted its line although an unmasked interrupt was due; check IMSC, RIS and the device model');
        else if (deviceIntid !== undefined && !ctx.state.gic.enabled[deviceIntid]) why.push(`INTID ${deviceIntid} was asserted ${irq.asserted} times but never enabled in the GIC`);
        else why.push(`INTID ${deviceIntid} was asserted ${irq.asserted} times and ${irq.delivered ? `delivered ${irq.delivered} times but never acknowledged` : 'never delivered (check routing, the priority mask and PSTATE.I)'}`);
        reasons.push(`Interrupt: the guest unmasked UART interrupts (IMSC), but none arrived: ${why.join('; ')}.`);
        reasons.push('Transmit still works (polled), but an interrupt-driven console/tty will stall once the FIFO fills.');
        return this.result('interrupt-never-arrives', true, `The UART transmits, but its interrupt never arrives (${mismatch ? routeText : why[0]}).`, reasons, ev, xen);
      } else reasons.push(`Interrupt: INTID ${deviceIntid} asserted ${irq.asserted}, delivered ${irq.delivered}, acknowledged ${irq.acked} times.`);
    }
    const sbsa = main.model === 'sbsa-uart';
    return this.result(sbsa ? 'working-sbsa' : 'working-pl011', true, `A working ${sbsa ? 'SBSA generic UART' : 'PL011'}: ${main.name} at ${main.base} is described ${this.dt ? 'in the DT' : 'by the region table (no DTB in the trace)'}${id ? ', its IDs match' : ''}, and the guest wrote ${main.consoleBytes} console bytes to it.`, reasons, ev, xen);
  }

  private result(verdict: UartVerdict, hasConsole: boolean, summary: string, reasons: string[], evidence: Evidence[], _xen: unknown) {
    return { verdict, hasConsole, summary, reasons, evidence };
  }
}

export function explainUartAnalysis(): Analysis<UartExplanation> {
  return new ExplainUart();
}

export function explainUart(src: ReplaySource, opts?: ReplayOptions): UartExplanation {
  return replay(src, [explainUartAnalysis()], opts)['explain-uart'] as UartExplanation;
}

export function formatUartExplanation(x: UartExplanation): string {
  const out: string[] = [];
  out.push(`verdict: ${x.verdict}${x.hasConsole ? '' : ' (no UART console)'}`);
  out.push(x.summary, '');
  out.push('why:');
  for (const r of x.reasons) out.push(`  - ${r}`);
  out.push('', 'device tree:');
  if (!x.dt.present) {
    out.push("  (the trace carries no DTB: the region table's compatible strings stand in for it)");
    for (const n of x.dt.nodes) out.push(`  ${n.path}: ${n.compatible.join(', ')} reg ${n.reg.map((r) => r.base).join(',')}${n.intid !== undefined ? ` INTID ${n.intid}` : ''}`);
  }
  else if (x.dt.error) out.push(`  (DTB unreadable: ${x.dt.error})`);
  else {
    out.push(`  stdout-path ${x.dt.stdoutPath || '(unset)'}${x.dt.bootargsConsole ? `, bootargs ${x.dt.bootargsConsole}` : ''}`);
    if (!x.dt.nodes.length) out.push('  no UART node');
    for (const n of x.dt.nodes) {
      out.push(`  ${n.path}: ${n.compatible.join(', ')} reg ${n.reg.map((r) => r.base).join(',')}${n.intid !== undefined ? ` INTID ${n.intid}` : ''}${n.clocks.length ? ` clocks ${n.clocks.join('/')} Hz` : ''}${n.currentSpeed ? ` current-speed ${n.currentSpeed}` : ''} → ${n.region || 'no device at that address'}`);
    }
  }
  out.push('', 'platform UARTs:');
  if (!x.regions.length) out.push('  none');
  for (const r of x.regions) {
    out.push(`  ${r.name} (${r.model}) at ${r.base}${r.intid !== undefined ? ` INTID ${r.intid}` : ''}: ${r.describedBy ? `described by ${r.describedBy}` : 'not in the DT'}; ${r.accesses} accesses, ${r.txWrites} TX writes, ${r.consoleBytes} console bytes, CR ${r.cr}`);
    if (r.ids) out.push(`    IDs: PeriphID ${r.ids.periphId} PCellID ${r.ids.cellId} → AMBA match ${r.ids.ambaMatch ? 'succeeds' : 'fails'}`);
    if (r.interrupt) out.push(`    interrupt: GIC enabled ${r.interrupt.gicEnabled ? 'yes' : 'no'}, IMSC ${r.interrupt.imsc}, asserted ${r.interrupt.asserted}, delivered ${r.interrupt.delivered}, acked ${r.interrupt.acked}`);
  }
  if (x.unassignedNearUart.length) {
    out.push('', 'accesses to unassigned addresses near a UART:');
    for (const u of x.unassignedNearUart) out.push(`  ${u.addr}: ${u.count}× (first ${u.first.text})`);
  }
  if (x.xenConsole.bytes || x.xenConsole.hypercalls) out.push('', `PV console: ${x.xenConsole.port || 'console_io'} ${x.xenConsole.bytes} bytes, ${x.xenConsole.hypercalls} console_io hypercalls`);
  if (x.evidence.length) {
    out.push('', 'evidence:');
    for (const e of x.evidence) out.push(`  ${e.text}`);
  }
  return out.join('\n') + '\n';
}
