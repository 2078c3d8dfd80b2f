// `explain uart` as people read it.

import type { UartExplanation } from './explain-uart-model.ts';

export function formatUartExplanation(x: UartExplanation): string {
  const out: string[] = [];
  out.push(`verdict: ${x.verdict}${x.hasConsole ? '' : ' (no UART console)'}`);
  out.push(x.summary, '');
  out.push('why:');
  for (const r of x.reasons) out.push(`  - ${r}`);
  out.push('', 'device tree:');
  if (!x.dt.present) {
    out.push("  (the trace carries no DTB: the region table's compatible strings stand in for it)");
    for (const n of x.dt.nodes)
      out.push(
        `  ${n.path}: ${n.compatible.join(', ')} reg ${n.reg.map((r) => r.base).join(',')}${n.intid !== undefined ? ` INTID ${n.intid}` : ''}`,
      );
  } else if (x.dt.error) out.push(`  (DTB unreadable: ${x.dt.error})`);
  else {
    out.push(`  stdout-path ${x.dt.stdoutPath || '(unset)'}${x.dt.bootargsConsole ? `, bootargs ${x.dt.bootargsConsole}` : ''}`);
    if (!x.dt.nodes.length) out.push('  no UART node');
    for (const n of x.dt.nodes) {
      out.push(
        `  ${n.path}: ${n.compatible.join(', ')} reg ${n.reg.map((r) => r.base).join(',')}${n.status !== 'okay' ? ` status ${n.status}` : ''}${n.intid !== undefined ? ` INTID ${n.intid}` : ' no interrupts'}${n.clocks.length ? ` clocks ${n.clocks.join('/')} Hz` : ' no clocks'}${n.clockNames.length ? ` (${n.clockNames.join(', ')})` : ''}${n.currentSpeed ? ` current-speed ${n.currentSpeed}` : ''} → ${n.region || 'no device at that address'}`,
      );
    }
  }
  out.push('', 'kernel:');
  out.push(
    x.kernel.commandLine
      ? `  command line "${x.kernel.commandLine.text}" (from ${x.kernel.commandLine.source})`
      : '  command line: not in the trace',
  );
  for (const l of x.kernel.lines) out.push(`  seq ${l.seq}: ${l.text}`);
  out.push('', 'platform UARTs:');
  if (!x.regions.length) out.push('  none');
  for (const r of x.regions) {
    out.push(
      `  ${r.name} (${r.model}) at ${r.base}${r.intid !== undefined ? ` INTID ${r.intid}` : ''}: ${r.describedBy ? `described by ${r.describedBy}` : 'not in the DT'}; ${r.accesses} accesses, ${r.txWrites} TX writes, ${r.consoleBytes} console bytes, CR ${r.cr}`,
    );
    if (r.ids)
      out.push(`    IDs: PeriphID ${r.ids.periphId} PCellID ${r.ids.cellId} → AMBA match ${r.ids.ambaMatch ? 'succeeds' : 'fails'}`);
    if (r.interrupt)
      out.push(
        `    interrupt: GIC enabled ${r.interrupt.gicEnabled ? 'yes' : 'no'}, IMSC ${r.interrupt.imsc}, asserted ${r.interrupt.asserted}, delivered ${r.interrupt.delivered}, acked ${r.interrupt.acked}`,
      );
  }
  if (x.unassignedNearUart.length) {
    out.push('', 'accesses to unassigned addresses near a UART:');
    for (const u of x.unassignedNearUart) out.push(`  ${u.addr}: ${u.count}× (first ${u.first.text})`);
  }
  if (x.xenConsole.bytes || x.xenConsole.hypercalls)
    out.push(
      '',
      `PV console: ${x.xenConsole.port || 'console_io'} ${x.xenConsole.bytes} bytes, ${x.xenConsole.hypercalls} console_io hypercalls`,
    );
  if (x.evidence.length) {
    out.push('', 'evidence:');
    for (const e of x.evidence) out.push(`  ${e.text}`);
  }
  // DT strings and console lines are the guest's: control bytes are shown, never sent to the terminal.
  return out.join('\n').replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`) + '\n';
}
