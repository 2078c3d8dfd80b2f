// `bootscope exits TRACE [--hypervisor H] [--against REAL] [--json]`: which events leave the guest,
// like `perf kvm stat` — by cause, reason, vCPU, device and register, system register, function.
// Predicted per hypervisor for an emulator trace; the real exits, with their time in the host, for
// an imported ftrace of KVM; --against compares the two for the same guest.

import type { Command } from 'commander';
import { Damage } from '../damage.ts';
import { UserError } from '../errors.ts';
import { ExitsAnalysis, EXITS_KINDS, type ExitsReport, type ExitsResult, type HostTime } from '../../analyze/exits/index.ts';
import { compareExits, type ExitComparison } from '../../analyze/exits/compare.ts';
import { CAUSE_ORDER, HYPERVISORS, type Hypervisor } from '../../analyze/exits/rules.ts';
import { runLite } from '../../analyze/standalone.ts';
import { fmtCount, fmtNs, renderTable, terminalSafe, toJson } from '../output.ts';

/** Rows of the device table shown in text (all of them are in --json). */
const DEVICE_ROWS = 25;

interface Opts {
  hypervisor?: string;
  against?: string;
  json?: boolean;
}

export function registerExits(program: Command): void {
  program
    .command('exits')
    .description(
      'guest exits to the hypervisor by cause, reason, vCPU, device/register, system register and hypercall: predicted for KVM and Xen from an emulator trace, the real ones (with their time in the host) from an imported KVM ftrace',
    )
    .argument('<trace>', 'trace file')
    .option('--hypervisor <name>', `predict for one hypervisor: ${HYPERVISORS.join(', ')} (default: kvm and xen)`)
    .option('--against <trace>', 'compare the KVM prediction with the real exits of an imported KVM ftrace of the same guest')
    .option('--json', 'print the counts as JSON')
    .action((path: string, opts: Opts) => {
      const hvs = hypervisorsOf(opts.hypervisor, opts.against !== undefined);
      const damage = new Damage();
      const result = exitsOfTrace(path, hvs, damage);
      if (opts.against === undefined) {
        process.stdout.write(opts.json ? toJson(result) + '\n' : terminalSafe(renderExits(result)));
        damage.raise();
        return;
      }
      const real = exitsOfTrace(opts.against, ['kvm'], damage);
      const predicted = result.reports[0]!;
      const traced = real.reports[0]!;
      if (predicted.source !== 'predicted')
        throw new UserError(`${path}: an imported KVM ftrace; --against wants the emulator's trace first, the real one second`);
      if (traced.source !== 'traced')
        throw new UserError(`${opts.against}: not an imported KVM ftrace (bootscope import TRACE.txt): no real exits to compare with`);
      const cmp = compareExits(predicted, traced);
      process.stdout.write(opts.json ? toJson({ predicted, traced, comparison: cmp }) + '\n' : terminalSafe(renderComparison(cmp)));
      damage.raise();
      if (cmp.differing)
        throw new UserError(
          `${path}: ${cmp.differing} guest-caused exit count${cmp.differing === 1 ? '' : 's'} differ from ${opts.against}`,
        );
    });
}

function hypervisorsOf(name: string | undefined, against: boolean): Hypervisor[] {
  if (name === undefined) return against ? ['kvm'] : ['kvm', 'xen'];
  if (!(HYPERVISORS as readonly string[]).includes(name))
    throw new UserError(`--hypervisor: '${name}' is not one of ${HYPERVISORS.join(', ')}`);
  if (against && name === 'xen') throw new UserError('--against compares with real KVM: --hypervisor must be kvm or kvm-6.12');
  return [name as Hypervisor];
}

/**
 * The exits of one trace. A trace with nothing to count is an error naming what is missing: an
 * imported ftrace without kvm_exit events, or a trace that records no guest action.
 */
export function exitsOfTrace(path: string, hypervisors: Hypervisor[] = ['kvm', 'xen'], damage = new Damage()): ExitsResult {
  const reader = damage.open(path);
  let result: ExitsResult;
  try {
    result = runLite(reader, [new ExitsAnalysis(hypervisors)], reader.meta, reader.regions, { kinds: [...EXITS_KINDS] })
      .exits as ExitsResult;
  } finally {
    reader.close();
  }
  const r = result.reports[0]!;
  if (r.source === 'traced' && result.seen.kvmExits === 0 && !damage.any)
    throw new UserError(`${path}: an imported ftrace without kvm_exit events (trace with events/kvm enabled): no exits to count`);
  if (r.source === 'predicted' && result.seen.actions === 0 && !damage.any)
    throw new UserError(`${path}: records no guest action (MMIO, system register, hypercall, WFI/WFE): no exits to predict`);
  return result;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const hostCols = (h: HostTime | undefined): (string | number)[] => (h ? [fmtNs(h.meanNs), fmtNs(h.maxNs), fmtNs(h.totalNs)] : ['', '', '']);

const TITLES: Readonly<Record<Hypervisor, string>> = {
  kvm: "KVM (Linux 6.1's trap set-up)",
  'kvm-6.12': "KVM (Linux 6.12's trap set-up)",
  xen: 'Xen 4.17 (its trap set-up)',
};

export function renderExits(r: ExitsResult): string {
  return r.reports.map(renderReport).join('\n');
}

function renderReport(x: ExitsReport): string {
  const traced = x.source === 'traced';
  const out: string[] = [];
  out.push(
    traced
      ? `exits traced under real KVM: ${fmtCount(x.total)} (kvm_exit events)`
      : `exits predicted under ${TITLES[x.hypervisor]}: ${fmtCount(x.total)}`,
  );
  const host = traced ? ['mean in host', 'max', 'total'] : [];
  out.push('', 'by cause');
  out.push(
    renderTable(
      ['cause', 'exits', 'share', ...host],
      x.byCause.map((c) => [c.cause, c.exits, pct(c.share), ...(traced ? hostCols(c.host) : [])]),
    ),
  );
  out.push('', 'by reason');
  out.push(
    renderTable(
      ['reason', 'exits', 'share', ...host],
      x.byReason.map((r) => [r.reason, r.exits, pct(r.share), ...(traced ? hostCols(r.host) : [])]),
    ),
  );
  if (x.byVcpu.length) {
    out.push('', 'by vCPU');
    out.push(
      renderTable(
        ['vCPU', 'exits', ...CAUSE_ORDER],
        x.byVcpu.map((v) => [v.vcpu < 0 ? '-' : v.vcpu, v.exits, ...CAUSE_ORDER.map((c) => v.byCause[c])]),
      ),
    );
  }
  if (x.byDevice.length) {
    out.push('', 'MMIO by device and register');
    const rows = x.byDevice
      .slice(0, DEVICE_ROWS)
      .map((d) => [
        d.device,
        d.register || '?',
        d.reads,
        d.writes,
        d.reads + d.writes,
        d.handler,
        ...(traced ? hostCols(d.host).slice(0, 1) : []),
      ]);
    out.push(renderTable(['device', 'register', 'reads', 'writes', 'exits', 'handled by', ...(traced ? ['mean in host'] : [])], rows));
    if (x.byDevice.length > DEVICE_ROWS) out.push(`… and ${x.byDevice.length - DEVICE_ROWS} more registers (--json lists all)`);
  }
  if (x.bySysreg.length) {
    out.push('', 'trapped system registers');
    out.push(
      renderTable(
        ['register', 'reads', 'writes', 'cause', 'why'],
        x.bySysreg.map((s) => [s.register, s.reads, s.writes, s.cause, s.why]),
      ),
    );
  }
  if (x.byFunction.length) {
    out.push('', 'hypercalls by function');
    out.push(
      renderTable(
        ['function', 'calls'],
        x.byFunction.map((f) => [f.function, f.calls]),
      ),
    );
  }
  if (x.conditional.length) {
    out.push('', 'exits only under a condition (not in the total)');
    out.push(
      renderTable(
        ['access', 'reads', 'writes', 'when', 'why'],
        x.conditional.map((s) => [s.register, s.reads, s.writes, s.when, s.why]),
      ),
    );
  }
  if (!traced) {
    const i = x.interrupts;
    out.push(
      '',
      `interrupts raised (not in the total; each is an IRQ exit when its vCPU is running): timer ${fmtCount(i.timer)}, IPI ${fmtCount(i.ipi)}, device ${fmtCount(i.device)}`,
    );
  }
  if (x.notExiting.length) {
    out.push('', 'recorded accesses that stay in the guest');
    out.push(
      renderTable(
        ['register', 'accesses', 'why'],
        x.notExiting.map((n) => [n.register, n.accesses, n.why]),
      ),
    );
  }
  return out.join('\n') + '\n';
}

export function renderComparison(c: ExitComparison): string {
  const out = [`KVM exit model against real KVM (MMIO and ID registers within ${pct(c.tolerance)}, hypercalls exactly)`, ''];
  out.push(
    renderTable(
      ['group', 'item', 'predicted', 'traced', 'verdict', 'note'],
      c.rows.map((r) => [r.group, r.item, r.predicted, r.traced, r.verdict, r.note ?? '']),
    ),
  );
  out.push('', c.differing ? `${c.differing} guest-caused count${c.differing === 1 ? '' : 's'} differ` : 'guest-caused exits agree');
  return out.join('\n') + '\n';
}
