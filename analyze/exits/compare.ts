// The exit model against real KVM: the exits predicted from an emulator trace of a guest, beside the
// exits traced under real KVM for the same guest (an imported ftrace). Guest-caused exits — MMIO per
// device, hypercalls per function, trapped AArch64 ID registers — must agree (within a tolerance for
// the MMIO and ID-register counts, exactly for the hypercalls); IPI-, idle- and interrupt-driven
// exits follow timing and are shown, not judged. docs/analyzers.md, "exits", "Checked against
// real KVM".

import type { ExitsReport } from './index.ts';

export interface ExitComparisonRow {
  /** 'mmio', 'hypercall', 'id-registers', or a timing-driven cause ('ipi', 'idle', 'interrupt', 'memory'). */
  group: string;
  /** Device, function, or what the row counts. */
  item: string;
  predicted: number;
  traced: number;
  /** Whether the row is judged, and if so whether it agrees. */
  verdict: 'agrees' | 'differs' | 'timing' | 'expected' | 'unrecorded';
  /** Why a difference is expected, or what the row's timing follows. */
  note?: string;
}

export interface ExitComparison {
  /** Relative tolerance for the MMIO and ID-register counts. */
  tolerance: number;
  rows: ExitComparisonRow[];
  /** Judged rows that differ (0: the model agrees with real KVM). */
  differing: number;
}

/**
 * Differences that stay, with their reason (docs/emulator.md, "Compared with real KVM"): a name
 * matched against the row's item.
 */
export const EXPECTED_DIFFERENCES: readonly { group: string; item: RegExp; why: string }[] = [
  {
    group: 'mmio',
    item: /^gicv3-redist@[0-9a-f]+ GICR_ICFGR1\+GICR_ISENABLER0$/,
    why: "real KVM's guest has a PMU and configures and enables its PPI (INTID 23) on each vCPU; the kvm machine has no PMU",
  },
  {
    group: 'hypercall',
    item: /^TRNG_RND64$/,
    why: "Linux's crng reseeds at uptimes that double; the oracle's guest runs about 30 times longer under TCG",
  },
  {
    group: 'id-registers',
    item: /^AArch32 /,
    why: 'the guest reads the AArch32 ID registers only when the CPU has AArch32 at EL0 (the emulated CPU has none)',
  },
];

/** ID registers are (3, 0, 0, CRm, op2): CRm 1–3 hold the AArch32 ones, CRm 4–7 the AArch64 ones. */
const AARCH64_ID = /^ID_AA64/;
const AARCH32_ID = /^(ID_(PFR|DFR|ISAR|MMFR|AFR)\d_EL1|MVFR\d_EL1)$/;

const GUEST_MEMORY = '(guest memory)';

const UNRECORDED =
  "the predicted trace records no access to this register (the emulator records the registers its devices and timers serve, not the CPU's own)";

/**
 * Registers counted apart from their device because a difference there is expected: the PMU's
 * interrupt set-up in the redistributor (GICR_ICFGR1 reads, GICR_ISENABLER0 writes).
 */
const APART: Readonly<Record<string, readonly string[]>> = { 'gicv3-redist': ['GICR_ICFGR1', 'GICR_ISENABLER0'] };

function perDevice(r: ExitsReport): Map<string, number> {
  const m = new Map<string, number>();
  for (const d of r.byDevice) {
    if (d.device === GUEST_MEMORY) continue;
    const apart = APART[d.device.replace(/@.*/, '')];
    const key = apart?.includes(d.register) ? `${d.device} ${apart.join('+')}` : d.device;
    m.set(key, (m.get(key) ?? 0) + d.reads + d.writes);
  }
  return m;
}

function idRegisters(r: ExitsReport, re: RegExp): number {
  return r.bySysreg.filter((s) => re.test(s.register)).reduce((a, s) => a + s.reads + s.writes, 0);
}

const within = (p: number, t: number, tol: number) => Math.abs(p - t) <= Math.ceil(t * tol);

function expected(group: string, item: string): string | undefined {
  return EXPECTED_DIFFERENCES.find((d) => d.group === group && d.item.test(item))?.why;
}

export function compareExits(predicted: ExitsReport, traced: ExitsReport, tolerance = 0.03): ExitComparison {
  const rows: ExitComparisonRow[] = [];
  const judge = (group: string, item: string, p: number, t: number, ok: boolean): void => {
    const why = ok ? undefined : expected(group, item);
    rows.push({
      group,
      item,
      predicted: p,
      traced: t,
      verdict: ok ? 'agrees' : why ? 'expected' : 'differs',
      ...(why ? { note: why } : {}),
    });
  };

  const pd = perDevice(predicted);
  const td = perDevice(traced);
  for (const d of [...new Set([...td.keys(), ...pd.keys()])].sort()) {
    const p = pd.get(d) ?? 0;
    const t = td.get(d) ?? 0;
    judge('mmio', d, p, t, within(p, t, tolerance));
  }

  const calls = (r: ExitsReport) => new Map(r.byFunction.map((f) => [f.function, f.calls]));
  const pc = calls(predicted);
  const tc = calls(traced);
  for (const f of [...new Set([...tc.keys(), ...pc.keys()])].sort())
    judge('hypercall', f, pc.get(f) ?? 0, tc.get(f) ?? 0, pc.get(f) === tc.get(f));

  const p64 = idRegisters(predicted, AARCH64_ID);
  const t64 = idRegisters(traced, AARCH64_ID);
  judge('id-registers', 'AArch64 ID registers (HCR_EL2.TID3)', p64, t64, within(p64, t64, tolerance));
  const p32 = idRegisters(predicted, AARCH32_ID);
  const t32 = idRegisters(traced, AARCH32_ID);
  judge('id-registers', 'AArch32 ID registers (HCR_EL2.TID3)', p32, t32, p32 === t32);

  // Other trapped registers: judged where the predicted trace records the register; else said so.
  const recorded = new Set(predicted.recordedSysregs);
  const pSys = new Map([...predicted.bySysreg, ...predicted.conditional].map((x) => [x.register, x.reads + x.writes]));
  for (const x of traced.bySysreg) {
    if (x.cause !== 'guest' || AARCH64_ID.test(x.register) || AARCH32_ID.test(x.register)) continue;
    const t = x.reads + x.writes;
    if (!recorded.has(x.register)) {
      rows.push({ group: 'sysreg', item: x.register, predicted: 0, traced: t, verdict: 'unrecorded', note: UNRECORDED });
      continue;
    }
    const p = pSys.get(x.register) ?? 0;
    judge('sysreg', x.register, p, t, within(p, t, tolerance));
  }

  const cause = (r: ExitsReport, c: string) => r.byCause.find((x) => x.cause === c)?.exits ?? 0;
  const timing: Readonly<Record<string, string>> = {
    ipi: "SGIs the guest sends (ICC_SGI1R_EL1): the guest scheduler's IPIs follow timing",
    idle: 'WFI: how often a vCPU idles follows timing (the oracle runs under TCG)',
    interrupt: "host interrupts: predicted as the guest's interrupts raised (each an IRQ exit if its vCPU was running)",
    memory: 'stage-2 faults on RAM: the host maps guest memory on first touch (the model has no host)',
  };
  for (const [c, note] of Object.entries(timing)) {
    const p = c === 'interrupt' ? predicted.interrupts.timer + predicted.interrupts.ipi + predicted.interrupts.device : cause(predicted, c);
    rows.push({ group: c, item: c, predicted: p, traced: cause(traced, c), verdict: 'timing', note });
  }
  return { tolerance, rows, differing: rows.filter((r) => r.verdict === 'differs').length };
}
