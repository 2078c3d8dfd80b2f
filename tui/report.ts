// `bootscope report`: one self-contained HTML file (inline CSS, inline SVG, no scripts, no
// external references) with the overview, phases Gantt, event density, latency histograms, block
// and network I/O per device, findings table and, for two traces, the diff summary and the device
// layer side by side.

import { checkOutput, writeOutputFile } from '../capture/output.ts';
import { TraceData, density, diffTraces, ioSeries, queueLabel, type Analyses, type Maybe } from './data.ts';
import { compareBars, densityChart, esc, ioTimelineChart, latencyHistogram, phasesGantt } from './report-charts.ts';
import type { IoDiff } from '../analyze/diff-io.ts';
import type { IoLatencyResult } from '../analyze/io-latency.ts';
import { fmtInt, fmtNs } from './ui.ts';

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1060px;color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 10px 3px 0;text-align:left;vertical-align:top}
th{border-bottom:1px solid #ccc}td.n{text-align:right;font-variant-numeric:tabular-nums}
.meta td:first-child{color:#666}.na{color:#888;font-style:italic}
.sev-error{color:#c62828;font-weight:600}.sev-warning{color:#b26a00;font-weight:600}.sev-info{color:#1565c0}
svg.chart{display:block;margin:6px 0;font:11px system-ui,sans-serif}svg .title{font-weight:600;font-size:12px}
svg .sub{fill:#777}svg .axis text{fill:#555}svg .axis-label{fill:#777}
.hists{display:grid;grid-template-columns:repeat(auto-fill,minmax(490px,1fr));gap:8px}
code,pre{font:12px ui-monospace,Menlo,Consolas,monospace}pre{background:#f6f6f6;padding:8px;overflow-x:auto}
table.io td{font:12px ui-monospace,Menlo,Consolas,monospace;padding-right:14px}tr.diverge td{background:#fff3cd}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:24px}
`;

function na(m: Maybe<unknown>): string {
  return m.available ? '' : `<p class="na">not available: ${esc(m.why)}</p>`;
}

function table(head: string[], rows: string[][], numeric: number[] = []): string {
  return `<table><tr>${head.map((x) => `<th>${esc(x)}</th>`).join('')}</tr>${rows
    .map((r) => `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`)
    .join('')}</table>`;
}

function traceSection(d: TraceData, a: Analyses, title: string): string {
  const o = d.overview;
  const i = o.info;
  const unit = i.meta.clock.kind === 'ns' ? 'ns' : 'instructions';
  const out: string[] = [];
  out.push(`<h2>${esc(title)}: ${esc(o.path)}</h2>`);
  const cfg = Object.entries(i.meta.source.config)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  out.push(
    `<table class="meta">${[
      ['source', `${o.label}${cfg ? ' — ' + cfg : ''}`],
      ['clock', i.meta.clock.kind],
      ['duration', `${fmtInt(i.duration)} ${unit} (${fmtNs(o.durationNs)})`],
      [
        'events',
        `${fmtInt(i.events)} in ${i.chunks} chunks${!i.complete ? ' — INCOMPLETE' : i.interrupted ? ` — INTERRUPTED by ${i.interrupted}` : ''}`,
      ],
      ['digest', i.digest ?? '(none)'],
    ]
      .map(([k, v]) => `<tr><td>${esc(k!)}</td><td>${esc(v!)}</td></tr>`)
      .join('')}</table>`,
  );
  out.push('<div class="cols"><div><h3>Events by kind</h3>');
  out.push(
    table(
      ['kind', 'count'],
      o.kinds.map(([k, n]) => [esc(k), fmtInt(n)]),
      [1],
    ),
  );
  out.push('</div><div><h3>Events by device</h3>');
  out.push(
    table(
      ['device', 'count'],
      o.devices.map(([k, n]) => [esc(k), fmtInt(n)]),
      [1],
    ),
  );
  out.push('</div></div>');
  // Phases.
  out.push('<h3>Boot phases</h3>');
  if (a.phases.available && a.phases.value.length) {
    out.push(phasesGantt(a.phases.value, d.timeFirst, d.timeLast + 1, unit));
    out.push(
      table(
        ['phase', 'start', 'end', 'duration'],
        a.phases.value.map((p) => [
          esc(p.title),
          fmtInt(p.start),
          fmtInt(p.end),
          `${fmtInt(p.end - p.start)} (${fmtNs(d.toNs(p.end - p.start))})`,
        ]),
        [1, 2, 3],
      ),
    );
  } else out.push(na(a.phases) || '<p class="na">no phases recognised</p>');
  // Density.
  out.push('<h3>Event density over time</h3>');
  out.push(densityChart(density(d, d.timeFirst, d.timeLast + 1, 400), unit));
  // Latency.
  out.push('<h3>Interrupt latency</h3>');
  if (a.latency.available && a.latency.value.length) {
    const perIntid = a.latency.value.filter((s) => s.intid !== undefined);
    out.push(
      table(
        ['series', 'count', 'p50', 'p90', 'p99', 'max'],
        perIntid.map((s) => [esc(s.label), fmtInt(s.count), fmtInt(s.p50), fmtInt(s.p90), fmtInt(s.p99), fmtInt(s.max)]),
        [1, 2, 3, 4, 5],
      ),
    );
    out.push(
      `<div class="hists">${perIntid
        .slice(0, 12)
        .map((s) => latencyHistogram(s, unit))
        .join('')}</div>`,
    );
  } else out.push(na(a.latency) || '<p class="na">no interrupt latencies in this trace</p>');
  out.push(ioSection(a.io, unit));
  // Findings.
  out.push('<h3>Findings</h3>');
  if (a.findings.available) {
    if (!a.findings.value.length) out.push('<p>No findings: every rule passed.</p>');
    else
      out.push(
        table(
          ['severity', 'rule', 'message', 'evidence'],
          a.findings.value.map((f) => [
            `<span class="sev-${f.severity}">${f.severity}</span>`,
            `${esc(f.rule)}${f.clause ? `<br><small>${esc(f.clause)}</small>` : ''}`,
            esc(f.message),
            esc(
              f.evidence
                .slice(0, 5)
                .map((e) => '#' + e.seq)
                .join(' '),
            ),
          ]),
        ),
      );
  } else out.push(na(a.findings));
  return out.join('\n');
}

/** Block and network I/O per device and queue: the stages, each queue over time and its histogram. */
function ioSection(io: Maybe<IoLatencyResult>, unit: string): string {
  const out: string[] = ['<h3>Block and network I/O</h3>'];
  if (!io.available) return out.join('') + na(io);
  const queues = io.value.queues;
  if (!queues.length) return out.join('') + '<p class="na">no block or network I/O in this trace</p>';
  const rows: string[][] = [];
  for (const q of queues) {
    const ops = Object.entries(q.ops)
      .map(([op, n]) => `${op} ${n}`)
      .join(', ');
    q.stages.forEach((st, i) =>
      rows.push([
        i ? '' : esc(queueLabel(q)),
        i ? '' : q.kind,
        i ? '' : fmtInt(q.requests),
        i ? '' : fmtInt(q.maxDepth),
        i ? '' : `${fmtInt(q.errors)} / ${fmtInt(q.silent)}`,
        i ? '' : esc(ops),
        esc(st.stage.replace(/_to_/g, ' → ')),
        fmtInt(st.count),
        fmtInt(st.p50),
        fmtInt(st.p90),
        fmtInt(st.p99),
        fmtInt(st.max),
      ]),
    );
  }
  out.push(
    table(
      [
        'device / queue',
        'kind',
        'requests',
        'most in flight',
        'errors / no interrupt',
        'ops',
        'stage',
        'count',
        'p50',
        'p90',
        'p99',
        'max',
      ],
      rows,
      [2, 3, 7, 8, 9, 10, 11],
    ),
  );
  if (io.value.outstanding.length)
    out.push(`<p>Never completed: ${esc(io.value.outstanding.map((o) => `${o.device} q${o.queue} ×${o.count}`).join(', '))}</p>`);
  for (const n of io.value.notes) out.push(`<p class="na">${esc(n)}</p>`);
  const charts: string[] = [];
  for (const q of queues) {
    if (q.timeline) charts.push(ioTimelineChart(queueLabel(q), q.timeline, unit));
    const st = q.stages.find((x) => x.stage === 'submit_to_ack') ?? q.stages[0];
    if (st) charts.push(latencyHistogram(ioSeries(q, st), unit));
  }
  out.push(`<div class="hists">${charts.join('')}</div>`);
  return out.join('\n');
}

/** The device layer of two traces: devices by role, each side's set-up, the aligned streams side by side. */
function ioDiffSection(io: IoDiff): string {
  if (!io.streams.length) return '';
  const out: string[] = ['<h3>Device layer</h3>'];
  out.push(
    table(
      ['role', 'A', 'B'],
      io.roles.map((r) => [esc(r.role), esc(r.a ?? '-'), esc(r.b ?? '-')]),
    ),
  );
  const setup = (x: { what: string; count: number }[]) => esc(x.map((s) => `${s.what} ${s.count}`).join(', ') || 'none');
  out.push(`<p>Set-up of A: ${setup(io.setup.a)}<br>Set-up of B: ${setup(io.setup.b)}</p>`);
  for (const st of io.streams) {
    const f = st.firstDivergence;
    const item = (x: { seq: number; token: string } | null) => (x ? `#${x.seq} ${x.token}` : '(nothing)');
    out.push(
      `<p><b>${st.stream} I/O</b>: ${st.countA} in A, ${st.countB} in B, ${st.matched} aligned; ${f ? `first divergence at row ${f.row + 1}: A ${esc(item(f.a))}, B ${esc(item(f.b))}` : 'same order on both sides'}.</p>`,
    );
    const shown = st.rows.slice(0, 300);
    out.push(
      `<table class="io"><tr><th></th><th>row</th><th>A</th><th>B</th></tr>${shown
        .map((r, i) => {
          const diverge = !r.a || !r.b || r.a.token !== r.b.token;
          const mark = !r.a ? '+' : !r.b ? '−' : diverge ? '~' : '';
          return `<tr${diverge ? ' class="diverge"' : ''}><td>${mark}</td><td>${i + 1}</td><td>${r.a ? esc(`#${r.a.seq} ${r.a.token}`) : ''}</td><td>${r.b ? esc(`#${r.b.seq} ${r.b.token}`) : ''}</td></tr>`;
        })
        .join('')}</table>`,
    );
    if (st.rows.length > shown.length || st.truncated)
      out.push(`<p class="na">first ${shown.length} rows shown (<code>bootscope diff --json</code> has up to ${st.rows.length})</p>`);
  }
  return out.join('\n');
}

async function diffSection(a: TraceData, b: TraceData): Promise<string> {
  const out: string[] = ['<h2>Diff</h2>'];
  const { data, why, raw } = await diffTraces(a, b);
  out.push(`<p>A = ${esc(a.path)} (${esc(a.overview.label)}), B = ${esc(b.path)} (${esc(b.overview.label)})</p>`);
  const ka = a.overview.info.counts.kinds;
  const kb = b.overview.info.counts.kinds;
  if (!raw) {
    out.push(`<p class="na">${esc(why ?? 'diff failed')}: count differences only (no stream alignment)</p>`);
    out.push(`<pre>${esc(data.summary.join('\n'))}</pre>`);
    const kinds = [...new Set([...Object.keys(ka), ...Object.keys(kb)])].sort().map((k) => ({ key: k, a: ka[k] ?? 0, b: kb[k] ?? 0 }));
    out.push('<h3>Events by kind, A vs B</h3>' + compareBars(kinds));
    return out.join('\n');
  }
  out.push(`<p><b>${raw.identical ? 'No differences.' : `${data.divergences.length} divergence(s) in the aligned streams.`}</b></p>`);
  if (raw.equivalences.length) {
    out.push('<h3>Equivalent by role (different devices or addresses lined up)</h3>');
    out.push(
      table(
        ['role', 'A', 'B'],
        raw.equivalences.map((e) => [esc(e.role), esc(e.a.join(', ')), esc(e.b.join(', '))]),
      ),
    );
  }
  if (data.divergences.length)
    out.push(
      '<h3>Divergences</h3>' +
        table(
          ['A', 'B', 'what'],
          data.divergences.slice(0, 30).map((d) => [d.a !== undefined ? '#' + d.a : '', d.b !== undefined ? '#' + d.b : '', esc(d.text)]),
        ),
    );
  // Charts: counts side by side (log scale).
  out.push('<h3>Events by kind, A vs B</h3>' + compareBars(raw.kinds));
  if (raw.devices.length) out.push('<h3>MMIO accesses by device role, A vs B</h3>' + compareBars(raw.devices));
  if (raw.hypercalls.length) out.push('<h3>Hypercalls, A vs B</h3>' + compareBars(raw.hypercalls));
  out.push(ioDiffSection(raw.io));
  if (raw.phases.length) {
    out.push('<h3>Phase durations (ns), A vs B</h3>');
    out.push(compareBars(raw.phases.map((p) => ({ key: p.phase, a: p.aNs ?? 0, b: p.bNs ?? 0 }))));
  }
  out.push(`<details><summary>Full <code>bootscope diff</code> output</summary><pre>${esc(data.summary.join('\n'))}</pre></details>`);
  return out.join('\n');
}

/** The report as an HTML string. */
export async function buildReport(paths: string[]): Promise<string> {
  const traces = paths.map((p) => new TraceData(p));
  try {
    const parts: string[] = [];
    for (const [i, d] of traces.entries())
      parts.push(traceSection(d, await d.analyses(), traces.length > 1 ? (i === 0 ? 'A' : 'B') : 'Trace'));
    if (traces.length > 1) parts.push(await diffSection(traces[0]!, traces[1]!));
    const title = `bootscope report — ${paths.join(' vs ')}`;
    return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><h1>bootscope report</h1><p>${esc(paths.join(' vs '))} — generated ${esc(new Date().toISOString())}</p>
${parts.join('\n')}
</body></html>
`;
  } finally {
    for (const t of traces) t.close();
  }
}

/** Write the report for one trace (or a pair, with the diff) to `out`. */
export async function writeReport(paths: string[], out: string, opts: { overwrite?: boolean } = {}): Promise<void> {
  // Checked before the work, and again when writing (the file is written whole, then renamed).
  const rules = { overwrite: !!opts.overwrite, inputs: paths };
  checkOutput(out, rules);
  const html = await buildReport(paths);
  writeOutputFile(out, html, rules);
}
