// Differential against real QEMU: the same guest on qemu-system-aarch64 (TCG) with
// `-trace 'pl011_*' -trace 'gic*'`, the log imported with the qemu-log importer, and the sequence
// of PL011 and GIC register accesses (read/write, register, value) compared per device with the
// emulator's trace. Remaining differences are listed here and explained in docs/emulator.md.
import { describe, expect, it, afterAll } from 'vitest';
import { importFile } from '../../capture/import/index.ts';
import { openTrace } from '../../capture/store/index.ts';
import { GUEST_RUNS, runOnQemu, type GuestRun } from '../helpers/qemu-runs.ts';
import { runMatrixGuest, tempDir } from './helpers.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** One access as compared: what the guest did, not when (the two clocks differ). */
type Access = string;

/**
 * Known differences, applied to both sides before comparing (docs/emulator.md):
 * - GICR_TYPER.PLPIS (bit 0) and GICR_CTLR.CES (bit 1): QEMU's virt GICv3 has an ITS and
 *   supports LPIs, and QEMU sets CES whenever LPIs are enabled; the emulator's GICv3 has no
 *   ITS/LPIs and reports both as 0.
 * - The GICv3's identification registers: the kvm machine's are KVM's vGICv3's
 *   (docs/emulator-platform.md): GICD_TYPER, GICD_IIDR, GICR_TYPER.CommonLPIAff (bit 24) and
 *   GICR_CTLR.IR (bit 2) are compared without the fields where KVM and QEMU TCG differ.
 * - GICR_WAKER: KVM's vGICv3 makes it RAZ/WI (no redistributor power management; the kvm machine
 *   does the same, docs/emulator-platform.md), QEMU TCG keeps ProcessorSleep/ChildrenAsleep as
 *   Arm IHI 0069 §12.11.42 describes: its values are compared as 0, the accesses themselves still count.
 * - GICD_ITARGETSRn with one vCPU on GICv2: QEMU TCG makes it RAZ/WI; the kvm machine reads
 *   0x01 per byte as KVM's vgic does (docs/emulator-platform.md). The guests write back what they
 *   read, so both reads and writes are compared as 0.
 */
function normalise(device: string, register: string, value: bigint, uniprocessor: boolean): bigint {
  if (uniprocessor && device.startsWith('gicv2-dist') && register.startsWith('GICD_ITARGETSR')) return 0n;
  if (device.startsWith('gicv3-redist') && register === 'GICR_TYPER') return value & ~((1n << 24n) | 1n);
  if (device.startsWith('gicv3-redist') && register === 'GICR_CTLR') return value & ~6n;
  if (device.startsWith('gicv3-redist') && register === 'GICR_WAKER') return 0n;
  if (device.startsWith('gicv3-dist') && (register === 'GICD_TYPER' || register === 'GICD_IIDR')) return 0n;
  return value;
}

function accessesByDevice(tracePath: string, uniprocessor: boolean): Map<string, Access[]> {
  const r = openTrace(tracePath);
  const m = new Map<string, Access[]>();
  try {
    for (const e of r.events({ kinds: ['mmio_read', 'mmio_write', 'irq_ack', 'irq_eoi'] })) {
      // Acknowledge and EOI as the GIC saw them (QEMU's gicv3_icc_* / gic_cpu_* trace points).
      if (e.kind === 'irq_ack' || e.kind === 'irq_eoi') {
        const key = `${e.kind} cpu${e.vcpu}`;
        const list = m.get(key) ?? [];
        list.push(`INTID ${e.intid}`);
        m.set(key, list);
        continue;
      }
      if (e.kind !== 'mmio_read' && e.kind !== 'mmio_write') continue;
      // QEMU's pl011/gic trace points see only those devices; unassigned accesses (the
      // exceptions guest) are not in its log.
      if (!/^(pl011|gicv[23]-)/.test(e.device)) continue;
      const v = normalise(e.device, e.register, e.value, uniprocessor);
      const list = m.get(e.device) ?? [];
      list.push(`${e.kind === 'mmio_read' ? 'read ' : 'write'} ${e.register || '0x' + e.addr.toString(16)} = 0x${v.toString(16)}`);
      m.set(e.device, list);
    }
  } finally {
    r.close();
  }
  return m;
}

async function qemuAccesses(run: GuestRun): Promise<Map<string, Access[]>> {
  const log = tmp.file(`${run.id}.log`);
  const res = await runOnQemu(run, { extraArgs: ['-trace', 'pl011_*', '-trace', 'gic*', '-D', log] });
  expect(res.code).toBe(0);
  const out = tmp.file(`${run.id}-qemu.trace`);
  await importFile({ input: log, output: out, format: 'qemu-log' });
  return accessesByDevice(out, run.smp === 1);
}

describe('PL011 and GIC accesses match QEMU per device', () => {
  for (const id of ['uart', 'uart-gicv3', 'timer-gicv2', 'timer-gicv3', 'smp-gicv2', 'smp-gicv3', 'smp4-gicv3']) {
    it(id, async () => {
      const run = GUEST_RUNS.find((r) => r.id === id)!;
      const qemu = await qemuAccesses(run);
      // the default (block compiler on) and the interpreter alone (--no-jit)
      for (const jit of [true, false]) {
        const out = tmp.file(`${id}-emu-${jit ? 'jit' : 'nojit'}.trace`);
        await runMatrixGuest(run, { output: out, jit });
        const emu = accessesByDevice(out, run.smp === 1);
        expect([...emu.keys()].sort()).toEqual([...qemu.keys()].sort());
        for (const [dev, want] of qemu) {
          expect(want.length).toBeGreaterThan(0);
          expect(emu.get(dev), `${dev} (jit ${jit})`).toEqual(want);
        }
      }
    });
  }
});
