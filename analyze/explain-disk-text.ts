// `explain disk` as people read it.

import type { DiskExplanation } from './explain-disk-model.ts';

const XENBUS = ['Unknown', 'Initialising', 'InitWait', 'Initialised', 'Connected', 'Closing', 'Closed', 'Reconfiguring', 'Reconfigured'];
const states = (l: number[]) => (l.length ? l.map((s) => `${s} ${XENBUS[s] ?? '?'}`).join(', ') : 'none recorded');

export function formatDiskExplanation(x: DiskExplanation): string {
  const out: string[] = [];
  out.push(`verdict: ${x.verdict}${x.hasRootDisk ? '' : ' (no working root disk)'}`);
  out.push(x.summary, '');
  out.push('why:');
  for (const r of x.reasons) out.push(`  - ${r}`);
  out.push('', 'bus:');
  const b = x.bus;
  if (b.kind === 'pci')
    out.push(
      `  PCI: ${b.present ? 'PCIe host present' : 'no PCIe host'}, ${b.accesses} configuration accesses, functions: ${b.functions.join(', ') || 'none'}`,
    );
  else out.push(`  xenbus: ${b.accesses} xenstore messages from the guest${b.error ? `, ring dropped (${b.error})` : ''}`);
  out.push('', 'block devices:');
  if (!x.devices.length) out.push('  none');
  for (const d of x.devices) {
    out.push(
      `  ${d.name} (${d.transport})${d.kernelNames.length ? ` = ${d.kernelNames.join(', ')}` : ''}: ${d.found ? `found at seq ${d.found.seq}` : 'not found by the guest'}; ${d.requests} requests, ${d.completions} completions, ${d.errors} errors`,
    );
    if (d.transport === 'virtio-pci')
      out.push(
        `    virtio status: ${d.statusWrites.join(' → ') || 'never written'} (bits reached ${d.status})${d.featuresRefused ? '; FEATURES_OK refused' : ''}`,
      );
    else out.push(`    xenbus frontend: ${states(d.frontend)}; backend: ${states(d.backend)}`);
    if (d.firstError) out.push(`    first error completion: ${d.firstError.text}`);
    if (d.deviceError) out.push(`    device model: ${d.deviceError}`);
  }
  out.push('', 'kernel:');
  out.push(x.kernel.commandLine !== null ? `  command line "${x.kernel.commandLine}"` : '  command line: not in the trace');
  if (x.kernel.root) out.push(`  root=${x.kernel.root}`);
  for (const l of x.kernel.lines) out.push(`  seq ${l.seq}: ${l.text}`);
  if (x.evidence.length) {
    out.push('', 'evidence:');
    for (const e of x.evidence) out.push(`  ${e.text}`);
  }
  // Console lines and xenstore paths are the guest's: control bytes are shown, never sent to the terminal.
  return out.join('\n').replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`) + '\n';
}
