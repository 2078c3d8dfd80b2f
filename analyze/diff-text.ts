// `bootscope diff`'s text: the comparison of two traces as people read it (the CLI prints it, the
// TUI's diff screen and the HTML report show it).

import type { CountRow, DiffResult, RunRef } from './diff.ts';
import { fmtNs, renderTable } from './text.ts';
import { renderIoDiff } from './diff-io.ts';

const run = (r: RunRef) =>
  `#${r.seq} ${r.token}${r.count > 1 ? ` ×${r.count}` : ''}${r.events !== r.count && r.token.startsWith('(') ? ` (${r.events} events)` : ''}`;

function counts(title: string, list: CountRow[], onlyDifferent: boolean, names: [string, string]): string[] {
  const shown = onlyDifferent ? list.filter((r) => r.a !== r.b) : list;
  if (!shown.length) return [];
  return [
    title,
    renderTable(
      ['', names[0], names[1], 'difference'],
      shown.map((r) => [r.key, r.a, r.b, r.b - r.a > 0 ? `+${r.b - r.a}` : String(r.b - r.a)]),
    ),
    '',
  ];
}

export function renderDiff(d: DiffResult): string {
  const [na, nb] = d.names;
  const out: string[] = [];
  out.push(`A  ${na} (${d.sources[0]})`, `B  ${nb} (${d.sources[1]})`, '');
  if (d.identical) {
    const io = d.io.streams.map(
      (s) => `, ${s.matched.toLocaleString('en-US')} ${s.stream === 'block' ? 'block requests' : 'network frames'}`,
    );
    out.push(`no difference (${d.vcpus.reduce((s, v) => s + v.eventsA, 0).toLocaleString('en-US')} aligned events${io.join('')})`);
    return out.join('\n') + '\n';
  }
  out.push(`aligned kinds: ${d.alignedKinds.join(', ') || '(none)'}`);
  if (d.kindsOnlyIn.a.length) out.push(`kinds only in A: ${d.kindsOnlyIn.a.join(', ')}`);
  if (d.kindsOnlyIn.b.length) out.push(`kinds only in B: ${d.kindsOnlyIn.b.join(', ')}`);
  if (d.sysregsOnlyIn.a.length) out.push(`system registers only in A: ${d.sysregsOnlyIn.a.join(', ')}`);
  if (d.sysregsOnlyIn.b.length) out.push(`system registers only in B: ${d.sysregsOnlyIn.b.join(', ')}`);
  out.push('');
  if (d.equivalences.length) {
    out.push('equivalent by role (different devices or addresses lined up)');
    for (const e of d.equivalences) out.push(`  ${e.role.padEnd(12)} A: ${e.a.join(', ')}`, `  ${''.padEnd(12)} B: ${e.b.join(', ')}`);
    out.push('');
  }
  const f = d.firstDivergence;
  if (f) {
    out.push(`first divergence (vCPU ${f.vcpu})`);
    for (const r of f.before) out.push(`    ${run(r)}`);
    for (const r of f.a) out.push(`  - ${run(r)}`);
    for (const r of f.b) out.push(`  + ${run(r)}`);
    for (const r of f.after) out.push(`    ${run(r)}`);
    out.push('');
  } else out.push('the aligned event sequences match', '');
  out.push(
    renderTable(
      ['vCPU', `events ${na}`, `events ${nb}`, 'runs matched', 'runs only A', 'runs only B', 'repeat counts differ'],
      d.vcpus.map((v) => [v.vcpu, v.eventsA, v.eventsB, v.matchedRuns, v.deletedRuns, v.insertedRuns, v.repeatDifferences]),
    ),
    '',
  );
  if (d.hunks.length > 1) {
    out.push(`differences (first ${d.hunks.length})`);
    for (const h of d.hunks) {
      out.push(`  vCPU ${h.vcpu}: ${h.aRuns} run(s) only in A, ${h.bRuns} only in B`);
      for (const r of h.a) out.push(`    - ${run(r)}`);
      for (const r of h.b) out.push(`    + ${run(r)}`);
    }
    out.push('');
  }
  out.push(...counts('events by kind', d.kinds, true, d.names));
  out.push(...counts('MMIO accesses by device role', d.devices, true, d.names));
  out.push(...counts('hypercalls', d.hypercalls, true, d.names));
  if (d.hypercallsOnlyIn.a.length) out.push(`hypercalls only in A: ${d.hypercallsOnlyIn.a.join(', ')}`);
  if (d.hypercallsOnlyIn.b.length) out.push(`hypercalls only in B: ${d.hypercallsOnlyIn.b.join(', ')}`);
  out.push(...counts('interrupts acknowledged by role', d.interrupts, true, d.names));
  out.push(...renderIoDiff(d.io, d.names));
  if (d.phases.length) {
    out.push('phase durations');
    out.push(
      renderTable(
        ['phase', na, nb],
        d.phases.map((p) => [p.phase, p.aNs === null ? '-' : fmtNs(p.aNs), p.bNs === null ? '-' : fmtNs(p.bNs)]),
      ),
      '',
    );
  }
  if (d.console.firstDifference) {
    const c = d.console.firstDifference;
    out.push(
      `console differs at line ${c.line} (A: ${d.console.portA}, ${d.console.linesA} lines; B: ${d.console.portB}, ${d.console.linesB} lines)`,
      `  A: ${c.a ?? '(no line)'}`,
      `  B: ${c.b ?? '(no line)'}`,
      '',
    );
  } else out.push(`console: same text (${d.console.linesA} lines)`, '');
  if (d.findings) {
    if (d.findings.onlyA.length) out.push(`findings only in A: ${d.findings.onlyA.join(', ')}`);
    if (d.findings.onlyB.length) out.push(`findings only in B: ${d.findings.onlyB.join(', ')}`);
  }
  for (const n of d.notes) out.push(`note: ${n}`);
  return out.join('\n') + '\n';
}
