// `bootscope exits TRACE [--hypervisor H] [--json]`: which events leave the guest, like
// `perf kvm stat` — by reason, by device and register, by system register, by function. Predicted
// per hypervisor for an emulator trace; the real exits for an imported ftrace of KVM.

import type { Command } from 'commander';
import { Damage } from '../damage.ts';
import { UserError } from '../errors.ts';
import { ExitsAnalysis, type ExitsReport, type ExitsResult } from '../../analyze/exits/index.ts';
import { HYPERVISORS, type Hypervisor } from '../../analyze/exits/rules.ts';
import { runLite } from '../../analyze/standalone.ts';
import { fmtCount, renderTable } from '../../analyze/text.ts';
import { terminalSafe, toJson } from '../output.ts';

/** Rows of the device table shown in text (all of them are in --json). */
const DEVICE_ROWS = 25;

export function registerExits(program: Command): void {
  program
    .command('exits')
    .description(
      'guest exits to the hypervisor by reason, device/register, system register and hypercall: predicted for KVM and Xen from an emulator trace, the real ones from an imported KVM ftrace',
    )
    .argument('<trace>', 'trace file')
    .option('--hypervisor <name>', `predict for one hypervisor: ${HYPERVISORS.join(', ')} (default: kvm and xen)`)
    .option('--json', 'print the counts as JSON')
    .action((path: string, opts: { hypervisor?: string; json?: boolean }) => {
      const hvs = hypervisorsOf(opts.hypervisor);
      const damage = new Damage();
      const result = exitsOfTrace(path, hvs, damage);
      process.stdout.write(opts.json ? toJson(result) + '\n' : terminalSafe(renderExits(result)));
      damage.raise();
    });
}

function hypervisorsOf(name: string | undefined): Hypervisor[] {
  if (name === undefined) return ['kvm', 'xen'];
  if (!(HYPERVISORS as readonly string[]).includes(name)) throw new UserError(`--hypervisor: '${name}' is not one of ${HYPERVISORS.join(', ')}`);
  return [name as Hypervisor];
}

export function exitsOfTrace(path: string, hypervisors: Hypervisor[] = ['kvm', 'xen'], damage = new Damage()): ExitsResult {
  const reader = damage.open(path);
  try {
    const kinds = ['mmio_read', 'mmio_write', 'sysreg', 'hypercall', 'wfx', 'irq_line', 'exception'] as const;
    return runLite(reader, [new ExitsAnalysis(hypervisors)], reader.meta, reader.regions, { kinds: [...kinds] }).exits as ExitsResult;
  } finally {
    reader.close();
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

const TITLES: Readonly<Record<Hypervisor, string>> = {
  kvm: "KVM (Linux 6.1's trap set-up)",
  'kvm-6.12': "KVM (Linux 6.12's trap set-up)",
  xen: "Xen 4.17 (its trap set-up)",
};

export function renderExits(r: ExitsResult): string {
  return r.reports.map(renderReport).join('\n');
}

function renderReport(x: ExitsReport): string {
  const out: string[] = [];
  out.push(
    x.source === 'traced'
      ? `exits traced under real KVM: ${fmtCount(x.total)} (kvm_exit events)`
      : `exits predicted under ${TITLES[x.hypervisor]}: ${fmtCount(x.total)}`,
  );
  out.push('');
  out.push(renderTable(['reason', 'exits', 'share', 'caused by'], x.byReason.map((r) => [r.reason, r.exits, pct(r.share), r.cause])));
  if (x.byDevice.length) {
    out.push('', 'MMIO by device and register');
    const rows = x.byDevice.slice(0, DEVICE_ROWS).map((d) => [d.device, d.register || '?', d.reads, d.writes, d.reads + d.writes, d.handler]);
    out.push(renderTable(['device', 'register', 'reads', 'writes', 'exits', 'handled by'], rows));
    if (x.byDevice.length > DEVICE_ROWS) out.push(`… and ${x.byDevice.length - DEVICE_ROWS} more registers (--json lists all)`);
  }
  if (x.bySysreg.length) {
    out.push('', 'trapped system registers');
    out.push(renderTable(['register', 'reads', 'writes', 'why'], x.bySysreg.map((s) => [s.register, s.reads, s.writes, s.why])));
  }
  if (x.byFunction.length) {
    out.push('', 'hypercalls by function');
    out.push(renderTable(['function', 'calls'], x.byFunction.map((f) => [f.function, f.calls])));
  }
  if (x.conditional.length) {
    out.push('', 'exits only under a condition (not in the total)');
    out.push(renderTable(['access', 'reads', 'writes', 'when', 'why'], x.conditional.map((s) => [s.register, s.reads, s.writes, s.when, s.why])));
  }
  if (x.source === 'predicted') {
    const i = x.interrupts;
    out.push(
      '',
      `interrupts (not in the total; each is an IRQ exit when its vCPU is running): timer ${fmtCount(i.timer)}, IPI ${fmtCount(i.ipi)}, device ${fmtCount(i.device)}`,
    );
  } else {
    out.push('', 'IRQ exits are host interrupts (the vCPU timer, IPIs, device interrupts): not caused by a guest instruction');
  }
  if (x.notExiting.length) {
    out.push('', 'recorded accesses that stay in the guest');
    out.push(renderTable(['register', 'accesses', 'why'], x.notExiting.map((n) => [n.register, n.accesses, n.why])));
  }
  return out.join('\n') + '\n';
}
