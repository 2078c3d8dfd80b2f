// `bootscope info TRACE`: source, duration, counts, devices, completeness, digest.

import type { Command } from 'commander';
import { describeProblem, type TraceInfo } from '../../capture/store/index.ts';
import { Damage, damageSummary } from '../damage.ts';
import { xenbusStateName } from '../../arch/hypercalls/xen-io.ts';
import { fmtBytes, fmtCount, fmtNs, renderTable, terminalSafe, toJson } from '../output.ts';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show what a trace holds: source, duration, counts, devices, completeness, digest')
    .argument('<trace>', 'trace file')
    .option('--json', 'print JSON')
    .option('--verify', 'decompress and decode every chunk, check event counts and the digest (reads the whole trace)')
    .action((path: string, opts: { json?: boolean; verify?: boolean }) => {
      const damage = new Damage();
      const reader = damage.open(path);
      try {
        // Always: every chunk's stored size and CRC (cheap: nothing is inflated). --verify: all of it.
        const found = opts.verify ? reader.verify() : reader.checkStored();
        const info = reader.info();
        if (opts.verify && !found.length) {
          info.verified = `${info.chunks} chunks: checksums, decoding, event counts${info.digest ? ' and the digest' : ''} match`;
        }
        process.stdout.write(opts.json ? toJson(info) + '\n' : terminalSafe(renderInfo(info)));
      } finally {
        reader.close();
      }
      damage.raise();
    });
}

/** The text `bootscope info` prints (also used by `demo`). */
export function renderInfo(i: TraceInfo): string {
  const out: string[] = [];
  const src = i.meta.source;
  const cfg = Object.entries(src.config).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const clock = i.meta.clock;
  const unit = clock.kind === 'instructions' ? 'instructions' : 'ns';
  out.push(`trace     ${i.path} (${fmtBytes(i.fileBytes)}, ${i.bytesPerEvent.toFixed(2)} bytes/event)`);
  out.push(`status    ${i.problems.length ? `DAMAGED: ${damageSummary(i.problems)} (${statusText(i)})` : statusText(i)}`);
  if (i.verified) out.push(`verified  ${i.verified}`);
  for (const p of i.problems) out.push(`problem   ${describeProblem(i.path, p)}`);
  out.push(`source    ${src.type} ${src.name}${cfg.length ? '  ' + cfg.join(' ') : ''}`);
  out.push(`clock     ${clock.kind}${clock.counterHz ? `, counter ${clock.counterHz} Hz` : ''}${clock.source ? ` (${clock.source})` : ''}`);
  out.push(`duration  ${fmtCount(i.duration)} ${unit} (${fmtNs(i.durationNs)}), time ${i.timeFirst} to ${i.timeLast}`);
  out.push(`events    ${fmtCount(i.events)} in ${i.chunks} chunks`);
  out.push(`digest    ${i.digest ?? '(none: trace incomplete)'}`);
  out.push(`schema    v${i.meta.schemaVersion}, written by bootscope ${i.meta.toolVersion} at ${i.meta.createdAt}`);
  for (const [role, h] of Object.entries(i.meta.hashes)) out.push(`sha256    ${role} ${h}`);
  out.push('', 'events by kind');
  out.push(indent(renderTable(['kind', 'count'], sorted(i.counts.kinds))));
  const perDevice: Record<string, number> = {};
  for (const r of i.counts.devices) perDevice[r.device] = (perDevice[r.device] ?? 0) + r.count;
  const used = i.regions.filter((r) => (perDevice[r.name] ?? 0) > 0);
  if (i.regions.length) {
    const quiet = i.regions.length - used.length;
    out.push('', `devices the guest touched${quiet ? ` (${quiet} more regions described but untouched: --json lists all)` : ''}`);
    const rows = used.map((r) => [
      r.name,
      r.model,
      r.role,
      '0x' + r.base.toString(16),
      '0x' + r.size.toString(16),
      r.intid ?? '',
      fmtCount(perDevice[r.name] ?? 0),
    ]);
    out.push(indent(renderTable(['name', 'model', 'role', 'base', 'size', 'intid', 'events'], rows)));
  }
  // PCI functions (kvm's PCIe bus): no fixed address, so listed by bus:device.function.
  const pci = i.regions.filter((r) => /@[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(r.name));
  if (pci.length) {
    out.push('', 'PCI functions');
    const rows = pci.map((r) => [
      r.name.slice(r.name.indexOf('@') + 1),
      r.model,
      r.name.slice(0, r.name.indexOf('@')),
      r.intid ?? '',
      fmtCount(perDevice[r.name] ?? 0),
    ]);
    out.push(indent(renderTable(['bdf', 'model', 'device', 'INTx', 'events'], rows)));
  }
  const pv = pvDeviceRows(i.meta.extra['pvDevices']);
  if (pv.length) {
    out.push('', 'Xen PV devices (the xenbus states each end went through: 4 is Connected)');
    out.push(indent(renderTable(['device', 'what', 'frontend', 'backend', 'I/O'], pv)));
  }
  if (i.counts.hypercalls.length) {
    out.push('', 'hypercalls');
    const rows = i.counts.hypercalls.map((h) => [h.conduit, '0x' + h.func.toString(16), h.name || '?', h.subop, fmtCount(h.count)]);
    out.push(indent(renderTable(['conduit', 'func', 'name', 'subop', 'count'], rows)));
  }
  return out.join('\n') + '\n';
}

/** complete / INTERRUPTED (stopped by the user, closed properly) / INCOMPLETE (killed, crashed, abandoned). */
function statusText(i: TraceInfo): string {
  if (!i.complete) return `INCOMPLETE: ${i.incomplete ?? 'writer did not finish'}`;
  if (i.interrupted)
    return `INTERRUPTED by ${i.interrupted}: the recording stopped early; all ${fmtCount(i.events)} events recorded up to then are in the trace`;
  return 'complete';
}

/** The xen machine's PV devices (meta.extra.pvDevices), one row each; [] for other traces. */
function pvDeviceRows(v: unknown): string[][] {
  if (!Array.isArray(v)) return [];
  // The states an end went through: "1 3 4 5 6 (Closed)"; Connected is 4.
  const state = (v: unknown) => {
    const list = Array.isArray(v) ? v.filter((n): n is number => typeof n === 'number') : [];
    return list.length ? `${list.join(' ')} (${xenbusStateName(list[list.length - 1]!) || '?'})` : '?';
  };
  return v
    .filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null)
    .map((d) => {
      const what =
        typeof d['mac'] === 'string'
          ? `vif, mac ${d['mac']}`
          : `${String(d['vdev'] ?? 'vbd')}, ${String(d['sectors'] ?? '?')} sectors${d['readOnly'] ? ', read-only' : ''}`;
      const io = typeof d['mac'] === 'string' ? `${String(d['framesSent'] ?? 0)} frames sent` : `${String(d['requests'] ?? 0)} requests`;
      const errors = typeof d['errors'] === 'number' && d['errors'] > 0 ? `, ${d['errors']} refused` : '';
      return [String(d['device'] ?? '?'), what, state(d['frontendStates']), state(d['backendStates']), io + errors];
    });
}

const indent = (s: string) =>
  s
    .split('\n')
    .map((l) => '  ' + l)
    .join('\n');
const sorted = (o: Record<string, number>) =>
  Object.entries(o)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => [k, fmtCount(v)]);
