// Golden `phases` and `latency` of Debian's 6.1 cloud kernel booted on the emulator under the kvm
// and the xen personalities (2 vCPUs, GICv3, to the "no root fs" panic), and their `diff`. The
// kernel is not in the repository: scripts/fetch-guests.sh fetches the version guests/inputs.lock
// pins. The golden files name that kernel; a moved pin without new goldens fails (UPDATE_GOLDEN=1
// writes them; docs/inputs.md).
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { runGuest } from '../../emu/run.ts';
import { phasesOfTrace, renderPhases } from '../../cli/commands/phases.ts';
import { latencyOfTrace, renderLatency } from '../../cli/commands/latency.ts';
import { diffTraceFiles } from '../../cli/commands/diff.ts';
import { golden, tmp } from './helpers.ts';
import { fetchGuests } from '../helpers/real-guests.ts';

// Debian's kernel as pinned, fetched and cached (scripts/fetch-guests.sh).
const kernelPath = fetchGuests().kernel;
const version = basename(kernelPath).replace(/^vmlinuz-/, '');

const MACHINES = {
  kvm: { machine: 'kvm', append: 'console=ttyAMA0' },
  xen: { machine: 'xen', vuart: 'sbsa', append: 'console=ttyAMA0' },
} as const;

async function boot(which: keyof typeof MACHINES): Promise<string> {
  const out = join(tmp, `linux-${which}.trace`);
  if (existsSync(out)) return out;
  await runGuest({
    kernel: kernelPath,
    smp: 2,
    gic: 3,
    memBytes: 256 * 2 ** 20,
    output: out,
    stopOn: 'end Kernel panic',
    maxInsns: 1.5e9,
    ...MACHINES[which],
  } as Parameters<typeof runGuest>[0]);
  return out;
}

describe(`Debian ${version} on the emulator`, () => {
  for (const which of ['kvm', 'xen'] as const) {
    it(`${which}: phases and latency match the golden files`, async () => {
      const trace = await boot(which);
      const phases = phasesOfTrace(trace);
      expect(phases.guest).toBe('linux');
      expect(phases.phases.map((p) => p.id)).toEqual(
        expect.arrayContaining(['gic_init', 'timer_init', 'smp_bringup', 'driver_probe', 'console_handover', 'panic']),
      );
      const p = golden(`phases-linux-${which}-${version}.txt`, renderPhases(phases));
      expect(p.actual).toBe(p.expected);
      const l = golden(`latency-linux-${which}-${version}.txt`, renderLatency(latencyOfTrace(trace)));
      expect(l.actual).toBe(l.expected);
    });
  }

  it('diff kvm vs xen: UART and GIC relocation equivalent; Xen hypercalls, KVM-only SMCCC calls and the console listed', async () => {
    const d = await diffTraceFiles(await boot('kvm'), await boot('xen'), { findings: false });
    expect(d.equivalences.map((e) => e.role)).toEqual(expect.arrayContaining(['gic_dist', 'gic_redist', 'uart']));
    expect(d.equivalences.find((e) => e.role === 'uart')!.b.join()).toContain('0x22000000');
    expect(d.hypercallsOnlyIn.a).toEqual(expect.arrayContaining(['KVM_FEATURES']));
    expect(d.hypercallsOnlyIn.b).toEqual(expect.arrayContaining(['event_channel_op', 'xen_version']));
    expect(d.interrupts.find((r) => r.key === 'xen-evtchn')).toMatchObject({ a: 0 });
    expect(d.console.firstDifference!.b).toContain('XENVM');
  });
});
