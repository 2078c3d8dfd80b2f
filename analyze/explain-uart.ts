// `explain uart`: why the guest has (or has no) UART console. Follows the console from the DT node
// (compatible, reg, interrupts, clocks, current-speed) to the platform's UART region, the guest's
// accesses, the ID registers (AMBA match), the enable sequence, TX writes, interrupt routing and
// delivery, and the Xen PV console, then gives one verdict with the events that show it.
// For a Linux guest it also tells a console that only went through earlycon (DR writes, no driver
// probe) from a bound pl011 driver, and names the DT property or command-line argument that kept the
// driver or the console away (analyze/uart-linux.ts), quoting the kernel's own lines.

import type { DeviceRegion, EventOf, TraceEvent } from '../capture/model.ts';
import { fdtNode, propStrings, propU32 } from '../arch/fdt.ts';
import { GICD } from '../arch/regmaps/gicv2.ts';
import { PRIMECELL } from '../arch/regmaps/table.ts';
import type { Analysis, ReplayContext } from './analysis.ts';
import { evidenceOf } from './check.ts';
import { replay, type ReplayOptions, type ReplaySource } from './engine.ts';
import { clockRates, gicIntid, readDt, type DtDevice, type DtInfo } from './dt-info.ts';
import { acpiDiagnosis } from './explain-uart-acpi.ts';
import { amba, PL011_PID, PRIMECELL_CID, type UartRegs } from './state/uart.ts';
import type { Evidence } from './rules/rule.ts';
import {
  consoleArgs,
  consoleDriver,
  dtBindProblem,
  dtProp,
  guestCommandLine,
  KernelConsoleScanner,
  pl011PortIndex,
  type CommandLine,
  type KernelConsole,
  type KernelLine,
} from './uart-linux.ts';

import {
  UART_COMPATIBLES,
  type UartExplanation,
  type UartNodeReport,
  type UartRegionReport,
  type UartVerdict,
} from './explain-uart-model.ts';

import type { RegionTrack } from './explain-uart-model.ts';

export * from './explain-uart-model.ts';

const hex = (n: number) => '0x' + (n >>> 0).toString(16);
export { formatUartExplanation } from './explain-uart-text.ts';

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
  private readonly kernelConsole = new KernelConsoleScanner();
  /**
   * The trace shows interrupt deliveries or acknowledgements at all. A real KVM guest reads
   * ICC_IAR1_EL1 without an exit, so an ftrace of KVM has none: its UART interrupts are judged by
   * the guest's handler (MIS/RIS reads, ICR writes after an assertion) instead.
   */
  private seesAcks = false;
  /** Registers other than DR and FR each UART saw (a handful of names at most). */
  private readonly otherRegs = new Map<string, Set<string>>();

  private track(name: string): RegionTrack {
    let t = this.tracks.get(name);
    if (!t)
      this.tracks.set(
        name,
        (t = {
          firstId: [],
          enable: [],
          consoleBytes: 0,
          asserted: 0,
          delivered: 0,
          acked: 0,
          inputs: 0,
          txBeforeProbe: 0,
          txAfterProbe: 0,
          serviced: 0,
        }),
      );
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
      this.fromRegions = ctx
        .regionsByRole('uart')
        .filter((r) => r.compatible?.length)
        .map((r) => ({
          path: `region table: ${r.name}`,
          compatible: r.compatible!,
          reg: [{ base: r.base, size: r.size }],
          windows: [],
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
        this.kernelConsole.feed(e.port, e.bytes, e.seq);
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
        this.seesAcks = true;
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
      t.lastAccess = e;
      if (e.register !== 'DR' && e.register !== 'FR') {
        let o = this.otherRegs.get(r.name);
        if (!o) this.otherRegs.set(r.name, (o = new Set()));
        o.add(e.register || hex(off));
      }
      if (e.kind === 'mmio_read' && off >= PRIMECELL.PeriphID && t.firstId.length < 8) t.firstId.push(e);
      if (t.firstAssert && (e.kind === 'mmio_read' ? e.register === 'MIS' || e.register === 'RIS' : e.register === 'ICR')) {
        t.serviced++;
        t.firstServiced ??= e;
      }
      if (e.kind === 'mmio_write') this.driverStep(t, e);
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
      // GICD_ISENABLER<n>: the same offsets on GICv2 and GICv3 (IHI 0048B §4.1.2, IHI 0069H §12.9).
      if (off >= GICD.ISENABLER && off < GICD.ICENABLER)
        for (let b = 0; b < e.size * 8; b++) if ((e.value >> BigInt(b)) & 1n) this.gicEnableOf.set((off - GICD.ISENABLER) * 8 + b, e);
    }
    if ((!r || e.outcome === 'unassigned') && this.nearUart(e.addr)) {
      const page = e.addr - (e.addr % 0x1000);
      const u = this.unassigned.get(page);
      if (u) u.count++;
      else if (this.unassigned.size < MAX_UNASSIGNED) this.unassigned.set(page, { count: 1, first: e });
    }
  }

  /** Follows Linux's pl011 driver through its writes (amba-pl011.c: probe, console set-up, startup). */
  private driverStep(t: RegionTrack, e: EventOf<'mmio_write'>): void {
    const probed = t.firstId.length > 0;
    if (e.register === 'DR') {
      if (probed) t.txAfterProbe++;
      else t.txBeforeProbe++;
      return;
    }
    if (!probed) return;
    if (e.register === 'IMSC' || e.register === 'ICR') t.probe ??= e;
    if (e.register === 'LCR_H' || e.register === 'IBRD' || e.register === 'FBRD') t.lineSetup ??= e;
    if (e.register === 'IMSC' && (e.value & 0x50n) !== 0n) t.rxUnmask ??= e;
    if (e.register === 'IMSC' && e.value === 0n && t.rxUnmask && !t.ifls) t.maskedAgain ??= e;
    if (e.register === 'IFLS') t.ifls ??= e;
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
    const xenConsole = {
      port: xenMain?.[0] ?? '',
      bytes: xenMain?.[1].bytes ?? 0,
      first: xenMain ? evidenceOf(xenMain[1].first) : null,
      hypercalls: this.xenConsoleCalls,
    };
    const bootargsConsole = (dt?.bootargs.match(/(?:^|\s)(console=\S+|earlycon\S*)/g) ?? []).map((s) => s.trim()).join(' ');
    const k = this.kernelConsole.finish();
    const commandLine = guestCommandLine(k, dt, ctx.meta.source.config ?? {}) ?? null;
    const lines = [
      k.linux,
      k.commandLine,
      k.earlycon,
      k.bootconsole,
      k.driverInit,
      ...k.ports,
      ...k.consoleEnabled,
      k.bootconsoleDisabled,
      k.noInitialConsole,
      k.panic,
    ].filter((l): l is KernelLine => !!l);
    const base = {
      dt: {
        present: !!this.dt,
        ...(this.dt?.error ? { error: this.dt.error } : {}),
        stdoutPath: dt?.stdoutPath ?? '',
        bootargsConsole,
        nodes: nodeReports,
      },
      regions,
      unassignedNearUart,
      xenConsole,
      kernel: { commandLine, lines: lines.sort((a, b) => a.seq - b.seq) },
    };
    const acpi = acpiDiagnosis(ctx, k, commandLine ?? undefined); // ACPI boots: from SPCR, not the DT
    return {
      ...(acpi ?? this.diagnose(ctx, nodes, nodeReports, regions, unassignedNearUart, xenConsole, k, commandLine ?? undefined)),
      ...base,
    };
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
      clockNames: propStrings(n.node, 'clock-names') ?? [],
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
      interrupt:
        r.intid !== undefined || dtIntid !== undefined
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
      driver: {
        idReadSeq: t.firstId[0]?.seq ?? -1,
        probeSeq: t.probe?.seq ?? -1,
        lineSetupSeq: t.lineSetup?.seq ?? -1,
        txBeforeProbe: t.txBeforeProbe,
        txAfterProbe: t.txAfterProbe,
      },
    };
  }

  private diagnose(
    ctx: ReplayContext,
    nodes: DtDevice[],
    nodeReports: UartNodeReport[],
    regions: UartRegionReport[],
    unassigned: UartExplanation['unassignedNearUart'],
    xen: UartExplanation['xenConsole'],
    k: KernelConsole,
    cmdline: CommandLine | undefined,
  ): Diagnosis {
    const reasons: string[] = [];
    const ev: Evidence[] = [];
    const push = (e: TraceEvent | undefined) => e && ev.length < 12 && !ev.some((x) => x.seq === e.seq) && ev.push(evidenceOf(e));
    const uartRegions = ctx.regionsByRole('uart');
    const stateOf = (name: string): UartRegs => ctx.state.uart.get(name)!;

    // 1. The DT describes a UART where the platform has none.
    const misplaced = nodeReports.filter((n) => !n.region || ctx.region(n.region)?.role !== 'uart');
    if (misplaced.length && !nodeReports.some((n) => n.region && ctx.region(n.region)?.role === 'uart')) {
      const n = misplaced[0]!;
      const regProp = this.dt ? nodes.find((d) => d.path === n.path) : undefined;
      // The platform UART the node meant: the one at the node name's unit address, else the first of its model.
      const unit = parseInt(n.path.split('@')[1] ?? '', 16);
      const meant =
        uartRegions.find((r) => r.base === unit) ?? uartRegions.find((r) => n.compatible.includes(`arm,${r.model}`)) ?? uartRegions[0];
      reasons.push(
        `The DT node ${n.path} (${n.compatible.join(', ')}) puts the UART at ${n.reg[0]?.base ?? '?'}${regProp ? ` (${dtProp(regProp.node, 'reg')})` : ''}, but the platform has no device there${meant ? `; the platform's UART is ${meant.name} at ${hex(meant.base)}` : ''}.`,
      );
      if (unassigned.length) {
        reasons.push(
          `The guest followed the DT: ${unassigned.reduce((s, u) => s + u.count, 0)} accesses went to unassigned addresses (${unassigned.map((u) => u.addr).join(', ')}; first at seq ${unassigned[0]!.first.seq}), so none reached a UART.`,
        );
        for (const u of unassigned.slice(0, 3)) ev.push(u.first);
      } else if (ctx.meta.source.type === 'import')
        reasons.push('The trace shows no access at that address (QEMU logs accesses to unmapped addresses only with -d guest_errors).');
      if (meant)
        reasons.push(
          `${meant.name} itself was ${stateOf(meant.name).accesses ? `accessed ${stateOf(meant.name).accesses} times` : 'never accessed'}; ${this.track(meant.name).consoleBytes} console bytes.`,
        );
      const args = cmdline ? consoleArgs(cmdline.text) : undefined;
      if (args?.earlycon === 'earlycon' && this.dt && !this.dt.error && stdoutNode(this.dt) === n.path) {
        reasons.push(
          `The command line's "earlycon" (from ${cmdline!.source}) has no options, so it takes its UART from /chosen/stdout-path = "${this.dt.stdoutPath}" — this node: the early console used the wrong address too${k.earlycon ? '' : ', and the kernel printed nothing'}.`,
        );
      }
      reasons.push(`Fix the node's reg to ${meant ? hex(meant.base) : "the UART's real address"}.`);
      return this.result(
        'wrong-address',
        false,
        'The UART is described at the wrong address: the guest accesses an address with no device behind it.',
        reasons,
        ev,
        xen,
      );
    }

    // 2. A platform UART with no DT node.
    const described = regions.filter((r) => r.describedBy);
    if (uartRegions.length && !described.length) {
      const r = regions[0]!;
      reasons.push(
        `The platform has ${r.name} (${r.model}) at ${r.base}, but the DT has no node for it${nodes.length ? '' : ' (no arm,pl011 / arm,sbsa-uart node at all)'}, so the guest cannot find it.`,
      );
      if (r.accesses)
        reasons.push(
          `The guest still touched it ${r.accesses} times (a hard-coded address, e.g. earlycon): a kernel relying on the DT has no console.`,
        );
      else reasons.push('The guest never touched it.');
      if (xen.bytes) reasons.push(`Console output went to ${xen.port} instead (${xen.bytes} bytes).`);
      reasons.push(
        `Add a node: compatible = "${r.model === 'sbsa-uart' ? 'arm,sbsa-uart' : 'arm,pl011", "arm,primecell'}"; reg = <${r.base} 0x1000>${r.intid !== undefined ? `; interrupts = <0 ${r.intid - 32} 4>` : ''}.`,
      );
      if (xen.first) ev.push(xen.first);
      return this.result(
        'missing-from-dt',
        xen.bytes > 0,
        `The UART is missing from the DT: the guest cannot find ${r.name}.`,
        reasons,
        ev,
        xen,
      );
    }

    const main = described.sort((a, b) => b.accesses - a.accesses)[0];
    if (!main) {
      if (xen.bytes || xen.hypercalls) {
        reasons.push(
          `There is no UART; the guest writes its console through ${xen.port || 'console_io'} (${xen.bytes} bytes, ${xen.hypercalls} console_io hypercalls).`,
        );
        if (xen.first) ev.push(xen.first);
        return this.result(
          'xen-pv-console',
          true,
          "No UART console: the console is Xen's PV console (hvc0 / console_io).",
          reasons,
          ev,
          xen,
        );
      }
      reasons.push('The platform has no UART region and the DT describes none; there is no other console output either.');
      return this.result('no-uart', false, 'No UART at all: the platform provides none and the guest has no console.', reasons, ev, xen);
    }
    const regs = stateOf(main.name);
    const t = this.track(main.name);
    const node = nodeReports.find((n) => n.path === main.describedBy)!;
    reasons.push(
      `${this.dt ? 'DT ' : ''}${node.path}: compatible ${node.compatible.join(', ')}, reg ${node.reg.map((r) => `${r.base}+${r.size}`).join(', ')}${node.intid !== undefined ? `, INTID ${node.intid}` : ''}${node.clocks.length ? `, clocks ${node.clocks.join('/')} Hz` : ''}${node.currentSpeed ? `, current-speed ${node.currentSpeed}` : ''}; it matches ${main.name} (${main.model}).`,
    );
    const describedPl011 = node.compatible.includes('arm,pl011');

    // 3. An SBSA UART (or anything without PrimeCell IDs) described as a PL011.
    const id = amba(regs);
    if (describedPl011 && (main.model === 'sbsa-uart' || (id && !id.matches))) {
      const idText = id ? `PeriphID ${hex(id.pid)}, PCellID ${hex(id.cid)}` : 'never read';
      reasons.push(
        `The DT says arm,pl011, so Linux's AMBA bus reads the PrimeCell ID registers and needs cell ID ${hex(PRIMECELL_CID)} with (PeriphID & 0xfffff) == ${hex(PL011_PID)}; they read ${idText}.`,
      );
      reasons.push(
        `${main.name} is ${main.model === 'sbsa-uart' ? "an SBSA generic UART (e.g. Xen's vpl011), which implements no ID registers" : 'not a PrimeCell PL011'}: the AMBA match fails and the pl011 driver never binds, so there is no ttyAMA0 console.`,
      );
      for (const e of t.firstId.slice(0, 4)) push(e);
      if (xen.bytes) reasons.push(`Console output that did appear went through ${xen.port} (${xen.bytes} bytes).`);
      reasons.push('Describe it as compatible = "arm,sbsa-uart" (Xen: a vuart node with that compatible), or give the guest a full PL011.');
      return this.result(
        'sbsa-described-as-pl011',
        xen.bytes > 0,
        `An SBSA UART described as a PL011: its IDs read ${idText}, the AMBA match fails and the driver never binds.`,
        reasons,
        ev,
        xen,
      );
    }
    if (id) {
      reasons.push(`ID registers: PeriphID ${hex(id.pid)}, PCellID ${hex(id.cid)} — the AMBA match ${id.matches ? 'succeeds' : 'fails'}.`);
      push(t.firstId[0]);
    }

    // 4. A Linux guest and its pl011 driver: earlycon only, a DT property that keeps the driver away,
    //    no interrupt, or a command line that never makes the bound port the console.
    if (main.model === 'pl011') {
      const dtNode = this.dt && !this.dt.error ? nodes.find((n) => n.path === main.describedBy) : undefined;
      const linux = this.linuxPl011({ ctx, main, dtNode, t, regs, k, cmdline, reasons, push });
      if (linux) return { ...linux, reasons, evidence: ev };
    }

    // 5. The guest did not use the UART (console elsewhere, or none).
    if (!main.txWrites) {
      if (xen.bytes) {
        reasons.push(
          `The guest never wrote ${main.name}'s DR; its console went to ${xen.port} (${xen.bytes} bytes${xen.hypercalls ? `, ${xen.hypercalls} console_io hypercalls` : ''}).`,
        );
        if (xen.first) ev.push(xen.first);
        return this.result('xen-pv-console', true, `The console is Xen's PV console (${xen.port}), not the UART.`, reasons, ev, xen);
      }
      reasons.push(
        `The guest ${main.accesses ? `touched ${main.name} ${main.accesses} times but never wrote` : 'never touched it and never wrote'} its data register.`,
      );
      reasons.push(
        `Check the kernel command line (${cmdline ? `"${cmdline.text}", from ${cmdline.source}` : 'not in the trace'}) and /chosen/stdout-path (${(this.dt && !this.dt.error && this.dt.stdoutPath) || (this.dt ? 'unset' : 'no DTB in the trace')}).`,
      );
      return this.result(
        'uart-unused',
        false,
        `${main.name} is present and described, but the guest never transmitted on it.`,
        reasons,
        ev,
        xen,
      );
    }

    // 6. Transmitting: show the enable sequence and TX, then the interrupt.
    for (const e of t.enable.slice(0, 4)) push(e);
    if (main.model !== 'sbsa-uart') {
      if (regs.enableSeq >= 0) reasons.push(`Enable sequence: the guest enabled it (CR.UARTEN set); CR is now ${hex(regs.cr)}.`);
      else if (ctx.meta.source.type !== 'emulator' && !t.enable.some((e) => e.kind === 'mmio_write' && e.register === 'CR'))
        reasons.push('Enable sequence: not in the trace (firmware or an earlier stage may have enabled the UART before the trace starts).');
      else
        reasons.push(
          `Enable sequence: the guest never set CR.UARTEN (CR is ${hex(regs.cr)}); a real PL011 would not transmit, QEMU/KVM do.`,
        );
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
      if (irq.acked === 0 && !this.seesAcks && irq.asserted > 0 && t.serviced > 0) {
        push(t.firstAssert);
        push(t.firstServiced);
        reasons.push(
          `Interrupt: INTID ${deviceIntid ?? '?'} was asserted ${irq.asserted} times and the guest's interrupt handler answered (${t.serviced} MIS/RIS reads and ICR writes after it rose); this trace does not show deliveries or acknowledgements (under KVM the guest acknowledges through ICC_IAR1_EL1 without an exit).`,
        );
      } else if (irq.acked === 0 && !expected) {
        reasons.push(
          `Interrupt: the guest unmasked IMSC ${hex(Number(t.imscWrite.kind === 'mmio_write' ? t.imscWrite.value : 0n))} (receive/timeout) and enabled INTID ${deviceIntid ?? '?'}; no input arrived, so no interrupt was due.`,
        );
      } else if (irq.acked === 0) {
        push(t.txUnmask);
        push(t.firstAssert);
        const why: string[] = [];
        if (mismatch) {
          why.push(
            `the DT gives the wrong interrupt (${routeText}): the guest enabled INTID ${dtIntid} in the GIC${this.gicEnableOf.has(dtIntid) ? '' : ' (or tried to)'}, while the UART asserts INTID ${deviceIntid}, which nobody enabled`,
          );
          push(this.gicEnableOf.get(dtIntid));
        } else if (irq.asserted === 0)
          why.push('the UART never asserted its line although an unmasked interrupt was due; check IMSC, RIS and the device model');
        else if (deviceIntid !== undefined && !ctx.state.gic.enabled[deviceIntid])
          why.push(`INTID ${deviceIntid} was asserted ${irq.asserted} times but never enabled in the GIC`);
        else
          why.push(
            `INTID ${deviceIntid} was asserted ${irq.asserted} times and ${irq.delivered ? `delivered ${irq.delivered} times but never acknowledged` : 'never delivered (check routing, the priority mask and PSTATE.I)'}`,
          );
        reasons.push(`Interrupt: the guest unmasked UART interrupts (IMSC), but none arrived: ${why.join('; ')}.`);
        reasons.push('Transmit still works (polled), but an interrupt-driven console/tty will stall once the FIFO fills.');
        return this.result(
          'interrupt-never-arrives',
          true,
          `The UART transmits, but its interrupt never arrives (${mismatch ? routeText : why[0]}).`,
          reasons,
          ev,
          xen,
        );
      } else
        reasons.push(
          `Interrupt: INTID ${deviceIntid} asserted ${irq.asserted}, delivered ${irq.delivered}, acknowledged ${irq.acked} times.`,
        );
    }
    const sbsa = main.model === 'sbsa-uart';
    return this.result(
      sbsa ? 'working-sbsa' : 'working-pl011',
      true,
      `A working ${sbsa ? 'SBSA generic UART' : 'PL011'}: ${main.name} at ${main.base} is described ${this.dt ? 'in the DT' : 'by the region table (no DTB in the trace)'}${id ? ', its IDs match' : ''}, and the guest wrote ${main.consoleBytes} console bytes to it.`,
      reasons,
      ev,
      xen,
    );
  }

  private result(verdict: UartVerdict, hasConsole: boolean, summary: string, reasons: string[], evidence: Evidence[], _xen: unknown) {
    return { verdict, hasConsole, summary, reasons, evidence };
  }

  /**
   * Linux's view of a PL011 (amba-pl011.c in 6.1): the AMBA bus reads PeriphID/PCellID before it
   * binds the driver; the probe then masks (IMSC = 0) and clears (ICR) interrupts; the console
   * set-up writes LCR_H/IBRD/FBRD; opening the tty unmasks RX interrupts and, once request_irq
   * succeeded, writes IFLS. earlycon only polls FR and writes DR. A verdict, or undefined to go on.
   */
  private linuxPl011(a: LinuxPl011Input): Omit<Diagnosis, 'reasons' | 'evidence'> | undefined {
    const { ctx, main, dtNode, t, regs, k, cmdline, reasons, push } = a;
    const dt = this.dt && !this.dt.error ? this.dt : undefined;
    if (!cmdline && !k.linux && !k.earlycon) return undefined; // not a Linux guest as far as the trace shows
    const args = cmdline ? consoleArgs(cmdline.text) : { consoles: [] };
    const printed = main.consoleBytes ? `; only earlycon printed (${main.consoleBytes} bytes)` : '; nothing was printed';
    const span = regs.accesses
      ? ` in its ${regs.accesses} accesses (seq ${regs.firstAccessSeq}–${t.lastAccess?.seq ?? regs.firstAccessSeq})`
      : ' (the guest never touched it)';

    if (t.firstId.length === 0) {
      const problem = dtNode ? dtBindProblem(dtNode) : undefined;
      const reached = k.driverInit ?? k.noInitialConsole ?? k.panic;
      if (!problem && (!main.txWrites || !reached)) {
        if (main.txWrites)
          reasons.push(
            'So far only earlycon wrote to it: the trace ends before Linux registered its PL011 driver ("Serial: AMBA PL011 UART driver" not seen).',
          );
        return undefined;
      }
      if (problem) reasons.push(`DT ${problem.property}: ${problem.why}.`);
      reasons.push(
        `No PeriphID/PCellID read (0xfe0–0xffc)${span}: the AMBA bus reads them before it binds a driver to a PrimeCell, so the pl011 driver never probed ${main.name}${k.driverInit ? ` although it registered ("${k.driverInit.text}", console seq ${k.driverInit.seq})` : ''}.`,
      );
      const others = [...(this.otherRegs.get(main.name) ?? [])];
      reasons.push(
        others.length
          ? `Besides DR and FR the guest touched only ${others.join(', ')}.`
          : 'No driver set-up either: no IMSC, ICR, LCR_H, IBRD, FBRD or CR access, only DR writes and FR polls.',
      );
      if (main.txWrites) {
        push(t.firstTx);
        const ec = args.earlycon
          ? `the command line has "${args.earlycon}"${args.earlycon === 'earlycon' ? ` (no options: it takes the UART from /chosen/stdout-path${dt?.stdoutPath ? ` = "${dt.stdoutPath}"` : ''})` : ''} (from ${cmdline!.source})`
          : '';
        const said = k.earlycon ? `the kernel said "${k.earlycon.text}" (seq ${k.earlycon.seq})` : '';
        reasons.push(
          `The ${main.txWrites} DR writes (first at seq ${t.firstTx!.seq}) are the boot console's (earlycon)${ec || said ? `: ${[ec, said].filter(Boolean).join('; ')}` : ''}.`,
        );
      }
      if (k.noInitialConsole)
        reasons.push(
          `No real console took over: the kernel said "${k.noInitialConsole.text}" (seq ${k.noInitialConsole.seq}), so user space has no console.`,
        );
      push(t.lastAccess);
      if (problem) {
        reasons.push(`Fix: ${problem.fix}.`);
        const what = {
          'disabled-in-dt': `${main.name} is disabled in the DT (status = "${dtNode!.status}"): Linux never probes it`,
          'not-primecell':
            'The PL011 node\'s compatible lacks "arm,primecell": Linux never puts it on the AMBA bus and the pl011 driver never binds',
          'missing-clocks': 'The PL011 node has no "apb_pclk" clock: the AMBA bus never reads its IDs and the pl011 driver never binds',
        }[problem.verdict];
        return { verdict: problem.verdict, hasConsole: false, summary: `${what}, so there is no ttyAMA console${printed}.` };
      }
      reasons.push(
        dt
          ? 'The DT node looks right (status okay, "arm,primecell", an "apb_pclk" clock): the cause is in the kernel (e.g. built without the PL011 driver, CONFIG_SERIAL_AMBA_PL011).'
          : 'The trace carries no DTB: import it with --dtb (the DTB the guest got) to see whether the DT keeps the driver away (status, compatible, clocks).',
      );
      return {
        verdict: 'earlycon-only',
        hasConsole: false,
        summary: `Only earlycon wrote to ${main.name}: Linux's pl011 driver never bound it (no ID read, no set-up), so there is no ttyAMA console.`,
      };
    }

    // The driver bound the port.
    const idx = pl011PortIndex(dt, dtNode, k, regs.region.base);
    const mine = `ttyAMA${idx}`;
    const portLine = k.ports.find((l) => l.text.includes(`${mine} at MMIO`));
    push(t.firstId[0]);
    push(t.probe);
    reasons.push(
      `Linux's pl011 driver bound it: PrimeCell IDs read at seq ${t.firstId[0]!.seq}${t.probe && t.probe.kind === 'mmio_write' ? `, then ${t.probe.register} = ${hex(Number(t.probe.value))} at seq ${t.probe.seq} (the probe masks and clears its interrupts)` : ''}${portLine ? `; the kernel said "${portLine.text}" (seq ${portLine.seq})` : ''}.`,
    );

    if (dtNode && dtNode.interrupts.length === 0 && !dtProp(dtNode.node, 'interrupts-extended')) {
      reasons.unshift(`DT ${dtNode.path} has no interrupts property: the AMBA device gets no IRQ (irq = 0).`);
      if (t.rxUnmask && t.rxUnmask.kind === 'mmio_write') {
        push(t.rxUnmask);
        push(t.maskedAgain);
        reasons.push(
          t.ifls
            ? `When the tty was opened the driver unmasked RX interrupts (IMSC = ${hex(Number(t.rxUnmask.value))} at seq ${t.rxUnmask.seq}) and went on (IFLS at seq ${t.ifls.seq}).`
            : `When the tty was opened the driver unmasked RX interrupts (IMSC = ${hex(Number(t.rxUnmask.value))} at seq ${t.rxUnmask.seq}) and masked them again${t.maskedAgain ? ` (IMSC = 0x0 at seq ${t.maskedAgain.seq})` : ''} with no IFLS or CR set-up after: requesting IRQ 0 failed and the port's start-up was abandoned.`,
        );
      }
      reasons.push(
        `The kernel's own messages still print (polled DR writes: ${main.txWrites}), but ${mine} cannot run with interrupts: user space (init, getty, a shell on the console) gets no working tty.`,
      );
      reasons.push(
        `Fix: interrupts = <0x0 ${hex((main.intid ?? 33) - 32)} 0x4> on ${dtNode.path} (the platform's UART drives INTID ${main.intid ?? '?'}).`,
      );
      return {
        verdict: 'missing-interrupt',
        hasConsole: true,
        summary: `The PL011 node has no interrupts: the driver binds and the kernel console prints (polled), but ${mine} cannot take its interrupt, so user space gets no working console.`,
      };
    }

    const enabledLine = k.consoleEnabled.find((l) => l.text.includes(`[${mine}]`));
    const earlyActive = !!args.earlycon || !!k.earlycon;
    if (t.lineSetup || enabledLine || (t.txAfterProbe > 0 && !earlyActive)) {
      reasons.push(
        `It is the console: ${[t.lineSetup ? `line set-up (${t.lineSetup.kind === 'mmio_write' ? t.lineSetup.register : ''}) at seq ${t.lineSetup.seq}` : '', enabledLine ? `the kernel said "${enabledLine.text}" (seq ${enabledLine.seq})` : ''].filter(Boolean).join('; ') || `${t.txAfterProbe} DR writes after the probe`}.`,
      );
      return undefined;
    }
    if (!cmdline) return undefined;
    const noSetup = `The driver never set ${mine} up as a console: no LCR_H/IBRD/FBRD write after the probe${t.txAfterProbe ? `, and the ${t.txAfterProbe} DR writes after it are earlycon's` : ', and not one DR write'}.`;
    const stdoutNote = dt?.stdoutPath
      ? `/chosen/stdout-path ("${dt.stdoutPath}") does not help: a console= on the command line overrides it.`
      : '';
    const named = args.consoles;
    if (named.some((c) => c.name === 'ttyAMA' && c.index === idx)) return undefined;
    const ama = named.find((c) => c.name === 'ttyAMA');
    if (ama) {
      // Linux makes a ttyAMA port for each PL011 the DT describes (and enables); the platform table may list more.
      const pl011s = dt
        ? dt.devices.filter((d) => d.compatible.includes('arm,pl011') && !dtBindProblem(d)).length
        : ctx.regionsByRole('uart').filter((r) => r.model === 'pl011').length;
      reasons.push(
        `The command line (${cmdline.source}) is "${cmdline.text}": "${ama.arg}" names PL011 port ${ama.index}, but ${dt ? 'the DT describes' : 'the platform has'} ${pl011s} PL011${pl011s === 1 ? '' : 's'} and this one is ${mine}: there is no ttyAMA${ama.index}, so Linux enables no console.`,
      );
      reasons.push(noSetup);
      if (stdoutNote) reasons.push(stdoutNote);
      reasons.push(`Fix: console=${mine}.`);
      return {
        verdict: 'console-wrong-port',
        hasConsole: false,
        summary: `"${ama.arg}" names a port that does not exist: the only PL011 is ${mine}; the driver bound it, but the kernel never made it its console${printed}.`,
      };
    }
    if (named.length) {
      const last = named[named.length - 1]!;
      const drv = consoleDriver(last.name);
      const present = dt
        ? dt.devices.filter((d) => d.compatible.some((c) => drv.compatibles.includes(c)) && (d.status === 'okay' || d.status === 'ok'))
        : [];
      const none =
        drv.compatibles.length && dt && !present.length
          ? `, and the DT describes none (no ${drv.compatibles.map((c) => `"${c}"`).join(' / ')} node)`
          : '';
      reasons.push(
        `The command line (${cmdline.source}) is "${cmdline.text}": "${last.arg}" names ${drv.what}${none}. With console= given, only the consoles it names are enabled, so ${mine} is not one.`,
      );
      reasons.push(noSetup);
      if (stdoutNote) reasons.push(stdoutNote);
      reasons.push(`Fix: console=${mine}.`);
      return {
        verdict: 'console-other-device',
        hasConsole: false,
        summary: `"${last.arg}" names ${drv.what}, not ${mine}: the driver bound ${mine}, but the kernel never made it its console${printed}.`,
      };
    }
    if (!dt?.stdoutPath) {
      reasons.push(
        `The command line (${cmdline.source}) is "${cmdline.text}", with no console=, and ${dt ? "the DT's /chosen has no stdout-path" : 'the trace has no DTB that could give a stdout-path'}: nothing selects ${mine}, and Linux takes the first console with a tty that registers (the virtual terminal, tty0, when the kernel has one).`,
      );
      reasons.push(noSetup);
      reasons.push(`Fix: console=${mine} on the command line, or stdout-path = "${dtNode?.path ?? main.describedBy}" in /chosen.`);
      return {
        verdict: 'no-console-selected',
        hasConsole: false,
        summary: `No console is selected: no console= on the command line and no /chosen/stdout-path, so Linux never makes ${mine} its console; the driver bound it${printed}.`,
      };
    }
    return undefined;
  }
}

type Diagnosis = Pick<UartExplanation, 'verdict' | 'hasConsole' | 'summary' | 'reasons' | 'evidence'>;

interface LinuxPl011Input {
  ctx: ReplayContext;
  main: UartRegionReport;
  dtNode: DtDevice | undefined;
  t: RegionTrack;
  regs: UartRegs;
  k: KernelConsole;
  cmdline: CommandLine | undefined;
  reasons: string[];
  push: (e: TraceEvent | undefined) => unknown;
}

/** The node /chosen/stdout-path names (an alias resolved, ":options" dropped). */
function stdoutNode(dt: DtInfo): string {
  const name = dt.stdoutPath.split(':')[0] ?? '';
  if (name.startsWith('/') || !dt.root) return name;
  const aliases = dt.root.children.find((c) => c.name === 'aliases');
  return (aliases && propStrings(aliases, name)?.[0]) ?? name;
}

export function explainUartAnalysis(): Analysis<UartExplanation> {
  return new ExplainUart();
}

export function explainUart(src: ReplaySource, opts?: ReplayOptions): UartExplanation {
  return replay(src, [explainUartAnalysis()], opts)['explain-uart'] as UartExplanation;
}
